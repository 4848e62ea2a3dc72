/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lbx-testapp: the payload of the integration tests. Static, libc only, so that it runs in a
 * busybox (or empty) rootfs. Each argument is an operation, run in order; results go to
 * stdout as one "key=value" line each, flushed after every operation.
 *
 *   fds                  fds=0,1,2,3         every open fd (not the one reading /proc/self/fd)
 *   read-fd:N            fd.N=<contents>     or fd.N=<error: strerror>
 *   cat:PATH             file.PATH=<contents>  or file.PATH=<error: strerror>
 *   env                  env=K=V             one line per variable
 *   mounted:PATH         mounted.PATH=yes|no is PATH a mount point (mountinfo field 5)
 *   ls:PATH              ls.PATH=a,b,c       sorted, without . and ..; or the error
 *   stat:PATH            stat.PATH=uid:gid:mode   mode in octal (permission bits, e.g. 0400)
 *   fdstat:N             fdstat.N=uid:gid:mode:seals   seals from F_GET_SEALS, -1 if none
 *   stdin                stdin=<all of stdin>
 *   argv                 argv=<a>            one line per element of argv, argv[0] included
 *   id                   id=uid:gid
 *   sleep:SECONDS        (decimals allowed)
 *   exit:N               exit with status N
 *   kill-self:SIG        send SIG (name, SIGNAME or number) to itself, default action
 *   wait-signal:SIG:T    signal=SIG when SIG arrives within T seconds, else signal=timeout
 *   watch-fd:N:SIG:COUNT watch.N=<contents> now and each time SIG arrives, COUNT times (read
 *                        from offset 0 each time: the shim rewrites fd N in place on
 *                        --on-rotate signal:SIG); watch.N=timeout after 60 s without SIG
 *
 * Signals named by wait-signal and watch-fd are blocked from the start, so that one sent early is
 * not lost (and, as PID 1, not dropped). An unknown operation prints "error=unknown op" and exits
 * 2; an operation with a bad argument prints "error=bad argument" and exits 2.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const struct {
        const char *name;
        int sig;
} signals[] = {
        {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"ABRT", SIGABRT},
        {"KILL", SIGKILL}, {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},
        {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM},   {"CHLD", SIGCHLD},
        {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"WINCH", SIGWINCH},
};

static _Noreturn void bad_argument(void) {
        printf("error=bad argument\n");
        fflush(stdout);
        exit(2);
}

static int parse_int(const char *s) {
        char *end;
        if (!s || !isdigit((unsigned char)*s))
                bad_argument();
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || *end || v > 1000000)
                bad_argument();
        return (int)v;
}

static int parse_sig(const char *s) {
        if (isdigit((unsigned char)*s)) {
                int v = parse_int(s);
                if (v < 1 || v >= NSIG)
                        bad_argument();
                return v;
        }
        if (strncmp(s, "SIG", 3) == 0)
                s += 3;
        for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
                if (strcmp(s, signals[i].name) == 0)
                        return signals[i].sig;
        bad_argument();
}

static double parse_seconds(const char *s) {
        char *end;
        if (!s || !isdigit((unsigned char)*s))
                bad_argument();
        double v = strtod(s, &end);
        if (*end || v < 0 || v > 1e6)
                bad_argument();
        return v;
}

static struct timespec to_timespec(double seconds) {
        struct timespec ts = {.tv_sec = (time_t)seconds};
        ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
        return ts;
}

/* Everything from fd to EOF, as is (test values are printable). NULL with errno on error. */
static char *read_all(int fd, size_t *ret_len) {
        size_t cap = 4096, len = 0;
        char *buf = malloc(cap + 1);
        if (!buf)
                return NULL;
        for (;;) {
                if (len == cap) {
                        char *more = realloc(buf, cap * 2 + 1);
                        if (!more)
                                break;
                        buf = more;
                        cap *= 2;
                }
                ssize_t n = read(fd, buf + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int e = errno;
                        free(buf);
                        errno = e;
                        return NULL;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        *ret_len = len;
        return buf;
}

static void print_contents(const char *key, int fd) {
        size_t len;
        char *buf = fd < 0 ? NULL : read_all(fd, &len);
        if (!buf) {
                printf("%s=<error: %s>\n", key, strerror(errno));
                return;
        }
        printf("%s=", key);
        fwrite(buf, 1, len, stdout);
        putchar('\n');
        free(buf);
}

static void op_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        if (!d) {
                printf("fds=<error: %s>\n", strerror(errno));
                return;
        }
        int self = dirfd(d), fds[4096];
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d)) && n < sizeof fds / sizeof fds[0]) {
                if (!isdigit((unsigned char)de->d_name[0]))
                        continue;
                int fd = atoi(de->d_name);
                if (fd != self)
                        fds[n++] = fd;
        }
        closedir(d);
        /* readdir order is ascending on procfs, but do not rely on it. */
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
                        int t = fds[j];
                        fds[j] = fds[j - 1];
                        fds[j - 1] = t;
                }
        printf("fds=");
        for (size_t i = 0; i < n; i++)
                printf("%s%d", i ? "," : "", fds[i]);
        putchar('\n');
}

