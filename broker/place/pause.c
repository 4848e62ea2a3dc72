/* SPDX-License-Identifier: Apache-2.0 */
#include "pause.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdutil.h"
#include "log.h"

/* Inherited by the placement's forked helpers (the attach child), which pause with it. */
static int pause_dir_fd = -1;

void pause_init(const char *state_dir) {
        char path[PATH_MAX];
        struct stat st;
        if (pause_dir_fd >= 0 ||
            (size_t)snprintf(path, sizeof path, "%s/pause", state_dir) >= sizeof path)
                return;
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return;
        if (fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 077)) {
                close(fd);
                return;
        }
        pause_dir_fd = fd;
}

void pause_point(const char *point) {
        char reached[64], pid[32];
        struct stat st;
        if (pause_dir_fd < 0 || fstatat(pause_dir_fd, point, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return;
        snprintf(reached, sizeof reached, "%s.reached", point);
        int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
        int fd = openat(pause_dir_fd, reached,
                        O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) {
                (void)write_full(fd, pid, (size_t)n);
                close(fd);
        }
        log_debug("paused at %s (the state directory's pause/)", point);
        for (int waited = 0;
             waited < PAUSE_MAX_MS && fstatat(pause_dir_fd, point, &st, AT_SYMLINK_NOFOLLOW) == 0;
             waited += 10)
                (void)poll(NULL, 0, 10);
        (void)unlinkat(pause_dir_fd, reached, 0);
}
