/* SPDX-License-Identifier: Apache-2.0 */
#include "runtime.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "cmd.h"
#include "fdutil.h"
#include "log.h"
#include "request/runtime_config.h"

#define RUNTIME_DEFAULT "runc"
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define LOG_CAPTURE_MAX (64 * 1024)

/* ---- Arguments ---------------------------------------------------------------------------- */

struct flag {
        const char *name;
        bool value;
};

/* runc 1.1's global options, and crun's where it has more: whether each takes a value. */
static const struct flag global_flags[] = {
        {"root", true},      {"log", true},      {"log-format", true},
        {"criu", true},      {"rootless", true}, {"cgroup-manager", true},
        {"log-level", true}, {"debug", false},   {"systemd-cgroup", false},
        {"help", false},     {"h", false},       {"version", false},
        {"v", false},
};

/* The options of runc create and run that take a value; every other one is a switch. */
static const struct flag create_flags[] = {
        {"bundle", true},       {"b", true}, {"console-socket", true}, {"pid-file", true},
        {"preserve-fds", true},
};

/*
 * runc parses its command line with Go's flag package (through urfave/cli): "-x" and "--x" are
 * the same option, and "=" may join the value. Returns false for what is not an option: a word,
 * "-" and "--".
 */
static bool option_split(const char *arg, const char **ret_name, size_t *ret_len,
                         const char **ret_value) {
        if (arg[0] != '-' || arg[1] == '\0' || streq_ptr(arg, "--"))
                return false;
        const char *name = arg + (arg[1] == '-' ? 2 : 1);
        const char *eq = strchr(name, '=');
        *ret_name = name;
        *ret_len = eq ? (size_t)(eq - name) : strlen(name);
        *ret_value = eq ? eq + 1 : NULL;
        return true;
}

static bool name_is(const char *name, size_t len, const char *what) {
        return strlen(what) == len && memcmp(name, what, len) == 0;
}

static const struct flag *flag_find(const struct flag *flags, size_t n, const char *name,
                                    size_t len) {
        for (size_t i = 0; i < n; i++)
                if (name_is(name, len, flags[i].name))
                        return &flags[i];
        return NULL;
}

/* The wrapper's own options, first on the command line (daemon.json's runtimeArgs). */
static int parse_own(int argc, char **argv, struct runtime_args *a, int *i) {
        const char *name, *value;
        size_t len;

        while (*i < argc && option_split(argv[*i], &name, &len, &value)) {
                const char **field = name_is(name, len, "lockbox-config")      ? &a->config
                                     : name_is(name, len, "lockbox-state-dir") ? &a->state_dir
                                     : name_is(name, len, "lockbox-runtime")   ? &a->runtime
                                                                               : NULL;
                if (!field)
                        break;
                if (!value && *i + 1 >= argc)
                        return log_error("option --%.*s needs a value", (int)len, name), -EINVAL;
                if (!value)
                        value = argv[++*i];
                if (value[0] == '\0')
                        return log_error("option --%.*s: empty value", (int)len, name), -EINVAL;
                *field = value;
                (*i)++;
        }
        return 0;
}

/* runc's global options up to the command word; returns the command's index (argc: none). */
static int parse_global(int argc, char **argv, struct runtime_args *a, int i) {
        const char *name, *value;
        size_t len;

        for (; i < argc; i++) {
                if (streq_ptr(argv[i], "--"))
                        return i + 1;
                if (!option_split(argv[i], &name, &len, &value))
                        return i;
                if (len >= 8 && memcmp(name, "lockbox-", 8) == 0)
                        return log_error("option %s: lockbox-runtime's options come before the "
                                         "runtime's",
                                         argv[i]),
                               -EINVAL;
                const struct flag *f = flag_find(global_flags, ARRAY_SIZE(global_flags), name, len);
                if (!f) {
                        /* Taken as a switch; if it has a value, the command word is misread. */
                        a->ambiguous |= !value;
                        continue;
                }
                if (f->value && !value) {
                        if (i + 1 >= argc)
                                return argc;
                        value = argv[++i];
                }
                if (name_is(name, len, "log"))
                        a->log_path = value;
                else if (name_is(name, len, "log-format"))
                        a->log_format = value;
        }
        return argc;
}

