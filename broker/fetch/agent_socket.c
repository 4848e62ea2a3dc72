/* SPDX-License-Identifier: Apache-2.0 */
#include "agent_socket.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "fdutil.h"

#define AGENT_BACKLOG 4096

/* parent/name, created 0700 if missing, root's and closed to group and others (the state
 * directory: not writable by them, as state.c wants it). */
static int agent_private_dir(int parent, const char *name, mode_t forbidden, int *ret_fd) {
        struct stat st;
        if (mkdirat(parent, name, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        _cleanup_close_ int fd =
                openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        /* Whoever could reach the socket could ask for any secret the configuration names. */
        if (st.st_uid != 0 || (st.st_mode & forbidden))
                return -EPERM;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int agent_dir_open(const char *state_dir, int *ret_dirfd) {
        _cleanup_close_ int top = -1;
        if (state_dir[0] != '/')
                return -EINVAL;
        int r = agent_private_dir(AT_FDCWD, state_dir, 0022, &top);
        if (r < 0)
                return r;
        return agent_private_dir(top, "agent", 0077, ret_dirfd);
}

/* DIR/agent.sock as a path: through the directory's fd, so that neither a long state directory
 * (sun_path has 108 bytes) nor a component swapped above it changes what is reached. */
static int agent_address(int dirfd, struct sockaddr_un *sa, socklen_t *ret_len) {
        *sa = (struct sockaddr_un){.sun_family = AF_UNIX};
        int n = snprintf(sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d/%s", dirfd,
                         AGENT_SOCKET_NAME);
        if (n < 0 || (size_t)n >= sizeof sa->sun_path)
                return -ENAMETOOLONG;
        *ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
        return 0;
}

int agent_bind(int dirfd, int *ret_fd) {
        struct sockaddr_un sa;
        socklen_t len;
        int r = agent_address(dirfd, &sa, &len);
        if (r < 0)
                return r;
        if (unlinkat(dirfd, AGENT_SOCKET_NAME, 0) < 0 && errno != ENOENT)
                return negative_errno();
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        mode_t old = umask(0077);
        r = bind(fd, (struct sockaddr *)&sa, len);
        umask(old);
        if (r < 0 || listen(fd, AGENT_BACKLOG) < 0)
                return negative_errno();
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int agent_connect(int dirfd, unsigned timeout_ms, int *ret_fd) {
        struct sockaddr_un sa;
        socklen_t len;
        int r = agent_address(dirfd, &sa, &len);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        if (connect(fd, (struct sockaddr *)&sa, len) < 0)
                return negative_errno();
        struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000};
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
                return negative_errno();
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int agent_spawn_lock(int dirfd, unsigned timeout_ms, int *ret_fd) {
        _cleanup_close_ int fd =
                openat(dirfd, "spawn.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return negative_errno();
        for (unsigned waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited += 5) {
                if (errno != EWOULDBLOCK && errno != EINTR)
                        return negative_errno();
                if (waited >= timeout_ms)
                        return -ETIMEDOUT;
                struct timespec ts = {0, 5 * 1000 * 1000};
                nanosleep(&ts, NULL);
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int agent_write_pid(int dirfd, pid_t pid) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%d\n", (int)pid);
        return write_file_atomic_at(dirfd, AGENT_PID_NAME, buf, (size_t)n, 0644);
}
