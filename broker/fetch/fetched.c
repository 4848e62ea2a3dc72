/* SPDX-License-Identifier: Apache-2.0 */
#include "fetched.h"

#include <stdlib.h>

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
