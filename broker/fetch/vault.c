/* SPDX-License-Identifier: Apache-2.0 */
#include "vault.h"

#include "vault_auth.h"
#include "vault_kv.h"
#include "vault_mounts.h"

#include <string.h>

#include "log.h"

#define VAULT_WHY_MAX 256

/* One secret of the batch on its way: its mount, its read, its outcome. */
struct vault_item {
        const struct secret_request *sr;
        struct fetched_secret *out;
        ssize_t mount; /* index into vault_batch.mounts, -1 while unknown */
        char *api; /* the read's API path */
        size_t owner; /* the item whose request reads api (itself, or an earlier one) */
        struct http_request req;
        struct vault_read read;
        bool done; /* read and parsed: a second round leaves it be */
        int error;
        char why[VAULT_WHY_MAX];
};

struct vault_batch {
        struct vault_client vc;
        struct vault_item *items;
        size_t n;
        struct vault_mount *mounts; /* room for two a secret: a second round's lookups */
        size_t n_mounts;
        char *scope; /* the agent's mount memory's (vault_mounts.h); NULL when it has none */
        struct fetch_outcome *hooks; /* an agent's batch of several hooks' (fetched.h) */
};

static void vault_batch_reset(struct vault_batch *vb) {
        for (size_t i = 0; i < vb->n; i++) {
                struct vault_item *it = &vb->items[i];
                http_request_done(&it->req);
                vault_read_done(&it->read);
                free(it->api);
                it->api = NULL;
                it->mount = -1;
                it->done = false;
                it->error = 0;
                it->why[0] = '\0';
        }
        for (size_t i = 0; i < vb->n_mounts; i++)
                vault_mount_done(&vb->mounts[i]);
        vb->n_mounts = 0;
}

static void vault_batch_done(struct vault_batch *vb) {
        vault_batch_reset(vb);
        free(vb->mounts);
        free(vb->items);
        free(vb->scope);
        vault_client_done(&vb->vc);
}

static void vault_item_fail(struct vault_item *it, int error, const char *why) {
        if (it->error)
                return;
        it->error = error;
        snprintf(it->why, sizeof it->why, "%s", why);
}

/* ---- mounts: which are KV v2 ----------------------------------------------------------------- */

/* mounts has room for two a secret (each mount is added for a secret that had none, in each of
 * at most two rounds). */
static ssize_t vault_mount_add(struct vault_batch *vb, const char *ref_path) {
        if (vb->n_mounts >= 2 * vb->n)
                return -EOVERFLOW;
        vb->mounts[vb->n_mounts] = (struct vault_mount){
                .key = ref_path,
                .key_len = strcspn(ref_path, "/"),
                .kv_version = 1,
        };
        return (ssize_t)vb->n_mounts++;
}

/* kv_version in the config: no preflight; the mount is the first component. */
static int vault_mounts_configured(struct vault_batch *vb, int kv_version) {
        for (size_t i = 0; i < vb->n; i++) {
                struct vault_item *it = &vb->items[i];
                for (size_t k = 0; k < vb->n_mounts && it->mount < 0; k++)
                        if (vault_mount_covers(&vb->mounts[k], it->sr->ref.path))
                                it->mount = (ssize_t)k;
                if (it->mount >= 0)
                        continue;
                ssize_t k = vault_mount_add(vb, it->sr->ref.path);
                if (k < 0)
                        return (int)k;
                struct vault_mount *m = &vb->mounts[k];
                if (asprintf(&m->path, "%.*s/", (int)m->key_len, m->key) < 0)
                        return m->path = NULL, -ENOMEM;
                m->kv_version = kv_version;
                it->mount = k;
        }
        return 0;
}

/* A mount already known (from an earlier round) that holds the item's path. */
static void vault_mount_assign_known(struct vault_batch *vb, struct vault_item *it) {
        for (size_t k = 0; k < vb->n_mounts && it->mount < 0; k++)
                if (vb->mounts[k].path && vault_mount_covers(&vb->mounts[k], it->sr->ref.path))
                        it->mount = (ssize_t)k;
}

