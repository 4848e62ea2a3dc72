/* SPDX-License-Identifier: Apache-2.0 */
#include "unit.h"

#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include "options.h"

static int count_lines(const char *s) {
        int n = 0;
        for (; *s; s++)
                n += *s == '\n';
        return n;
}

/* o->command points into argv, so argv outlives the macro. */
static char *parse_argv[64];

#define PARSE(o, ...)                                                                              \
        ({                                                                                         \
                char *_argv[] = {"lockbox-shim", __VA_ARGS__, NULL};                               \
                ck_assert_uint_le(ARRAY_SIZE(_argv), ARRAY_SIZE(parse_argv));                      \
                memcpy(parse_argv, _argv, sizeof _argv);                                           \
                shim_options_parse((int)ARRAY_SIZE(_argv) - 1, parse_argv, (o));                   \
        })

/* A usage error: -EINVAL and exactly one line that contains what. */
#define ASSERT_USAGE_ERROR(what, ...)                                                              \
        do {                                                                                       \
                struct shim_options _o;                                                            \
                capture_log();                                                                     \
                ck_assert_int_eq(PARSE(&_o, __VA_ARGS__), -EINVAL);                                \
                const char *_log = captured_log();                                                 \
                ck_assert_int_eq(count_lines(_log), 1);                                            \
                ck_assert_msg(strstr(_log, (what)), "log '%s' lacks '%s'", _log, (what));          \
                ck_assert_msg(strncmp(_log, "unit: ", 6) == 0, "log '%s'", _log);                  \
                shim_options_done(&_o);                                                            \
        } while (0)

START_TEST(test_defaults) {
        struct shim_options o;
        ck_assert_int_eq(PARSE(&o, "--", "/app", "-x"), 0);
        ck_assert_str_eq(o.dir, "/run/secrets");
        ck_assert(!o.exec && !o.optional && !o.wait && !o.help);
        ck_assert_ptr_null(o.stdin_name);
        ck_assert_int_eq(o.n_fds, 0);
        ck_assert_int_eq(o.on_rotate, SHIM_ROTATE_RESTART);
        ck_assert_int_eq(o.rotate_signal, SIGUSR1);
        ck_assert_int_eq(o.n_command, 2);
        ck_assert_str_eq(o.command[0], "/app");
        ck_assert_str_eq(o.command[1], "-x");
        ck_assert_ptr_null(o.command[2]);
        shim_options_done(&o);
}
END_TEST

START_TEST(test_all_options) {
        struct shim_options o;
        ck_assert_int_eq(PARSE(&o, "--dir", "/run/s/", "--wait", "2.5", "--optional", "--fd",
                               "db=5", "--fd", "api=3", "--stdin", "db", "--on-rotate",
                               "signal:HUP", "--rotate-signal", "USR2", "-v", "-v", "--", "app"),
                         0);
        ck_assert_str_eq(o.dir, "/run/s");
        ck_assert(o.wait && o.optional && !o.exec);
        ck_assert_uint_eq(o.wait_ms, 2500);
        ck_assert_int_eq(o.n_fds, 2);
        ck_assert_str_eq(o.fds[0].name, "db");
        ck_assert_int_eq(o.fds[0].fd, 5);
        ck_assert_str_eq(o.fds[1].name, "api");
        ck_assert_int_eq(o.fds[1].fd, 3);
        ck_assert_str_eq(o.stdin_name, "db");
        ck_assert_int_eq(o.on_rotate, SHIM_ROTATE_SIGNAL);
        ck_assert_int_eq(o.on_rotate_signal, SIGHUP);
        ck_assert_int_eq(o.rotate_signal, SIGUSR2);
        ck_assert_int_eq(o.verbosity, 2);
        ck_assert_str_eq(o.command[0], "app");
        shim_options_done(&o);

        capture_log();
        ck_assert_int_eq(PARSE(&o, "--exec", "--wait", "0", "--on-rotate", "exit", "app"), -EINVAL);
        ck_assert_int_eq(PARSE(&o, "--exec", "--wait", "0", "app"), 0);
        ck_assert(o.exec && o.wait);
        ck_assert_uint_eq(o.wait_ms, 0);
        shim_options_done(&o);
        ck_assert_int_eq(PARSE(&o, "--on-rotate", "exit", "app"), 0);
        ck_assert_int_eq(o.on_rotate, SHIM_ROTATE_EXIT);
        shim_options_done(&o);
}
END_TEST

