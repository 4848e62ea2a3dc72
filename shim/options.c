/* SPDX-License-Identifier: Apache-2.0 */
#include "options.h"

#include <getopt.h>
#include <signal.h>
#include <string.h>

#include "fdutil.h"
#include "log.h"

/* Cap --wait at a day: longer is a mistake, and ms arithmetic stays far from overflow. */
#define SHIM_WAIT_MAX_MS (24ULL * 3600 * 1000)
/* Above fs.nr_open's default nothing can be dup2()ed anyway. */
#define SHIM_FD_MAX (1 << 20)

enum {
        OPT_DIR = 0x100,
        OPT_EXEC,
        OPT_WAIT,
        OPT_OPTIONAL,
        OPT_FD,
        OPT_STDIN,
        OPT_ON_ROTATE,
        OPT_ROTATE_SIGNAL,
};

/* How the option being applied was given, for its messages: "--wait 30" on the command line,
 * "LOCKBOX_SHIM_WAIT=30" from the environment. */
static const char *opt_name = "", *opt_sep = " ";
#define OPT "%s%s%s"
#define OPT_ARGS(arg) opt_name, opt_sep, (arg)

static const struct option shim_long_options[] = {
        {"dir", required_argument, NULL, OPT_DIR},
        {"exec", no_argument, NULL, OPT_EXEC},
        {"wait", required_argument, NULL, OPT_WAIT},
        {"optional", no_argument, NULL, OPT_OPTIONAL},
        {"fd", required_argument, NULL, OPT_FD},
        {"stdin", required_argument, NULL, OPT_STDIN},
        {"on-rotate", required_argument, NULL, OPT_ON_ROTATE},
        {"rotate-signal", required_argument, NULL, OPT_ROTATE_SIGNAL},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {},
};

void shim_options_usage(FILE *f) {
        fputs("Usage: lockbox-shim [OPTIONS] -- COMMAND [ARG...]\n"
              "\n"
              "Read the secrets the broker placed on a tmpfs, verify them, remove them, make sure\n"
              "the tmpfs is unmounted, and start COMMAND with each secret on a sealed memfd.\n"
              "\n"
              "  --dir DIR             where the secrets are mounted (default /run/secrets)\n"
              "  --exec                replace the shim with COMMAND instead of supervising it\n"
              "  --wait SECONDS        wait up to SECONDS for secrets placed later (inject)\n"
              "  --optional            run COMMAND without secrets when none are mounted\n"
              "  --fd NAME=N           put secret NAME at fd N (N >= 3) instead of 3, 4, ...\n"
              "  --stdin NAME          feed secret NAME to COMMAND on stdin (a pipe)\n"
              "  --on-rotate ACTION    restart (default), exit, or signal:SIG\n"
              "  --rotate-signal SIG   the signal the broker sends on rotation (default SIGUSR1)\n"
              "  -v, --verbose         say more (twice for debug)\n"
              "  -h, --help            this text\n"
              "\n"
              "In arguments, {secret:NAME} becomes /proc/self/fd/N. COMMAND finds its fds in\n"
              "LOCKBOX_FDS=name=3,other=4.\n"
              "Each option can also be set in the environment (docker run -e), the command line\n"
              "winning: LOCKBOX_SHIM_DIR, LOCKBOX_SHIM_EXEC=1, LOCKBOX_SHIM_WAIT, \n"
              "LOCKBOX_SHIM_OPTIONAL=1, LOCKBOX_SHIM_FD=NAME=N[,NAME=N], LOCKBOX_SHIM_STDIN,\n"
              "LOCKBOX_SHIM_ON_ROTATE, LOCKBOX_SHIM_ROTATE_SIGNAL, LOCKBOX_SHIM_VERBOSE=1|2.\n"
              "Exit status: COMMAND's (128+N for signal N); 125 the shim failed before running\n"
              "COMMAND; 126 COMMAND not executable; 127 COMMAND not found.\n",
              f);
}

