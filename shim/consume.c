/* SPDX-License-Identifier: Apache-2.0 */
#include "consume.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>

#include "fdutil.h"
#include "harden.h"
#include "json.h"
#include "log.h"

#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif

/* Poll every 2 ms at first (the watcher usually answers within a few), then back off. */
#define CONSUME_POLL_FIRST_MS 2
#define CONSUME_POLL_MAX_MS 50
/* The broker's largest tmpfs (its config.c): no file on it is larger. */
#define CONSUME_VALUE_MAX (64ULL * 1024 * 1024)

struct secret_set *secret_set_free(struct secret_set *set) {
        if (!set)
                return NULL;
        secret_set_drop_values(set);
        free(set->items);
        manifest_free(set->manifest);
        free(set);
        return NULL;
}

void secret_set_drop_values(struct secret_set *set) {
        /* All at once where memory allows: their arena goes under one mprotect. */
        _cleanup_free_ struct secret **values = set->n > 1 ? calloc(set->n, sizeof *values) : NULL;
        for (size_t i = 0; i < set->n; i++)
                if (values) {
                        values[i] = set->items[i].value;
                        set->items[i].value = NULL;
                } else
                        set->items[i].value = secret_free(set->items[i].value);
        if (values)
                secret_free_all(values, set->n);
}

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sleep up to ms, waking early when the mount table changes: /proc/self/mountinfo reports
 * POLLPRI after any mount or unmount in our namespace, which is exactly what the broker's
 * move_mount (inject) and its watcher's umount do. The timeout is the fallback without /proc. */
static void consume_sleep(int mountinfo_fd, uint64_t ms) {
        if (mountinfo_fd >= 0) {
                struct pollfd pfd = {.fd = mountinfo_fd, .events = POLLPRI};
                (void)poll(&pfd, 1, (int)ms);
                return;
        }
        struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
                              .tv_nsec = (long)(ms % 1000) * 1000000};
        (void)nanosleep(&ts, NULL);
}

/* A tmpfs mounted at dir itself, not a directory on a tmpfs mounted higher up (Podman mounts
 * /run as a tmpfs, so /run/secrets may be on one without being a lockbox mount). */