/* One preflight a first path component among the items still without a mount. Returns how many
 * requests were queued into reqs (targets[i] is the item each one asks for). */
static int vault_preflight_queue(struct vault_batch *vb, struct http_request **reqs,
                                 size_t *targets, size_t *ret_n) {
        size_t n = 0;
        for (size_t i = 0; i < vb->n; i++) {
                struct vault_item *it = &vb->items[i];
                if (it->error || it->mount >= 0)
                        continue;
                vault_mount_assign_known(vb, it);
                bool queued = it->mount >= 0;
                for (size_t q = 0; q < n && !queued; q++)
                        queued = vault_mount_covers(&vb->mounts[vb->items[targets[q]].mount],
                                                    it->sr->ref.path);
                if (queued)
                        continue;
                ssize_t k = vault_mount_add(vb, it->sr->ref.path);
                _cleanup_free_ char *escaped = NULL, *api = NULL;
                if (k < 0 || vault_escape_path(it->sr->ref.path, &escaped) < 0 ||
                    asprintf(&api, "sys/internal/ui/mounts/%s", escaped) < 0)
                        return -ENOMEM;
                it->mount = k; /* provisional: the target's own answer decides */
                int r = vault_request(&vb->vc, &it->req, "GET", api, true);
                if (r < 0)
                        return r;
                targets[n] = i;
                reqs[n++] = &it->req;
        }
        *ret_n = n;
        return 0;
}

/* The preflight's answer for its target's mount: 200 names it; 403 and 404 leave it unknown
 * (the path is read as given: the CLI takes 404 as KV v1, and a 403 means the token may not
 * look, which the read then reports as what it is); anything else fails the target. */
static void vault_preflight_result(struct vault_batch *vb, struct vault_item *it) {
        struct vault_mount *m = &vb->mounts[it->mount];
        char why[VAULT_WHY_MAX];
        const struct http_request *r = &it->req;
        m->status = r->status;
        if (!r->error && r->status == 200) {
                if (vault_parse_mount(r->response.data, r->response.size, m) < 0) {
                        free(m->path);
                        m->path = NULL;
                        vault_item_fail(it, -EBADMSG, "malformed response to the mount lookup");
                } else {
                        log_debug("vault %s: %s is mount %s (%s, kv v%d)", vb->vc.cfg->backend,
                                  it->sr->ref.path, m->path, m->type, m->kv_version);
                        if (vb->scope && vault_mounts_learn(vb->scope, m, http_now_ms()) < 0)
                                log_debug("vault %s: cannot remember mount %s (out of memory)",
                                          vb->vc.cfg->backend, m->path);
                }
        } else if (!r->error && (r->status == 403 || r->status == 404)) {
                log_debug("vault %s: mount lookup for %s: %ld, reading the path as given",
                          vb->vc.cfg->backend, it->sr->ref.path, r->status);
        } else {
                int e = vault_request_error(r, why, sizeof why);
                vault_item_fail(it, e, why);
        }
}

/* Items that shared a target: its mount if it holds them, else another round. */
static void vault_preflight_spread(struct vault_batch *vb, const size_t *targets, size_t n) {
        for (size_t i = 0; i < vb->n; i++) {
                struct vault_item *it = &vb->items[i];
                if (it->error || it->mount >= 0)
                        continue;
                for (size_t q = 0; q < n && it->mount < 0; q++) {
                        struct vault_item *t = &vb->items[targets[q]];
                        struct vault_mount *m = &vb->mounts[t->mount];
                        if (!vault_mount_covers(m, it->sr->ref.path))
                                continue;
                        if (t->error)
                                vault_item_fail(it, t->error, t->why);
                        else
                                it->mount = t->mount;
                }
        }
}

