/* SPDX-License-Identifier: Apache-2.0 */
#include "fdutil.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

ssize_t read_full(int fd, void *buf, size_t size) {
        size_t done = 0;
        while (done < size) {
                ssize_t n = read(fd, (char *)buf + done, size - done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                done += (size_t)n;
        }
        return (ssize_t)done;
}

int write_full(int fd, const void *buf, size_t size) {
        const char *p = buf;
        while (size > 0) {
                ssize_t n = write(fd, p, size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += n;
                size -= (size_t)n;
        }
        return 0;
}

int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size) {
        /* O_NONBLOCK: a FIFO where a file was expected (rotation reads a manifest on a tmpfs
         * the container can write to) must fail the S_ISREG check, not block us in open(). */
        _cleanup_close_ int fd =
                openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        struct stat st;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uint64_t)st.st_size > max)
                return -EFBIG;
        /* Read one byte more than max so that a file that grew is noticed. */
        _cleanup_free_ char *buf = malloc(max + 2);
        if (!buf)
                return -ENOMEM;
        ssize_t n = read_full(fd, buf, max + 1);
        if (n < 0)
                return (int)n;
        if ((size_t)n > max)
                return -EFBIG;
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = (size_t)n;
        return 0;
}

int openat2_fd(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve) {
        struct open_how how = {
                .flags = (uint64_t)flags | O_CLOEXEC,
                .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
                .resolve = resolve,
        };
        long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
        if (fd < 0)
                return negative_errno();
        return (int)fd;
}

