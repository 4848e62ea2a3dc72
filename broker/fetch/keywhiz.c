/* SPDX-License-Identifier: Apache-2.0 */
/* The keywhiz backend's requests: POST /batchsecret for several secrets (one request), with
 * GET /secret/{name} each (in parallel) when the server has no batch endpoint or refuses the
 * batch as a whole; GET /secrets for check. The client is its certificate: no login, no
 * token, nothing cached. */
#include <string.h>

#include "http.h"
#include "keywhiz.h"
#include "keywhiz_parse.h"
#include "log.h"

#define KW_WHY_MAX 200

struct kw_client {
        struct keywhiz_config cfg;
        struct http_client *http;
};

static void kw_client_done(struct kw_client *kc) {
        kc->http = http_client_free(kc->http);
        keywhiz_config_done(&kc->cfg);
}

/* Configuration (logged by keywhiz_config_parse) and an HTTP client; why for the rest. */
static int kw_client_open(const struct broker_config *cfg, const struct backend_config *b,
                          struct kw_client *kc, const char **why) {
        *why = NULL;
        int r = keywhiz_config_parse(cfg, b, &kc->cfg);
        if (r < 0)
                return r;
        struct http_tls tls = {kc->cfg.ca_file, kc->cfg.cert_file, kc->cfg.key_file,
                               kc->cfg.server_name, kc->cfg.pinned_pubkey};
        r = http_client_new(kc->cfg.url, &tls, http_now_ms() + kc->cfg.timeout_ms, &kc->http, why);
        if (r < 0 && !*why)
                *why = "cannot set up the HTTP client";
        if (r < 0)
                return r;
        /* Several values in one reply, base64: room for the whole tmpfs, and then some. */
        uint64_t max = cfg->tmpfs_size * 2 + 64 * 1024;
        http_client_set_max_response(kc->http, max > HTTP_MAX_RESPONSE_DEFAULT
                                                       ? (size_t)max
                                                       : HTTP_MAX_RESPONSE_DEFAULT);
        return 0;
}

/* The errno and a message for a request that got no 200. Never a word of the body: Keywhiz's
 * messages are its own, but a proxy's could be anything. */
static int kw_request_error(const struct http_request *r, char *why, size_t size) {
        if (r->status == 0) {
                /* Keywhiz checks the client certificate in the handshake: one it does not
                 * trust ends the connection, which libcurl sees only as a reset. */
                snprintf(why, size, "%s%s", r->why ? r->why : "transport error",
                         r->error == -ECONNRESET ? " (is cert_file signed by a CA the Keywhiz "
                                                   "server trusts?)"
                                                 : "");
                return r->error ? r->error : -EIO;
        }
        switch (r->status) {
        case 401:
                snprintf(why, size,
                         "the client certificate is not accepted as a Keywhiz "
                         "client (401)");
                return -EACCES;
        case 403:
                snprintf(why, size, "permission denied: the client has no access to it (403)");
                return -EACCES;
        case 404:
                snprintf(why, size, "no such secret (404)");
                return -ENOENT;
        default:
                if (r->status >= 500 && r->attempts > 1)
                        snprintf(why, size, "%s (%ld) after %u attempts",
                                 http_status_phrase(r->status), r->status, r->attempts);
                else
                        snprintf(why, size, "%s (%ld)", http_status_phrase(r->status), r->status);
                return -EIO;
        }
}

/* ---- one fetch: the distinct names of a batch and what came back for each ------------------ */

struct kw_item {
        const char *name; /* the Keywhiz name (the ref's path) */
        struct keywhiz_secret got; /* got.value set once fetched */
        int error; /* 0, or the negative errno of its failure */
        char why[KW_WHY_MAX];
};

struct kw_fetch {
        const struct fetch_batch *batch;
        struct kw_item *items;
        size_t n_items;
        size_t *slot; /* batch secret i -> its item */
};

static void kw_fetch_done(struct kw_fetch *f) {
        for (size_t i = 0; f->items && i < f->n_items; i++)
                keywhiz_secret_done(&f->items[i].got);
        free(f->items);
        free(f->slot);
        *f = (struct kw_fetch){0};
}

