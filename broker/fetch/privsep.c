/* SPDX-License-Identifier: Apache-2.0 */
#include "privsep.h"

#include <cap-ng.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "request/config.h"
#include "credfile.h"
#include "fdutil.h"
#include "log.h"
#include "manifest.h"
#include "pod_token.h"
#include "syscall_filter.h"
#include "token_cache.h"

enum {
        PRIVSEP_SECRET = 1, /* header and metadata of out[index] */
        PRIVSEP_CHUNK = 2, /* the next bytes of its value */
        PRIVSEP_DONE = 3, /* status; index = number of secrets */
};

#define PRIVSEP_STRINGS 5 /* version, lease_id, file, owner, group */
#define PRIVSEP_STRING_MAX 1024
#define PRIVSEP_CHUNK_MAX (32 * 1024) /* well inside a socket's default buffer */
#define PRIVSEP_TOTAL_MAX (64ULL * 1024 * 1024) /* config.c's largest tmpfs */

struct privsep_msg {
        uint32_t type;
        uint32_t index;
        int32_t status;
        uint32_t size; /* SECRET: the value's size; CHUNK: this chunk's */
        uint8_t present, has_mode;
        uint16_t len[PRIVSEP_STRINGS];
        uint32_t mode;
        int64_t lease_duration;
};

static int privsep_refuse_unfiltered(const struct broker_config *cfg);

/* ---- the child -------------------------------------------------------------------------- */

/* Still root, before anything talks to the network: open what the unprivileged half will
 * need and could not open itself (root's credential files, the token cache). For a request,
 * only what its backends need: a store-only request opens none of them. */
static int privsep_preload(const struct broker_config *cfg, const struct role *role,
                           const struct request *req) {
        int r = req ? credfile_preload_request(cfg, role, req) : credfile_preload(cfg);
        if (r < 0)
                return log_error_errno(r, "secret fetcher: cannot open the credential files");
        bool vault = false, network = !req;
        for (size_t i = 0; i < cfg->n_backends; i++) {
                const struct backend_config *b = &cfg->backends[i];
                if (req && !credfile_request_names(req, b->name))
                        continue;
                vault = vault || streq_ptr(b->type, "vault");
                network = network || !backend_is_local(b);
        }
        /* The pod's projected token, if this hook serves a pod's container (pod_token.h). */
        if (network)
                pod_token_preload();
        /* A failure is kept for token_cache_open, which reports it where a login needs the
         * cache (a token_file method never does). */
        if (vault)
                (void)token_cache_preopen(cfg->state_dir, cfg->fetch_uid, cfg->fetch_gid);
        return 0;
}

/* Every capability the running kernel has (libcap-ng reads its last one) gone from the
 * bounding and ambient sets, and all but the two the uid change needs from the others;
 * no_new_privs. The store is read like this, as uid 0 (the owner of its files) without any
 * capability that reaches beyond them. libcap-ng returns its own codes; errno says why. */
static int privsep_drop_caps(void) {
        errno = 0;
        capng_clear(CAPNG_SELECT_ALL);
        if (capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_SETUID, CAP_SETGID,
                          -1) < 0 ||
            capng_apply(CAPNG_SELECT_ALL) < 0)
                return errno > 0 ? -errno : -EPERM;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return negative_errno();
        return 0;
}

/* The configuration's fetcher uid and gid, no supplementary group, no capability left: what
 * talks to the network cannot write a file of root's or open one of its credentials.
 * capng_change_id keeps CAP_SETUID and CAP_SETGID for the change alone, then applies the state
 * cleared here (none). */
static int privsep_drop_uid(uid_t uid, gid_t gid) {
        errno = 0;
        capng_clear(CAPNG_SELECT_CAPS);
        if (capng_change_id((int)uid, (int)gid, CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_AMBIENT) < 0)
                return errno > 0 ? -errno : -EPERM;
        /* The uid change reset it to the fs.suid_dumpable default: no ptrace by that uid's
         * other processes, no core. */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return negative_errno();
        if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid)
                return -EPERM;
        capng_get_caps_process();
        if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
                return -EPERM;
        return 0;
}

/* The filter, or its absence where the configuration turned it off (check and status say so;
 * privsep_filter_refused stopped the fetch before the fork where it would be missing without
 * that word). */
static int privsep_seccomp(const struct broker_config *cfg, enum syscall_filter_kind kind) {
        if (!cfg->fetch_seccomp) {
                log_info("secret fetcher: no seccomp filter (\"fetcher\": {\"seccomp\": false})");
                return 0;
        }
        return syscall_filter_load(kind);
}

