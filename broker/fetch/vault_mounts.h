/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "vault_kv.h"

/*
 * The mounts a long-lived fetcher learned from Vault's mount lookups (sys/internal/ui/mounts),
 * so that the warm agent's next read of a path under a known mount is one round trip, not two.
 * Only the agent remembers (vault_mounts_remember); the hook's fetch child, which lives for one
 * batch, looks every mount up as before. An entry is trusted for VAULT_MOUNTS_TTL_MS; a read
 * that fails under a remembered mount makes vault.c forget it and look it up again (a mount
 * remade as another KV version must not fail a start). A mount's path, type and KV version are
 * not secret: plain heap. The agent runs one batch at a time in one thread: no lock.
 */

#define VAULT_MOUNTS_TTL_MS (60 * 1000)

void vault_mounts_remember(void);
bool vault_mounts_remembering(void);

/* scope names the server and namespace the mount belongs to (vault_mounts_scope). */
int vault_mounts_scope(const char *backend, const char *address, const char *namespace, char **ret);

/* m: a mount Vault named (path, type, kv_version), learned at now_ms. */
int vault_mounts_learn(const char *scope, const struct vault_mount *m, uint64_t now_ms);

/* The remembered mount of scope that holds ref_path (the longest one, learned within the TTL):
 * path, type and KV version copied into ret, status 200 (no key: the batch's slot has its
 * own). -ENOENT if none. */
int vault_mounts_recall(const char *scope, const char *ref_path, uint64_t now_ms,
                        struct vault_mount *ret);

void vault_mounts_forget(const char *scope, const char *path);
/* Every entry, and remembering off (for tests). */
void vault_mounts_reset(void);
/* The entries still within the TTL at now_ms (an expired one is dropped at the next learn). */
size_t vault_mounts_count(uint64_t now_ms);
