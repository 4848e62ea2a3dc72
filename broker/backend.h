/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "config.h"
#include "oci.h"
#include "secret.h"

/* What a backend returned for one secret of a request. */
struct fetched_secret {
        struct secret *value; /* NULL when skipped (optional and missing) */
        char *version; /* backend's version, NULL when it has none */
        char *lease_id; /* leased dynamic secret, NULL otherwise */
        long lease_duration; /* seconds */
};

/* The secrets of one request that name one backend: a backend fetches them together (one
 * connection, in parallel where it can). out[i] belongs to secrets[i]. */
struct fetch_batch {
        const struct broker_config *cfg;
        const struct backend_config *backend;
        const struct role *role; /* for per-role auth overrides */
        const struct secret_request **secrets;
        struct fetched_secret **out;
        size_t n;
};

/*
 * Fetch every secret of the request from its backend into out[0..n_secrets). A missing secret
 * that is optional is skipped (value NULL); any other failure is logged as one line naming the
 * secret, its ref and the cause, and returned (everything fetched so far is wiped).
 */
int backend_fetch_all(const struct broker_config *cfg, const struct role *role,
                      const struct request *req, struct fetched_secret *out);
void fetched_done(struct fetched_secret *f, size_t n);

/* Revoke the leases recorded for a container (its state's "secrets" array). Logs each failure;
 * returns the first error. */
int backend_revoke_leases(const struct broker_config *cfg, const json_t *secrets);