static int privsep_send(int fd, const struct privsep_msg *m, const void *data, size_t size) {
        struct iovec iov[2] = {{(void *)m, sizeof *m}, {(void *)data, size}};
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = size ? 2 : 1};
        for (;;) {
                ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
                if (n >= 0)
                        return n == (ssize_t)(sizeof *m + size) ? 0 : -EIO;
                if (errno != EINTR)
                        return negative_errno();
        }
}

/* A value's metadata and size; its bytes follow once every secret's header is sent, so that the
 * receiver can set aside one arena for all of them (secret_new_batch). */
static int privsep_send_header(int fd, uint32_t index, const struct fetched_secret *f) {
        const char *s[PRIVSEP_STRINGS] = {f->version, f->lease_id, f->file, f->owner, f->group};
        char text[PRIVSEP_STRINGS * PRIVSEP_STRING_MAX];
        struct privsep_msg m = {.type = PRIVSEP_SECRET, .index = index};
        size_t off = 0;
        for (size_t i = 0; i < PRIVSEP_STRINGS; i++) {
                size_t len = s[i] ? strlen(s[i]) : 0;
                if (len > PRIVSEP_STRING_MAX)
                        return -E2BIG;
                memcpy(text + off, s[i] ? s[i] : "", len);
                m.len[i] = (uint16_t)len;
                off += len;
        }
        m.present = f->value != NULL;
        m.size = f->value ? (uint32_t)secret_size(f->value) : 0;
        m.has_mode = f->has_mode;
        m.mode = f->mode;
        m.lease_duration = f->lease_duration;
        return privsep_send(fd, &m, text, off);
}

static int privsep_send_value(int fd, uint32_t index, const struct fetched_secret *f) {
        size_t size = f->value ? secret_size(f->value) : 0;
        int r = 0;
        for (size_t done = 0; r >= 0 && done < size;) {
                size_t n = size - done < PRIVSEP_CHUNK_MAX ? size - done : PRIVSEP_CHUNK_MAX;
                struct privsep_msg c = {.type = PRIVSEP_CHUNK, .index = index, .size = (uint32_t)n};
                r = privsep_send(fd, &c, (const char *)secret_cdata(f->value) + done, n);
                done += n;
        }
        return r;
}

/* Everything between fork and the network: every inherited fd but stdio, keep_fd and the log's
 * closed (the parent's locks, directories and pidfds are not the fetcher's to use), the store read
 * as uid 0 (into out, when given), then the uid, the capabilities and the seccomp filter dropped.
 * Logs its one line. */
static int privsep_enter(const struct broker_config *cfg, const struct role *role,
                         const struct request *req, struct fetched_secret *out, int keep_fd) {
        /* The log's fd too: a caller capturing the child's one line (rotation) reads it. */
        const int keep[] = {keep_fd, log_get_fd()};
        int r = close_all_fds_except(keep, ARRAY_SIZE(keep));
        if (r < 0)
                return log_error_errno(r, "secret fetcher: cannot close inherited fds");
        r = privsep_preload(cfg, role, req);
        if (r < 0)
                return r;
        r = privsep_drop_caps();
        if (r < 0)
                return log_error_errno(r, "secret fetcher: cannot drop capabilities");
        if (req && out && (r = backend_fetch_some(cfg, role, req, out, BACKEND_LOCAL)) < 0)
                return r; /* logged */
        r = privsep_drop_uid(cfg->fetch_uid, cfg->fetch_gid);
        if (r < 0)
                return log_error_errno(r, "secret fetcher: cannot switch to uid %u gid %u",
                                       (unsigned)cfg->fetch_uid, (unsigned)cfg->fetch_gid);
        r = privsep_seccomp(cfg, SYSCALL_FILTER_FETCHER);
        if (r < 0)
                return log_error_errno(r, "secret fetcher: cannot install its seccomp filter");
        return 0;
}

int privsep_send_reply(int fd, const struct request *req, const struct fetched_secret *out,
                       int status, const char *why) {
        struct privsep_msg done = {.type = PRIVSEP_DONE, .index = (uint32_t)req->n_secrets};
        int r = status;
        for (size_t i = 0; r >= 0 && i < req->n_secrets; i++)
                r = privsep_send_header(fd, (uint32_t)i, &out[i]);
        for (size_t i = 0; r >= 0 && i < req->n_secrets; i++)
                r = privsep_send_value(fd, (uint32_t)i, &out[i]);
        done.status = r < 0 ? r : 0;
        size_t len = r < 0 && why ? strnlen(why, PRIVSEP_STRING_MAX) : 0;
        int s = privsep_send(fd, &done, why, len);
        return r < 0 ? r : s;
}