/* "30", "0.5", "1.250": whole seconds with up to three decimals, into milliseconds. */
static int parse_seconds_ms(const char *s, uint64_t *ret) {
        uint64_t whole = 0, frac = 0;
        size_t n_int = strspn(s, "0123456789");
        if (n_int == 0 || n_int > 6)
                return -EINVAL;
        for (size_t i = 0; i < n_int; i++)
                whole = whole * 10 + (uint64_t)(s[i] - '0');
        s += n_int;
        if (*s == '.') {
                s++;
                size_t n_frac = strspn(s, "0123456789");
                if (n_frac == 0 || n_frac > 3 || s[n_frac] != '\0')
                        return -EINVAL;
                for (size_t i = 0; i < 3; i++)
                        frac = frac * 10 + (i < n_frac ? (uint64_t)(s[i] - '0') : 0);
        } else if (*s != '\0')
                return -EINVAL;
        uint64_t ms = whole * 1000 + frac;
        if (ms > SHIM_WAIT_MAX_MS)
                return -ERANGE;
        *ret = ms;
        return 0;
}

static int options_set_dir(struct shim_options *o, const char *arg) {
        size_t len = strlen(arg);
        if (arg[0] != '/')
                return log_error(OPT ": not an absolute path", OPT_ARGS(arg));
        if (len >= sizeof o->dir)
                return log_error("%s: path too long", opt_name);
        memcpy(o->dir, arg, len + 1);
        /* "/run/secrets/" and "/run/secrets" are one mount point; keep one spelling so that
         * messages and umount2() see the same path. */
        while (len > 1 && o->dir[len - 1] == '/')
                o->dir[--len] = '\0';
        if (streq_ptr(o->dir, "/"))
                return log_error(OPT ": refusing to treat the root directory as a secrets mount",
                                 OPT_ARGS("/"));
        return 0;
}

static int options_add_fd(struct shim_options *o, const char *arg) {
        const char *eq = strrchr(arg, '=');
        uint64_t n;
        if (!eq || (size_t)(eq - arg) > SECRET_NAME_MAX)
                return log_error(OPT ": expected NAME=N", OPT_ARGS(arg));
        char name[SECRET_NAME_MAX + 1];
        memcpy(name, arg, (size_t)(eq - arg));
        name[eq - arg] = '\0';
        if (!secret_name_is_valid(name))
                return log_error(OPT ": invalid secret name", OPT_ARGS(arg));
        if (parse_uint64(eq + 1, &n) < 0 || n < 3 || n >= SHIM_FD_MAX)
                return log_error(OPT ": N must be a number from 3 to %d (0-2 are stdio)",
                                 OPT_ARGS(arg), SHIM_FD_MAX - 1);
        for (size_t i = 0; i < o->n_fds; i++) {
                if (streq_ptr(o->fds[i].name, name))
                        return log_error(OPT ": secret '%s' already placed at fd %d", OPT_ARGS(arg),
                                         name, o->fds[i].fd);
                if (o->fds[i].fd == (int)n)
                        return log_error(OPT ": fd %d already taken by secret '%s'", OPT_ARGS(arg),
                                         (int)n, o->fds[i].name);
        }
        struct shim_fd_request *more = realloc(o->fds, (o->n_fds + 1) * sizeof *o->fds);
        if (!more)
                return log_error_errno(-ENOMEM, "%s", opt_name);
        o->fds = more;
        strcpy(o->fds[o->n_fds].name, name);
        o->fds[o->n_fds++].fd = (int)n;
        return 0;
}

/* SIGKILL and SIGSTOP cannot be caught, and SIGCHLD is how the shim learns of exits. */
static bool rotate_signal_is_usable(int sig) {
        return sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD;
}