/* keywhiz:NAME only: Keywhiz has no fields or versions, and a name is one path segment. */
static int kw_check_ref(const struct secret_request *sr) {
        if (!sr->ref.field && !sr->ref.version && !strchr(sr->ref.path, '/') &&
            strlen(sr->ref.path) <= 1024)
                return 0;
        return log_error("secret '%s' (%s): a Keywhiz reference is BACKEND:NAME (no '#field', "
                         "'@version' or '/')",
                         sr->name, sr->ref_text),
               -EINVAL;
}

static int kw_fetch_init(const struct fetch_batch *batch, struct kw_fetch *f) {
        *f = (struct kw_fetch){.batch = batch};
        f->items = calloc(batch->n ? batch->n : 1, sizeof *f->items);
        f->slot = calloc(batch->n ? batch->n : 1, sizeof *f->slot);
        if (!f->items || !f->slot)
                return -ENOMEM;
        for (size_t i = 0; i < batch->n; i++) {
                const struct secret_request *sr = batch->secrets[i];
                int r = kw_check_ref(sr);
                if (r < 0)
                        return r;
                size_t k = 0;
                while (k < f->n_items && !streq_ptr(f->items[k].name, sr->ref.path))
                        k++;
                if (k == f->n_items)
                        f->items[f->n_items++].name = sr->ref.path;
                f->slot[i] = k;
        }
        return 0;
}

static void kw_item_fail(struct kw_item *it, int error, const char *why) {
        it->error = error;
        snprintf(it->why, sizeof it->why, "%s", why);
}

/* ---- the batch endpoint -------------------------------------------------------------------- */

/* Match the reply's objects by name: Keywhiz answers in its database's order. */
static void kw_batch_assign(struct kw_fetch *f, struct keywhiz_secret *list, size_t n) {
        for (size_t k = 0; k < f->n_items; k++) {
                struct kw_item *it = &f->items[k];
                for (size_t j = 0; j < n && !it->got.value; j++)
                        if (streq_ptr(list[j].name, it->name) && list[j].value) {
                                it->got = list[j];
                                list[j] = (struct keywhiz_secret){0};
                        }
                if (!it->got.value)
                        kw_item_fail(it, -EBADMSG, "malformed response (the batch reply lacks it)");
        }
}

/* Returns 1 when the batch was refused as a whole and each secret must be read alone. */
static int kw_batch(struct kw_client *kc, struct kw_fetch *f) {
        _cleanup_free_ const char **names = calloc(f->n_items, sizeof *names);
        _cleanup_free_ char *body = NULL;
        struct http_request req = {0}, *reqs[1] = {&req};
        int r;

        if (!names)
                return -ENOMEM;
        for (size_t k = 0; k < f->n_items; k++)
                names[k] = f->items[k].name;
        if ((r = keywhiz_batch_body(names, f->n_items, &body)) < 0 ||
            (r = http_request_init(&req, "POST", "/batchsecret")) < 0 ||
            (r = http_request_header(&req, "Content-Type", "application/json", 16)) < 0 ||
            (r = http_request_header(&req, "Accept", "application/json", 16)) < 0) {
                http_request_done(&req);
                return r;
        }
        req.body = body;
        req.body_size = strlen(body);
        r = http_perform(kc->http, reqs, 1);
        if (r >= 0 && req.status == 200) {
                struct keywhiz_secret *list = NULL;
                size_t n = 0;
                const char *why = NULL;
                /* The values packed into one locked pool, as Vault's are (vault.c): base64 is
                 * longer than what it decodes to, so each fits. */
                struct secret_pool *pool = secret_pool_try(req.response.size);
                int e = keywhiz_parse_list(req.response.data, req.response.size, true, pool, &list,
                                           &n, &why);
                secret_pool_unref(pool); /* the values hold it now */
                for (size_t k = 0; e < 0 && k < f->n_items; k++)
                        kw_item_fail(&f->items[k], e, why);
                if (e >= 0)
                        kw_batch_assign(f, list, n);
                keywhiz_list_free(list, n);
        } else if (r >= 0 && (req.status == 403 || req.status == 404 || req.status == 405 ||
                              req.status == 501)) {
                /* 404/405/501: a Keywhiz without the endpoint. 403/404 also mean that some
                 * secret is not readable or not there, and the batch does not say which: the
                 * single reads do, and let an optional missing secret be skipped. */
                log_debug("keywhiz %s: batch of %zu answered %ld; reading each secret", kc->cfg.url,
                          f->n_items, req.status);
                r = 1;
        } else if (r >= 0) {
                char why[KW_WHY_MAX];
                int e = kw_request_error(&req, why, sizeof why);
                for (size_t k = 0; k < f->n_items; k++)
                        kw_item_fail(&f->items[k], e, why);
        }
        http_request_done(&req);
        return r;
}

