/* SPDX-License-Identifier: Apache-2.0 */
#include "watcher.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "fdutil.h"
#include "json.h"
#include "log.h"
#include "manifest.h"
#include "state.h"
#include "tmpfs.h"

/* Mark the container's record: its secrets were consumed and the tmpfs is gone. */
static void watcher_mark_consumed(const char *state_dir, const char *id) {
        _cleanup_json_ json_t *state = NULL;
        if (state_load(state_dir, id, &state) < 0)
                return;
        json_object_set_new(state, "consumed", json_true());
        (void)state_save(state_dir, state);
}

static bool manifest_deleted(int ifd) {
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n = read(ifd, buf, sizeof buf);
        for (char *p = buf; n > 0 && p < buf + n;) {
                struct inotify_event *ev = (struct inotify_event *)p;
                if ((ev->mask & IN_DELETE) && ev->len && streq_ptr(ev->name, MANIFEST_FILE))
                        return true;
                if (ev->mask & (IN_DELETE_SELF | IN_UNMOUNT | IN_IGNORED))
                        return true;
                p += sizeof *ev + ev->len;
        }
        return false;
}

static _noreturn_ void watcher_loop(int ifd, int mount_fd, int pidfd, const char *state_dir,
                                    const char *id) {
        struct pollfd p[2] = {{.fd = ifd, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};

        for (;;) {
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        _exit(1);
                }
                if (p[1].revents)
                        _exit(0); /* the container is gone, and its mount with it */
                if (p[0].revents && manifest_deleted(ifd))
                        break;
        }
        int r = tmpfs_detach(mount_fd, pidfd);
        if (r >= 0 || r == -EINVAL)
                watcher_mark_consumed(state_dir, id);
        _exit(r >= 0 ? 0 : 1);
}

/* In the watcher process: the inotify watch first, then report readiness. */
static int watcher_setup(int mount_fd, int *ret_ifd) {
        char path[64];
        int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (ifd < 0)
                return negative_errno();
        snprintf(path, sizeof path, "/proc/self/fd/%d", mount_fd);
        if (inotify_add_watch(ifd, path, IN_DELETE | IN_DELETE_SELF | IN_ONLYDIR) < 0) {
                int r = negative_errno();
                close(ifd);
                return r;
        }
        *ret_ifd = ifd;
        return 0;
}

static _noreturn_ void watcher_main(int report_fd, int mount_fd, int pidfd, const char *state_dir,
                                    const char *id) {
        int ifd = -1;
        int keep[] = {report_fd, mount_fd, pidfd};
        pid_t self = getpid();

        (void)prctl(PR_SET_NAME, WATCHER_COMM, 0, 0, 0);
        int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0)
                _exit(1);
        (void)close_all_fds_except(keep, ARRAY_SIZE(keep));
        int r = watcher_setup(mount_fd, &ifd);
        int report[2] = {r, (int)self};
        (void)write_full(report_fd, report, sizeof report);
        close(report_fd);
        if (r < 0)
                _exit(1);
        watcher_loop(ifd, mount_fd, pidfd, state_dir, id);
}

int watcher_spawn(int mount_fd, int pidfd, const char *state_dir, const char *container_id,
                  pid_t *ret_pid, unsigned long long *ret_start) {
        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return negative_errno();

        pid_t mid = fork();
        if (mid < 0) {
                int r = negative_errno();
                close(pfd[0]);
                close(pfd[1]);
                return r;
        }
        if (mid == 0) {
                close(pfd[0]);
                /* Its own session, and reparented to init (or a subreaper) when mid exits: the
                 * runtime that started the hook does not wait for it. */
                if (setsid() < 0)
                        _exit(1);
                pid_t w = fork();
                if (w < 0)
                        _exit(1);
                if (w == 0)
                        watcher_main(pfd[1], mount_fd, pidfd, state_dir, container_id);
                _exit(0);
        }
        close(pfd[1]);
        int status, report[2] = {-EIO, 0};
        while (waitpid(mid, &status, 0) < 0 && errno == EINTR)
                ;
        ssize_t n = read_full(pfd[0], report, sizeof report);
        close(pfd[0]);
        if (n != (ssize_t)sizeof report)
                return -ECHILD;
        if (report[0] < 0)
                return report[0];
        *ret_pid = report[1];
        if (proc_start_time(*ret_pid, ret_start) < 0)
                *ret_start = 0;
        return 0;
}

void watcher_stop(pid_t pid, unsigned long long start) {
        char path[64];
        _cleanup_free_ char *comm = NULL;
        unsigned long long now;

        if (pid <= 1)
                return;
        snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
        /* Only our watcher: same name and same start time, so a reused pid is never hit. */
        if (read_file_at(AT_FDCWD, path, 64, &comm, NULL) < 0 ||
            strncmp(comm, WATCHER_COMM, strlen(WATCHER_COMM)) != 0)
                return;
        if (proc_start_time(pid, &now) < 0 || now != start)
                return;
        (void)kill(pid, SIGTERM);
}
