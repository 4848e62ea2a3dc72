/* SPDX-License-Identifier: Apache-2.0 */
#include "watcher.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include "fdutil.h"
#include "json.h"
#include "log.h"
#include "manifest.h"
#include "spawn.h"
#include "state.h"
#include "tmpfs.h"

/* How long `rotate` waits for the watcher to answer: it answers at once from its poll loop;
 * silence means it is busy unmounting after a consumption, and the caller backs off. */
#define WATCHER_REPLY_TIMEOUT_MS 2000

/* What the watcher holds and watches, for its loop. */
struct watcher {
        int ifd, mount_fd, pidfd, listen_fd, signal_fd;
        int watch_dir_fd; /* <state_dir>/watch, to remove our socket by name */
        ino_t sock_ino; /* our socket's inode, so that we never remove a successor's */
        char sock_name[WATCHER_SOCK_NAME_MAX];
        const char *state_dir, *id;
};

void watcher_socket_name(const char *container_id, char name[WATCHER_SOCK_NAME_MAX]) {
        uint8_t h[SECRET_HASH_BYTES];
        char hex[2 * SECRET_HASH_BYTES + 1];
        /* A fixed-length name: ids may be 256 characters, sun_path holds 108. */
        hash_bytes(container_id, strlen(container_id), h);
        hash_to_hex(h, hex);
        snprintf(name, WATCHER_SOCK_NAME_MAX, "%.32s.sock", hex);
}

