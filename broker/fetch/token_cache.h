/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "macro.h"
#include "secret.h"
#include "token_entry.h"

/*
 * Tokens from backend logins, cached in STATE_DIR/tokens (0700, root; the state directory is
 * on /run's tmpfs) so that a burst of containers costs one login, not one each (DESIGN §5).
 * One file a cache key, mode 0600, written atomically:
 *
 *   lockbox-token 1
 *   expires 1767225600        (wall-clock seconds; 0: the token does not expire)
 *   ttl 3600                  (seconds granted at login)
 *   token hvs.CAES...
 *   secret_id 3f1c...          (optional: an unwrapped AppRole secret id)
 *   wrapped 9a0b...            (optional: BLAKE2b of the wrapping token it came from)
 *
 * The token and the secret id are secrets: read into sodium memory, never logged. A login
 * holds KEY.lock (flock) so that concurrent hooks wait for one login and then reuse it.
 */

#define TOKEN_CACHE_KEY_LEN 48 /* "BACKEND." is not part of it: hex of a 24-byte hash */
#define TOKEN_CACHE_FILE_MAX 65536
#define TOKEN_CACHE_MARGIN_S 30

void token_cache_entry_done(struct token_cache_entry *e);

/* The cache key: a hash of who logs in where (backend, role, and the auth identity: address,
 * namespace, method, mount, credential file paths). NUL-separated parts, hashed; ret gets
 * TOKEN_CACHE_KEY_LEN hex digits and a NUL. */
void token_cache_key(const char *const *parts, size_t n, char ret[TOKEN_CACHE_KEY_LEN + 1]);

/* Usable: not within max(ttl/10, min(30 s, ttl/2)) of its expiry. */
bool token_cache_is_fresh(const struct token_cache_entry *e, int64_t now);

/* The file's text, in sodium memory. */
int token_cache_format(const struct token_cache_entry *e, struct secret **ret);
/* -EBADMSG for anything but the format above. */
int token_cache_parse(const void *data, size_t size, struct token_cache_entry *ret);

/* STATE_DIR/tokens, created 0700 if missing; -EPERM when it or STATE_DIR is not private. */
int token_cache_open(const char *state_dir, int *ret_dirfd);
/* In the secret fetcher, still root (privsep.c): STATE_DIR/tokens given to uid:gid (and the
 * entries in it), kept open, and returned (duplicated) by every later token_cache_open, which
 * the fetcher could no longer do by path once it runs as uid. A failure is returned, and by
 * every later token_cache_open as well. */
int token_cache_preopen(const char *state_dir, uid_t uid, gid_t gid);
/* The warm fetch agent (agent.h): from now on the cache is this process's locked memory
 * (token_memory.h), never a file: token_cache_open gives dirfd -1, and load, store, remove and
 * lock work on memory. */
void token_cache_keep_in_memory(void);
/* -ENOENT when there is no entry; -EBADMSG (and the file removed) when it is corrupt. */
int token_cache_load(int dirfd, const char *name, struct token_cache_entry *ret);
int token_cache_store(int dirfd, const char *name, const struct token_cache_entry *e);
int token_cache_remove(int dirfd, const char *name);
/* Remove the entries (and their lock files) that expired more than TOKEN_CACHE_PRUNE_AFTER_S
 * ago: logins keyed by a pod's own token are one a token, and pods come and go. Returns how
 * many were removed, or a negative errno. */
#define TOKEN_CACHE_PRUNE_AFTER_S 3600
int token_cache_prune(int dirfd, int64_t now);
/* flock(LOCK_EX) on NAME.lock, waiting until deadline_ms (http_now_ms clock): -ETIMEDOUT. */
int token_cache_lock(int dirfd, const char *name, uint64_t deadline_ms, int *ret_fd);