static int options_set_on_rotate(struct shim_options *o, const char *arg) {
        if (streq_ptr(arg, "restart"))
                o->on_rotate = SHIM_ROTATE_RESTART;
        else if (streq_ptr(arg, "exit"))
                o->on_rotate = SHIM_ROTATE_EXIT;
        else if (strncmp(arg, "signal:", 7) == 0) {
                if (parse_signal(arg + 7, &o->on_rotate_signal) < 0)
                        return log_error(OPT ": unknown signal", OPT_ARGS(arg));
                o->on_rotate = SHIM_ROTATE_SIGNAL;
        } else
                return log_error(OPT ": expected restart, exit or signal:SIG", OPT_ARGS(arg));
        o->rotate_given = true;
        return 0;
}

static int options_set_rotate_signal(struct shim_options *o, const char *arg) {
        if (parse_signal(arg, &o->rotate_signal) < 0)
                return log_error(OPT ": unknown signal", OPT_ARGS(arg));
        if (!rotate_signal_is_usable(o->rotate_signal))
                return log_error(OPT ": this signal cannot be used", OPT_ARGS(arg));
        o->rotate_given = true;
        return 0;
}

static int options_set_stdin(struct shim_options *o, const char *arg) {
        if (!secret_name_is_valid(arg))
                return log_error(OPT ": invalid secret name", OPT_ARGS(arg));
        if (o->stdin_name && !streq_ptr(o->stdin_name, arg))
                return log_error(OPT ": stdin already carries secret '%s'", OPT_ARGS(arg),
                                 o->stdin_name);
        o->stdin_name = arg;
        return 0;
}

static int options_one(struct shim_options *o, int c, const char *arg) {
        switch (c) {
        case OPT_DIR:
                return options_set_dir(o, arg);
        case OPT_EXEC:
                o->exec = true;
                return 0;
        case OPT_WAIT:
                if (parse_seconds_ms(arg, &o->wait_ms) < 0)
                        return log_error(OPT ": expected seconds (0 to 86400, e.g. 30 or 0.5)",
                                         OPT_ARGS(arg));
                o->wait = true;
                return 0;
        case OPT_OPTIONAL:
                o->optional = true;
                return 0;
        case OPT_FD:
                return options_add_fd(o, arg);
        case OPT_STDIN:
                return options_set_stdin(o, arg);
        case OPT_ON_ROTATE:
                return options_set_on_rotate(o, arg);
        case OPT_ROTATE_SIGNAL:
                return options_set_rotate_signal(o, arg);
        case 'v':
                o->verbosity++;
                return 0;
        case 'h':
                o->help = true;
                return 0;
        default:
                return -EINVAL;
        }
}

/* LOCKBOX_SHIM_*: the options a `docker run -e` can give an image whose ENTRYPOINT is fixed. */
static const struct {
        const char *env;
        int opt;
} shim_env_options[] = {
        {"LOCKBOX_SHIM_DIR", OPT_DIR},
        {"LOCKBOX_SHIM_EXEC", OPT_EXEC},
        {"LOCKBOX_SHIM_WAIT", OPT_WAIT},
        {"LOCKBOX_SHIM_OPTIONAL", OPT_OPTIONAL},
        {"LOCKBOX_SHIM_FD", OPT_FD},
        {"LOCKBOX_SHIM_STDIN", OPT_STDIN},
        {"LOCKBOX_SHIM_ON_ROTATE", OPT_ON_ROTATE},
        {"LOCKBOX_SHIM_ROTATE_SIGNAL", OPT_ROTATE_SIGNAL},
        {"LOCKBOX_SHIM_VERBOSE", 'v'},
};
#define SHIM_ENV_PREFIX "LOCKBOX_SHIM_"

static const char *long_name(int c) {
        static char buf[32];
        for (size_t i = 0; shim_long_options[i].name; i++)
                if (shim_long_options[i].val == c) {
                        snprintf(buf, sizeof buf, "--%s", shim_long_options[i].name);
                        return buf;
                }
        return "";
}

static const char *env_name(int c) {
        for (size_t i = 0; i < ARRAY_SIZE(shim_env_options); i++)
                if (shim_env_options[i].opt == c)
                        return shim_env_options[i].env;
        return NULL;
}

