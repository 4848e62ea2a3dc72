/* SPDX-License-Identifier: Apache-2.0 */
#include "backend.h"

#include <string.h>

#include "log.h"
#include "store.h"

static int fetch_store(const struct backend_config *b, const struct secret_request *sr,
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

int backend_fetch_all(const struct broker_config *cfg, const struct role *role,
                      const struct request *req, struct fetched_secret *out) {
        for (size_t i = 0; i < req->n_secrets; i++) {
                const struct secret_request *sr = &req->secrets[i];
                const struct backend_config *b = config_find_backend(cfg, sr->ref.backend);
                int r;

                if (!b)
                        r = log_error_errno(-EINVAL,
                                            "secret '%s' (%s): no backend '%s' in "
                                            "the configuration",
                                            sr->name, sr->ref_text, sr->ref.backend);
                else if (streq_ptr(b->type, "store"))
                        r = fetch_store(b, sr, &out[i]);
                else
                        r = log_error_errno(-EOPNOTSUPP,
                                            "secret '%s' (%s): backend type '%s' is not "
                                            "available in this build",
                                            sr->name, sr->ref_text, b->type);
                if (r < 0) {
                        fetched_done(out, req->n_secrets);
                        return r;
                }
                if (out[i].value)
                        (void)secret_seal(out[i].value);
        }
        return 0;
}

void fetched_done(struct fetched_secret *f, size_t n) {
        for (size_t i = 0; i < n; i++) {
                f[i].value = secret_free(f[i].value);
                free(f[i].version);
                free(f[i].lease_id);
                f[i].version = f[i].lease_id = NULL;
        }
}
