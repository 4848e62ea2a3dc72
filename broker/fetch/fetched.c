/* SPDX-License-Identifier: Apache-2.0 */
#include "fetched.h"

#include <stdlib.h>

void fetched_done(struct fetched_secret *f, size_t n) {
        for (size_t i = 0; i < n; i++) {
                f[i].value = secret_free(f[i].value);
                free(f[i].version);
                free(f[i].lease_id);
                free(f[i].file);
                free(f[i].owner);
                free(f[i].group);
                f[i].version = f[i].lease_id = f[i].file = f[i].owner = f[i].group = NULL;
        }
}
