/* SPDX-License-Identifier: Apache-2.0 */
/* lockbox-runtime: its command line, the hooks it adds, the bundles it leaves alone. */
#include "unit.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fdutil.h"
#include "cmd/runtime.h"
#include "request/runtime_config.h"

#define BROKER "/usr/local/bin/lockbox-broker"

static const struct runtime_hook test_hook = {
        .path = BROKER,
        .config = "/etc/lockbox/test.json",
        .state_dir = "/run/lbx",
};

/* ---- helpers ---------------------------------------------------------------------------- */

#define ARGV(...) ((char *[]){"lockbox-runtime", __VA_ARGS__, NULL})
#define ARGC(v) ((int)(sizeof(v) / sizeof(char *)) - 1)

static int parse(char **argv, int argc, struct runtime_args *a) {
        return runtime_args_parse(argc, argv, a);
}
#define PARSE(a, ...)                                                                              \
        ({                                                                                         \
                char **_v = ARGV(__VA_ARGS__);                                                     \
                parse(_v, ARGC(ARGV(__VA_ARGS__)), (a));                                           \
        })

static json_t *load(const char *text) {
        json_error_t e;
        json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);
        ck_assert_msg(j != NULL, "bad test JSON: %s", e.text);
        return j;
}

static char *dump(const json_t *j) {
        return json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

static void json_text_free(char *s) {
        json_free_t f;
        json_get_alloc_funcs(NULL, &f);
        f(s);
}

/* The keys of an object, in order, joined with ','. */
static void keys_of(const json_t *o, char *out, size_t size) {
        const char *k;
        json_t *v;
        out[0] = '\0';
        json_object_foreach((json_t *)o, k, v) {
                if (out[0])
                        strncat(out, ",", size - strlen(out) - 1);
                strncat(out, k, size - strlen(out) - 1);
        }
}

static char bundle[64];

static void bundle_setup(void) {
        strcpy(bundle, "/tmp/check_runtime.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(bundle));
}

static void bundle_teardown(void) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", bundle);
        ck_assert_int_eq(system(cmd), 0);
}

static void write_config(const char *text, mode_t mode) {
        char p[128];
        snprintf(p, sizeof p, "%s/config.json", bundle);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write_full(fd, text, strlen(text)), 0);
        ck_assert_int_eq(fchmod(fd, mode), 0);
        close(fd);
}

static char *read_config(void) {
        _cleanup_close_ int dfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char *buf = NULL;
        ck_assert_int_eq(read_file_at(dfd, "config.json", 1 << 20, &buf, NULL), 0);
        return buf;
}

static struct stat stat_config(void) {
        char p[128];
        struct stat st;
        snprintf(p, sizeof p, "%s/config.json", bundle);
        ck_assert_int_eq(lstat(p, &st), 0);
        return st;
}

static int entries_in_bundle(void) {
        char cmd[160];
        snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 1", bundle);
        return system(cmd) == 0 ? 1 : 0;
}

static const char config_with_request[] =
        "{\"ociVersion\":\"1.0.2\",\"process\":{\"terminal\":false,\"user\":{\"uid\":0,\"gid\":0},"
        "\"args\":[\"/lockbox-shim\",\"--\",\"app\"],\"env\":[\"PATH=/bin\","
        "\"LOCKBOX_SECRET_db=store:db\"],\"cwd\":\"/\"},\"root\":{\"path\":\"rootfs\"},"
        "\"hostname\":\"x\",\"mounts\":[],\"linux\":{\"namespaces\":[{\"type\":\"mount\"}],"
        "\"resources\":{\"memory\":{\"limit\":1048576},\"cpu\":{\"quota\":-1}}},"
        "\"x-unknown\":{\"nested\":[1,2.5,true,null]}}";

static const char config_without_request[] =
        "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\"],\"env\":[\"PATH=/bin\","
        "\"LOCKBOX_FDS=db=3\"]},\"root\":{\"path\":\"rootfs\"},\"annotations\":{\"a\":\"b\"}}";

/* ---- arguments -------------------------------------------------------------------------- */

