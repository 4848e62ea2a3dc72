/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "request/config.h"
#include "request/request.h"
#include "secret.h"

/*
 * What the backends hand back, and what they are handed: the fetch layer's own types, under
 * every backend (store, vault, keywhiz), the dispatch (backend.c) and the fetcher's child
 * (privsep.c).
 */

/* What a backend returned for one secret of a request. */
struct fetched_secret {
        struct secret *value; /* NULL when skipped (optional and missing) */
        char *version; /* backend's version, NULL when it has none */
        char *lease_id; /* leased dynamic secret, NULL otherwise */
        long lease_duration; /* seconds */
        /* File metadata a backend may supply (Keywhiz, as keysync applied it). The request's
         * own io.lockbox.mode.NAME, io.lockbox.uid and io.lockbox.gid win over it; owner and
         * group are names, looked up in the container's /etc/passwd and /etc/group. */
        char *file; /* the file's name on the tmpfs (a valid secret name); NULL: the name */
        bool has_mode;
        mode_t mode; /* permission bits */
        char *owner, *group; /* NULL when the backend says nothing */
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
        /* A warm agent's batch of several hooks' requests (backend_fetch_hooks; NULL
         * otherwise): a secret that fails is its hook's failure alone, recorded in
         * hooks[secret's hook] with its line, and the batch goes on for the other hooks. */
        struct fetch_outcome *hooks;
};

/* One hook's outcome in an agent's batch: its first failure and the line logged for it. */
struct fetch_outcome {
        int error;
        char why[512];
};

/* Record a hook's failure (the first one stays) with the error line logged just before it
 * (log_last_error: the caller clears it before each step whose failure it records). */
void fetch_outcome_fail(struct fetch_outcome *o, int error);

/* A lease recorded in a container's state, for the backend that revokes it. */
struct lease_ref {
        const char *lease_id;
        const char *ref; /* the secret's ref, for messages */
        const char *name; /* the secret's name */
};

/* Wipe and free what f[0..n) hold (the array itself is the caller's). */
void fetched_done(struct fetched_secret *f, size_t n);

/* The leases that out[0..req->n_secrets) holds (of hook *hook's secrets only, or all when hook
 * is NULL), as a container's record lists them ("lease_id", "ref", "name"): the shape that
 * backend_revoke_here() and privsep_revoke_leases() take. For the leases of a fetch or a
 * placement that failed, which no record names and so no poststop would revoke. NULL: out of
 * memory. */
json_t *fetched_leases(const struct request *req, const struct fetched_secret *out,
                       const unsigned *hook);