/* COMMAND's options are COMMAND's, with or without "--". */
START_TEST(test_command_options_untouched) {
        struct shim_options o;
        ck_assert_int_eq(PARSE(&o, "--optional", "app", "--fd", "x", "--dir", "rel"), 0);
        ck_assert(o.optional);
        ck_assert_int_eq(o.n_fds, 0);
        ck_assert_str_eq(o.dir, "/run/secrets");
        ck_assert_int_eq(o.n_command, 5);
        ck_assert_str_eq(o.command[1], "--fd");
        shim_options_done(&o);

        ck_assert_int_eq(PARSE(&o, "--", "-x", "--wait"), 0);
        ck_assert_str_eq(o.command[0], "-x");
        shim_options_done(&o);
}
END_TEST

/* Issue 14: `docker run IMAGE --wait 2 -- app` with ENTRYPOINT ["lockbox-shim", "--"] gives
 * "-- --wait 2 -- app": the line names the real cause, not "use --wait". */
START_TEST(test_option_after_dashdash) {
        ASSERT_USAGE_ERROR("the command is '--wait', an option of lockbox-shim given after '--': "
                           "options go before '--' (an ENTRYPOINT that ends in \"--\" puts `docker "
                           "run IMAGE ARGS` after it: use ENTRYPOINT [\"lockbox-shim\"] with CMD "
                           "[\"--\", ...], or set LOCKBOX_SHIM_WAIT in the environment)\n",
                           "--", "--wait", "2", "--", "app");
        ASSERT_USAGE_ERROR("the command is '--optional',", "--", "--optional", "app");
        ASSERT_USAGE_ERROR("the command is '--fd',", "--", "--fd=db=5", "app");
        ASSERT_USAGE_ERROR("the command is '--help',", "--", "--help");
        ASSERT_USAGE_ERROR("the command is '-v',", "--", "-v", "app");
}
END_TEST

static void clear_shim_env(void) {
        extern char **environ;
        for (bool again = true; again;) {
                again = false;
                for (char **e = environ; e && *e; e++)
                        if (strncmp(*e, "LOCKBOX_SHIM_", 13) == 0) {
                                char name[64];
                                snprintf(name, sizeof name, "%.*s", (int)strcspn(*e, "="), *e);
                                unsetenv(name);
                                again = true;
                                break;
                        }
        }
}