int open_in_root(int rootfd, const char *path, int flags) {
        return openat2_fd(rootfd, path, flags, 0,
                          RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

int mkdir_in_root(int rootfd, const char *dir, mode_t mode, bool create, int *ret_fd) {
        if (dir[0] != '/' || strlen(dir) >= PATH_MAX)
                return -EINVAL;

        _cleanup_close_ int cur = openat2_fd(rootfd, ".", O_PATH | O_DIRECTORY, 0,
                                             RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH);
        if (cur < 0)
                return cur;

        const char *p = dir;
        while (*p) {
                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                size_t len = strcspn(p, "/");
                char component[NAME_MAX + 1];
                if (len > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(component, p, len);
                component[len] = '\0';
                p += len;
                /* ".." is refused rather than clamped: a request that needs it is not one an
                 * operator meant. */
                if (streq_ptr(component, "."))
                        continue;
                if (streq_ptr(component, ".."))
                        return -EINVAL;

                int next =
                        openat2_fd(cur, component, O_PATH | O_DIRECTORY, 0,
                                   RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
                if (next == -ENOENT && create) {
                        if (mkdirat(cur, component, mode) < 0 && errno != EEXIST)
                                return negative_errno();
                        next = openat2_fd(cur, component, O_PATH | O_DIRECTORY, 0,
                                          RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
                                                  RESOLVE_NO_MAGICLINKS);
                }
                if (next < 0)
                        return next;
                close(cur);
                cur = next;
        }
        *ret_fd = TAKE_FD(cur);
        return 0;
}

int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t size, mode_t mode) {
        char tmp[NAME_MAX + 1];
        if ((size_t)snprintf(tmp, sizeof tmp, ".#%s.%ld", name, (long)getpid()) >= sizeof tmp)
                return -ENAMETOOLONG;
        (void)unlinkat(dirfd, tmp, 0);
        _cleanup_close_ int fd =
                openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return negative_errno();
        int r = write_full(fd, data, size);
        if (r >= 0 && fchmod(fd, mode) < 0)
                r = negative_errno();
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        if (r >= 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = negative_errno();
        if (r < 0) {
                (void)unlinkat(dirfd, tmp, 0);
                return r;
        }
        (void)fsync(dirfd);
        return 0;
}

const char *path_parent_problem(const struct stat *st, uid_t owner) {
        if (st->st_uid != 0 && st->st_uid != owner)
                return "not owned by root";
        if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(st->st_mode & S_ISVTX))
                return "writable by group or others";
        return NULL;
}

int path_check_parents(const char *path, uid_t owner, char **ret_dir, struct stat *ret_st) {
        _cleanup_free_ char *copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        char *slash = strrchr(copy, '/');
        if (!slash)
                return -EINVAL;
        *(slash == copy ? slash + 1 : slash) = '\0';
        _cleanup_free_ char *dir = realpath(copy, NULL);
        if (!dir)
                return errno == ENOENT || errno == ENOTDIR ? 0 : negative_errno();
        /* From the deepest directory up, so that the message names the one nearest the file. */
        for (;;) {
                struct stat st;
                if (lstat(dir, &st) < 0)
                        return negative_errno();
                if (path_parent_problem(&st, owner)) {
                        *ret_st = st;
                        *ret_dir = TAKE_PTR(dir);
                        return -EPERM;
                }
                char *up = strrchr(dir, '/');
                if (!up || streq_ptr(dir, "/"))
                        return 0;
                *(up == dir ? up + 1 : up) = '\0';
        }
}

static bool fd_in(int fd, const int *keep, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (keep[i] == fd)
                        return true;
        return false;
}

int close_all_fds_except(const int *keep, size_t n_keep) {
        /* Close ranges between kept fds with close_range(2); there are few kept fds. */
        int lo = 3;
        for (;;) {
                int next_keep = INT_MAX;
                for (size_t i = 0; i < n_keep; i++)
                        if (keep[i] >= lo && keep[i] < next_keep)
                                next_keep = keep[i];
                unsigned hi = next_keep == INT_MAX ? ~0U : (unsigned)next_keep - 1;
                if ((unsigned)lo <= hi && syscall(SYS_close_range, (unsigned)lo, hi, 0) < 0)
                        return negative_errno();
                if (next_keep == INT_MAX)
                        break;
                lo = next_keep + 1;
                while (fd_in(lo, keep, n_keep))
                        lo++;
        }
        return 0;
}

int fd_move_above_stdio(int fd) {
        if (fd > 2)
                return fd;
        int n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (n < 0)
                return negative_errno();
        close(fd);
        return n;
}

int parse_uint64(const char *s, uint64_t *ret) {
        if (!s || !isdigit((unsigned char)s[0]))
                return -EINVAL;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_uid(const char *s, uint32_t *ret) {
        uint64_t v;
        /* (uid_t)-1 means "unchanged" to chown(2): never a valid owner. */
        if (parse_uint64(s, &v) < 0 || v >= UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t)v;
        return 0;
}

int parse_mode(const char *s, mode_t *ret) {
        if (!s || !*s || strlen(s) > 4)
                return -EINVAL;
        unsigned v = 0;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '7')
                        return -EINVAL;
                v = v * 8 + (unsigned)(*p - '0');
        }
        if (v & ~0777U)
                return -EINVAL;
        *ret = (mode_t)v;
        return 0;
}

int parse_size(const char *s, uint64_t *ret) {
        if (!s || !isdigit((unsigned char)s[0]))
                return -EINVAL;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno)
                return -EINVAL;
        uint64_t mult = 1;
        if (*end == 'K' || *end == 'k')
                mult = 1024, end++;
        else if (*end == 'M' || *end == 'm')
                mult = 1024 * 1024, end++;
        else if (*end == 'G' || *end == 'g')
                mult = 1024ULL * 1024 * 1024, end++;
        if (*end || (v && mult > UINT64_MAX / v))
                return -EINVAL;
        *ret = v * mult;
        return 0;
}

static const struct {
        const char *name;
        int sig;
} signal_table[] = {
        {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
        {"USR1", SIGUSR1}, {"USR2", SIGUSR2},   {"TERM", SIGTERM}, {"CONT", SIGCONT},
        {"STOP", SIGSTOP}, {"WINCH", SIGWINCH}, {"ALRM", SIGALRM},
};

int parse_signal(const char *s, int *ret) {
        if (!s || !*s)
                return -EINVAL;
        if (isdigit((unsigned char)s[0])) {
                uint64_t v;
                if (parse_uint64(s, &v) < 0 || v < 1 || v >= (uint64_t)NSIG)
                        return -EINVAL;
                *ret = (int)v;
                return 0;
        }
        if (strncmp(s, "SIG", 3) == 0)
                s += 3;
        for (size_t i = 0; i < ARRAY_SIZE(signal_table); i++)
                if (streq_ptr(s, signal_table[i].name)) {
                        *ret = signal_table[i].sig;
                        return 0;
                }
        return -EINVAL;
}

const char *signal_name(int sig) {
        for (size_t i = 0; i < ARRAY_SIZE(signal_table); i++)
                if (signal_table[i].sig == sig)
                        return signal_table[i].name;
        return "?";
}