START_TEST(test_args_docker_create) {
        /* Docker 20.10: runtimeArgs first, then what containerd's runc shim passes. */
        struct runtime_args a;
        ck_assert_int_eq(PARSE(&a, "--lockbox-config", "/etc/c.json", "--lockbox-state-dir",
                               "/run/s", "--root", "/run/docker/runtime-runc/moby", "--log",
                               "/b/log.json", "--log-format", "json", "--systemd-cgroup", "create",
                               "--bundle", "/b", "--pid-file", "/b/init.pid", "id1"),
                         0);
        ck_assert_str_eq(a.config, "/etc/c.json");
        ck_assert_str_eq(a.state_dir, "/run/s");
        ck_assert_str_eq(a.runtime, "runc");
        ck_assert_str_eq(a.command, "create");
        ck_assert(a.create && !a.help && !a.ambiguous);
        ck_assert_str_eq(a.bundle, "/b");
        ck_assert_str_eq(a.log_path, "/b/log.json");
        ck_assert_str_eq(a.log_format, "json");
        /* What the runtime gets: its own name, then every argument after ours, untouched. */
        static const char *const want[] = {
                "runc",
                "--root",
                "/run/docker/runtime-runc/moby",
                "--log",
                "/b/log.json",
                "--log-format",
                "json",
                "--systemd-cgroup",
                "create",
                "--bundle",
                "/b",
                "--pid-file",
                "/b/init.pid",
                "id1",
        };
        ck_assert_int_eq(a.argc, (int)ARRAY_SIZE(want));
        for (size_t i = 0; i < ARRAY_SIZE(want); i++)
                ck_assert_str_eq(a.argv[i], want[i]);
        ck_assert_ptr_null(a.argv[a.argc]);
        runtime_args_done(&a);
}
END_TEST

START_TEST(test_args_option_forms) {
        struct runtime_args a;
        /* "=" forms, one dash, the runtime option, and no global option at all. */
        ck_assert_int_eq(PARSE(&a, "--lockbox-runtime=/usr/bin/crun", "-lockbox-config=/c",
                               "create", "-b", "/b1", "id"),
                         0);
        ck_assert_str_eq(a.runtime, "/usr/bin/crun");
        ck_assert_str_eq(a.argv[0], "/usr/bin/crun");
        ck_assert_str_eq(a.config, "/c");
        ck_assert_ptr_null(a.state_dir);
        ck_assert_str_eq(a.bundle, "/b1");
        ck_assert_int_eq(a.argc, 5);
        runtime_args_done(&a);

        /* Options after the id (urfave/cli reorders them), "=" joined, the last one wins. */
        ck_assert_int_eq(PARSE(&a, "--root=/r", "-debug", "run", "id", "--bundle=/b2", "-d",
                               "-bundle", "/b3", "--keep"),
                         0);
        ck_assert(a.create);
        ck_assert_str_eq(a.command, "run");
        ck_assert_str_eq(a.bundle, "/b3");
        ck_assert_ptr_null(a.log_path);
        runtime_args_done(&a);

        /* A value that looks like the bundle option belongs to the option before it. */
        ck_assert_int_eq(PARSE(&a, "create", "--pid-file", "--bundle", "id"), 0);
        ck_assert_ptr_null(a.bundle);
        runtime_args_done(&a);

        /* No bundle: the current directory. After "--", nothing is an option. */
        ck_assert_int_eq(PARSE(&a, "--log-format", "text", "create", "--", "--bundle"), 0);
        ck_assert(a.create);
        ck_assert_ptr_null(a.bundle);
        runtime_args_done(&a);
}
END_TEST