/* create/run [options] ID: options may also follow the id (urfave/cli reorders them). */
static void parse_create(int argc, char **argv, int i, struct runtime_args *a) {
        const char *name, *value;
        size_t len;

        for (; i < argc && !streq_ptr(argv[i], "--"); i++) {
                if (!option_split(argv[i], &name, &len, &value))
                        continue; /* the container id */
                if (name_is(name, len, "h") || name_is(name, len, "help"))
                        a->help = true;
                const struct flag *f = flag_find(create_flags, ARRAY_SIZE(create_flags), name, len);
                if (f && !value) {
                        if (i + 1 >= argc)
                                return;
                        value = argv[++i];
                }
                if (name_is(name, len, "b") || name_is(name, len, "bundle"))
                        a->bundle = value; /* the last one wins, as in Go's flag package */
        }
}

int runtime_args_parse(int argc, char **argv, struct runtime_args *ret) {
        struct runtime_args a = {.runtime = RUNTIME_DEFAULT};
        int i = 1;

        *ret = (struct runtime_args){0};
        if (argc < 1)
                return log_error("no arguments"), -EINVAL;
        int r = parse_own(argc, argv, &a, &i);
        if (r < 0)
                return r;
        int first = i;
        int cmd = parse_global(argc, argv, &a, i);
        if (cmd < 0)
                return cmd;
        if (cmd < argc) {
                a.command = argv[cmd];
                a.create = streq_ptr(a.command, "create") || streq_ptr(a.command, "run");
                if (a.create)
                        parse_create(argc, argv, cmd + 1, &a);
        }
        a.argc = argc - first + 1;
        a.argv = calloc((size_t)a.argc + 1, sizeof *a.argv);
        if (!a.argv)
                return -ENOMEM;
        a.argv[0] = (char *)a.runtime;
        memcpy(a.argv + 1, argv + first, (size_t)(argc - first) * sizeof *argv);
        *ret = a;
        return 0;
}

void runtime_args_done(struct runtime_args *a) {
        free(a->argv);
        *a = (struct runtime_args){0};
}

/* ---- Running the real runtime ------------------------------------------------------------- */

/* Find the runtime as execvp would, but never this binary: a wrapper installed under the
 * runtime's name would otherwise exec itself for ever. */
static int runtime_resolve(const char *name, char **ret) {
        struct stat self, st;
        if (stat("/proc/self/exe", &self) < 0)
                return log_error_errno(errno, "/proc/self/exe: cannot stat");
        const char *path = strchr(name, '/') ? "" : getenv("PATH");
        if (!path || !*path)
                path = strchr(name, '/') ? "" : DEFAULT_PATH;

        for (;;) {
                size_t len = strcspn(path, ":");
                _cleanup_free_ char *cand = NULL;
                if (asprintf(&cand, "%.*s%s%s", (int)len, path, len ? "/" : "", name) < 0)
                        return -ENOMEM;
                if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0 &&
                    !(st.st_dev == self.st_dev && st.st_ino == self.st_ino)) {
                        *ret = TAKE_PTR(cand);
                        return 0;
                }
                if (path[len] == '\0')
                        break;
                path += len + 1;
        }
        return log_error("runtime '%s': not found%s (set it with --lockbox-runtime PATH)", name,
                         strchr(name, '/') ? " or not executable" : " in PATH"),
               -ENOENT;
}

/* An option's path as the hook will need it: the hook does not run in our directory. */
static int path_absolute(const char *p, char **ret) {
        if (!p || p[0] == '/') {
                *ret = p ? strdup(p) : NULL;
                return p && !*ret ? -ENOMEM : 0;
        }
        _cleanup_free_ char *cwd = getcwd(NULL, 0);
        if (!cwd)
                return log_error_errno(errno, "cannot get the current directory");
        return asprintf(ret, "%s/%s", cwd, p) < 0 ? -ENOMEM : 0;
}

static int runtime_prepare(const struct runtime_args *a) {
        _cleanup_free_ char *self = NULL, *config = NULL, *state_dir = NULL;

        if (!a->create || a->help)
                return 0;
        self = realpath("/proc/self/exe", NULL);
        if (!self)
                return log_error_errno(errno, "cannot find the broker's own path");
        if (path_absolute(a->config, &config) < 0 || path_absolute(a->state_dir, &state_dir) < 0)
                return -ENOMEM;
        struct runtime_hook hook = {.path = self, .config = config, .state_dir = state_dir};
        int r = runtime_prepare_bundle(a->bundle ? a->bundle : ".", &hook);
        return r < 0 ? r : 0;
}

/* json_dumps allocates with jansson's allocator (the wiping one): free with it. */
static void json_text_freep(char **p) {
        json_free_t f;
        if (!*p)
                return;
        json_get_alloc_funcs(NULL, &f);
        f(*p);
}