/* A flag from the environment: 1, true, yes; 0, false, no or empty leave it off. */
static int env_flag(const char *value, bool *ret) {
        if (streq_ptr(value, "1") || streq_ptr(value, "true") || streq_ptr(value, "yes"))
                return *ret = true, 0;
        if (!*value || streq_ptr(value, "0") || streq_ptr(value, "false") || streq_ptr(value, "no"))
                return *ret = false, 0;
        return log_error(OPT ": expected 1 or 0 (true, false, yes, no)", OPT_ARGS(value));
}

/* One LOCKBOX_SHIM_* variable. A list for LOCKBOX_SHIM_FD: NAME=N,NAME=N. */
static int options_env_one(struct shim_options *o, int c, const char *value) {
        bool on = false;
        int r;
        switch (c) {
        case OPT_EXEC:
        case OPT_OPTIONAL:
                if ((r = env_flag(value, &on)) < 0)
                        return r;
                if (c == OPT_EXEC)
                        o->exec = o->exec || on;
                else
                        o->optional = o->optional || on;
                return 0;
        case 'v':
                if (!streq_ptr(value, "0") && !streq_ptr(value, "1") && !streq_ptr(value, "2"))
                        return log_error(OPT ": expected 0, 1 or 2", OPT_ARGS(value));
                o->verbosity += value[0] - '0';
                return 0;
        case OPT_FD: {
                char list[1024];
                if (strlen(value) >= sizeof list)
                        return log_error("%s: too long", opt_name);
                strcpy(list, value);
                for (char *save = NULL, *item = strtok_r(list, ",", &save); item;
                     item = strtok_r(NULL, ",", &save))
                        if ((r = options_add_fd(o, item)) < 0)
                                return r;
                return 0;
        }
        default:
                return options_one(o, c, value);
        }
}

/* Every LOCKBOX_SHIM_* variable whose option the command line did not give (given[] by option
 * code). An unknown one is an error: a typo must not quietly change nothing. */
static int options_from_env(struct shim_options *o, const bool *given) {
        extern char **environ;
        for (char **e = environ; e && *e; e++) {
                const char *eq = strchr(*e, '=');
                if (!eq || strncmp(*e, SHIM_ENV_PREFIX, strlen(SHIM_ENV_PREFIX)) != 0)
                        continue;
                size_t i = 0, len = (size_t)(eq - *e);
                while (i < ARRAY_SIZE(shim_env_options) &&
                       (strlen(shim_env_options[i].env) != len ||
                        strncmp(shim_env_options[i].env, *e, len) != 0))
                        i++;
                if (i == ARRAY_SIZE(shim_env_options))
                        return log_error("%.*s: unknown variable (see lockbox-shim --help)",
                                         (int)(len > 64 ? 64 : len), *e);
                int c = shim_env_options[i].opt;
                if (given[c == 'v' ? 0 : c - OPT_DIR + 1])
                        continue;
                opt_name = shim_env_options[i].env;
                opt_sep = "=";
                if (options_env_one(o, c, eq + 1) < 0)
                        return -EINVAL;
        }
        return 0;
}

/* "--wait" after "--" (an ENTRYPOINT that ends in "--", and docker run IMAGE --wait 2 -- app):
 * the command would be an option of ours. Say so, instead of failing later for a reason that
 * is not the real one. */
static int options_check_command(const char *cmd) {
        size_t n = strcspn(cmd, "=");
        for (size_t i = 0; shim_long_options[i].name; i++) {
                const struct option *lo = &shim_long_options[i];
                bool is_long = strncmp(cmd, "--", 2) == 0 && strlen(lo->name) == n - 2 &&
                               strncmp(cmd + 2, lo->name, n - 2) == 0;
                bool is_short = (lo->val == 'v' || lo->val == 'h') && cmd[0] == '-' &&
                                cmd[1] == lo->val && !cmd[2];
                if (!is_long && !is_short)
                        continue;
                const char *env = env_name(lo->val);
                return log_error("the command is '%.*s', an option of lockbox-shim given after "
                                 "'--': options go before '--' (an ENTRYPOINT that ends in \"--\" "
                                 "puts `docker run IMAGE ARGS` after it: use ENTRYPOINT "
                                 "[\"lockbox-shim\"] with CMD [\"--\", ...]%s%s%s)",
                                 (int)(n > 32 ? 32 : n), cmd, env ? ", or set " : "",
                                 env ? env : "", env ? " in the environment" : "");
        }
        return 0;
}

