/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "fetched.h"
#include "json.h"
#include "request/config.h"
#include "secret.h"

/* Keywhiz's configuration, replies, base64 and metadata: no I/O (unit-tested, fuzzed). */

/* ---- configuration -------------------------------------------------------------------------- */

struct keywhiz_config {
        char *url; /* "https://host:port[/prefix]" */
        char *ca_file, *cert_file, *key_file, *server_name, *pinned_pubkey;
        unsigned timeout_ms;
};

/* b->raw: url, cert_file and key_file (required: the certificate is the client's identity),
 * ca_file, server_name, pinned_pubkey, timeout_ms. Unknown keys, wrong types, relative paths:
 * -EINVAL with one line logged naming the key. */
int keywhiz_config_parse(const struct broker_config *cfg, const struct backend_config *b,
                         struct keywhiz_config *ret);
void keywhiz_config_done(struct keywhiz_config *c);

/* ---- replies -------------------------------------------------------------------------------- */

/* The largest secretLength accepted: a value must fit the tmpfs anyway. */
#define KEYWHIZ_SECRET_MAX (64 * 1024 * 1024)

/* One SecretDeliveryResponse: the value and the metadata keysync used. */
struct keywhiz_secret {
        char *name;
        struct secret *value; /* NULL in a listing (GET /secrets) */
        bool has_mode;
        mode_t mode; /* "mode" metadata with only its read bits (keysync: & 0444) */
        char *owner, *group; /* "owner", "group" metadata; NULL when absent or empty */
        char *filename; /* "filename" metadata, a valid secret name; NULL when absent */
};

void keywhiz_secret_done(struct keywhiz_secret *s);

/*
 * Decode Keywhiz's base64 (the standard alphabet; padding may be missing, as keysync
 * tolerated; a trailing newline is ignored) straight into a new secret, which must come to
 * exactly length bytes: -EBADMSG when the text is not base64, -EMSGSIZE when it decodes to
 * another length. No copy of the value is made anywhere else. The secret is taken from pool
 * (secret_new_pooled: a NULL, sealed or full pool gives it a buffer of its own).
 */
int keywhiz_base64_decode(const char *text, size_t text_len, uint64_t length,
                          struct secret_pool *pool, struct secret **ret);

/*
 * One object of a reply: name, secret, secretLength (required; with_value false: a listing,
 * whose secret is "" and is not decoded), creationDate and isVersioned when present, and the
 * metadata flattened into the object (Keywhiz's @JsonAnyGetter): mode (octal, read bits
 * kept), owner, group, filename (no '/', and a valid secret name since it becomes the file's
 * name on the tmpfs). Errors are -EBADMSG (shape), -EMSGSIZE (length) or -EINVAL (metadata),
 * with why set to a fixed phrase or a metadata name — never text that could be a value.
 */
int keywhiz_parse_object(const json_t *obj, bool with_value, struct secret_pool *pool,
                         struct keywhiz_secret *ret, const char **why);
/* GET /secret/{name}'s 200 reply. */
int keywhiz_parse_secret(const void *body, size_t size, struct secret_pool *pool,
                         struct keywhiz_secret *ret, const char **why);
/* POST /batchsecret's or GET /secrets' 200 reply: a list of objects. */
int keywhiz_parse_list(const void *body, size_t size, bool with_value, struct secret_pool *pool,
                       struct keywhiz_secret **ret, size_t *ret_n, const char **why);
void keywhiz_list_free(struct keywhiz_secret *list, size_t n);

/* The body of POST /batchsecret: {"secrets":[names]} (names are not secrets). */
int keywhiz_batch_body(const char *const *names, size_t n, char **ret);

/* "/secret/NAME", NAME percent-encoded (all but unreserved characters). A name Keywhiz cannot
 * have (empty, with '/', over 1024 bytes): -EINVAL. */
int keywhiz_secret_path(const char *name, char **ret);

/* Move the metadata into what the placement applies (DESIGN §4: the request's own mode,
 * uid and gid win over it; place.c decides). */
int keywhiz_to_fetched(struct keywhiz_secret *s, struct fetched_secret *out);