/* The agent's remembered mounts: an item under one is read without a lookup. */
static int vault_mounts_recall_all(struct vault_batch *vb) {
        uint64_t now = http_now_ms();
        for (size_t i = 0; vb->scope && i < vb->n; i++) {
                struct vault_item *it = &vb->items[i];
                if (it->error || it->mount >= 0)
                        continue;
                vault_mount_assign_known(vb, it);
                if (it->mount >= 0)
                        continue;
                struct vault_mount m;
                int r = vault_mounts_recall(vb->scope, it->sr->ref.path, now, &m);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return r;
                ssize_t k = vault_mount_add(vb, it->sr->ref.path);
                if (k < 0) {
                        vault_mount_done(&m);
                        return (int)k;
                }
                struct vault_mount *slot = &vb->mounts[k];
                slot->path = m.path;
                slot->type = m.type;
                slot->kv_version = m.kv_version;
                slot->status = m.status;
                slot->recalled = true;
                it->mount = k;
                log_debug("vault %s: %s is mount %s (kv v%d, remembered)", vb->vc.cfg->backend,
                          it->sr->ref.path, m.path, m.kv_version);
        }
        return 0;
}

static int vault_preflight(struct vault_batch *vb) {
        _cleanup_free_ struct http_request **reqs = calloc(vb->n, sizeof *reqs);
        _cleanup_free_ size_t *targets = calloc(vb->n, sizeof *targets);
        if (!reqs || !targets)
                return -ENOMEM;
        if (vb->vc.cfg->kv_version)
                return vault_mounts_configured(vb, vb->vc.cfg->kv_version);
        /* Each round settles at least its targets: at most n rounds, usually one. */
        for (size_t round = 0; round < vb->n; round++) {
                size_t n = 0;
                int r = vault_preflight_queue(vb, reqs, targets, &n);
                if (r < 0 || n == 0)
                        return r;
                r = http_perform(vb->vc.http, reqs, n);
                if (r < 0)
                        return r;
                for (size_t q = 0; q < n; q++) {
                        struct vault_item *t = &vb->items[targets[q]];
                        vault_preflight_result(vb, t);
                        http_request_done(&t->req);
                }
                vault_preflight_spread(vb, targets, n);
        }
        return 0;
}

/* ---- reads ------------------------------------------------------------------------------------
 */

/* Queue one read an API path: two fields of one secret come from one read, and for a dynamic
 * secret that matters (a user name and a password must come from the same lease). Within one
 * hook's secrets only: two containers served in one batch by the agent each get a lease. */
static int vault_read_queue(struct vault_batch *vb, struct http_request **reqs, size_t *n) {
        for (size_t i = 0; i < vb->n; i++) {
                struct vault_item *it = &vb->items[i];
                const char *why = NULL;
                if (it->error || it->done)
                        continue;
                const struct vault_mount *m = it->mount >= 0 ? &vb->mounts[it->mount] : NULL;
                int r = vault_read_path(&it->sr->ref, m, &it->api, &why);
                if (r < 0) {
                        vault_item_fail(it, r, why ? why : "cannot build the path");
                        continue;
                }
                it->owner = i;
                for (size_t j = 0; j < i && it->owner == i; j++)
                        if (!vb->items[j].error && !vb->items[j].done &&
                            vb->items[j].sr->hook == it->sr->hook &&
                            streq_ptr(vb->items[j].api, it->api))
                                it->owner = j;
                if (it->owner != i)
                        continue;
                r = vault_request(&vb->vc, &it->req, "GET", it->api, true);
                if (r < 0)
                        return r;
                reqs[(*n)++] = &it->req;
        }
        return 0;
}

static int vault_read_all(struct vault_batch *vb) {
        _cleanup_free_ struct http_request **reqs = calloc(vb->n, sizeof *reqs);
        size_t n = 0;
        if (!reqs)
                return -ENOMEM;
        int r = vault_read_queue(vb, reqs, &n);
        if (r >= 0)
                r = http_perform(vb->vc.http, reqs, n);
        if (r < 0)
                return r;
        /* The values, packed into one pool: each is at most its reply's size (a string
         * unescaped; compact JSON, but for a number written shorter than jansson writes it,
         * which then gets a buffer of its own). Without a pool, each has its own buffer. */
        size_t cap = 0;
        for (size_t i = 0; i < vb->n; i++)
                if (!vb->items[i].error && !vb->items[i].done &&
                    !vb->items[vb->items[i].owner].req.error)
                        cap += vb->items[vb->items[i].owner].req.response.size;
        struct secret_pool *pool = secret_pool_try(cap);
        for (size_t i = 0; i < vb->n; i++) {
                struct vault_item *it = &vb->items[i];
                if (it->error || it->done)
                        continue;
                const struct vault_mount *m = it->mount >= 0 ? &vb->mounts[it->mount] : NULL;
                const struct http_request *req = &vb->items[it->owner].req;
                if (req->error) {
                        vault_item_fail(it, req->error, req->why);
                        continue;
                }
                it->error = vault_parse_read(req->status, req->response.data, req->response.size,
                                             m && m->kv_version == 2, it->sr->ref.field, pool,
                                             &it->read, it->why, sizeof it->why);
                it->done = !it->error;
        }
        secret_pool_unref(pool); /* the values hold it now */
        for (size_t i = 0; i < vb->n; i++)
                http_request_done(&vb->items[i].req);
        return 0;
}