START_TEST(test_args_other_commands) {
        struct runtime_args a;
        static const char *const words[] = {"start", "delete",   "kill",   "state", "exec",
                                            "ps",    "features", "update", "pause", "checkpoint"};
        for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
                ck_assert_int_eq(
                        PARSE(&a, "--root", "/r", (char *)words[i], "--bundle", "/b", "id"), 0);
                ck_assert_str_eq(a.command, words[i]);
                ck_assert(!a.create);
                ck_assert_ptr_null(a.bundle);
                ck_assert_int_eq(a.argc, 7);
                runtime_args_done(&a);
        }
        /* "--root create": create is the root directory here, not the command. */
        ck_assert_int_eq(PARSE(&a, "--root", "create", "state", "id"), 0);
        ck_assert_str_eq(a.command, "state");
        ck_assert(!a.create);
        runtime_args_done(&a);

        /* No command at all (docker info runs "runc --version"). */
        ck_assert_int_eq(PARSE(&a, "--version"), 0);
        ck_assert_ptr_null(a.command);
        ck_assert_int_eq(a.argc, 2);
        runtime_args_done(&a);

        ck_assert_int_eq(PARSE(&a, "create", "--help"), 0);
        ck_assert(a.create && a.help);
        runtime_args_done(&a);
}
END_TEST

START_TEST(test_args_errors) {
        struct runtime_args a;
        /* Our options come first: after a runtime option they would reach runc. */
        ck_assert_int_eq(PARSE(&a, "--root", "/r", "--lockbox-config", "/c", "create", "id"),
                         -EINVAL);
        ck_assert_int_eq(PARSE(&a, "--lockbox-config"), -EINVAL);
        ck_assert_int_eq(PARSE(&a, "--lockbox-state-dir="), -EINVAL);

        /* An unknown global option: the parse succeeds but says it could not be sure. */
        ck_assert_int_eq(PARSE(&a, "--frobnicate", "x", "create", "id"), 0);
        ck_assert(a.ambiguous);
        runtime_args_done(&a);
        ck_assert_int_eq(PARSE(&a, "--frobnicate=x", "create", "id"), 0);
        ck_assert(!a.ambiguous);
        ck_assert(a.create);
        runtime_args_done(&a);
}
END_TEST

/* ---- config.json in memory -------------------------------------------------------------- */

START_TEST(test_wants_secrets) {
        static const struct {
                const char *json;
                bool want;
        } cases[] = {
                {"{}", false},
                {"{\"annotations\":{\"io.lockbox.secret.db\":\"store:db\"}}", true},
                {"{\"annotations\":{\"io.lockbox.secrets.db\":\"store:db\"}}", true}, /* typo */
                {"{\"annotations\":{\"org.io.lockbox.x\":\"y\"}}", false},
                {"{\"process\":{\"env\":[\"LOCKBOX_SECRET_db=store:db\"]}}", true},
                {"{\"process\":{\"env\":[\"LOCKBOX_DIR=/s\"]}}", true},
                {"{\"process\":{\"env\":[\"LOCKBOX_FDS=db=3\",\"X=LOCKBOX_SECRET_a\"]}}", false},
                {"{\"process\":{\"env\":[\"LOCKBOX_SHIM_WAIT=30\"]}}", false},
                {"{\"process\":{\"env\":\"LOCKBOX_SECRET_a=b\"}}", false},
                {"{\"process\":{\"env\":[1,null]}}", false},
                {"{\"annotations\":[\"io.lockbox.secret.db\"]}", false},
                /* A pod's sandbox carries the pod's annotations: never hooks for it. */
                {"{\"annotations\":{\"io.lockbox.secret.db\":\"store:db\","
                 "\"io.kubernetes.cri.container-type\":\"sandbox\"}}",
                 false},
                {"{\"annotations\":{\"io.lockbox.secret.db\":\"store:db\","
                 "\"io.kubernetes.cri-o.ContainerType\":\"sandbox\"}}",
                 false},
                {"{\"annotations\":{\"io.lockbox.secret.db\":\"store:db\","
                 "\"io.kubernetes.cri.container-type\":\"container\"}}",
                 true},
        };
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                json_t *j = load(cases[i].json);
                ck_assert_msg(runtime_config_wants_secrets(j) == cases[i].want, "%s",
                              cases[i].json);
                json_decref(j);
        }
}
END_TEST