static void sun_at(struct sockaddr_un *sa, int dir_fd, const char *name) {
        *sa = (struct sockaddr_un){.sun_family = AF_UNIX};
        snprintf(sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d/%s", dir_fd, name);
}

/* Mark the container's record: its secrets were consumed and the tmpfs is gone. Under the
 * record's lock, and only while the record still names us: a rotation may have placed a newer
 * generation with a watcher of its own. */
static void watcher_mark_consumed(const char *state_dir, const char *id) {
        _cleanup_json_ json_t *state = NULL;
        int lock = -1;
        if (state_lock(state_dir, id, &lock) < 0)
                return;
        if (state_load(state_dir, id, &state) >= 0 &&
            json_integer_value(json_object_get(state, "watcher_pid")) == (json_int_t)getpid()) {
                json_object_set_new(state, "consumed", json_true());
                (void)state_save(state_dir, state);
        }
        state_unlock(lock, state_dir, id, false);
}

static void watcher_remove_socket(struct watcher *w) {
        struct stat st;
        if (w->listen_fd >= 0)
                w->listen_fd = safe_close(w->listen_fd);
        if (w->watch_dir_fd >= 0 &&
            fstatat(w->watch_dir_fd, w->sock_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            st.st_ino == w->sock_ino)
                (void)unlinkat(w->watch_dir_fd, w->sock_name, 0);
}

/* The shim's signal (a write to the consumption marker), or the manifest deleted (a shim that
 * may remove files, or an older one), or the tmpfs gone. */
static bool consumption_signalled(int ifd) {
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n = read(ifd, buf, sizeof buf);
        for (char *p = buf; n > 0 && p < buf + n;) {
                struct inotify_event *ev = (struct inotify_event *)p;
                if ((ev->mask & IN_DELETE) && ev->len && streq_ptr(ev->name, MANIFEST_FILE))
                        return true;
                if ((ev->mask & (IN_CLOSE_WRITE | IN_MODIFY)) && ev->len &&
                    streq_ptr(ev->name, MANIFEST_CONSUMED_FILE))
                        return true;
                if (ev->mask & (IN_DELETE_SELF | IN_UNMOUNT | IN_IGNORED))
                        return true;
                p += sizeof *ev + ev->len;
        }
        return false;
}

/* Every name on the tmpfs removed through our mount fd, before it is unmounted: a process in
 * the container that kept its cwd or a directory fd there (or a hard link there, if one could
 * be made) finds nothing once the mount is gone. Only the broker makes directories there (or
 * the container's root without a user namespace, which owns the directory): those are removed
 * when empty, and the detach takes the rest out of every view. */
static void watcher_empty_tmpfs(int mount_fd) {
        int fd = openat(mount_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;
        if (!d) {
                safe_close(fd);
                return;
        }
        while ((de = readdir(d)))
                if (!streq_ptr(de->d_name, ".") && !streq_ptr(de->d_name, "..") &&
                    unlinkat(dirfd(d), de->d_name, 0) < 0 && errno == EISDIR)
                        (void)unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
        closedir(d);
}

/* One connection: only root may have the mount fd (the socket's directory is root's and 0700
 * as well; this is the second lock on the door). */
static void watcher_serve(const struct watcher *w) {
        _cleanup_close_ int c = accept4(w->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        struct ucred cred;
        socklen_t len = sizeof cred;
        if (c < 0 || getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0)
                return;
        char payload = 'M';
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u = {};
        struct iovec iov = {.iov_base = &payload, .iov_len = 1};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = u.buf,
                             .msg_controllen = sizeof u.buf};
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &w->mount_fd, sizeof(int));
        (void)sendmsg(c, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static _noreturn_ void watcher_loop(struct watcher *w) {
        struct pollfd p[4] = {{.fd = w->ifd, .events = POLLIN},
                              {.fd = w->pidfd, .events = POLLIN},
                              {.fd = w->listen_fd, .events = POLLIN},
                              {.fd = w->signal_fd, .events = POLLIN}};

        for (;;) {
                if (poll(p, ARRAY_SIZE(p), -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        watcher_remove_socket(w);
                        _exit(1);
                }
                if (p[1].revents || p[3].revents) {
                        /* The container is gone (and its mount with it), or poststop, revoke
                         * or a rotation stops us. */
                        watcher_remove_socket(w);
                        _exit(0);
                }
                if (p[2].revents)
                        watcher_serve(w);
                if (p[0].revents && consumption_signalled(w->ifd))
                        break;
        }
        /* The socket goes first: a pending `rotate` gets an error at once instead of waiting
         * for us, and a rotation that mounts a fresh tmpfs may start a successor under the
         * same name as soon as the record says consumed. */
        watcher_remove_socket(w);
        watcher_empty_tmpfs(w->mount_fd);
        int r = tmpfs_detach(w->mount_fd, w->pidfd);
        if (r >= 0 || r == -EINVAL)
                watcher_mark_consumed(w->state_dir, w->id);
        _exit(r >= 0 ? 0 : 1);
}

/* In the watcher process: the inotify watch first, then report readiness. */
static int watcher_setup(int mount_fd, int *ret_ifd) {
        char path[64];
        int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (ifd < 0)
                return negative_errno();
        snprintf(path, sizeof path, "/proc/self/fd/%d", mount_fd);
        if (inotify_add_watch(ifd, path,
                              IN_DELETE | IN_DELETE_SELF | IN_CLOSE_WRITE | IN_MODIFY |
                                      IN_ONLYDIR) < 0) {
                int r = negative_errno();
                close(ifd);
                return r;
        }
        *ret_ifd = ifd;
        return 0;
}

/* The hand-over socket, <state_dir>/watch/<hash of id>.sock, and a signalfd for SIGTERM. */
static int watcher_listen(struct watcher *w) {
        struct sockaddr_un sa;
        struct stat st;
        sigset_t set;

        int r = state_private_dir(w->state_dir, "watch", &w->watch_dir_fd);
        if (r < 0)
                return r;
        watcher_socket_name(w->id, w->sock_name);
        /* A stale socket of a watcher that was killed: a new watcher is only started once the
         * previous one's mount was consumed, so nothing that name stands for is alive. */
        (void)unlinkat(w->watch_dir_fd, w->sock_name, 0);
        w->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (w->listen_fd < 0)
                return negative_errno();
        sun_at(&sa, w->watch_dir_fd, w->sock_name);
        umask(0177); /* the socket: 0600 */
        if (bind(w->listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
            listen(w->listen_fd, 4) < 0 ||
            fstatat(w->watch_dir_fd, w->sock_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        w->sock_ino = st.st_ino;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
                return negative_errno();
        w->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        return w->signal_fd < 0 ? negative_errno() : 0;
}

static _noreturn_ void watcher_main(int report_fd, int mount_fd, int pidfd, const char *state_dir,
                                    const char *id) {
        struct watcher w = {.ifd = -1,
                            .mount_fd = mount_fd,
                            .pidfd = pidfd,
                            .listen_fd = -1,
                            .signal_fd = -1,
                            .watch_dir_fd = -1,
                            .state_dir = state_dir,
                            .id = id};
        int keep[] = {report_fd, mount_fd, pidfd};
        pid_t self = getpid();

        (void)prctl(PR_SET_NAME, WATCHER_COMM, 0, 0, 0);
        int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0)
                _exit(1);
        (void)close_all_fds_except(keep, ARRAY_SIZE(keep));
        /* The log may have been going to a capture memfd of the broker's (rotate), just
         * closed: its number must not become some file that a log line is then written to. */
        log_set_fd(STDERR_FILENO);
        int r = watcher_setup(mount_fd, &w.ifd);
        if (r >= 0)
                r = watcher_listen(&w);
        int report[2] = {r, (int)self};
        (void)write_full(report_fd, report, sizeof report);
        close(report_fd);
        if (r < 0) {
                watcher_remove_socket(&w);
                _exit(1);
        }
        watcher_loop(&w);
}
/* The middle of the double fork: its own session, the watcher forked from it, and gone, so
 * that the watcher is reparented to init (or a subreaper) and the runtime that started the hook
 * does not wait for it. It shares the hook's memory (spawn.h): it costs no copy of the address
 * space, only the watcher does. The watcher lives on its copy of the stack spawn_shared gave
 * this process (4 MiB, spawn.c): its loop and its helpers use a few KiB of it. */
struct watcher_mid {
        int report_fd, mount_fd, pidfd;
        const char *state_dir, *id;
        sigset_t mask; /* the hook's, for the watcher (spawn_shared blocked every signal) */
};

static int watcher_mid_main(void *p) {
        const struct watcher_mid *m = p;
        if (setsid() < 0)
                return 1;
        pid_t w = fork();
        if (w < 0)
                return 1;
        if (w == 0) {
                (void)sigprocmask(SIG_SETMASK, &m->mask, NULL);
                watcher_main(m->report_fd, m->mount_fd, m->pidfd, m->state_dir, m->id);
        }
        return 0;
}

int watcher_spawn(int mount_fd, int pidfd, const char *state_dir, const char *container_id,
                  pid_t *ret_pid, unsigned long long *ret_start) {
        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return negative_errno();

        struct watcher_mid m = {pfd[1], mount_fd, pidfd, state_dir, container_id, {{0}}};
        (void)sigprocmask(SIG_SETMASK, NULL, &m.mask);
        pid_t mid = spawn_shared(watcher_mid_main, &m);
        if (mid < 0) {
                close(pfd[0]);
                close(pfd[1]);
                return mid;
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
        /* Only our watcher: same name and same start time, so a reused pid is never hit. */
        if (watcher_is_alive(pid, start))
                (void)kill(pid, SIGTERM);
}

bool watcher_is_alive(pid_t pid, unsigned long long start) {
        char path[64];
        _cleanup_free_ char *comm = NULL;
        unsigned long long now;

        if (pid <= 1)
                return false;
        snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
        return read_file_at(AT_FDCWD, path, 64, &comm, NULL) >= 0 &&
               strncmp(comm, WATCHER_COMM, strlen(WATCHER_COMM)) == 0 &&
               proc_start_time(pid, &now) >= 0 && now == start;
}

int watcher_wait_exit(pid_t pid, unsigned long long start, int timeout_ms) {
        _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return errno == ESRCH ? 0 : negative_errno();
        /* Checked after the pidfd is open: from here on the pid cannot be reused under us. */
        if (!watcher_is_alive(pid, start))
                return 0;
        struct pollfd p = {.fd = pidfd, .events = POLLIN};
        int n;
        while ((n = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
                ;
        return n > 0 ? 0 : -ETIMEDOUT;
}

static int watcher_receive_fd(int sock, int *ret_fd) {
        struct pollfd p = {.fd = sock, .events = POLLIN};
        int n;
        while ((n = poll(&p, 1, WATCHER_REPLY_TIMEOUT_MS)) < 0 && errno == EINTR)
                ;
        if (n <= 0)
                return n < 0 ? negative_errno() : -ETIMEDOUT;
        char payload;
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u = {};
        struct iovec iov = {.iov_base = &payload, .iov_len = 1};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = u.buf,
                             .msg_controllen = sizeof u.buf};
        ssize_t got = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (got < 0)
                return negative_errno();
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        if (got != 1 || payload != 'M' || !cm || cm->cmsg_level != SOL_SOCKET ||
            cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int)))
                return -EBADMSG;
        memcpy(ret_fd, CMSG_DATA(cm), sizeof(int));
        return 0;
}

int watcher_take_mount(const char *state_dir, const char *container_id, pid_t watcher_pid,
                       int *ret_mount_fd) {
        _cleanup_close_ int dir_fd = -1, sock = -1, fd = -1;
        char name[WATCHER_SOCK_NAME_MAX];
        struct sockaddr_un sa;
        struct ucred cred;
        socklen_t len = sizeof cred;
        struct statfs sfs;
        struct stat st;

        int r = state_private_dir(state_dir, "watch", &dir_fd);
        if (r < 0)
                return r;
        watcher_socket_name(container_id, name);
        sun_at(&sa, dir_fd, name);
        sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (sock < 0)
                return negative_errno();
        if (connect(sock, (struct sockaddr *)&sa, sizeof sa) < 0)
                return errno == ENOENT || errno == ECONNREFUSED ? -ENOTCONN : negative_errno();
        /* The listener's credentials, taken at its listen(): the watcher the record names. */
        if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return negative_errno();
        if (cred.uid != 0 || cred.pid != watcher_pid)
                return -EPERM;
        r = watcher_receive_fd(sock, &fd);
        if (r < 0)
                return r;
        /* The root of a tmpfs, as fsmount made it: anything else is not ours to write into. */
        if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0)
                return negative_errno();
        if (sfs.f_type != TMPFS_MAGIC || !S_ISDIR(st.st_mode))
                return -EBADMSG;
        *ret_mount_fd = TAKE_FD(fd);
        return 0;
}

void watcher_forget_socket(const char *state_dir, const char *container_id) {
        _cleanup_close_ int dir_fd = -1;
        char name[WATCHER_SOCK_NAME_MAX];
        if (state_private_dir(state_dir, "watch", &dir_fd) < 0)
                return;
        watcher_socket_name(container_id, name);
        (void)unlinkat(dir_fd, name, 0);
}

/* The socket name of every record whose watcher is alive: those sockets are in use. */
static bool socket_in_use(const char *state_dir, const char *sock_name) {
        _cleanup_json_ json_t *all = NULL;
        size_t i;
        json_t *rec;
        if (state_load_all(state_dir, &all) < 0)
                return true; /* cannot tell: keep it */
        json_array_foreach(all, i, rec) {
                char name[WATCHER_SOCK_NAME_MAX];
                watcher_socket_name(json_get_string(rec, "id"), name);
                if (streq_ptr(name, sock_name) &&
                    watcher_is_alive((pid_t)json_integer_value(json_object_get(rec, "watcher_pid")),
                                     (unsigned long long)json_integer_value(
                                             json_object_get(rec, "watcher_start"))))
                        return true;
        }
        return false;
}

void watcher_sweep_sockets(const char *state_dir) {
        struct stat st;
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/watch", state_dir) < 0 || lstat(path, &st) < 0 ||
            !S_ISDIR(st.st_mode))
                return;
        _cleanup_close_ int dir_fd = -1;
        if (state_private_dir(state_dir, "watch", &dir_fd) < 0)
                return;
        DIR *d = fdopendir(fcntl(dir_fd, F_DUPFD_CLOEXEC, 3));
        struct dirent *de;
        if (!d)
                return;
        /* Only sockets old enough not to be a watcher's that has bound but whose record is not
         * written yet (placement records it right after): then, whether a record names a live
         * watcher for it. */
        while ((de = readdir(d)))
                if (fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                    S_ISSOCK(st.st_mode) && state_is_stale(&st, false) &&
                    !socket_in_use(state_dir, de->d_name) && unlinkat(dir_fd, de->d_name, 0) == 0)
                        log_debug("watch: removed %s, whose watcher is gone", de->d_name);
        closedir(d);
}