/* Refused as a revoked or expired token is: a read denied, none allowed. Where the token read
 * something, a denial is the policy's: logging in again would change nothing, and would read the
 * others a second time (a dynamic secret's lease taken twice). */
static bool vault_batch_denied(const struct vault_batch *vb) {
        bool denied = false;
        for (size_t i = 0; i < vb->n; i++) {
                if (vb->items[i].done)
                        return false;
                denied = denied || vb->items[i].error == -EACCES;
        }
        return denied;
}

/* The outcome, in request order: the first failure is the one line printed (in an agent's
 * batch of several hooks, each hook's first, and the others' values are theirs). Every value
 * read goes out, a failed batch's or hook's too: its leases are then revoked
 * (backend_revoke_fetched), and its values wiped unused. */
static int vault_batch_report(struct vault_batch *vb) {
        for (size_t i = 0; i < vb->n; i++) {
                struct vault_item *it = &vb->items[i];
                if (it->error)
                        continue;
                it->out->value = TAKE_PTR(it->read.value);
                it->out->version = TAKE_PTR(it->read.version);
                it->out->lease_id = TAKE_PTR(it->read.lease_id);
                it->out->lease_duration = it->read.lease_duration;
        }
        for (size_t i = 0; i < vb->n; i++) {
                struct vault_item *it = &vb->items[i];
                const struct secret_request *sr = it->sr;
                if (it->error == -ENOENT && sr->optional) {
                        log_info("secret '%s' (%s): %s; optional, skipped", sr->name, sr->ref_text,
                                 it->why);
                        continue;
                }
                if (!it->error || (vb->hooks && vb->hooks[sr->hook].error))
                        continue;
                /* A pod's own login: which identity Vault refused is part of the reason. */
                int r = vault_fail(it->error, "secret '%s' (%s): %s%s%s%s", sr->name, sr->ref_text,
                                   it->why, *vb->vc.who ? " (" : "",
                                   *vb->vc.who ? vb->vc.who + 4 : "", *vb->vc.who ? ")" : "");
                if (!vb->hooks)
                        return r;
                fetch_outcome_fail(&vb->hooks[sr->hook], r);
        }
        return 0;
}

/* Items whose read failed under a remembered mount as a read under a mount remade since fails
 * (404, 403, a reply of the other KV version's shape): the mount is forgotten and the items go
 * round again, looked up; the others keep what they read (a lease is not taken twice). */
static bool vault_batch_forget_stale(struct vault_batch *vb) {
        bool again = false;
        for (size_t i = 0; i < vb->n; i++) {
                struct vault_item *it = &vb->items[i];
                if (!it->error || it->mount < 0 || !vb->mounts[it->mount].recalled ||
                    (it->error != -ENOENT && it->error != -EACCES && it->error != -EBADMSG))
                        continue;
                struct vault_mount *m = &vb->mounts[it->mount];
                if (m->path) {
                        log_info("vault %s: read under remembered mount %s failed, looking it "
                                 "up again",
                                 vb->vc.cfg->backend, m->path);
                        vault_mounts_forget(vb->scope, m->path);
                        vault_mount_done(m); /* covers nothing now */
                }
                http_request_done(&it->req);
                vault_read_done(&it->read);
                free(it->api);
                it->api = NULL;
                it->mount = -1;
                it->error = 0;
                it->why[0] = '\0';
                again = true;
        }
        return again;
}

