/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/*
 * A secret value. The bytes live in a sodium_malloc() buffer or in a batch's arena
 * (secret_new_batch): guard pages around it, locked in memory where RLIMIT_MEMLOCK allows
 * (secret_is_locked() tells), excluded from core dumps, wiped when freed. The type is opaque and
 * its accessors return void pointers, so that the compiler refuses to hand a value to a
 * printf-style %s. A forked child sees zeros instead of the bytes (MADV_WIPEONFORK) and must not
 * free a value it inherited: it _exit()s.
 */
struct secret;

#define SECRET_HASH_BYTES 32 /* BLAKE2b-256 */

/* Process hardening before the first secret byte: no core dumps, not ptrace-attachable by
 * the same uid, libsodium initialised, jansson given the wiping allocator. */
int secure_init(void);

int secret_new(size_t size, struct secret **ret);
/* n values of these sizes (zero-filled) in one arena: one mapping, one mlock, one madvise of
 * each kind, a guard page before and after every value, each value ending at its guard. ret[i]
 * are freed one by one with secret_free, which wipes that value; the mapping is wiped and
 * unmapped with the last. For a batch whose sizes are known before the first byte: what
 * secret_new costs per value (three guarded pages, a dozen system calls) it costs per batch. */
int secret_new_batch(const size_t *sizes, size_t n, struct secret **ret);
int secret_new_copy(const void *data, size_t size, struct secret **ret);

/* A pool of cap bytes (rounded up to whole pages) for values whose sizes are known only one by
 * one and that are only handed on (a fetcher's values, on their way to the hook): packed one
 * after another into one locked region, guard pages at its two ends and not between them. A
 * value that does not fit, or one asked of a NULL or sealed pool, gets a sodium_malloc buffer
 * of its own. secret_seal of a pooled value makes the whole pool read-only. The pool lives as
 * long as its creator's reference (secret_pool_unref) or one of its values does. */
struct secret_pool;
int secret_pool_new(size_t cap, struct secret_pool **ret);
/* A pool of cap bytes, or NULL when cap is 0 or one cannot be had: every value asked of it then
 * gets a buffer of its own, which is all a pool saves. */
struct secret_pool *secret_pool_try(size_t cap);
struct secret_pool *secret_pool_ref(struct secret_pool *p);
struct secret_pool *secret_pool_unref(struct secret_pool *p);
/* size bytes of the pool as they are, for a holder of a reference that wipes them
 * (sodium_memzero) when done with them; NULL from a NULL, sealed or full pool. The HTTP
 * response bodies of a batch (http.c) are such bytes. */
void *secret_pool_take(struct secret_pool *p, size_t size);
int secret_new_pooled(struct secret_pool *p, size_t size, struct secret **ret);
int secret_new_pooled_copy(struct secret_pool *p, const void *data, size_t size,
                           struct secret **ret);
/* Read fd to EOF into a new secret; more than max bytes is -EFBIG. Never reallocs a buffer
 * that held bytes without wiping it. */
int secret_read_fd(int fd, size_t max, struct secret **ret);
struct secret *secret_free(struct secret *s);
/* secret_free of each of v[0..n) (NULL ones skipped), each set to NULL. The values of an arena
 * that are all it still holds go together: wiped and unmapped under one mprotect, where freed
 * one by one every sealed value takes one of its own (a shim's ten values: 1 instead of 10). */
void secret_free_all(struct secret **v, size_t n);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct secret *, secret_free);
#define _cleanup_secret_ _cleanup_(secret_freep)

void *secret_data(struct secret *s);
const void *secret_cdata(const struct secret *s);
size_t secret_size(const struct secret *s);
bool secret_is_locked(const struct secret *s);
/* Read-only once filled. */
int secret_seal(struct secret *s);
bool secret_equal(const struct secret *a, const struct secret *b);
void secret_hash(const struct secret *s, uint8_t out[SECRET_HASH_BYTES]);
void hash_bytes(const void *data, size_t size, uint8_t out[SECRET_HASH_BYTES]);
/* Lower-case hex of a hash (not of a value): out has 2*SECRET_HASH_BYTES+1 bytes. */
void hash_to_hex(const uint8_t hash[SECRET_HASH_BYTES], char *out);
int hash_from_hex(const char *hex, uint8_t out[SECRET_HASH_BYTES]);
