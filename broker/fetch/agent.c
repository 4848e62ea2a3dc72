/* SPDX-License-Identifier: Apache-2.0 */
#include "agent.h"

#include <poll.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>

#include "agent_digest.h"
#include "agent_proto.h"
#include "agent_socket.h"
#include "backend.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "privsep.h"
#include "token_memory.h"
#include "vault_mounts.h"

#define AGENT_RECV_TIMEOUT_MS 2000 /* a hook sends its request right after connecting */
#define AGENT_STATUS_MAX 16384
/* Hooks served in one batch: the one that connected first and those waiting behind it, until
 * their secrets reach about the streams libcurl runs on one HTTP/2 connection (100 by default):
 * more in flight at once would open a second connection, and a burst would cost more than
 * one. */
#define AGENT_BATCH_MAX 32
#define AGENT_BATCH_SECRETS 100

struct agent {
        const struct broker_config *cfg;
        uint8_t digest[AGENT_DIGEST_BYTES];
        uint64_t started_ms, last_ms;
        uint64_t requests, refused, failed;
        bool stale; /* a hook asked under another configuration: exit */
};

static uint64_t agent_now_ms(void) {
        return http_now_ms();
}

/* ---- status ----------------------------------------------------------------------------- */

struct agent_backend_stats {
        const char *address;
        struct http_client_stats sum;
};

static void agent_add_stats(const struct http_client_stats *s, void *userdata) {
        struct agent_backend_stats *b = userdata;
        if (!streq_ptr(s->address, b->address))
                return;
        b->sum.connections += s->connections;
        b->sum.connections_opened += s->connections_opened;
        b->sum.requests += s->requests;
}

/* Each network backend: its address and what its kept clients hold. */
static json_t *agent_backends_json(const struct broker_config *cfg) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < cfg->n_backends; i++) {
                const struct backend_config *b = &cfg->backends[i];
                if (streq_ptr(b->type, "store"))
                        continue;
                struct agent_backend_stats s = {
                        .address = json_get_string(b->raw, streq_ptr(b->type, "vault") ? "address"
                                                                                       : "url")};
                if (s.address)
                        http_kept_clients(agent_add_stats, &s);
                json_array_append_new(arr, json_pack("{s:s, s:s, s:s?, s:I, s:I, s:I}", "name",
                                                     b->name, "type", b->type, "address", s.address,
                                                     "connections", (json_int_t)s.sum.connections,
                                                     "connections_opened",
                                                     (json_int_t)s.sum.connections_opened,
                                                     "requests", (json_int_t)s.sum.requests));
        }
        return arr;
}

static int agent_status_text(const struct agent *a, bool current, char **ret) {
        uint64_t now = agent_now_ms();
        _cleanup_json_ json_t *j = json_pack(
                "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:o}", "pid",
                (json_int_t)getpid(), "uid", (json_int_t)getuid(), "uptime_s",
                (json_int_t)((now - a->started_ms) / 1000), "idle_s",
                (json_int_t)((now - a->last_ms) / 1000), "requests", (json_int_t)a->requests,
                "failed", (json_int_t)a->failed, "refused", (json_int_t)a->refused, "logins",
                (json_int_t)token_memory_stores(), "mounts", (json_int_t)vault_mounts_count(now),
                "current", current, "backends", agent_backends_json(a->cfg));
        if (!j)
                return -ENOMEM;
        return json_dump_compact(j, ret);
}

/* ---- one connection --------------------------------------------------------------------- */

/* A hook whose fetch was taken: its connection, who it is, under which role, what it asks. */
struct agent_hook {
        int fd;
        pid_t peer;
        const struct role *role;
        struct agent_request ar;
};

static int agent_answer(int fd, int status, const char *text) {
        struct agent_answer h = {.magic = AGENT_PROTO_MAGIC,
                                 .version = AGENT_PROTO_VERSION,
                                 .status = status,
                                 .pid = (uint32_t)getpid()};
        size_t len = text ? strnlen(text, AGENT_STATUS_MAX) : 0;
        struct iovec iov[2] = {{&h, sizeof h}, {(void *)text, len}};
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
        return sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? negative_errno() : 0;
}

/* The request, within AGENT_RECV_TIMEOUT_MS (a hook that connects and says nothing does not hold
 * the others up for longer). */