static int vault_batch_run(struct vault_batch *vb) {
        int r = vb->vc.cfg->kv_version ? 0 : vault_mounts_recall_all(vb);
        if (r >= 0)
                r = vault_preflight(vb);
        if (r >= 0)
                r = vault_read_all(vb);
        if (r >= 0 && vault_batch_forget_stale(vb)) {
                r = vault_preflight(vb);
                if (r >= 0)
                        r = vault_read_all(vb);
        }
        return r;
}

static int vault_batch_begin(const struct fetch_batch *batch, const struct vault_config *cfg,
                             struct vault_batch *vb) {
        const struct secret_request *first = batch->secrets[0];
        const char *why = NULL;
        char msg[VAULT_WHY_MAX];

        vb->items = calloc(batch->n, sizeof *vb->items);
        vb->mounts = calloc(2 * batch->n, sizeof *vb->mounts);
        if (!vb->items || !vb->mounts)
                return -ENOMEM;
        vb->n = batch->n;
        vb->hooks = batch->hooks;
        for (size_t i = 0; i < batch->n; i++)
                vb->items[i] = (struct vault_item){
                        .sr = batch->secrets[i], .out = batch->out[i], .mount = -1};
        if (vault_mounts_remembering() &&
            vault_mounts_scope(cfg->backend, cfg->address, cfg->namespace, &vb->scope) < 0)
                return -ENOMEM;
        int r = vault_client_init(&vb->vc, cfg, batch->cfg->state_dir,
                                  http_now_ms() + cfg->timeout_ms, &why);
        if (r < 0)
                return vault_fail(r, "secret '%s' (%s): vault %s: %s", first->name, first->ref_text,
                                  cfg->backend, why ? why : "cannot set up the client");
        r = vault_authenticate(&vb->vc, false, msg, sizeof msg);
        if (r < 0)
                return vault_fail(r, "secret '%s' (%s): vault login (%s%s): %s", first->name,
                                  first->ref_text, vault_auth_method_name(cfg->auth.method),
                                  vb->vc.who, msg);
        return 0;
}

int vault_fetch_batch(const struct fetch_batch *batch) {
        _cleanup_(vault_config_done) struct vault_config cfg = {0};
        _cleanup_(vault_batch_done) struct vault_batch vb = {0};

        if (batch->n == 0)
                return 0;
        uint64_t t0 = http_now_ms();
        int r = vault_config_parse(batch->cfg, batch->backend, batch->role, &cfg);
        if (r < 0)
                return r;
        r = vault_batch_begin(batch, &cfg, &vb);
        if (r < 0)
                return r;
        r = vault_batch_run(&vb);
        /* A cached token may have been revoked or have expired early: log in again, once. */
        if (r >= 0 && vault_batch_denied(&vb) && vb.vc.token_from_cache) {
                char msg[VAULT_WHY_MAX];
                log_info("vault %s: cached token refused, logging in again", cfg.backend);
                r = vault_authenticate(&vb.vc, true, msg, sizeof msg);
                if (r < 0)
                        return vault_fail(r, "secret '%s' (%s): vault login (%s%s): %s",
                                          batch->secrets[0]->name, batch->secrets[0]->ref_text,
                                          vault_auth_method_name(cfg.auth.method), vb.vc.who, msg);
                vault_batch_reset(&vb);
                r = vault_batch_run(&vb);
        }
        if (r < 0)
                return log_error_errno(r, "secret '%s' (%s): vault %s: cannot fetch",
                                       batch->secrets[0]->name, batch->secrets[0]->ref_text,
                                       cfg.backend);
        log_debug("vault %s: %zu secret(s), %zu mount(s), in %llu ms", cfg.backend, vb.n,
                  vb.n_mounts, (unsigned long long)(http_now_ms() - t0));
        return vault_batch_report(&vb);
}

/* ---- leases ---------------------------------------------------------------------------------- */

struct vault_revocation {
        const struct lease_ref *lease;
        struct secret *body;
        struct http_request req;
};