/* LOCKBOX_SHIM_*: options given at docker run time, the command line winning. */
START_TEST(test_env_options) {
        struct shim_options o;
        clear_shim_env();
        setenv("LOCKBOX_SHIM_WAIT", "2.5", 1);
        setenv("LOCKBOX_SHIM_OPTIONAL", "1", 1);
        setenv("LOCKBOX_SHIM_DIR", "/run/s", 1);
        setenv("LOCKBOX_SHIM_FD", "db=5,api=6", 1);
        setenv("LOCKBOX_SHIM_ON_ROTATE", "signal:HUP", 1);
        setenv("LOCKBOX_SHIM_VERBOSE", "2", 1);
        ck_assert_int_eq(PARSE(&o, "--", "app"), 0);
        ck_assert(o.wait && o.wait_ms == 2500 && o.optional && !o.exec);
        ck_assert_str_eq(o.dir, "/run/s");
        ck_assert_int_eq(o.n_fds, 2);
        ck_assert_str_eq(o.fds[1].name, "api");
        ck_assert_int_eq(o.fds[1].fd, 6);
        ck_assert_int_eq(o.on_rotate, SHIM_ROTATE_SIGNAL);
        ck_assert_int_eq(o.verbosity, 2);
        shim_options_done(&o);
        /* the command line wins, option by option */
        ck_assert_int_eq(PARSE(&o, "--wait", "7", "--fd", "x=9", "--dir", "/d", "app"), 0);
        ck_assert_int_eq(o.wait_ms, 7000);
        ck_assert_str_eq(o.dir, "/d");
        ck_assert_int_eq(o.n_fds, 1);
        ck_assert_str_eq(o.fds[0].name, "x");
        ck_assert(o.optional);
        shim_options_done(&o);
        clear_shim_env();
        setenv("LOCKBOX_SHIM_OPTIONAL", "0", 1);
        setenv("LOCKBOX_SHIM_EXEC", "yes", 1);
        ck_assert_int_eq(PARSE(&o, "app"), 0);
        ck_assert(!o.optional && o.exec);
        shim_options_done(&o);
        clear_shim_env();
}
END_TEST

START_TEST(test_env_errors) {
        clear_shim_env();
        setenv("LOCKBOX_SHIM_WAIT", "soon", 1);
        ASSERT_USAGE_ERROR("unit: LOCKBOX_SHIM_WAIT=soon: expected seconds (0 to 86400, e.g. 30 or "
                           "0.5)\n",
                           "--", "app");
        clear_shim_env();
        setenv("LOCKBOX_SHIM_WIAT", "3", 1);
        ASSERT_USAGE_ERROR("unit: LOCKBOX_SHIM_WIAT: unknown variable (see lockbox-shim --help)\n",
                           "--", "app");
        clear_shim_env();
        setenv("LOCKBOX_SHIM_OPTIONAL", "maybe", 1);
        ASSERT_USAGE_ERROR("LOCKBOX_SHIM_OPTIONAL=maybe: expected 1 or 0", "--", "app");
        clear_shim_env();
        setenv("LOCKBOX_SHIM_FD", "db=5,db=6", 1);
        ASSERT_USAGE_ERROR("LOCKBOX_SHIM_FD=db=6: secret 'db' already placed at fd 5", "--", "app");
        clear_shim_env();
        setenv("LOCKBOX_SHIM_ON_ROTATE", "exit", 1);
        ASSERT_USAGE_ERROR("drop --exec", "--exec", "app");
        clear_shim_env();
        /* and the command line's own spelling is kept */
        ASSERT_USAGE_ERROR("unit: --wait soon: expected seconds", "--wait", "soon", "app");
}
END_TEST

START_TEST(test_none_hint) {
        char *asks[] = {"PATH=/bin", "LOCKBOX_SECRET_db=store:db", NULL};
        char *plain[] = {"PATH=/bin", NULL};
        ck_assert_ptr_nonnull(strstr(shim_options_none_hint(asks),
                                     "the container asks for secrets (LOCKBOX_SECRET_*) but none "
                                     "were placed: is it running under lockbox's runtime"));
        ck_assert_ptr_nonnull(strstr(shim_options_none_hint(plain),
                                     "the broker placed none: the container was started without "
                                     "lockbox's hook or asked for no secret"));
}
END_TEST

START_TEST(test_help) {
        struct shim_options o;
        ck_assert_int_eq(PARSE(&o, "--help"), 0);
        ck_assert(o.help);
        shim_options_done(&o);
        ck_assert_int_eq(PARSE(&o, "-h", "--", "app"), 0);
        ck_assert(o.help);
        shim_options_done(&o);
}
END_TEST

