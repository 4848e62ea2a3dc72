/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Replay a fuzz corpus without libFuzzer: every file named on the command line, and every
 * regular file in each directory named, goes once through LLVMFuzzerTestOneInput. Link it with
 * one fuzz_*.c and build with -fsanitize=address,undefined, so that `make check` can replay the
 * corpora with gcc alone.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An exact-size copy, not NUL-terminated: an over-read by one byte is what ASan should see. */
static int replay_fd(int fd, const char *name) {
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                fprintf(stderr, "replay: %s: not a regular file\n", name);
                return -1;
        }
        size_t size = (size_t)st.st_size;
        uint8_t *data = malloc(size ? size : 1);
        if (!data)
                return -1;
        size_t done = 0;
        while (done < size) {
                ssize_t n = read(fd, data + done, size - done);
                if (n <= 0) {
                        fprintf(stderr, "replay: %s: short read\n", name);
                        free(data);
                        return -1;
                }
                done += (size_t)n;
        }
        LLVMFuzzerTestOneInput(data, size);
        free(data);
        return 0;
}

static int replay_file(int dirfd, const char *path, const char *name) {
        int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "replay: %s: cannot open\n", name);
                return -1;
        }
        int r = replay_fd(fd, name);
        close(fd);
        return r;
}

static int name_cmp(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name);
}

/* Entries in name order, so that a failure reproduces in the same order. */
static int replay_dir(const char *dir, size_t *count) {
        struct dirent **list;
        int n = scandir(dir, &list, NULL, name_cmp), failed = 0;
        if (n < 0) {
                fprintf(stderr, "replay: %s: cannot list\n", dir);
                return -1;
        }
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        for (int i = 0; i < n; i++) {
                struct stat st;
                const char *e = list[i]->d_name;
                if (dfd >= 0 && fstatat(dfd, e, &st, 0) == 0 && S_ISREG(st.st_mode)) {
                        if (replay_file(dfd, e, e) < 0)
                                failed = -1;
                        else
                                (*count)++;
                }
                free(list[i]);
        }
        free(list);
        if (dfd < 0)
                return -1;
        close(dfd);
        return failed;
}

int main(int argc, char **argv) {
        size_t count = 0;
        int failed = 0;

        if (argc < 2) {
                fprintf(stderr, "Usage: %s FILE|DIR...\n", argv[0]);
                return 2;
        }
        for (int i = 1; i < argc; i++) {
                struct stat st;
                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "replay: %s: not found\n", argv[i]);
                        failed = 1;
                } else if (S_ISDIR(st.st_mode)) {
                        if (replay_dir(argv[i], &count) < 0)
                                failed = 1;
                } else if (replay_file(AT_FDCWD, argv[i], argv[i]) < 0) {
                        failed = 1;
                } else {
                        count++;
                }
        }
        fprintf(stderr, "replay: %zu inputs\n", count);
        return failed;
}
