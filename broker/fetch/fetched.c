/* SPDX-License-Identifier: Apache-2.0 */
#include "fetched.h"

#include <stdlib.h>

#include "json.h"
#include "log.h"

void fetch_outcome_fail(struct fetch_outcome *o, int error) {
        if (!o->error) {
                o->error = error < 0 ? error : -EIO;
                log_last_error(o->why, sizeof o->why);
        }
}

void fetched_done(struct fetched_secret *f, size_t n) {
        /* The values all at once where memory allows: their arena goes under one mprotect. */
        _cleanup_free_ struct secret **values = n > 1 ? calloc(n, sizeof *values) : NULL;
        for (size_t i = 0; i < n; i++) {
                if (values)
                        values[i] = f[i].value;
                else
                        secret_free(f[i].value);
                f[i].value = NULL;
                free(f[i].version);
                free(f[i].lease_id);
                free(f[i].file);
                free(f[i].owner);
                free(f[i].group);
                f[i].version = f[i].lease_id = f[i].file = f[i].owner = f[i].group = NULL;
        }
        if (values)
                secret_free_all(values, n);
}

json_t *fetched_leases(const struct request *req, const struct fetched_secret *out,
                       const unsigned *hook) {
        json_t *leases = json_array();
        for (size_t i = 0; leases && i < req->n_secrets; i++) {
                const struct secret_request *sr = &req->secrets[i];
                if (!out[i].lease_id || (hook && sr->hook != *hook))
                        continue;
                if (json_array_append_new(leases,
                                          json_pack("{s:s, s:s, s:s}", "lease_id", out[i].lease_id,
                                                    "ref", sr->ref_text, "name", sr->name)) < 0)
                        leases = (json_decref(leases), NULL);
        }
        return leases;
}