static int vault_revoke_run(struct vault_client *vc, struct vault_revocation *rv, size_t n) {
        _cleanup_free_ struct http_request **reqs = calloc(n, sizeof *reqs);
        if (!reqs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                http_request_done(&rv[i].req);
                int r = vault_request(vc, &rv[i].req, "PUT", "sys/leases/revoke", true);
                if (r < 0)
                        return r;
                rv[i].req.body = secret_cdata(rv[i].body);
                rv[i].req.body_size = secret_size(rv[i].body);
                reqs[i] = &rv[i].req;
        }
        return http_perform(vc->http, reqs, n);
}

static bool vault_revoke_denied(const struct vault_revocation *rv, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!rv[i].req.error && rv[i].req.status == 403)
                        return true;
        return false;
}

static int vault_revoke_report(const struct vault_config *cfg, struct vault_revocation *rv,
                               size_t n) {
        int ret = 0;
        for (size_t i = 0; i < n; i++) {
                const struct http_request *r = &rv[i].req;
                char why[VAULT_WHY_MAX];
                /* 204, and 200 from versions that answer with a body. */
                if (!r->error && (r->status == 204 || r->status == 200)) {
                        log_info("vault %s: lease %s (%s) revoked", cfg->backend,
                                 rv[i].lease->lease_id, rv[i].lease->ref);
                        continue;
                }
                int e = vault_request_error(r, why, sizeof why);
                ret = ret
                              ?: vault_fail(e, "lease %s (%s): cannot revoke: %s",
                                            rv[i].lease->lease_id, rv[i].lease->ref, why);
        }
        return ret;
}

static void vault_revocations_free(struct vault_revocation *rv, size_t n) {
        for (size_t i = 0; rv && i < n; i++) {
                http_request_done(&rv[i].req);
                secret_free(rv[i].body);
        }
        free(rv);
}

static int vault_revoke_prepare(const struct lease_ref *leases, size_t n,
                                struct vault_revocation *rv) {
        for (size_t i = 0; i < n; i++) {
                const char *keys[] = {"lease_id"};
                const void *values[] = {leases[i].lease_id};
                size_t sizes[] = {strlen(leases[i].lease_id)};
                rv[i].lease = &leases[i];
                int r = vault_json_body(&rv[i].body, 1, keys, values, sizes);
                if (r < 0)
                        return r;
        }
        return 0;
}

int vault_revoke_leases(const struct broker_config *bcfg, const struct backend_config *b,
                        const struct role *role, const struct lease_ref *leases, size_t n) {
        _cleanup_(vault_config_done) struct vault_config cfg = {0};
        _cleanup_(vault_client_done) struct vault_client vc = {0};
        const char *why = NULL;
        char msg[VAULT_WHY_MAX];

        if (n == 0)
                return 0;
        int r = vault_config_parse(bcfg, b, role, &cfg);
        if (r < 0)
                return r;
        struct vault_revocation *rv = calloc(n, sizeof *rv);
        if (!rv)
                return -ENOMEM;
        r = vault_revoke_prepare(leases, n, rv);
        if (r >= 0)
                r = vault_client_init(&vc, &cfg, bcfg->state_dir, http_now_ms() + cfg.timeout_ms,
                                      &why);
        if (r >= 0 && (r = vault_authenticate(&vc, false, msg, sizeof msg)) < 0)
                why = msg;
        if (r >= 0)
                r = vault_revoke_run(&vc, rv, n);
        if (r >= 0 && vault_revoke_denied(rv, n) && vc.token_from_cache) {
                if ((r = vault_authenticate(&vc, true, msg, sizeof msg)) < 0)
                        why = msg;
                else
                        r = vault_revoke_run(&vc, rv, n);
        }
        if (r >= 0)
                r = vault_revoke_report(&cfg, rv, n);
        else
                vault_fail(r, "lease %s (%s): cannot revoke: vault %s%s: %s", leases[0].lease_id,
                           leases[0].ref, cfg.backend, vc.who, why ? why : "failed");
        vault_revocations_free(rv, n);
        return r;
}