START_TEST(test_wait_values) {
        struct shim_options o;
        ck_assert_int_eq(PARSE(&o, "--wait", "30", "app"), 0);
        ck_assert_uint_eq(o.wait_ms, 30000);
        ck_assert_int_eq(PARSE(&o, "--wait", "0.05", "app"), 0);
        ck_assert_uint_eq(o.wait_ms, 50);
        ASSERT_USAGE_ERROR("--wait abc", "--wait", "abc", "app");
        ASSERT_USAGE_ERROR("--wait -1", "--wait", "-1", "app");
        ASSERT_USAGE_ERROR("--wait 1.2345", "--wait", "1.2345", "app");
        ASSERT_USAGE_ERROR("--wait 1.", "--wait", "1.", "app");
        ASSERT_USAGE_ERROR("--wait 90000", "--wait", "90000", "app");
}
END_TEST

START_TEST(test_fd_errors) {
        ASSERT_USAGE_ERROR("expected NAME=N", "--fd", "db", "app");
        ASSERT_USAGE_ERROR("0-2 are stdio", "--fd", "db=2", "app");
        ASSERT_USAGE_ERROR("0-2 are stdio", "--fd", "db=abc", "app");
        ASSERT_USAGE_ERROR("0-2 are stdio", "--fd", "db=", "app");
        ASSERT_USAGE_ERROR("0-2 are stdio", "--fd", "db=99999999999", "app");
        ASSERT_USAGE_ERROR("invalid secret name", "--fd", "../x=3", "app");
        ASSERT_USAGE_ERROR("invalid secret name", "--fd", "=3", "app");
        ASSERT_USAGE_ERROR("already placed at fd 3", "--fd", "db=3", "--fd", "db=4", "app");
        ASSERT_USAGE_ERROR("fd 3 already taken by secret 'db'", "--fd", "db=3", "--fd", "api=3",
                           "app");
}
END_TEST

START_TEST(test_other_errors) {
        ASSERT_USAGE_ERROR("unknown option '--bogus'", "--bogus", "app");
        ASSERT_USAGE_ERROR("unknown option '-x'", "-x", "app");
        ASSERT_USAGE_ERROR("option '--dir' needs an argument", "--dir");
        ASSERT_USAGE_ERROR("option '--exec=1' takes no argument", "--exec=1", "app");
        ASSERT_USAGE_ERROR("missing COMMAND", "--optional");
        ASSERT_USAGE_ERROR("missing COMMAND", "--optional", "--");
        ASSERT_USAGE_ERROR("not an absolute path", "--dir", "run/secrets", "app");
        ASSERT_USAGE_ERROR("root directory", "--dir", "//", "app");
        ASSERT_USAGE_ERROR("invalid secret name", "--stdin", "a/b", "app");
        ASSERT_USAGE_ERROR("stdin already carries secret 'a'", "--stdin", "a", "--stdin", "b",
                           "app");
        ASSERT_USAGE_ERROR("expected restart, exit or signal:SIG", "--on-rotate", "reload", "app");
        ASSERT_USAGE_ERROR("unknown signal", "--on-rotate", "signal:NOPE", "app");
        ASSERT_USAGE_ERROR("unknown signal", "--rotate-signal", "NOPE", "app");
        ASSERT_USAGE_ERROR("cannot be used", "--rotate-signal", "KILL", "app");
        ASSERT_USAGE_ERROR("cannot be used", "--rotate-signal", "SIGSTOP", "app");
        ASSERT_USAGE_ERROR("drop --exec", "--exec", "--rotate-signal", "HUP", "app");
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("shim_options");
        TCase *tc = tcase_create("parse");
        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_all_options);
        tcase_add_test(tc, test_command_options_untouched);
        tcase_add_test(tc, test_help);
        tcase_add_test(tc, test_wait_values);
        tcase_add_test(tc, test_fd_errors);
        tcase_add_test(tc, test_other_errors);
        tcase_add_test(tc, test_option_after_dashdash);
        tcase_add_test(tc, test_env_options);
        tcase_add_test(tc, test_env_errors);
        tcase_add_test(tc, test_none_hint);
        suite_add_tcase(s, tc);
        return s;
}