static _noreturn_ void privsep_child(int fd, const struct broker_config *cfg,
                                     const struct role *role, const struct request *req) {
        struct fetched_secret *out = calloc(req->n_secrets + 1, sizeof *out);
        int r = out ? privsep_enter(cfg, role, req, out, fd)
                    : log_error_errno(-ENOMEM, "secret fetcher");
        if (r >= 0)
                r = backend_fetch_some(cfg, role, req, out, BACKEND_REMOTE); /* logs its line */
        /* The line is on the hook's stderr already: the reply need not carry it. */
        r = privsep_send_reply(fd, req, out, r, NULL);
        if (out)
                fetched_done(out, req->n_secrets);
        _exit(r < 0 ? 1 : 0);
}

int privsep_confine_agent(const struct broker_config *cfg, int listen_fd) {
        const int keep[] = {listen_fd, log_get_fd()};
        int r = privsep_refuse_unfiltered(cfg);
        if (r < 0)
                return r;
        r = close_all_fds_except(keep, ARRAY_SIZE(keep));
        if (r < 0)
                return log_error_errno(r, "agent: cannot close inherited fds");
        r = credfile_preload(cfg);
        if (r < 0)
                return log_error_errno(r, "agent: cannot open the credential files");
        /* No token file while the agent runs: its logins stay in its locked memory. */
        token_cache_keep_in_memory();
        r = privsep_drop_caps();
        if (r < 0)
                return log_error_errno(r, "agent: cannot drop capabilities");
        r = privsep_drop_uid(cfg->fetch_uid, cfg->fetch_gid);
        if (r < 0)
                return log_error_errno(r, "agent: cannot switch to uid %u gid %u",
                                       (unsigned)cfg->fetch_uid, (unsigned)cfg->fetch_gid);
        r = privsep_seccomp(cfg, SYSCALL_FILTER_AGENT);
        if (r < 0)
                return log_error_errno(r, "agent: cannot install its seccomp filter");
        return 0;
}

int privsep_filter_state(const struct broker_config *cfg) {
        if (!cfg->fetch_seccomp)
                return PRIVSEP_UNFILTERED;
        return syscall_filter_arch_supported(syscall_filter_native()) ? PRIVSEP_FILTERED
                                                                      : -EAFNOSUPPORT;
}

/* Before anything is forked: without a filter for this architecture, the fetcher runs only
 * where the configuration says so. */
static int privsep_refuse_unfiltered(const struct broker_config *cfg) {
        if (privsep_filter_state(cfg) != -EAFNOSUPPORT)
                return 0;
        log_error("secret fetcher: refusing to run: lockbox has no seccomp filter for this "
                  "architecture (%s); \"fetcher\": {\"seccomp\": false} in the configuration "
                  "runs it without one",
                  syscall_filter_native_name());
        return -EAFNOSUPPORT;
}

