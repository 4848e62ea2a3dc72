/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "request/config.h"
#include "request/oci.h"
#include "secret.h"

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
};

/*
 * Fetch every secret of the request from its backend into out[0..n_secrets). A missing secret
 * that is optional is skipped (value NULL); any other failure is logged as one line naming the
 * secret, its ref and the cause, and returned (everything fetched so far is wiped).
 */
int backend_fetch_all(const struct broker_config *cfg, const struct role *role,
                      const struct request *req, struct fetched_secret *out);
void fetched_done(struct fetched_secret *f, size_t n);

/* The same for the secrets of local backends (the store: root's files, no network) or of the
 * network ones only; the others' out[i] are left as they are. On failure all of out is wiped. */
enum backend_where { BACKEND_LOCAL = 1, BACKEND_REMOTE = 2 };
int backend_fetch_some(const struct broker_config *cfg, const struct role *role,
                       const struct request *req, struct fetched_secret *out,
                       enum backend_where where);

/* A lease recorded in a container's state, for the backend that revokes it. */
struct lease_ref {
        const char *lease_id;
        const char *ref; /* the secret's ref, for messages */
        const char *name; /* the secret's name */
};

/* Revoke the leases recorded for a container (its state's "secrets" array), authenticating as
 * role_name (the state's "role"; NULL or unknown: the backend's own auth), in the secret
 * fetcher's unprivileged child (privsep.h). Logs each failure; returns an error when any. */
int backend_revoke_leases(const struct broker_config *cfg, const char *role_name,
                          const json_t *secrets);

/* `check` for a backend type other than the store, in the secret fetcher's unprivileged child:
 * reach it, log in; one line printed.
 * -EOPNOTSUPP (logged) for a type without a check. */
int backend_check(const struct broker_config *cfg, const struct backend_config *b);
