/* SPDX-License-Identifier: Apache-2.0 */
#include "pod_token.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "credfile.h"
#include "fdutil.h"
#include "log.h"

static struct {
        char *dir;
        char pod[2 * 256 + 8];
        int fd; /* >= 0 once preloaded; else -errno of the failed open, or -EBADF before */
        bool regular, too_large;
} pod_token = {.fd = -EBADF, .regular = true};

int pod_token_use(const char *dir, const struct pod_identity *pod) {
        char *copy = strdup(dir);
        if (!copy)
                return -ENOMEM;
        free(pod_token.dir);
        if (pod_token.fd >= 0)
                close(pod_token.fd);
        pod_token.dir = copy;
        pod_token.fd = -EBADF;
        pod_token.regular = true;
        pod_token.too_large = false;
        snprintf(pod_token.pod, sizeof pod_token.pod, "pod %s/%s",
                 pod && pod->namespace ? pod->namespace : "?", pod && pod->name ? pod->name : "?");
        return 0;
}

bool pod_token_active(void) {
        return pod_token.dir != NULL;
}

const char *pod_token_pod(void) {
        return pod_token.dir ? pod_token.pod : "pod ?";
}

/* dir/token: the directory as the runtime named it (its last component no symlink: the kubelet
 * makes a real directory), then "token" beneath it, as an O_PATH fd: nothing is opened for
 * reading before it is known to be a regular file (a device's open can have effects). */
static int pod_token_open(const char *dir, struct stat *st) {
        _cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();
        _cleanup_close_ int fd =
                openat2_fd(dfd, "token", O_PATH | O_CLOEXEC, 0,
                           RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
        if (fd < 0)
                return fd;
        if (fstat(fd, st) < 0)
                return negative_errno();
        if (!S_ISREG(st->st_mode))
                return -EBADFD;
        /* The same inode, now for reading: through procfs, which reopens the fd's file. */
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        int rfd = open(proc, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        return rfd < 0 ? negative_errno() : rfd;
}

void pod_token_preload(void) {
        struct stat st;
        if (!pod_token.dir || pod_token.fd >= 0)
                return;
        int fd = pod_token_open(pod_token.dir, &st);
        pod_token.regular = fd != -EBADFD;
        pod_token.fd = fd;
        pod_token.too_large = fd >= 0 && st.st_size > POD_TOKEN_MAX;
}

int pod_token_read(struct secret **ret, char *why, size_t why_size) {
        _cleanup_secret_ struct secret *raw = NULL;
        const char *dir = pod_token.dir ? pod_token.dir : "(none)";

        if (pod_token.fd == -EBADF)
                pod_token_preload();
        if (!pod_token.regular) {
                snprintf(why, why_size, "service-account token %s/token: not a regular file", dir);
                return -EINVAL;
        }
        if (pod_token.fd < 0) {
                snprintf(why, why_size, "service-account token %s/token: %s", dir,
                         pod_token.fd == -EXDEV ? "leaves its volume (refused)"
                                                : strerror(-pod_token.fd));
                return pod_token.fd == -EXDEV ? -EPERM : pod_token.fd;
        }
        if (pod_token.too_large) {
                snprintf(why, why_size,
                         "service-account token %s/token: larger than %d bytes (not a JWT)", dir,
                         POD_TOKEN_MAX);
                return -EFBIG;
        }
        _cleanup_close_ int fd = fcntl(pod_token.fd, F_DUPFD_CLOEXEC, 3);
        int r = fd < 0 ? negative_errno() : (int)lseek(fd, 0, SEEK_SET);
        if (r >= 0)
                r = secret_read_fd(fd, POD_TOKEN_MAX, &raw);
        if (r < 0) {
                snprintf(why, why_size, "service-account token %s/token: %s", dir,
                         r == -EFBIG ? "larger than a JWT can be" : strerror(-r));
                return r;
        }
        r = credfile_trimmed(raw, ret);
        if (r == -EINVAL)
                snprintf(why, why_size, "service-account token %s/token: empty", dir);
        return r;
}