int privsep_run(const struct broker_config *cfg, int (*fn)(void *userdata), void *userdata) {
        int r = privsep_refuse_unfiltered(cfg);
        if (r < 0)
                return r;
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
                return log_error_errno(errno, "secret fetcher: cannot fork");
        if (pid == 0) {
                r = privsep_enter(cfg, NULL, NULL, NULL, -1);
                if (r >= 0)
                        r = fn(userdata);
                fflush(NULL);
                _exit(r < 0 ? 1 : 0);
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return log_error_errno(errno, "secret fetcher: cannot wait for it");
        if (WIFSIGNALED(status))
                return log_error_errno(-EIO, "secret fetcher: killed by signal %d",
                                       WTERMSIG(status));
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO; /* the child logged */
}

/* ---- the parent ------------------------------------------------------------------------- */

/* Receive one message: the header into m, the rest into data (at most size bytes). A message
 * longer than that is a protocol error. Returns the payload's length. */
static ssize_t privsep_recv(int fd, struct privsep_msg *m, void *data, size_t size) {
        struct iovec iov[2] = {{m, sizeof *m}, {data, size}};
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
        ssize_t n;
        while ((n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
                ;
        if (n < 0)
                return negative_errno();
        if (n == 0)
                return -ECONNRESET; /* the child is gone without a word */
        if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)n < sizeof *m)
                return -EBADMSG;
        return n - (ssize_t)sizeof *m;
}

static bool privsep_text_is_valid(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
                        return false;
        return true;
}

/* The metadata strings of a SECRET message, in order: version, lease_id, file, owner, group.
 * Each is checked (printable ASCII, bounded) and copied. */
static int privsep_take_strings(const struct privsep_msg *m, const char *text, size_t len,
                                char *ret[static PRIVSEP_STRINGS]) {
        size_t off = 0;
        for (size_t i = 0; i < PRIVSEP_STRINGS; i++) {
                if (m->len[i] > PRIVSEP_STRING_MAX || off + m->len[i] > len ||
                    !privsep_text_is_valid(text + off, m->len[i]))
                        return -EBADMSG;
                off += m->len[i];
        }
        if (off != len)
                return -EBADMSG;
        off = 0;
        for (size_t i = 0; i < PRIVSEP_STRINGS; i++) {
                if (m->len[i] && !(ret[i] = strndup(text + off, m->len[i])))
                        return -ENOMEM;
                off += m->len[i];
        }
        return 0;
}

/* The child's status when it ended early with a fetch failure (it logged the line), and the
 * line when the reply carried it (the agent's). */
static int privsep_child_status;
static char privsep_child_why[PRIVSEP_STRING_MAX + 1];

/* A DONE message: its status and the failure's line, printable text only. */
static int privsep_take_done(const struct privsep_msg *m, const char *text, size_t len) {
        if (m->status > 0 || m->status < -4095 || (m->status == 0 && len) ||
            len > PRIVSEP_STRING_MAX || !privsep_text_is_valid(text, len))
                return -EBADMSG;
        privsep_child_status = m->status;
        memcpy(privsep_child_why, text, len);
        privsep_child_why[len] = '\0';
        return m->status < 0 ? -ECANCELED : 0;
}

/* One secret's header: its metadata into f, its size into *ret_size (SIZE_MAX: none). */
static int privsep_recv_header(int fd, const struct secret_request *sr, uint32_t index,
                               uint64_t *total, struct fetched_secret *f, size_t *ret_size) {
        static char text[PRIVSEP_STRINGS * PRIVSEP_STRING_MAX];
        struct privsep_msg m = {0};
        ssize_t n = privsep_recv(fd, &m, text, sizeof text);
        if (n < 0)
                return (int)n;
        if (m.type == PRIVSEP_DONE && m.status < 0)
                return privsep_take_done(&m, text, (size_t)n); /* the child said why */
        if (m.type != PRIVSEP_SECRET || m.index != index || m.present > 1 || m.has_mode > 1 ||
            (m.mode & ~0777U) || m.lease_duration < 0 || (!m.present && (m.size || !sr->optional)))
                return -EBADMSG;
        *total += m.size;
        if (m.size > PRIVSEP_TOTAL_MAX || *total > PRIVSEP_TOTAL_MAX)
                return -EFBIG;
        char *str[PRIVSEP_STRINGS] = {0};
        int r = privsep_take_strings(&m, text, (size_t)n, str);
        f->version = str[0];
        f->lease_id = str[1];
        f->file = str[2];
        f->owner = str[3];
        f->group = str[4];
        if (r < 0)
                return r;
        if (f->file && !secret_name_is_valid(f->file))
                return -EBADMSG;
        f->has_mode = m.has_mode;
        f->mode = m.mode;
        f->lease_duration = (long)m.lease_duration;
        *ret_size = m.present ? m.size : SIZE_MAX;
        return 0;
}

/* The bytes of a value into the space set aside for it, in chunks; then read-only. */
static int privsep_recv_value(int fd, uint32_t index, struct secret *v) {
        size_t size = secret_size(v);
        for (size_t done = 0; done < size;) {
                struct privsep_msg c = {0};
                ssize_t n = privsep_recv(fd, &c, (char *)secret_data(v) + done, size - done);
                if (n < 0)
                        return (int)n;
                if (c.type != PRIVSEP_CHUNK || c.index != index || c.size != (size_t)n || n == 0)
                        return -EBADMSG;
                done += (size_t)n;
        }
        return secret_seal(v);
}

/* One arena for every value present (sizes[i] SIZE_MAX: absent), handed to out[i].value. */
static int privsep_alloc_values(size_t n, const size_t *sizes, struct fetched_secret *out) {
        _cleanup_free_ size_t *want = calloc(n + 1, sizeof *want);
        _cleanup_free_ struct secret **v = calloc(n + 1, sizeof *v);
        size_t k = 0;
        if (!want || !v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (sizes[i] != SIZE_MAX)
                        want[k++] = sizes[i];
        int r = k ? secret_new_batch(want, k, v) : 0;
        for (size_t i = 0, j = 0; r >= 0 && i < n; i++)
                if (sizes[i] != SIZE_MAX)
                        out[i].value = v[j++];
        return r;
}

static int privsep_receive_values(int fd, const struct request *req, struct fetched_secret *out) {
        uint64_t total = 0;
        _cleanup_free_ size_t *sizes = calloc(req->n_secrets + 1, sizeof *sizes);
        if (!sizes)
                return -ENOMEM;
        for (size_t i = 0; i < req->n_secrets; i++) {
                int r = privsep_recv_header(fd, &req->secrets[i], (uint32_t)i, &total, &out[i],
                                            &sizes[i]);
                if (r < 0)
                        return r;
        }
        int r = privsep_alloc_values(req->n_secrets, sizes, out);
        for (size_t i = 0; r >= 0 && i < req->n_secrets; i++)
                if (out[i].value)
                        r = privsep_recv_value(fd, (uint32_t)i, out[i].value);
        return r;
}

static int privsep_receive(int fd, const struct request *req, struct fetched_secret *out) {
        int r = privsep_receive_values(fd, req, out);
        if (r < 0)
                return r;
        struct privsep_msg m = {0};
        static char text[PRIVSEP_STRING_MAX];
        ssize_t n = privsep_recv(fd, &m, text, sizeof text);
        if (n < 0)
                return (int)n;
        if (m.type != PRIVSEP_DONE || m.index != req->n_secrets)
                return -EBADMSG;
        return privsep_take_done(&m, text, (size_t)n);
}

int privsep_receive_reply(int fd, const struct request *req, struct fetched_secret *out,
                          int *ret_status, const char **ret_why) {
        privsep_child_status = 0;
        privsep_child_why[0] = '\0';
        int r = privsep_receive(fd, req, out);
        if (r < 0)
                fetched_done(out, req->n_secrets);
        *ret_status = privsep_child_status;
        *ret_why = privsep_child_why;
        return r;
}

int privsep_fetch_all(const struct broker_config *cfg, const struct role *role,
                      const struct request *req, struct fetched_secret *out) {
        int sv[2];
        privsep_child_status = 0;
        if (privsep_refuse_unfiltered(cfg) < 0)
                return -EAFNOSUPPORT;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return log_error_errno(errno, "secret fetcher: cannot create its socket");
        pid_t pid = fork();
        if (pid < 0) {
                int r = negative_errno();
                close(sv[0]);
                close(sv[1]);
                return log_error_errno(r, "secret fetcher: cannot fork");
        }
        if (pid == 0) {
                close(sv[0]);
                privsep_child(sv[1], cfg, role, req);
        }
        close(sv[1]);
        int r = privsep_receive(sv[0], req, out);
        close(sv[0]);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                fetched_done(out, req->n_secrets);
        if (r == -ECANCELED) /* the child logged the fetch's failure */
                return privsep_child_status < 0 && privsep_child_status > -4096
                               ? privsep_child_status
                               : -EIO;
        if (r < 0) {
                if (WIFSIGNALED(status))
                        return log_error_errno(r, "secret fetcher: killed by signal %d",
                                               WTERMSIG(status));
                return log_error_errno(r, "secret fetcher: malformed or incomplete reply");
        }
        return 0;
}

struct revoke_args {
        const struct broker_config *cfg;
        const char *role_name;
        const json_t *secrets;
};

static int revoke_leases_run(void *userdata) {
        const struct revoke_args *a = userdata;
        return backend_revoke_here(a->cfg, a->role_name, a->secrets);
}

int privsep_revoke_leases(const struct broker_config *cfg, const char *role_name,
                          const json_t *secrets) {
        size_t i;
        json_t *s;
        json_array_foreach(secrets, i, s) {
                if (json_get_string(s, "lease_id")) {
                        struct revoke_args a = {cfg, role_name, secrets};
                        return privsep_run(cfg, revoke_leases_run, &a);
                }
        }
        return 0; /* no lease: nothing to talk to a server about */
}

struct check_args {
        const struct broker_config *cfg;
        const struct backend_config *b;
};

static int check_run(void *userdata) {
        const struct check_args *a = userdata;
        return backend_check_here(a->cfg, a->b);
}

int privsep_check(const struct broker_config *cfg, const struct backend_config *b) {
        if (!backend_can_check(b))
                return log_error_errno(-EOPNOTSUPP, "backend %s (%s): not available in this build",
                                       b->name, b->type);
        struct check_args a = {cfg, b};
        return privsep_run(cfg, check_run, &a);
}
