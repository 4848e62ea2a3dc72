/* SPDX-License-Identifier: Apache-2.0 */
#include "backend.h"

#include <string.h>

#include "log.h"
#include "store.h"

static int store_fetch_one(const struct backend_config *b, const struct secret_request *sr,
                           struct fetched_secret *out) {
        struct store st = {.dir = b->store_dir, .key_file = b->store_key_file};

        if (sr->ref.field || sr->ref.version)
                return log_error_errno(-EINVAL,
                                       "secret '%s' (%s): the store has no fields or versions",
                                       sr->name, sr->ref_text);
        int r = store_get(&st, sr->ref.path, &out->value);
        if (r == -ENOENT && sr->optional) {
                log_info("secret '%s' (%s): not in the store; optional, skipped", sr->name,
                         sr->ref_text);
                return 0;
        }
        if (r == -ENOENT)
                return log_error_errno(r, "secret '%s' (%s): no such secret in the store", sr->name,
                                       sr->ref_text);
        if (r == -EBADMSG)
                return log_error_errno(r,
                                       "secret '%s' (%s): store file fails authentication "
                                       "(tampered, renamed or another key)",
                                       sr->name, sr->ref_text);
        if (r < 0)
                return log_error_errno(r, "secret '%s' (%s): cannot read the store", sr->name,
                                       sr->ref_text);
        return 0;
}

static int store_fetch_batch(const struct fetch_batch *batch) {
        for (size_t i = 0; i < batch->n; i++) {
                int r = store_fetch_one(batch->backend, batch->secrets[i], batch->out[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static const struct backend_type {
        const char *type;
        int (*fetch_batch)(const struct fetch_batch *batch);
} backend_types[] = {
        {"store", store_fetch_batch},
};

static const struct backend_type *backend_type_find(const char *type) {
        for (size_t i = 0; i < ARRAY_SIZE(backend_types); i++)
                if (streq_ptr(backend_types[i].type, type))
                        return &backend_types[i];
        return NULL;
}

/* One batch a backend named in the request, in order of first use. */
static int fetch_backend(const struct broker_config *cfg, const struct role *role,
                         const struct request *req, const struct backend_config *b,
                         struct fetched_secret *out) {
        _cleanup_free_ const struct secret_request **secrets =
                calloc(req->n_secrets, sizeof *secrets);
        _cleanup_free_ struct fetched_secret **outs = calloc(req->n_secrets, sizeof *outs);
        struct fetch_batch batch = {cfg, b, role, NULL, NULL, 0};

        if (!secrets || !outs)
                return -ENOMEM;
        for (size_t i = 0; i < req->n_secrets; i++)
                if (streq_ptr(req->secrets[i].ref.backend, b->name)) {
                        secrets[batch.n] = &req->secrets[i];
                        outs[batch.n++] = &out[i];
                }
        batch.secrets = secrets;
        batch.out = outs;
        const struct backend_type *t = backend_type_find(b->type);
        if (!t)
                return log_error_errno(-EOPNOTSUPP,
                                       "secret '%s' (%s): backend type '%s' is not available in "
                                       "this build",
                                       secrets[0]->name, secrets[0]->ref_text, b->type);
        return t->fetch_batch(&batch);
}

int backend_fetch_all(const struct broker_config *cfg, const struct role *role,
                      const struct request *req, struct fetched_secret *out) {
        for (size_t i = 0; i < req->n_secrets; i++) {
                const struct secret_request *sr = &req->secrets[i];
                const struct backend_config *b = config_find_backend(cfg, sr->ref.backend);
                int r = 0;

                if (!b)
                        r = log_error_errno(-EINVAL,
                                            "secret '%s' (%s): no backend '%s' in the "
                                            "configuration",
                                            sr->name, sr->ref_text, sr->ref.backend);
                else {
                        /* First secret of this backend: fetch the whole batch now. */
                        bool first = true;
                        for (size_t j = 0; j < i; j++)
                                if (streq_ptr(req->secrets[j].ref.backend, b->name))
                                        first = false;
                        if (first)
                                r = fetch_backend(cfg, role, req, b, out);
                }
                if (r < 0) {
                        fetched_done(out, req->n_secrets);
                        return r;
                }
        }
        for (size_t i = 0; i < req->n_secrets; i++)
                if (out[i].value)
                        (void)secret_seal(out[i].value);
        return 0;
}

int backend_revoke_leases(const struct broker_config *cfg, const json_t *secrets) {
        size_t i;
        json_t *s;
        int ret = 0;

        json_array_foreach(secrets, i, s) {
                const char *lease = json_get_string(s, "lease_id");
                if (!lease)
                        continue;
                /* Only Vault hands out leases; its backend revokes them. */
                ret = ret
                              ?: log_error_errno(-EOPNOTSUPP,
                                                 "lease %s (%s): no backend to revoke it", lease,
                                                 json_get_string(s, "ref"));
        }
        (void)cfg;
        return ret;
}

void fetched_done(struct fetched_secret *f, size_t n) {
        for (size_t i = 0; i < n; i++) {
                f[i].value = secret_free(f[i].value);
                free(f[i].version);
                free(f[i].lease_id);
                f[i].version = f[i].lease_id = NULL;
        }
}