static int consume_check_mount(int dirfd, const char **ret_why) {
        struct statfs sfs;
        struct statx stx;
        if (fstatfs(dirfd, &sfs) < 0)
                return negative_errno();
        if (sfs.f_type != TMPFS_MAGIC) {
                *ret_why = "not mounted";
                return 0;
        }
        if (statx(dirfd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) < 0)
                return negative_errno();
        if ((stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
            !(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
                *ret_why = "not mounted";
                return 0;
        }
        return 1;
}

int consume_probe(const char *dir, bool require_mount, int *ret_dirfd, const char **ret_why) {
        /* O_PATH|O_NOFOLLOW first: a symlink at dir is not followed (the broker never mounts
         * on one), it fails O_DIRECTORY with ENOTDIR. */
        _cleanup_close_ int pathfd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (pathfd < 0) {
                if (errno == ENOENT || errno == ENOTDIR) {
                        *ret_why = "not mounted";
                        return 0;
                }
                return log_error_errno(errno, "%s: cannot open", dir);
        }
        _cleanup_close_ int dirfd = openat(pathfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return log_error_errno(errno, "%s: cannot open", dir);
        if (require_mount) {
                int r = consume_check_mount(dirfd, ret_why);
                if (r < 0)
                        return log_error_errno(r, "%s: cannot inspect the mount", dir);
                if (r == 0)
                        return 0;
        }
        struct stat st;
        if (fstatat(dirfd, MANIFEST_FILE, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT) {
                        /* The broker writes the manifest last: without it the set is not
                         * complete (or not lockbox's). */
                        *ret_why = "no " MANIFEST_FILE;
                        return 0;
                }
                return log_error_errno(errno, "%s/%s: cannot stat", dir, MANIFEST_FILE);
        }
        *ret_dirfd = TAKE_FD(dirfd);
        return 1;
}

/* The reasons consume_open_file gives without an errno worth printing. */
#define consume_log_file(r, why, fmt, ...)                                                         \
        ((r) == -ELOOP || (r) == -EBADFD || (r) == -EXDEV || (r) == -EMLINK                        \
                 ? log_error(fmt ": %s", __VA_ARGS__, why)                                         \
                 : log_error_errno(r, fmt ": %s", __VA_ARGS__, why))

/* Open a file on the tmpfs for reading: never through a symlink, never blocking (a FIFO put
 * there would otherwise hang PID 1 in open()), and it must be a regular file on the tmpfs. */
static int consume_open_file(int dirfd, const char *file, dev_t dev, struct stat *ret_st,
                             const char **ret_why) {
        _cleanup_close_ int fd =
                openat(dirfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0) {
                *ret_why = errno == ELOOP ? "is a symbolic link" : "cannot open";
                return errno == ELOOP ? -ELOOP : negative_errno();
        }
        if (fstat(fd, ret_st) < 0) {
                *ret_why = "cannot stat";
                return negative_errno();
        }
        if (!S_ISREG(ret_st->st_mode)) {
                *ret_why = "not a regular file";
                return -EBADFD;
        }
        if (ret_st->st_dev != dev) {
                *ret_why = "not on the secrets filesystem";
                return -EXDEV;
        }
        /* The broker makes one name for each file: another is a copy that would outlive the
         * consumption (a hard link made by a process in the container). */
        if (ret_st->st_nlink != 1) {
                *ret_why = "has another hard link (refused)";
                return -EMLINK;
        }
        return TAKE_FD(fd);
}

static int consume_parse_manifest(const char *buf, size_t size, const char *dir,
                                  struct manifest **ret) {
        int r = manifest_parse(buf, size, ret);
        if (r >= 0)
                return 0;
        /* manifest_parse says only -EINVAL; parse once more to say whether it is the JSON or
         * the shape (the reason names a position and a kind, never text from the file). */
        _cleanup_json_ json_t *j = NULL;
        char why[128];
        if (json_parse_strict(buf, size, MANIFEST_MAX_BYTES, &j, why, sizeof why) < 0)
                return log_error("%s/%s: invalid manifest: %s", dir, MANIFEST_FILE, why);
        return log_error("%s/%s: invalid manifest: not version %d with name, file, size, mode "
                         "and blake2b for each secret",
                         dir, MANIFEST_FILE, MANIFEST_VERSION);
}

static int consume_read_manifest(int dirfd, const char *dir, dev_t dev, struct manifest **ret) {
        struct stat st;
        const char *why = NULL;
        _cleanup_close_ int fd = consume_open_file(dirfd, MANIFEST_FILE, dev, &st, &why);
        if (fd < 0)
                return consume_log_file(fd, why, "%s/%s", dir, MANIFEST_FILE);
        if (st.st_size > MANIFEST_MAX_BYTES)
                return log_error("%s/%s: larger than %d bytes", dir, MANIFEST_FILE,
                                 MANIFEST_MAX_BYTES);
        /* One byte more than fstat said, so that a manifest still being written is noticed. */
        size_t size = (size_t)st.st_size;
        _cleanup_free_ char *buf = malloc(size + 2);
        if (!buf)
                return log_error_errno(-ENOMEM, "%s/%s", dir, MANIFEST_FILE);
        ssize_t n = read_full(fd, buf, size + 1);
        if (n < 0)
                return log_error_errno((int)n, "%s/%s: cannot read", dir, MANIFEST_FILE);
        if ((size_t)n != size)
                return log_error("%s/%s: changed while being read", dir, MANIFEST_FILE);
        return consume_parse_manifest(buf, size, dir, ret);
}

/* Read exactly secret_size(v) bytes into v: the size is known (manifest and fstat agree), so no
 * growing buffer and no second copy. One byte more is asked for so that a file that grew is
 * refused (-EFBIG) rather than silently cut; fewer bytes is -ENODATA. */
static int consume_read_exact(int fd, struct secret *v) {
        size_t size = secret_size(v);
        ssize_t n = read_full(fd, secret_data(v), size);
        if (n < 0)
                return (int)n;
        if ((size_t)n != size)
                return -ENODATA;
        unsigned char extra;
        n = read_full(fd, &extra, 1);
        explicit_bzero(&extra, sizeof extra);
        if (n < 0)
                return (int)n;
        if (n > 0)
                return -EFBIG;
        return 0;
}

/* Into value, of the manifest's size (consume_read allocated all of them at once); taken by ret on
 * success. */
static int consume_read_entry(int dirfd, const char *dir, dev_t dev, const struct manifest_entry *e,
                              struct secret **value, struct shim_secret *ret) {
        struct stat st;
        const char *why = NULL;
        _cleanup_close_ int fd = consume_open_file(dirfd, e->file, dev, &st, &why);
        if (fd < 0)
                return consume_log_file(fd, why, "secret '%s' (%s/%s)", e->name, dir, e->file);
        if ((uint64_t)st.st_size != e->size)
                return log_error("secret '%s' (%s/%s): %lld bytes, the manifest says %llu", e->name,
                                 dir, e->file, (long long)st.st_size, (unsigned long long)e->size);
        if ((st.st_mode & 07777) != e->mode)
                return log_error("secret '%s' (%s/%s): mode %04o, the manifest says %04o "
                                 "(changed)",
                                 e->name, dir, e->file, (unsigned)(st.st_mode & 07777),
                                 (unsigned)e->mode);
        struct secret *v = *value;
        int r = consume_read_exact(fd, v);
        if (r == -EFBIG)
                return log_error("secret '%s' (%s/%s): grew while being read", e->name, dir,
                                 e->file);
        if (r == -ENODATA)
                return log_error("secret '%s' (%s/%s): shrank while being read", e->name, dir,
                                 e->file);
        if (r < 0)
                return log_error_errno(r, "secret '%s' (%s/%s): cannot read", e->name, dir,
                                       e->file);
        uint8_t hash[SECRET_HASH_BYTES];
        secret_hash(v, hash);
        if (memcmp(hash, e->blake2b, sizeof hash) != 0)
                return log_error("secret '%s' (%s/%s): BLAKE2b hash does not match the manifest "
                                 "(changed or tampered with)",
                                 e->name, dir, e->file);
        (void)secret_seal(v); /* read-only from now on; a failure costs only that */
        *ret = (struct shim_secret){
                .name = e->name,
                .value = TAKE_PTR(*value),
                .uid = st.st_uid,
                .gid = st.st_gid,
                .mode = e->mode,
        };
        return 0;
}

static bool consume_entry_expected(const struct manifest *m, const char *name) {
        if (streq_ptr(name, ".") || streq_ptr(name, "..") || streq_ptr(name, MANIFEST_FILE) ||
            streq_ptr(name, MANIFEST_CONSUMED_FILE))
                return true;
        for (size_t i = 0; i < m->n_entries; i++)
                if (streq_ptr(name, m->entries[i].file))
                        return true;
        return false;
}

/* The directory holds the manifest's files, the manifest and the marker, and nothing else: a
 * name of anyone else's (a hard link, a file to be read later through a held directory) is a
 * sign that something ran in the container before us and is refused. The name is not printed:
 * it is the container's choice of bytes. */
static int consume_check_entries(int dirfd, const char *dir, const struct manifest *m) {
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                int r = negative_errno();
                safe_close(fd);
                return log_error_errno(r, "%s: cannot list", dir);
        }
        size_t extra = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                extra += !consume_entry_expected(m, de->d_name);
        closedir(d);
        if (extra)
                return log_error("%s: %zu entr%s not in the manifest (a hard link or a file put "
                                 "there by a process in the container); refusing",
                                 dir, extra, extra == 1 ? "y" : "ies");
        return 0;
}

static int consume_read_values(int dirfd, const char *dir, struct secret_set *set,
                               struct secret **values) {
        for (size_t i = 0; i < set->manifest->n_entries; i++) {
                int r = consume_read_entry(dirfd, dir, set->dev, &set->manifest->entries[i],
                                           &values[i], &set->items[i]);
                if (r < 0)
                        return r;
                set->n++;
        }
        return 0;
}

/* Every value in one guarded, locked arena sized by the manifest (each file is checked against
 * it before a byte is read), rather than one sodium_malloc each. */
static int consume_read_entries(int dirfd, const char *dir, struct secret_set *set) {
        const struct manifest *m = set->manifest;
        size_t n = m->n_entries;
        _cleanup_free_ size_t *sizes = calloc(n + 1, sizeof *sizes);
        _cleanup_free_ struct secret **values = calloc(n + 1, sizeof *values);
        set->items = calloc(n + 1, sizeof *set->items);
        if (!sizes || !values || !set->items)
                return log_error_errno(-ENOMEM, "%s", dir);
        if (n == 0)
                return 0;
        for (size_t i = 0; i < n; i++) {
                if (m->entries[i].size > CONSUME_VALUE_MAX)
                        return log_error("secret '%s' (%s/%s): the manifest says %llu bytes, more "
                                         "than any tmpfs holds",
                                         m->entries[i].name, dir, m->entries[i].file,
                                         (unsigned long long)m->entries[i].size);
                sizes[i] = (size_t)m->entries[i].size;
        }
        int r = secret_new_batch(sizes, n, values);
        if (r < 0)
                return log_error_errno(r, "%s: cannot allocate locked memory for %zu secrets", dir,
                                       n);
        r = consume_read_values(dirfd, dir, set, values);
        for (size_t i = 0; i < n; i++) /* those not taken by set->items */
                values[i] = secret_free(values[i]);
        return r;
}

int consume_read(int dirfd, const char *dir, struct secret_set **ret) {
        _cleanup_secret_set_ struct secret_set *set = calloc(1, sizeof *set);
        if (!set)
                return log_error_errno(-ENOMEM, "%s", dir);
        struct stat st;
        if (fstat(dirfd, &st) < 0)
                return log_error_errno(errno, "%s: cannot stat", dir);
        set->dev = st.st_dev;

        int r = consume_read_manifest(dirfd, dir, set->dev, &set->manifest);
        if (r < 0)
                return r;
        r = consume_read_entries(dirfd, dir, set);
        if (r < 0)
                return r;
        /* After the files: a name made while we read them is seen too. */
        r = consume_check_entries(dirfd, dir, set->manifest);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(set);
        return 0;
}

/* Tell the watcher: one byte to the marker (O_NONBLOCK: a FIFO put in its place by the
 * container's root must not hang PID 1; a marker that is not a regular file on the tmpfs is
 * not written). Without a marker (an older broker) the manifest's deletion is the signal. */
static void consume_signal(int dirfd, const char *dir, dev_t dev) {
        struct stat st;
        _cleanup_close_ int fd = openat(dirfd, MANIFEST_CONSUMED_FILE,
                                        O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_dev != dev ||
            write(fd, "1", 1) != 1)
                log_debug("%s/%s: cannot signal the broker's watcher (%s); relying on the "
                          "manifest's removal",
                          dir, MANIFEST_CONSUMED_FILE, fd < 0 ? strerror(errno) : "not written");
}

int consume_remove(int dirfd, const char *dir, const struct secret_set *set) {
        struct stat st;
        if (fstat(dirfd, &st) < 0)
                return log_error_errno(errno, "%s: cannot stat", dir);
        consume_signal(dirfd, dir, st.st_dev);
        /* Only a shim that may write the directory (the container's root without a user
         * namespace owns it) removes the files itself; for any other the watcher does, woken by
         * the marker. Either way consume_unmount waits until they are gone. The manifest goes
         * after the files: its deletion also wakes the watcher. */
        for (size_t i = 0; i <= set->n; i++) {
                const char *file = i < set->n ? set->manifest->entries[i].file : MANIFEST_FILE;
                if (unlinkat(dirfd, file, 0) < 0 && errno != ENOENT && errno != EACCES &&
                    errno != EPERM && errno != EROFS)
                        return log_error_errno(errno, "cannot remove %s/%s", dir, file);
        }
        (void)unlinkat(dirfd, MANIFEST_CONSUMED_FILE, 0);
        return 0;
}

/* Gone when dir is no longer on the tmpfs we read: another st_dev, or no dir at all. */
static bool consume_is_unmounted(const char *dir, dev_t dev) {
        struct stat st;
        if (fstatat(AT_FDCWD, dir, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT;
        return st.st_dev != dev;
}

/* Nothing left on the tmpfs, seen through our own fd of its root (which reaches it whether or
 * not it is still mounted): what a process that holds its cwd there would find. */
static bool consume_is_empty(int dirfd) {
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;
        bool empty = true;
        if (!d) {
                safe_close(fd);
                return false;
        }
        while (empty && (de = readdir(d)))
                empty = streq_ptr(de->d_name, ".") || streq_ptr(de->d_name, "..");
        closedir(d);
        return empty;
}

int consume_unmount(const char *dir, int dirfd, dev_t dev, uint64_t timeout_ms, int mountinfo_fd) {
        /* MNT_DETACH: our own dir fd (or a process the image started early) must not make
         * this fail with EBUSY. Without CAP_SYS_ADMIN this is EPERM and the broker's watcher,
         * woken by the marker, removes the files and unmounts from the host side. */
        int umount_err = 0;
        if (umount2(dir, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
                umount_err = errno;

        uint64_t deadline = now_ms() + timeout_ms, pause = CONSUME_POLL_FIRST_MS;
        bool unmounted, empty;
        for (;;) {
                unmounted = consume_is_unmounted(dir, dev);
                empty = consume_is_empty(dirfd);
                if (unmounted && empty)
                        return 0;
                uint64_t now = now_ms();
                if (now >= deadline)
                        break;
                consume_sleep(mountinfo_fd, pause < deadline - now ? pause : deadline - now);
                pause = pause * 2 < CONSUME_POLL_MAX_MS ? pause * 2 : CONSUME_POLL_MAX_MS;
        }
        if (unmounted)
                return log_error("%s: the secrets tmpfs is unmounted but its files were not "
                                 "removed after %g s (the broker's watcher did not remove "
                                 "them); refusing to start the command",
                                 dir, (double)timeout_ms / 1000.0);
        return log_error("%s: the secrets tmpfs is still mounted after %g s (umount: %s; the "
                         "broker's watcher did not unmount it either); refusing to start the "
                         "command",
                         dir, (double)timeout_ms / 1000.0,
                         umount_err ? strerror(umount_err) : "succeeded");
}

static int consume_await(const struct consume_params *p, int mountinfo_fd, int *ret_dirfd,
                         const char **ret_why) {
        uint64_t deadline = now_ms() + (p->wait ? p->wait_ms : 0), pause = CONSUME_POLL_FIRST_MS;
        for (;;) {
                int r = consume_probe(p->dir, p->require_mount, ret_dirfd, ret_why);
                if (r != 0)
                        return r;
                uint64_t now = now_ms();
                if (now >= deadline)
                        return 0;
                consume_sleep(mountinfo_fd, pause < deadline - now ? pause : deadline - now);
                /* Waiting for inject can take seconds; mount changes wake us anyway. */
                pause = pause * 2 < 100 ? pause * 2 : 100;
        }
}

static int consume_nothing(const struct consume_params *p, const char *why) {
        if (p->optional) {
                log_info("no secrets at %s (%s); running without them (--optional)", p->dir, why);
                return 0;
        }
        if (p->wait)
                return log_error("no secrets at %s after waiting %g s (%s)", p->dir,
                                 (double)p->wait_ms / 1000.0, why);
        return log_error("no secrets at %s (%s): %s", p->dir, why,
                         p->none_hint ? p->none_hint : "use --optional or --wait");
}

int consume_secrets(const struct consume_params *p, struct secret_set **ret) {
        _cleanup_secret_set_ struct secret_set *set = NULL;
        _cleanup_close_ int dirfd = -1;
        /* Opened before the first probe so that a mount made after it is seen (see
         * consume_sleep). Without /proc the shim polls. */
        _cleanup_close_ int mountinfo_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
        const char *why = "not mounted";

        int r = consume_await(p, mountinfo_fd, &dirfd, &why);
        if (r < 0)
                return r;
        if (r == 0) {
                *ret = NULL;
                return consume_nothing(p, why);
        }
        /* The broker's in-place rotation takes this lock on the tmpfs root while it replaces
         * files: with it held from the first read to the last unlink, we get one whole
         * generation and never remove one we did not read. The broker holds it for
         * milliseconds. It guards only against a rotation at this very moment, so a seccomp
         * profile that refuses flock costs that guard, not the start. */
        while (flock(dirfd, LOCK_EX) < 0 && errno == EINTR)
                ;
        r = consume_read(dirfd, p->dir, &set);
        if (r < 0)
                return r;
        harden_warn_unlocked(set);
        log_debug("%s: read %zu secrets of container %s, generation %llu", p->dir, set->n,
                  set->manifest->container, (unsigned long long)set->manifest->generation);
        r = consume_remove(dirfd, p->dir, set);
        if (r < 0)
                return r;
        /* With the lock still held: a rotation in place waits until this generation is gone
         * instead of writing into a set that is being removed. */
        r = consume_unmount(p->dir, dirfd, set->dev, p->unmount_timeout_ms, mountinfo_fd);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(set);
        return 0;
}