/* Append one line to runc's --log file, in its format: containerd reports the last "error"
 * entry of that file as the reason a create failed. */
static void runtime_log_line(const struct runtime_args *a, const char *line, size_t len) {
        char when[32];
        time_t now = time(NULL);
        struct tm tm;

        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
        _cleanup_json_ json_t *msg = json_stringn(line, len);
        if (!msg) {
                /* Not UTF-8 (a path from an image): the same line in ASCII. */
                _cleanup_free_ char *ascii = strndup(line, len);
                for (size_t i = 0; ascii && ascii[i]; i++)
                        if ((unsigned char)ascii[i] >= 0x80)
                                ascii[i] = '?';
                msg = ascii ? json_string(ascii) : NULL;
        }
        if (!msg)
                return;
        _cleanup_(json_text_freep) char *text = NULL;
        if (streq_ptr(a->log_format, "json")) {
                _cleanup_json_ json_t *o =
                        json_pack("{s:s,s:O,s:s}", "level", "error", "msg", msg, "time", when);
                text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        } else {
                /* logrus's text format: msg quoted as a Go string, which JSON's quoting is. */
                _cleanup_json_ json_t *o = json_pack("[O]", msg);
                text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        }
        _cleanup_close_ int fd =
                open(a->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (!text || fd < 0)
                return;
        if (streq_ptr(a->log_format, "json")) {
                (void)write_full(fd, text, strlen(text));
                (void)write_full(fd, "\n", 1);
        } else {
                /* ["..."]: the quoted string between the brackets. */
                dprintf(fd, "time=\"%s\" level=error msg=%.*s\n", when, (int)strlen(text) - 2,
                        text + 1);
        }
}

/* What was logged while preparing goes to stderr, and on failure also to runc's log file. */
static void runtime_flush_log(const struct runtime_args *a, int capture, bool failed) {
        _cleanup_free_ char *buf = malloc(LOG_CAPTURE_MAX + 1);

        log_set_fd(STDERR_FILENO);
        ssize_t n = buf && capture >= 0 ? pread(capture, buf, LOG_CAPTURE_MAX, 0) : -1;
        if (n <= 0)
                return;
        (void)write_full(STDERR_FILENO, buf, (size_t)n);
        for (char *p = buf, *end = buf + n; failed && a->log_path && p < end;) {
                char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
                if (len)
                        runtime_log_line(a, p, len);
                p += len + 1;
        }
}

void runtime_args_from_env(struct runtime_args *a) {
        const char *v;
        if (!a->config && (v = getenv("LOCKBOX_CONFIG")) && *v)
                a->config = v;
        if (!a->state_dir && (v = getenv("LOCKBOX_STATE_DIR")) && *v)
                a->state_dir = v;
}

int runtime_main(int argc, char **argv) {
        _cleanup_(runtime_args_done) struct runtime_args a = {0};
        _cleanup_free_ char *exe = NULL;

        log_open("lockbox-runtime");
        /* Of secure_init() only the wiping allocator: config.json's process.env is the user's
         * and may hold a password. Not RLIMIT_CORE: rlimits pass through exec to the runtime
         * and to every container it starts, which must run as with the runtime alone. */
        json_secure_init();
        _cleanup_close_ int capture = memfd_create("lockbox-runtime-log", MFD_CLOEXEC);
        if (capture >= 0)
                log_set_fd(capture);

        int r = runtime_args_parse(argc, argv, &a);
        /* containerd's runc shim runs BinaryName without arguments of ours: the environment
         * (containerd's, which its shims inherit) or the broker's defaults then apply. */
        if (r >= 0)
                runtime_args_from_env(&a);
        if (r >= 0 && a.ambiguous)
                for (int i = 1; i < a.argc; i++)
                        if (streq_ptr(a.argv[i], "create") || streq_ptr(a.argv[i], "run")) {
                                r = log_error("an unknown runtime option comes before the "
                                              "command: cannot tell whether this is a create");
                                break;
                        }
        if (r >= 0)
                r = runtime_resolve(a.runtime, &exe);
        if (r >= 0)
                r = runtime_prepare(&a);
        runtime_flush_log(&a, capture, r < 0);
        if (r < 0)
                return EXIT_FAILED;

        execv(exe, a.argv);
        r = log_error_errno(errno, "%s: cannot execute", exe);
        if (a.log_path) {
                char line[PATH_MAX + 64];
                int n = snprintf(line, sizeof line, "lockbox-runtime: %s: cannot execute: %s", exe,
                                 strerror(-r));
                runtime_log_line(&a, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
        }
        return EXIT_FAILED;
}
