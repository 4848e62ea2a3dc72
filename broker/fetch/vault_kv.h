/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>

#include "http.h"
#include "log.h"
#include "request/ref.h"
#include "secret.h"

/* Vault's paths and replies: no I/O here, so that every function can be unit-tested and
 * fuzzed. */

/* Log a message that already says why (Vault's known error, a fixed phrase) without strerror
 * appended, and return r. */
#define vault_fail(r, ...)                                                                         \
        ({                                                                                         \
                int _vf_ = (r);                                                                    \
                (void)log_internal(LOG_LEVEL_ERROR, 0, __VA_ARGS__);                               \
                _vf_ < 0 ? _vf_ : -EIO;                                                            \
        })

struct vault_mount {
        const char *key; /* the first component of the ref it was looked up for, borrowed */
        size_t key_len; /* ("secret" of "secret/app/db": 6) */
        char *path; /* the mount's path as Vault answers ("secret/"); NULL when unknown */
        char *type; /* "kv", "database", ...; NULL when unknown */
        int kv_version; /* 2 for KV v2, 1 for KV v1 or unknown (read the path as given) */
        long status; /* the preflight's status: 200, or 403/404 treated as unknown */
        bool recalled; /* from the agent's memory (vault_mounts.h), not this batch's lookup */
};

void vault_mount_done(struct vault_mount *m);

/* Whether m (a mount Vault named) holds ref_path; an unknown mount holds the paths whose first
 * component is its key. */
bool vault_mount_covers(const struct vault_mount *m, const char *ref_path);

/* Percent-encode all but unreserved characters and '/'. */
int vault_escape_path(const char *path, char **ret);

/* The preflight's reply (sys/internal/ui/mounts/PATH, 200): path, type, options.version. */
int vault_parse_mount(const void *body, size_t size, struct vault_mount *ret);

/* sys/internal/ui/mounts without a path: "secret/ (kv v2), database/ (database)" for check. */
int vault_parse_mount_list(const void *body, size_t size, char **ret);

/* The API path (after /v1/) that reads ref under mount m: "data/" inserted after the mount's
 * path for KV v2, "?version=N" for a pinned version. A version elsewhere: -EINVAL, why set. */
int vault_read_path(const struct ref *ref, const struct vault_mount *m, char **ret,
                    const char **why);

struct vault_read {
        struct secret *value;
        char *version; /* KV v2's metadata.version, NULL otherwise */
        char *lease_id; /* a leased secret's, NULL otherwise */
        long lease_duration;
};

void vault_read_done(struct vault_read *r);

/*
 * A read's reply: the value (field FIELD, a string as its bytes and anything else as its
 * JSON; without FIELD the whole data object as compact JSON), its version, its lease. Errors:
 * -ENOENT for no such secret, a deleted or destroyed version, or no such field; -EBADMSG for a
 * malformed reply; else the status's errno. why gets a message that quotes no body text. The
 * value goes into pool (secret_new_pooled; NULL: a buffer of its own).
 */
int vault_parse_read(long status, const void *body, size_t size, bool kv2, const char *field,
                     struct secret_pool *pool, struct vault_read *ret, char *why, size_t why_size);

/* A login's reply: auth.client_token, auth.lease_duration; num_uses (a token that can be used
 * only N times is not cached). */
int vault_parse_login(const void *body, size_t size, struct secret **ret_token, int64_t *ret_ttl,
                      int64_t *ret_num_uses);

/* sys/wrapping/unwrap of a wrapped AppRole secret id: data.secret_id. */
int vault_parse_unwrap(const void *body, size_t size, struct secret **ret_secret_id);

/* "permission denied (403)", "Vault is sealed (503)", "service unavailable (503)": Vault's
 * first error when it is one of a fixed list of known messages, else the status's phrase.
 * Never any other text of the body (an error can quote a secret id or a value). */
void vault_error_message(long status, const void *body, size_t size, char *buf, size_t size_buf);

/* The message and errno for a finished http_request that did not succeed. */
int vault_request_error(const struct http_request *r, char *buf, size_t size);

/* Build a JSON request body (login, unwrap, revoke) in sodium memory from pairs of key and
 * value (values NUL-terminated or secrets). */
int vault_json_body(struct secret **ret, size_t n, const char *const *keys,
                    const void *const *values, const size_t *sizes);