static void op_read_fd(const char *arg) {
        int fd = parse_int(arg);
        char key[64];
        snprintf(key, sizeof key, "fd.%d", fd);
        print_contents(key, fd);
}

static void op_cat(const char *path) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        char key[4200];
        snprintf(key, sizeof key, "file.%s", path);
        print_contents(key, fd);
        if (fd >= 0)
                close(fd);
}

static void op_env(void) {
        for (char **e = environ; e && *e; e++)
                printf("env=%s\n", *e);
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s) {
        char *out = s;
        for (char *p = s; *p; p++) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '7' && p[2] >= '0' && p[2] <= '7' &&
                    p[3] >= '0' && p[3] <= '7') {
                        *out++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
                        p += 3;
                } else
                        *out++ = *p;
        }
        *out = '\0';
}

static void op_mounted(const char *path) {
        char want[4096];
        snprintf(want, sizeof want, "%s", path);
        for (size_t len = strlen(want); len > 1 && want[len - 1] == '/'; len--)
                want[len - 1] = '\0';
        FILE *f = fopen("/proc/self/mountinfo", "re");
        if (!f) {
                printf("mounted.%s=<error: %s>\n", path, strerror(errno));
                return;
        }
        bool found = false;
        char line[8192];
        while (!found && fgets(line, sizeof line, f)) {
                /* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... */
                char *save = NULL, *field = strtok_r(line, " ", &save);
                for (int i = 1; field && i < 5; i++)
                        field = strtok_r(NULL, " ", &save);
                if (!field)
                        continue;
                unescape_octal(field);
                found = strcmp(field, want) == 0;
        }
        fclose(f);
        printf("mounted.%s=%s\n", path, found ? "yes" : "no");
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static void op_ls(const char *path) {
        DIR *d = opendir(path);
        if (!d) {
                printf("ls.%s=<error: %s>\n", path, strerror(errno));
                return;
        }
        char *names[4096];
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d)) && n < sizeof names / sizeof names[0])
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        names[n++] = strdup(de->d_name);
        closedir(d);
        qsort(names, n, sizeof names[0], cmp_str);
        printf("ls.%s=", path);
        for (size_t i = 0; i < n; i++) {
                printf("%s%s", i ? "," : "", names[i] ? names[i] : "?");
                free(names[i]);
        }
        putchar('\n');
}

static void op_stat(const char *path) {
        struct stat st;
        if (stat(path, &st) < 0)
                printf("stat.%s=<error: %s>\n", path, strerror(errno));
        else
                printf("stat.%s=%u:%u:%04o\n", path, (unsigned)st.st_uid, (unsigned)st.st_gid,
                       (unsigned)(st.st_mode & 07777));
}

static void op_fdstat(const char *arg) {
        int fd = parse_int(arg);
        struct stat st;
        if (fstat(fd, &st) < 0) {
                printf("fdstat.%d=<error: %s>\n", fd, strerror(errno));
                return;
        }
        int seals = fcntl(fd, F_GET_SEALS);
        printf("fdstat.%d=%u:%u:%04o:%d\n", fd, (unsigned)st.st_uid, (unsigned)st.st_gid,
               (unsigned)(st.st_mode & 07777), seals < 0 ? -1 : seals);
}

static void op_argv(int argc, char **argv) {
        for (int i = 0; i < argc; i++)
                printf("argv=%s\n", argv[i]);
}

static void op_sleep(const char *arg) {
        struct timespec ts = to_timespec(parse_seconds(arg));
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static void op_kill_self(const char *arg) {
        int sig = parse_sig(arg);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, sig);
        fflush(stdout);
        signal(sig, SIG_DFL);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        /* As PID 1 of a namespace a signal to itself with the default action is dropped by
         * the kernel; then the next operation runs. */
        kill(getpid(), sig);
}

static void op_wait_signal(const char *arg) {
        char name[64];
        const char *colon = strchr(arg, ':');
        if (!colon || (size_t)(colon - arg) >= sizeof name)
                bad_argument();
        memcpy(name, arg, (size_t)(colon - arg));
        name[colon - arg] = '\0';
        int sig = parse_sig(name);
        struct timespec ts = to_timespec(parse_seconds(colon + 1));
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, sig);
        sigprocmask(SIG_BLOCK, &set, NULL);
        int got;
        do
                got = sigtimedwait(&set, NULL, &ts);
        while (got < 0 && errno == EINTR);
        printf("signal=%s\n", got == sig ? name : "timeout");
}

