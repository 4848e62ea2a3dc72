/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "fetched.h"

/*
 * Fetch every secret of the request from its backend into out[0..n_secrets). A missing secret
 * that is optional is skipped (value NULL); any other failure is logged as one line naming the
 * secret, its ref and the cause, and returned (everything fetched so far is wiped, and its
 * leases revoked).
 */
int backend_fetch_all(const struct broker_config *cfg, const struct role *role,
                      const struct request *req, struct fetched_secret *out);

/* The same for the secrets of local backends (the store: root's files, no network) or of the
 * network ones only; the others' out[i] are left as they are. On failure all of out is wiped
 * and its leases revoked. */
enum backend_where { BACKEND_LOCAL = 1, BACKEND_REMOTE = 2 };
int backend_fetch_some(const struct broker_config *cfg, const struct role *role,
                       const struct request *req, struct fetched_secret *out,
                       enum backend_where where);

/* A warm agent's batch of several hooks' requests in one (agent.c): req's secrets are theirs,
 * each secret's hook says whose (0 to n_hooks - 1), all of network backends. Fetched together,
 * but a read is shared within one hook only, and a failure is its hook's alone: hooks[k] holds
 * hook k's first error and its line, and its secrets' out may hold values that must not be
 * delivered. The others' out are theirs, sealed. Returns 0: the outcome is in hooks. */
int backend_fetch_hooks(const struct broker_config *cfg, const struct role *role,
                        const struct request *req, struct fetched_secret *out, unsigned n_hooks,
                        struct fetch_outcome *hooks);

/* Revoke the leases recorded for a container (its state's "secrets" array), authenticating as
 * role_name (the state's "role"; NULL or unknown: the backend's own auth), in this process:
 * privsep_revoke_leases() runs it in the secret fetcher's child. Logs each failure; returns an
 * error when any. */
int backend_revoke_here(const struct broker_config *cfg, const char *role_name,
                        const json_t *secrets);

/* Revoke, in this process, the leases that out holds (of hook *hook's secrets, or all when
 * hook is NULL): a fetch that failed, whose values will not be placed and whose leases no
 * record names. backend_fetch_some() does it for its own failure; the agent for each hook of
 * its batch that failed. Logs; returns an error when any. */
int backend_revoke_fetched(const struct broker_config *cfg, const struct role *role,
                           const struct request *req, const struct fetched_secret *out,
                           const unsigned *hook);

/* Whether the backend is read from root's files, not the network (the store): the secret
 * fetcher reads it before it drops root, and the warm fetch agent never does. */
bool backend_is_local(const struct backend_config *b);

/* Whether the backend's type has a `check` in this build. */
bool backend_can_check(const struct backend_config *b);

/* `check` for a backend type other than the store, in this process (privsep_check() runs it in
 * the secret fetcher's child): reach it, log in; one line printed. -EOPNOTSUPP (logged) for a
 * type without a check. */
int backend_check_here(const struct broker_config *cfg, const struct backend_config *b);
