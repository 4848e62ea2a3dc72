/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "fetched.h"
#include "request/config.h"

/*
 * The "vault" backend type: HashiCorp Vault's HTTP API (DESIGN §4, §5).
 *
 *   vault.c         the batch (preflight, reads, one re-login on 403, one more round for a
 *                   mount remembered wrongly), revoke, check
 *   vault_config.c  the backend's JSON and a role's auth override
 *   vault_auth.c    token file, AppRole (wrapped secret id), cert, Kubernetes; token cache
 *   vault_kv.c      ref to API path, and parsing of every reply (pure: unit-tested, fuzzed)
 *   vault_mounts.c  the agent's memory of the mounts it looked up
 *   vault_check.c   `lockbox-broker check` for a vault backend
 *
 * Each has its own header; this one is what backend.c calls.
 */

int vault_fetch_batch(const struct fetch_batch *batch);
int vault_revoke_leases(const struct broker_config *cfg, const struct backend_config *b,
                        const struct role *role, const struct lease_ref *leases, size_t n);
/* Logs in and reads the type of each mount the roles allow; prints one line. */
int vault_check(const struct broker_config *cfg, const struct backend_config *b);
