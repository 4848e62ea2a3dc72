/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lbx-adversary: the hostile process of the adversarial tests (tests/integration/6N-*.sh),
 * run inside a container. Static, libc only.
 *
 *   lbx-adversary swap PATH TARGET SECONDS
 *       Swap the directory PATH with a symlink to TARGET (renameat2 RENAME_EXCHANGE) as fast as
 *       possible for SECONDS, while the broker resolves and mounts on PATH (the CVE-2021-30465
 *       pattern). A swap that fails with EBUSY (PATH, or the symlink's place, became a mount
 *       point) is counted, not fatal. Ends with PATH the directory again and prints
 *       "swaps=N busy=M".
 *
 *   lbx-adversary tamper DIR FILE HOW -- COMMAND [ARG...]
 *       Change DIR/FILE (a secret file or .lockbox.json on the secrets tmpfs), then exec
 *       COMMAND (the shim), as a container whose entrypoint runs first would. Replacements
 *       are renamed over FILE (never unlinked first). HOW:
 *         symlink:TARGET  replace it with a symlink to TARGET
 *         fifo            replace it with a FIFO (nobody ever writes to it)
 *         grow            append one byte (the size no longer matches the manifest)
 *         flip            change its first byte (same size, another hash)
 *         dir             replace it with a directory (unlinked first)
 *         big:N           replace it with N bytes
 *         gone            remove it
 *         none            leave it alone (the control case)
 *       Prints "tamper=done" or "tamper=error: REASON" (and exits 3) before the exec.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void) {
        fprintf(stderr, "usage: lbx-adversary swap PATH TARGET SECONDS\n"
                        "       lbx-adversary tamper DIR FILE HOW -- COMMAND [ARG...]\n");
        return 2;
}

static int op_swap(const char *path, const char *target, double seconds) {
        char link[4096];
        struct stat st;
        if (snprintf(link, sizeof link, "%s~lnk", path) >= (int)sizeof link)
                return usage();
        (void)unlink(link);
        if (symlink(target, link) < 0) {
                printf("swap=error: symlink %s: %s\n", link, strerror(errno));
                return 3;
        }
        unsigned long swaps = 0, busy = 0;
        double end = now() + seconds;
        while (now() < end) {
                for (int i = 0; i < 64; i++) {
                        if (renameat2(AT_FDCWD, path, AT_FDCWD, link, RENAME_EXCHANGE) == 0)
                                swaps++;
                        else if (errno == EBUSY)
                                busy++;
                        else {
                                printf("swap=error: rename: %s\n", strerror(errno));
                                return 3;
                        }
                }
        }
        /* Leave the directory at PATH (an exchange that failed leaves things as they were). */
        if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) &&
            renameat2(AT_FDCWD, path, AT_FDCWD, link, RENAME_EXCHANGE) < 0)
                printf("swap=warning: could not swap back: %s\n", strerror(errno));
        printf("swaps=%lu busy=%lu\n", swaps, busy);
        fflush(stdout);
        return 0;
}

static int write_bytes(const char *path, size_t n) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
        if (fd < 0)
                return -1;
        char buf[4096];
        memset(buf, 'X', sizeof buf);
        while (n > 0) {
                size_t k = n < sizeof buf ? n : sizeof buf;
                if (write(fd, buf, k) != (ssize_t)k) {
                        close(fd);
                        return -1;
                }
                n -= k;
        }
        return close(fd);
}

/* Put what make() creates at tmp over path with rename(2): the old file is replaced without
 * ever being unlinked, so the broker's watcher (woken by the manifest's deletion) does not
 * unmount the tmpfs first, and the shim is the one that has to notice. */
static int replace(const char *path, int (*make)(const char *tmp, const char *arg),
                   const char *arg) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s~new", path);
        if (make(tmp, arg) < 0)
                return -1;
        return rename(tmp, path);
}

static int make_symlink(const char *tmp, const char *target) {
        return symlink(target, tmp);
}

static int make_fifo(const char *tmp, const char *unused) {
        (void)unused;
        return mkfifo(tmp, 0400);
}

static int make_big(const char *tmp, const char *size) {
        return write_bytes(tmp, strtoul(size, NULL, 10));
}

static int tamper(const char *path, const char *how) {
        if (strcmp(how, "none") == 0)
                return 0;
        if (strncmp(how, "symlink:", 8) == 0)
                return replace(path, make_symlink, how + 8);
        if (strcmp(how, "fifo") == 0)
                return replace(path, make_fifo, NULL);
        if (strncmp(how, "big:", 4) == 0)
                return replace(path, make_big, how + 4);
        /* A directory cannot be renamed over a file: unlink first. */
        if (strcmp(how, "dir") == 0)
                return unlink(path) < 0 ? -1 : mkdir(path, 0700);
        if (strcmp(how, "gone") == 0)
                return unlink(path);
        if (strcmp(how, "grow") == 0 || strcmp(how, "flip") == 0) {
                /* The broker gives files mode 0400 to their owner: the owner (the container
                 * user) may make it writable first, as any process of that user could. */
                if (chmod(path, 0600) < 0)
                        return -1;
                int fd = open(path, O_WRONLY | O_CLOEXEC | (how[0] == 'g' ? O_APPEND : 0));
                if (fd < 0)
                        return -1;
                int r = write(fd, "!", 1) == 1 ? 0 : -1;
                if (close(fd) < 0 || chmod(path, 0400) < 0)
                        return -1;
                return r;
        }
        errno = EINVAL;
        return -1;
}

static int op_tamper(int argc, char **argv) {
        if (argc < 6 || strcmp(argv[5], "--") != 0 || argc < 7)
                return usage();
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[2], argv[3]);
        if (tamper(path, argv[4]) < 0) {
                printf("tamper=error: %s %s: %s\n", argv[4], path, strerror(errno));
                return 3;
        }
        printf("tamper=done\n");
        fflush(stdout);
        execv(argv[6], argv + 6);
        printf("tamper=error: exec %s: %s\n", argv[6], strerror(errno));
        return 127;
}

int main(int argc, char **argv) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc == 5 && strcmp(argv[1], "swap") == 0)
                return op_swap(argv[2], argv[3], atof(argv[4]));
        if (argc >= 2 && strcmp(argv[1], "tamper") == 0)
                return op_tamper(argc, argv);
        return usage();
}