/* Everything at fd from offset 0, whatever the fd's offset. */
static void print_contents_at_start(const char *key, int fd) {
        char buf[65536];
        size_t len = 0;
        for (;;) {
                ssize_t n = pread(fd, buf + len, sizeof buf - len, (off_t)len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        printf("%s=<error: %s>\n", key, strerror(errno));
                        return;
                }
                if (n == 0 || len + (size_t)n == sizeof buf) {
                        len += (size_t)n;
                        break;
                }
                len += (size_t)n;
        }
        printf("%s=", key);
        fwrite(buf, 1, len, stdout);
        putchar('\n');
}

static void op_watch_fd(const char *arg) {
        int fd, count;
        char name[64];
        if (sscanf(arg, "%d:%63[^:]:%d", &fd, name, &count) != 3 || fd < 0 || count < 0)
                bad_argument();
        int sig = parse_sig(name);
        char key[64];
        snprintf(key, sizeof key, "watch.%d", fd);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, sig);
        sigprocmask(SIG_BLOCK, &set, NULL);
        print_contents_at_start(key, fd);
        fflush(stdout);
        for (int i = 0; i < count; i++) {
                struct timespec ts = {.tv_sec = 60};
                int got;
                do
                        got = sigtimedwait(&set, NULL, &ts);
                while (got < 0 && errno == EINTR);
                if (got != sig) {
                        printf("%s=timeout\n", key);
                        return;
                }
                print_contents_at_start(key, fd);
                fflush(stdout);
        }
}

/* Block every signal a later wait-signal or watch-fd names, before anything else happens. */
static void block_awaited_signals(int argc, char **argv) {
        sigset_t set;
        sigemptyset(&set);
        for (int i = 1; i < argc; i++) {
                const char *rest;
                if (strncmp(argv[i], "wait-signal:", 12) == 0)
                        rest = argv[i] + 12;
                else if (strncmp(argv[i], "watch-fd:", 9) == 0 && strchr(argv[i] + 9, ':'))
                        rest = strchr(argv[i] + 9, ':') + 1;
                else
                        continue;
                char name[64];
                size_t len = strcspn(rest, ":");
                if (len >= sizeof name)
                        continue;
                memcpy(name, rest, len);
                name[len] = '\0';
                sigaddset(&set, parse_sig(name));
        }
        sigprocmask(SIG_BLOCK, &set, NULL);
}

/* "name:ARG" → ARG when op starts with "name:", else NULL. */
static const char *arg_of(const char *op, const char *name) {
        size_t len = strlen(name);
        return strncmp(op, name, len) == 0 && op[len] == ':' ? op + len + 1 : NULL;
}

static bool run_param_op(const char *op) {
        const char *a;
        if ((a = arg_of(op, "read-fd")))
                op_read_fd(a);
        else if ((a = arg_of(op, "cat")))
                op_cat(a);
        else if ((a = arg_of(op, "mounted")))
                op_mounted(a);
        else if ((a = arg_of(op, "ls")))
                op_ls(a);
        else if ((a = arg_of(op, "stat")))
                op_stat(a);
        else if ((a = arg_of(op, "fdstat")))
                op_fdstat(a);
        else if ((a = arg_of(op, "sleep")))
                op_sleep(a);
        else if ((a = arg_of(op, "kill-self")))
                op_kill_self(a);
        else if ((a = arg_of(op, "wait-signal")))
                op_wait_signal(a);
        else if ((a = arg_of(op, "watch-fd")))
                op_watch_fd(a);
        else if ((a = arg_of(op, "exit"))) {
                int status = parse_int(a);
                fflush(stdout);
                exit(status & 0xff);
        } else
                return false;
        return true;
}

int main(int argc, char **argv) {
        block_awaited_signals(argc, argv);
        for (int i = 1; i < argc; i++) {
                const char *op = argv[i];
                if (strcmp(op, "fds") == 0)
                        op_fds();
                else if (strcmp(op, "env") == 0)
                        op_env();
                else if (strcmp(op, "stdin") == 0)
                        print_contents("stdin", STDIN_FILENO);
                else if (strcmp(op, "argv") == 0)
                        op_argv(argc, argv);
                else if (strcmp(op, "id") == 0)
                        printf("id=%u:%u\n", (unsigned)getuid(), (unsigned)getgid());
                else if (!run_param_op(op)) {
                        printf("error=unknown op\n");
                        fflush(stdout);
                        return 2;
                }
                fflush(stdout);
        }
        return 0;
}