START_TEST(test_add_hooks_order_and_idempotence) {
        json_t *j = load(config_with_request);
        char before[256], after[256];
        keys_of(j, before, sizeof before);

        ck_assert_int_eq(runtime_config_add_hooks(j, &test_hook, NULL), 1);
        keys_of(j, after, sizeof after);
        /* Every key where it was, hooks appended at the end. */
        ck_assert_str_eq(after, "ociVersion,process,root,hostname,mounts,linux,x-unknown,hooks");
        ck_assert_int_eq(strncmp(before, after, strlen(before)), 0);
        keys_of(json_object_get(j, "process"), after, sizeof after);
        ck_assert_str_eq(after, "terminal,user,args,env,cwd");

        char *text = dump(j);
        ck_assert_ptr_nonnull(strstr(
                text, "\"hooks\":{\"createRuntime\":[{\"path\":\"" BROKER "\",\"args\":["
                      "\"lockbox-broker\",\"--config\",\"/etc/lockbox/test.json\",\"--state-dir\","
                      "\"/run/lbx\",\"hook\",\"createRuntime\"]}],\"poststop\":[{\"path\":\"" BROKER
                      "\",\"args\":[\"lockbox-broker\",\"--config\",\"/etc/lockbox/test.json\","
                      "\"--state-dir\",\"/run/lbx\",\"hook\",\"poststop\"]}]}"));
        /* The rest is byte for byte what it was. */
        ck_assert_int_eq(strncmp(text, config_with_request, strlen(config_with_request) - 1), 0);

        /* Twice: nothing more. */
        ck_assert_int_eq(runtime_config_add_hooks(j, &test_hook, NULL), 0);
        char *again = dump(j);
        ck_assert_str_eq(text, again);
        json_text_free(text);
        json_text_free(again);
        json_decref(j);
}
END_TEST

START_TEST(test_add_hooks_existing) {
        /* Other hooks stay, in their place; ours come after them. */
        json_t *j = load("{\"hooks\":{\"poststop\":[{\"path\":\"/other\"}],\"createRuntime\":"
                         "[{\"path\":\"/nvidia\",\"args\":[\"hook\"]}]},\"z\":0}");
        const struct runtime_hook bare = {.path = BROKER};
        ck_assert_int_eq(runtime_config_add_hooks(j, &bare, NULL), 1);
        char *text = dump(j);
        ck_assert_str_eq(text, "{\"hooks\":{\"poststop\":[{\"path\":\"/other\"},{\"path\":\"" BROKER
                               "\",\"args\":[\"lockbox-broker\",\"hook\",\"poststop\"]}],"
                               "\"createRuntime\":[{\"path\":\"/nvidia\",\"args\":[\"hook\"]},{"
                               "\"path\":\"" BROKER "\",\"args\":[\"lockbox-broker\",\"hook\","
                               "\"createRuntime\"]}]},\"z\":0}");
        json_text_free(text);
        json_decref(j);

        /* The broker installed elsewhere, at prestart (runc's README way): only poststop. */
        j = load("{\"hooks\":{\"prestart\":[{\"path\":\"/opt/lockbox-broker\",\"args\":["
                 "\"lockbox-broker\",\"hook\"]}]}}");
        ck_assert_int_eq(runtime_config_add_hooks(j, &bare, NULL), 1);
        ck_assert_int_eq(json_array_size(json_object_get(json_object_get(j, "hooks"), "prestart")),
                         1);
        ck_assert_ptr_null(json_object_get(json_object_get(j, "hooks"), "createRuntime"));
        ck_assert_int_eq(json_array_size(json_object_get(json_object_get(j, "hooks"), "poststop")),
                         1);
        ck_assert_int_eq(runtime_config_add_hooks(j, &bare, NULL), 0);
        json_decref(j);

        /* null means none. */
        j = load("{\"hooks\":null}");
        ck_assert_int_eq(runtime_config_add_hooks(j, &bare, NULL), 1);
        ck_assert_int_eq(json_object_size(json_object_get(j, "hooks")), 2);
        json_decref(j);
        j = load("{\"hooks\":{\"createRuntime\":null}}");
        ck_assert_int_eq(runtime_config_add_hooks(j, &bare, NULL), 1);
        ck_assert_int_eq(
                json_array_size(json_object_get(json_object_get(j, "hooks"), "createRuntime")), 1);
        json_decref(j);
}
END_TEST

