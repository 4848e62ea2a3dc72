/* SPDX-License-Identifier: Apache-2.0 */
#include "agent_client.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "agent_digest.h"
#include "agent_proto.h"
#include "agent_socket.h"
#include "agent_spawn.h"
#include "log.h"
#include "privsep.h"

#define AGENT_SPAWN_LOCK_MS 2000
#define AGENT_STATUS_MAX 16384
/* Beyond a fetch's own deadline: the time the agent may take to come to this hook (it serves
 * one batch at a time) and to start. */
#define AGENT_SLACK_MS 2000

/* Connect, or, when no agent listens, start one under the spawn lock and connect to it. */
static int agent_open(const struct broker_config *cfg, int dirfd, unsigned timeout_ms,
                      bool *ret_started, int *ret_fd) {
        *ret_started = false;
        int r = agent_connect(dirfd, timeout_ms, ret_fd);
        if (r != -ENOENT && r != -ECONNREFUSED)
                return r;
        _cleanup_close_ int lock = -1, listen_fd = -1;
        r = agent_spawn_lock(dirfd, AGENT_SPAWN_LOCK_MS, &lock);
        if (r < 0)
                return r;
        /* Another hook may have started it while this one waited for the lock. */
        r = agent_connect(dirfd, timeout_ms, ret_fd);
        if (r != -ENOENT && r != -ECONNREFUSED)
                return r;
        r = agent_bind(dirfd, &listen_fd);
        if (r < 0)
                return r;
        r = agent_spawn(cfg, dirfd, listen_fd);
        if (r < 0)
                return r;
        *ret_started = true;
        /* The socket listens already: the connection waits in its backlog for the agent. */
        return agent_connect(dirfd, timeout_ms, ret_fd);
}

/* Send the request; read the agent's answer (and, for a status, its text into text). */
static int agent_ask(int fd, const void *msg, size_t size, struct agent_answer *ret, char *text,
                     size_t text_size, size_t *ret_text_len) {
        if (send(fd, msg, size, MSG_NOSIGNAL) != (ssize_t)size)
                return negative_errno();
        struct iovec iov[2] = {{ret, sizeof *ret}, {text, text_size}};
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = text ? 2 : 1};
        ssize_t n;
        while ((n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
                ;
        if (n < 0)
                return negative_errno();
        if (n == 0)
                return -ECONNRESET; /* gone without a word: exiting, or killed */
        if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)n < sizeof *ret ||
            ret->magic != AGENT_PROTO_MAGIC || ret->version != AGENT_PROTO_VERSION ||
            ret->status > 0 || ret->status < -4095)
                return -EBADMSG;
        if (ret_text_len)
                *ret_text_len = (size_t)n - sizeof *ret;
        return 0;
}

/* One connection (started agent or not), the request sent and the answer read. */
static int agent_try(const struct broker_config *cfg, int dirfd, const void *msg, size_t size,
                     unsigned timeout_ms, struct agent_answer *ret, bool *ret_started,
                     int *ret_fd) {
        _cleanup_close_ int fd = -1;
        int r = agent_open(cfg, dirfd, timeout_ms, ret_started, &fd);
        if (r >= 0)
                r = agent_ask(fd, msg, size, ret, NULL, 0, NULL);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Connected and answered, once more after a connection the agent dropped unanswered (one that
 * was waiting while the agent left, idle: the next one starts afresh). */
static int agent_session(const struct broker_config *cfg, const void *msg, size_t size,
                         unsigned timeout_ms, struct agent_answer *ret, int *ret_fd) {
        _cleanup_close_ int dirfd = -1;
        bool started = false;
        int r = agent_dir_open(cfg->state_dir, &dirfd);
        if (r < 0)
                return r;
        r = agent_try(cfg, dirfd, msg, size, timeout_ms, ret, &started, ret_fd);
        if (r == -ECONNRESET && !started)
                r = agent_try(cfg, dirfd, msg, size, timeout_ms, ret, &started, ret_fd);
        return r;
}

static int agent_unavailable(const char *why, int r) {
        if (r)
                log_info("secret fetcher: agent: %s: %s; fetching in this hook's own child", why,
                         strerror(-r));
        else
                log_info("secret fetcher: agent: %s; fetching in this hook's own child", why);
        return AGENT_UNAVAILABLE;
}

int agent_fetch(const struct broker_config *cfg, const struct role *role, const struct request *req,
                struct fetched_secret *out) {
        uint8_t digest[AGENT_DIGEST_BYTES];
        _cleanup_free_ void *msg = NULL;
        size_t size = 0;
        int r = agent_digest(cfg, digest);
        if (r >= 0)
                r = agent_request_encode(AGENT_FETCH, digest, role ? role->name : NULL, req, &msg,
                                         &size);
        if (r < 0)
                return agent_unavailable("cannot make the request", r);
        struct agent_answer a;
        _cleanup_close_ int fd = -1;
        r = agent_session(cfg, msg, size, cfg->timeout_ms + AGENT_SLACK_MS, &a, &fd);
        if (r < 0)
                return agent_unavailable("not reachable", r);
        if (a.status == -ESTALE)
                return agent_unavailable("it served another configuration (it exits)", 0);
        if (a.status < 0)
                return agent_unavailable("request refused", a.status);
        int status = 0;
        const char *why = NULL;
        r = privsep_receive_reply(fd, req, out, &status, &why);
        if (r == -ECANCELED) {
                log_error("%s", why && why[0] ? why : "secret fetcher: agent: fetch failed");
                return status < 0 ? status : -EIO;
        }
        if (r < 0)
                return agent_unavailable("malformed or incomplete reply", r);
        log_debug("secret fetcher: agent pid %u fetched %zu secret(s)", a.pid, req->n_secrets);
        return 0;
}

int agent_query_status(const struct broker_config *cfg, json_t **ret) {
        uint8_t digest[AGENT_DIGEST_BYTES];
        _cleanup_free_ void *msg = NULL;
        _cleanup_close_ int dirfd = -1, fd = -1;
        static char text[AGENT_STATUS_MAX];
        size_t size = 0, len = 0;
        struct agent_answer a;
        int r = agent_digest(cfg, digest);
        if (r >= 0)
                r = agent_request_encode(AGENT_STATUS, digest, NULL, NULL, &msg, &size);
        if (r >= 0)
                r = agent_dir_open(cfg->state_dir, &dirfd);
        if (r >= 0)
                r = agent_connect(dirfd, AGENT_SLACK_MS, &fd);
        if (r >= 0)
                r = agent_ask(fd, msg, size, &a, text, sizeof text, &len);
        if (r < 0)
                return r;
        if (a.status < 0)
                return a.status;
        char err[128];
        return json_parse_strict(text, len, sizeof text, ret, err, sizeof err) < 0 ? -EBADMSG : 0;
}