static int agent_receive(int fd, struct agent_request *ret) {
        static unsigned char buf[AGENT_REQUEST_MAX];
        struct pollfd p = {fd, POLLIN, 0};
        int n = poll(&p, 1, AGENT_RECV_TIMEOUT_MS);
        if (n <= 0)
                return n == 0 ? -ETIMEDOUT : negative_errno();
        struct iovec iov = {buf, sizeof buf};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t got = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (got < 0)
                return negative_errno();
        if (got == 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
                return -EBADMSG;
        return agent_request_decode(buf, (size_t)got, ret);
}

/* What the hook asks is for the network backends this configuration names, under one of its
 * roles: anything else is a hook's mistake, refused. */
static int agent_check_request(const struct broker_config *cfg, const struct request *req,
                               const struct role **ret_role) {
        *ret_role = req->role ? config_find_role(cfg, req->role) : NULL;
        if (req->role && !*ret_role)
                return -EINVAL;
        for (size_t i = 0; i < req->n_secrets; i++) {
                const struct backend_config *b =
                        config_find_backend(cfg, req->secrets[i].ref.backend);
                if (!b || backend_is_local(b))
                        return -EINVAL;
        }
        return 0;
}

/* Hooks under one role, fetched in one batch: each gets its own secrets, its own leases (a read
 * is shared within one hook only) and its own failure, with its line (backend_fetch_hooks). */
static void agent_fetch(struct agent *a, struct agent_hook *const *hooks, unsigned n) {
        uint64_t t0 = agent_now_ms();
        size_t total = 0, at = 0;
        for (unsigned k = 0; k < n; k++)
                total += hooks[k]->ar.req.n_secrets;
        _cleanup_free_ struct secret_request *secrets = calloc(total + 1, sizeof *secrets);
        _cleanup_free_ struct fetched_secret *out = calloc(total + 1, sizeof *out);
        _cleanup_free_ struct fetch_outcome *outcome = calloc(n, sizeof *outcome);
        if (!secrets || !out || !outcome)
                return; /* closed unanswered: each hook fetches in its own child */
        for (unsigned k = 0; k < n; k++) {
                const struct request *req = &hooks[k]->ar.req;
                for (size_t i = 0; i < req->n_secrets; i++) {
                        secrets[at] = req->secrets[i]; /* borrowed: the hook's request owns it */
                        secrets[at++].hook = k;
                }
        }
        struct request all = {
                .secrets = secrets, .n_secrets = total, .role = hooks[0]->ar.req.role};
        (void)backend_fetch_hooks(a->cfg, hooks[0]->role, &all, out, n, outcome); /* logs */
        at = 0;
        for (unsigned k = 0; k < n; k++) {
                const struct request *req = &hooks[k]->ar.req;
                int r = outcome[k].error;
                int s = privsep_send_reply(hooks[k]->fd, req, out + at, r,
                                           outcome[k].why[0] ? outcome[k].why : "fetch failed");
                at += req->n_secrets;
                a->requests++;
                a->failed += r < 0;
                log_info("agent: pid %d: %zu secret(s) %s in %llu ms%s", (int)hooks[k]->peer,
                         req->n_secrets, r < 0 ? "failed" : "fetched",
                         (unsigned long long)(agent_now_ms() - t0),
                         s < 0 && r >= 0 ? " (the hook went away)" : "");
                if (s < 0 && r >= 0)
                        outcome[k].error = s; /* nobody has its values */
        }
        /* A failed hook's other secrets were read all the same (and a hook that went away has
         * none of its own): their leases, which no record will name, are revoked now that every
         * hook has its answer. */
        for (unsigned k = 0; k < n; k++)
                if (outcome[k].error < 0)
                        (void)backend_revoke_fetched(a->cfg, hooks[0]->role, &all, out, &k);
        fetched_done(out, total);
        if (n > 1)
                log_info("agent: %u hooks' requests, %zu secret(s), fetched in one batch", n,
                         total);
}

static void agent_status(struct agent *a, int fd, const struct agent_request *ar) {
        _cleanup_free_ char *text = NULL;
        bool current = memcmp(ar->digest, a->digest, sizeof a->digest) == 0;
        int r = agent_status_text(a, current, &text);
        (void)agent_answer(fd, r < 0 ? r : 0, text);
}

/* Root only: every other uid, whatever it could reach, is refused before a word is read. */
static int agent_peer(int fd, pid_t *ret_pid) {
        struct ucred cred;
        socklen_t len = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return negative_errno();
        *ret_pid = cred.pid;
        if (cred.uid != 0) {
                log_warning("agent: refused a connection from pid %d uid %u: only root may ask",
                            (int)cred.pid, (unsigned)cred.uid);
                return -EPERM;
        }
        return 0;
}

/* A connection's request, taken when it is a fetch this agent serves (h then holds the
 * connection and the request, and the hook is told that it is accepted); anything else is
 * answered or refused here, and false returned. */
static bool agent_admit(struct agent *a, int fd, struct agent_hook *h) {
        pid_t peer = 0;
        *h = (struct agent_hook){.fd = -1};
        if (agent_peer(fd, &peer) < 0) {
                a->refused++;
                return false;
        }
        int r = agent_receive(fd, &h->ar);
        if (r >= 0 && h->ar.kind != AGENT_STATUS)
                a->last_ms = agent_now_ms(); /* a hook asked, served or not: not idle */
        if (r < 0) {
                a->refused++;
                log_warning_errno(r, "agent: pid %d: no valid request", (int)peer);
                (void)agent_answer(fd, r == -ETIMEDOUT ? r : -EBADMSG, NULL);
        } else if (h->ar.kind == AGENT_STATUS) {
                agent_status(a, fd, &h->ar);
                r = -ECANCELED;
        } else if (memcmp(h->ar.digest, a->digest, sizeof a->digest) != 0) {
                log_info("agent: pid %d runs with another configuration, credential file or "
                         "broker binary: exiting",
                         (int)peer);
                (void)agent_answer(fd, -ESTALE, NULL);
                a->stale = true;
                r = -ESTALE;
        } else if ((r = agent_check_request(a->cfg, &h->ar.req, &h->role)) < 0) {
                a->refused++;
                log_warning("agent: pid %d asked for a backend or role this configuration does "
                            "not serve here (refused)",
                            (int)peer);
                (void)agent_answer(fd, r, NULL);
        } else if ((r = agent_answer(fd, 0, NULL)) >= 0) {
                h->fd = fd;
                h->peer = peer;
                return true;
        }
        agent_request_done(&h->ar);
        return false;
}

static void agent_hook_done(struct agent_hook *h) {
        h->fd = safe_close(h->fd);
        agent_request_done(&h->ar);
}

/* The connection just accepted, then those that came while the last batch ran and wait in the
 * backlog (at most AGENT_BATCH_MAX, AGENT_BATCH_SECRETS): their fetches in ret, how many
 * returned. */
static unsigned agent_take(struct agent *a, int listen_fd, int fd, struct agent_hook *ret) {
        unsigned n = 0;
        size_t secrets = 0;
        for (;;) {
                if (agent_admit(a, fd, &ret[n]))
                        secrets += ret[n++].ar.req.n_secrets;
                else
                        safe_close(fd);
                struct pollfd p = {listen_fd, POLLIN, 0};
                if (a->stale || n == AGENT_BATCH_MAX || secrets >= AGENT_BATCH_SECRETS ||
                    poll(&p, 1, 0) <= 0)
                        return n;
                fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                        return n;
        }
}

/* The hooks taken, one batch a role (its own login), in the order they came. */
static void agent_serve_hooks(struct agent *a, struct agent_hook *hooks, unsigned n) {
        struct agent_hook *group[AGENT_BATCH_MAX];
        for (unsigned i = 0; i < n; i++) {
                unsigned k = 0;
                if (hooks[i].fd < 0)
                        continue;
                for (unsigned j = i; j < n; j++)
                        if (hooks[j].fd >= 0 && hooks[j].role == hooks[i].role)
                                group[k++] = &hooks[j];
                agent_fetch(a, group, k);
                for (unsigned j = 0; j < k; j++)
                        agent_hook_done(group[j]);
        }
}

/* ---- the loop --------------------------------------------------------------------------- */

/* While root: the pid for operators and tests, the digest before the credential files are
 * opened (a file replaced in between makes the agent look stale, never current). */
static int agent_start(struct agent *a, int listen_fd) {
        _cleanup_close_ int dirfd = -1;
        /* Started through /proc/self/exe, it would be "exe" in ps. */
        (void)prctl(PR_SET_NAME, "lockbox-agent", 0, 0, 0);
        int r = agent_dir_open(a->cfg->state_dir, &dirfd);
        if (r >= 0)
                r = agent_write_pid(dirfd, getpid());
        if (r < 0)
                return log_error_errno(r, "agent: %s/agent", a->cfg->state_dir);
        /* Closed now: the confinement closes every fd, and its number is a credential's next. */
        dirfd = safe_close(dirfd);
        r = agent_digest(a->cfg, a->digest);
        if (r < 0)
                return log_error_errno(r, "agent: cannot compute the configuration's digest");
        r = privsep_confine_agent(a->cfg, listen_fd); /* logs its line */
        if (r < 0)
                return r;
        http_keep_clients();
        vault_mounts_remember();
        a->started_ms = a->last_ms = agent_now_ms();
        log_info("agent: pid %d serves %s as uid %u gid %u, exits after %u s idle", (int)getpid(),
                 a->cfg->state_dir, (unsigned)getuid(), (unsigned)getgid(), a->cfg->agent_idle_s);
        return 0;
}

int agent_serve(const struct broker_config *cfg, int listen_fd) {
        struct agent a = {.cfg = cfg};
        int r = agent_start(&a, listen_fd);
        if (r < 0)
                return r;
        const uint64_t idle_ms = (uint64_t)cfg->agent_idle_s * 1000;
        while (!a.stale) {
                uint64_t now = agent_now_ms(), until = a.last_ms + idle_ms;
                if (now >= until) {
                        log_info("agent: %u s without a request, exiting", cfg->agent_idle_s);
                        break;
                }
                struct pollfd p = {listen_fd, POLLIN, 0};
                uint64_t wait = until - now;
                int n = poll(&p, 1, wait > 60000 ? 60000 : (int)wait);
                if (n < 0 && errno != EINTR)
                        return log_error_errno(errno, "agent: poll");
                if (n <= 0)
                        continue;
                int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
                                return log_error_errno(errno, "agent: accept");
                        continue;
                }
                struct agent_hook hooks[AGENT_BATCH_MAX];
                unsigned n_hooks = agent_take(&a, listen_fd, fd, hooks);
                agent_serve_hooks(&a, hooks, n_hooks);
        }
        close(listen_fd);
        return 0;
}