START_TEST(test_add_hooks_wrong_types) {
        static const char *const bad[] = {
                "{\"hooks\":[]}",
                "{\"hooks\":\"x\"}",
                "{\"hooks\":{\"createRuntime\":{}}}",
                "{\"hooks\":{\"poststop\":1}}",
                "{\"hooks\":{\"prestart\":\"x\"}}",
        };
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                json_t *j = load(bad[i]);
                ck_assert_int_eq(runtime_config_add_hooks(j, &test_hook, NULL), -EINVAL);
                char *text = dump(j);
                ck_assert_str_eq(text, bad[i]); /* untouched */
                json_text_free(text);
                json_decref(j);
        }
}
END_TEST

/* ---- bundles on disk ------------------------------------------------------------------- */

START_TEST(test_bundle_untouched_without_request) {
        write_config(config_without_request, 0644);
        struct stat before = stat_config();
        usleep(20000);
        ck_assert_int_eq(runtime_prepare_bundle(bundle, &test_hook), 0);
        struct stat after = stat_config();
        ck_assert_int_eq(before.st_ino, after.st_ino);
        ck_assert(before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
                  before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
        char *text = read_config();
        ck_assert_str_eq(text, config_without_request);
        free(text);

        /* Not even parsed: what jansson refuses (an rlimit of 2^64-1), runc accepts. */
        static const char big[] = "{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\","
                                  "\"hard\":18446744073709551615,\"soft\":1024}]}}";
        write_config(big, 0644);
        ck_assert_int_eq(runtime_prepare_bundle(bundle, &test_hook), 0);
        text = read_config();
        ck_assert_str_eq(text, big);
        free(text);
        ck_assert_int_eq(entries_in_bundle(), 1);
}
END_TEST

START_TEST(test_bundle_rewritten_once) {
        write_config(config_with_request, 0640);
        ck_assert_int_eq(chown(bundle, 0, 0), 0);
        struct stat before = stat_config();
        ck_assert_int_eq(runtime_prepare_bundle(bundle, &test_hook), 1);
        struct stat after = stat_config();
        ck_assert_int_ne(before.st_ino, after.st_ino); /* replaced by rename, not rewritten */
        ck_assert_int_eq(after.st_mode & 07777, 0640);
        ck_assert_int_eq(after.st_uid, before.st_uid);
        ck_assert_int_eq(after.st_gid, before.st_gid);
        ck_assert_int_eq(entries_in_bundle(), 1); /* no temporary file left */

        char *text = read_config();
        json_t *j = load(text);
        ck_assert_int_eq(
                json_array_size(json_object_get(json_object_get(j, "hooks"), "createRuntime")), 1);
        char keys[256];
        keys_of(j, keys, sizeof keys);
        ck_assert_str_eq(keys, "ociVersion,process,root,hostname,mounts,linux,x-unknown,hooks");
        json_decref(j);

        /* Again (a retried create): left as it is. */
        ck_assert_int_eq(runtime_prepare_bundle(bundle, &test_hook), 0);
        struct stat third = stat_config();
        ck_assert_int_eq(third.st_ino, after.st_ino);
        char *text2 = read_config();
        ck_assert_str_eq(text, text2);
        free(text);
        free(text2);
}
END_TEST

START_TEST(test_bundle_errors) {
        /* A request in a file we cannot read as JSON: refuse, do not guess. */
        static const char dup[] = "{\"process\":{\"env\":[\"LOCKBOX_SECRET_a=store:a\"]},"
                                  "\"process\":{\"env\":[]}}";
        write_config(dup, 0644);
        ck_assert_int_eq(runtime_prepare_bundle(bundle, &test_hook), -EINVAL);
        char *text = read_config();
        ck_assert_str_eq(text, dup);
        free(text);

        static const char bad_hooks[] = "{\"hooks\":[],\"annotations\":{\"io.lockbox.secret.a\":"
                                        "\"store:a\"}}";
        write_config(bad_hooks, 0644);
        ck_assert_int_eq(runtime_prepare_bundle(bundle, &test_hook), -EINVAL);
        ck_assert_int_eq(entries_in_bundle(), 1);

        /* config.json a symlink: not followed. */
        char p[128];
        snprintf(p, sizeof p, "%s/config.json", bundle);
        ck_assert_int_eq(unlink(p), 0);
        ck_assert_int_eq(symlink("/etc/passwd", p), 0);
        ck_assert_int_lt(runtime_prepare_bundle(bundle, &test_hook), 0);
        ck_assert_int_eq(unlink(p), 0);
        /* No config.json, no bundle. */
        ck_assert_int_eq(runtime_prepare_bundle(bundle, &test_hook), -ENOENT);
        ck_assert_int_eq(runtime_prepare_bundle("/nonexistent/bundle", &test_hook), -ENOENT);
}
END_TEST

/* ---- the whole program: exec, exit status, errors ---------------------------------------- */

/* Run runtime_main in a child with a fake runtime that records its arguments; returns the
 * child's exit status. */
static int run_main(char **argv) {
        fflush(NULL);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
                dup2(fd, STDERR_FILENO);
                int argc = 0;
                while (argv[argc])
                        argc++;
                _exit(runtime_main(argc, argv));
        }
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static void make_fake_runtime(char *path, size_t size) {
        snprintf(path, size, "%s/fake-runc", bundle);
        FILE *f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        fprintf(f, "#!/bin/sh\nprintf '%%s\\n' \"$0\" \"$@\" > '%s/args'\nexit 42\n", bundle);
        fclose(f);
        ck_assert_int_eq(chmod(path, 0755), 0);
}

START_TEST(test_main_execs_runtime) {
        char fake[128], log[128], args_path[128];
        make_fake_runtime(fake, sizeof fake);
        snprintf(log, sizeof log, "%s/log.json", bundle);
        snprintf(args_path, sizeof args_path, "%s/args", bundle);
        write_config(config_with_request, 0644);

        char *argv[] = {"lockbox-runtime",
                        "--lockbox-runtime",
                        fake,
                        "--lockbox-config",
                        "/etc/c.json",
                        "--log",
                        log,
                        "--log-format",
                        "json",
                        "create",
                        "--bundle",
                        bundle,
                        "c1",
                        NULL};
        /* The runtime's exit status is ours: exec, not fork. */
        ck_assert_int_eq(run_main(argv), 42);
        _cleanup_close_ int dfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *got = NULL;
        ck_assert_int_eq(read_file_at(dfd, "args", 4096, &got, NULL), 0);
        char want[1024];
        snprintf(want, sizeof want, "%s\n--log\n%s\n--log-format\njson\ncreate\n--bundle\n%s\nc1\n",
                 fake, log, bundle);
        ck_assert_str_eq(got, want);
        char *text = read_config();
        ck_assert_ptr_nonnull(strstr(text, "\"--config\",\"/etc/c.json\",\"hook\",\"poststop\""));
        free(text);
}
END_TEST

/* containerd's BinaryName gets no arguments of ours: LOCKBOX_CONFIG and LOCKBOX_STATE_DIR
 * from the wrapper's environment go to the hooks; an option still wins. */
START_TEST(test_main_environment) {
        char fake[128];
        make_fake_runtime(fake, sizeof fake);
        write_config(config_with_request, 0644);
        setenv("LOCKBOX_CONFIG", "/etc/env.json", 1);
        setenv("LOCKBOX_STATE_DIR", "/run/env-state", 1);
        char *argv[] = {"lockbox-runtime",
                        "--lockbox-runtime",
                        fake,
                        "create",
                        "--bundle",
                        bundle,
                        "c1",
                        NULL};
        ck_assert_int_eq(run_main(argv), 42);
        char *text = read_config();
        ck_assert_ptr_nonnull(strstr(text, "\"--config\",\"/etc/env.json\",\"--state-dir\","
                                           "\"/run/env-state\",\"hook\",\"createRuntime\""));
        free(text);
        write_config(config_with_request, 0644);
        char *argv2[] = {"lockbox-runtime",
                         "--lockbox-runtime",
                         fake,
                         "--lockbox-config",
                         "/etc/opt.json",
                         "create",
                         "--bundle",
                         bundle,
                         "c1",
                         NULL};
        ck_assert_int_eq(run_main(argv2), 42);
        text = read_config();
        ck_assert_ptr_nonnull(strstr(text, "\"--config\",\"/etc/opt.json\",\"--state-dir\","
                                           "\"/run/env-state\""));
        free(text);
        unsetenv("LOCKBOX_CONFIG");
        unsetenv("LOCKBOX_STATE_DIR");
}
END_TEST

START_TEST(test_main_fails_closed) {
        char fake[128], log[128], args_path[128];
        make_fake_runtime(fake, sizeof fake);
        snprintf(log, sizeof log, "%s/log.json", bundle);
        snprintf(args_path, sizeof args_path, "%s/args", bundle);
        static const char bad[] = "{\"annotations\":{\"io.lockbox.secret.a\":\"store:a\"},"
                                  "\"hooks\":{\"poststop\":{}}}";
        write_config(bad, 0644);

        char *argv[] = {"lockbox-runtime",
                        "--lockbox-runtime",
                        fake,
                        "--log",
                        log,
                        "--log-format",
                        "json",
                        "create",
                        "-b",
                        bundle,
                        "c1",
                        NULL};
        ck_assert_int_eq(run_main(argv), 1);
        ck_assert_int_ne(access(args_path, F_OK), 0); /* the runtime never ran */

        /* containerd reports the last "error" entry of --log: ours names the file. */
        _cleanup_close_ int dfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *got = NULL;
        ck_assert_int_eq(read_file_at(dfd, "log.json", 4096, &got, NULL), 0);
        /* One line: the reason and the file together, since only the last line is shown. */
        ck_assert_ptr_eq(strchr(got, '\n'), got + strlen(got) - 1);
        json_t *line = load(got);
        ck_assert_str_eq(json_string_value(json_object_get(line, "level")), "error");
        ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(line, "msg")),
                                     "/config.json: hooks.poststop: not an array, cannot add "
                                     "lockbox's hooks"));
        json_decref(line);

        /* A runtime that does not exist: nothing touched either. */
        write_config(config_with_request, 0644);
        char *argv2[] = {"lockbox-runtime",
                         "--lockbox-runtime",
                         "/nonexistent/runc",
                         "create",
                         "--bundle",
                         bundle,
                         "c1",
                         NULL};
        ck_assert_int_eq(run_main(argv2), 1);
        char *text = read_config();
        ck_assert_str_eq(text, config_with_request);
        free(text);
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("runtime");
        TCase *tc = tcase_create("args");
        tcase_add_test(tc, test_args_docker_create);
        tcase_add_test(tc, test_args_option_forms);
        tcase_add_test(tc, test_args_other_commands);
        tcase_add_test(tc, test_args_errors);
        suite_add_tcase(s, tc);

        tc = tcase_create("config");
        tcase_add_test(tc, test_wants_secrets);
        tcase_add_test(tc, test_add_hooks_order_and_idempotence);
        tcase_add_test(tc, test_add_hooks_existing);
        tcase_add_test(tc, test_add_hooks_wrong_types);
        suite_add_tcase(s, tc);

        tc = tcase_create("bundle");
        tcase_add_checked_fixture(tc, bundle_setup, bundle_teardown);
        tcase_add_test(tc, test_bundle_untouched_without_request);
        tcase_add_test(tc, test_bundle_rewritten_once);
        tcase_add_test(tc, test_bundle_errors);
        tcase_add_test(tc, test_main_execs_runtime);
        tcase_add_test(tc, test_main_fails_closed);
        tcase_add_test(tc, test_main_environment);
        suite_add_tcase(s, tc);
        return s;
}