/* ---- one request a secret, in parallel ------------------------------------------------------ */

static void kw_single_outcome(struct kw_item *it, const struct http_request *r,
                              struct secret_pool *pool) {
        if (r->status != 200) {
                char why[KW_WHY_MAX];
                int e = kw_request_error(r, why, sizeof why);
                kw_item_fail(it, e, why);
                return;
        }
        const char *reason = NULL;
        int e = keywhiz_parse_secret(r->response.data, r->response.size, pool, &it->got, &reason);
        if (e < 0)
                kw_item_fail(it, e, reason);
        else if (!streq_ptr(it->got.name, it->name)) {
                keywhiz_secret_done(&it->got);
                kw_item_fail(it, -EBADMSG, "malformed response (another secret's name)");
        }
}

static int kw_singles(struct kw_client *kc, struct kw_fetch *f) {
        _cleanup_free_ struct http_request *reqs = calloc(f->n_items, sizeof *reqs);
        _cleanup_free_ struct http_request **ptrs = calloc(f->n_items, sizeof *ptrs);
        int r = reqs && ptrs ? 0 : -ENOMEM;

        for (size_t k = 0; r >= 0 && k < f->n_items; k++) {
                _cleanup_free_ char *path = NULL;
                ptrs[k] = &reqs[k];
                r = keywhiz_secret_path(f->items[k].name, &path);
                if (r >= 0)
                        r = http_request_init(&reqs[k], "GET", path);
                if (r >= 0)
                        r = http_request_header(&reqs[k], "Accept", "application/json", 16);
        }
        if (r >= 0)
                r = http_perform(kc->http, ptrs, f->n_items);
        size_t cap = 0;
        for (size_t k = 0; r >= 0 && k < f->n_items; k++)
                cap += reqs[k].status == 200 ? reqs[k].response.size : 0;
        struct secret_pool *pool = r >= 0 ? secret_pool_try(cap) : NULL; /* as kw_batch's */
        for (size_t k = 0; r >= 0 && k < f->n_items; k++)
                kw_single_outcome(&f->items[k], &reqs[k], pool);
        secret_pool_unref(pool); /* the values hold it now */
        for (size_t k = 0; reqs && k < f->n_items; k++)
                http_request_done(&reqs[k]);
        return r;
}

/* ---- results into the batch's outputs ------------------------------------------------------- */

static int kw_strdup_opt(const char *s, char **ret) {
        *ret = s ? strdup(s) : NULL;
        return !s || *ret ? 0 : -ENOMEM;
}

/* The first secret naming an item takes its value and metadata; another secret that names
 * the same Keywhiz secret gets copies of the first's. In an agent's batch of several hooks'
 * requests, a failure is its hook's alone (fetched.h) and the others go on. */