static int options_unknown(char **argv, int c) {
        /* getopt's own messages are off (opterr = 0) so that a usage error is one line. */
        const char *what = argv[optind - 1];
        if (c == ':')
                return log_error("option '%s' needs an argument (see --help)", what);
        if (optopt >= OPT_DIR || optopt == 'v' || optopt == 'h')
                return log_error("option '%s' takes no argument (see --help)", what);
        if (optopt)
                return log_error("unknown option '-%c' (see --help)", optopt);
        return log_error("unknown option '%s' (see --help)", what);
}

int shim_options_parse(int argc, char **argv, struct shim_options *o) {
        *o = (struct shim_options){
                .on_rotate = SHIM_ROTATE_RESTART,
                .rotate_signal = SIGUSR1,
        };
        strcpy(o->dir, SHIM_DEFAULT_DIR);

        /* '+': stop at COMMAND, so that COMMAND's own options are never taken for ours.
         * optind = 0 re-initialises getopt (parsed more than once in the unit tests). */
        opterr = 0;
        optind = 0;
        int c;
        /* given[0]: -v; given[1 + OPT_X - OPT_DIR]: --x. */
        bool given[2 + OPT_ROTATE_SIGNAL - OPT_DIR] = {false};
        while ((c = getopt_long(argc, argv, "+:vh", shim_long_options, NULL)) != -1) {
                opt_name = long_name(c);
                opt_sep = " ";
                int r = (c == '?' || c == ':') ? options_unknown(argv, c)
                                               : options_one(o, c, optarg);
                if (r < 0)
                        return -EINVAL;
                if (c == 'v')
                        given[0] = true;
                else if (c >= OPT_DIR && c <= OPT_ROTATE_SIGNAL)
                        given[c - OPT_DIR + 1] = true;
        }
        if (o->help)
                return 0;
        if (options_from_env(o, given) < 0)
                return -EINVAL;
        if (optind >= argc) {
                log_error("missing COMMAND: lockbox-shim [OPTIONS] -- COMMAND [ARG...]");
                return -EINVAL;
        }
        if (o->exec && o->rotate_given) {
                /* With --exec nothing is left to receive a rotation: say so now rather than
                 * let a rotation go unnoticed later. */
                log_error("--on-rotate and --rotate-signal need the shim to stay as the "
                          "supervisor; drop --exec");
                return -EINVAL;
        }
        if (options_check_command(argv[optind]) < 0)
                return -EINVAL;
        o->command = argv + optind;
        o->n_command = argc - optind;
        return 0;
}

void shim_options_done(struct shim_options *o) {
        free(o->fds);
        o->fds = NULL;
        o->n_fds = 0;
}

const char *shim_options_none_hint(char *const *env) {
        for (char *const *e = env; e && *e; e++)
                if (strncmp(*e, "LOCKBOX_SECRET_", 15) == 0)
                        return "the container asks for secrets (LOCKBOX_SECRET_*) but none were "
                               "placed: is it running under lockbox's runtime (docker run "
                               "--runtime lockbox) or hook? For secrets placed later by "
                               "lockbox-broker inject, give --wait SECONDS (LOCKBOX_SHIM_WAIT)";
        return "the broker placed none: the container was started without lockbox's hook or "
               "asked for no secret. --wait SECONDS (LOCKBOX_SHIM_WAIT) waits for lockbox-broker "
               "inject, --optional (LOCKBOX_SHIM_OPTIONAL=1) runs the command without them";
}