static int kw_deliver(struct kw_fetch *f) {
        const struct fetch_batch *b = f->batch;
        int ret = 0;
        for (size_t i = 0; i < b->n && ret >= 0; i++) {
                const struct secret_request *sr = b->secrets[i];
                struct kw_item *it = &f->items[f->slot[i]];
                struct fetched_secret *out = b->out[i];
                size_t first = 0;
                while (f->slot[first] != f->slot[i])
                        first++;
                if (it->error == -ENOENT && sr->optional) {
                        log_info("secret '%s' (%s): not in Keywhiz; optional, skipped", sr->name,
                                 sr->ref_text);
                        continue;
                }
                if (it->error < 0 && b->hooks && b->hooks[sr->hook].error)
                        continue;
                if (it->error < 0) {
                        /* The reason is complete: no strerror appended. */
                        log_error("secret '%s' (%s): %s", sr->name, sr->ref_text, it->why);
                        if (b->hooks)
                                fetch_outcome_fail(&b->hooks[sr->hook], it->error);
                        else
                                ret = it->error;
                        continue;
                }
                const struct fetched_secret *src = first < i ? b->out[first] : NULL;
                if (!src) {
                        ret = keywhiz_to_fetched(&it->got, out);
                        continue;
                }
                out->has_mode = src->has_mode;
                out->mode = src->mode;
                if ((ret = secret_new_copy(secret_cdata(src->value), secret_size(src->value),
                                           &out->value)) < 0 ||
                    (ret = kw_strdup_opt(src->file, &out->file)) < 0 ||
                    (ret = kw_strdup_opt(src->owner, &out->owner)) < 0 ||
                    (ret = kw_strdup_opt(src->group, &out->group)) < 0)
                        ret = log_error_errno(ret, "secret '%s' (%s)", sr->name, sr->ref_text);
        }
        return ret;
}

int keywhiz_fetch_batch(const struct fetch_batch *batch) {
        _cleanup_(kw_fetch_done) struct kw_fetch f = {0};
        _cleanup_(kw_client_done) struct kw_client kc = {0};
        const struct secret_request *sr0 = batch->secrets[0];
        const char *why = NULL;

        int r = kw_fetch_init(batch, &f);
        if (r == -ENOMEM)
                return log_error_errno(r, "secret '%s' (%s)", sr0->name, sr0->ref_text);
        if (r < 0)
                return r;
        r = kw_client_open(batch->cfg, batch->backend, &kc, &why);
        if (r < 0 && why)
                return log_error("secret '%s' (%s): backend %s: %s", sr0->name, sr0->ref_text,
                                 batch->backend->name, why),
                       r;
        if (r < 0)
                return r; /* the configuration's line is logged */
        r = f.n_items > 1 ? kw_batch(&kc, &f) : 1;
        if (r > 0)
                r = kw_singles(&kc, &f);
        if (r < 0)
                return log_error_errno(r, "secret '%s' (%s): cannot run the requests", sr0->name,
                                       sr0->ref_text);
        return kw_deliver(&f);
}

/* ---- check ---------------------------------------------------------------------------------- */

int keywhiz_check(const struct broker_config *cfg, const struct backend_config *b) {
        _cleanup_(kw_client_done) struct kw_client kc = {0};
        struct http_request req = {0};
        struct keywhiz_secret *list = NULL;
        char why_buf[KW_WHY_MAX];
        const char *why = NULL;
        size_t n = 0;

        int r = kw_client_open(cfg, b, &kc, &why);
        if (r < 0 && why)
                return log_error("backend %s (keywhiz): %s", b->name, why), r;
        if (r < 0)
                return r;
        if ((r = http_request_init(&req, "GET", "/secrets")) >= 0 &&
            (r = http_request_header(&req, "Accept", "application/json", 16)) >= 0) {
                struct http_request *reqs[1] = {&req};
                r = http_perform(kc.http, reqs, 1);
        }
        if (r >= 0 && req.status != 200) {
                r = kw_request_error(&req, why_buf, sizeof why_buf);
                why = why_buf;
        } else if (r >= 0)
                r = keywhiz_parse_list(req.response.data, req.response.size, false, NULL, &list, &n,
                                       &why);
        http_request_done(&req);
        keywhiz_list_free(list, n);
        if (r < 0)
                return log_error("backend %s (keywhiz %s): GET /secrets: %s", b->name, kc.cfg.url,
                                 why ? why : "cannot run the request"),
                       r;
        printf("backend %s (keywhiz %s): ok, %zu secret(s) visible to this client\n", b->name,
               kc.cfg.url, n);
        return 0;
}
