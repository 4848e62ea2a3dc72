/* SPDX-License-Identifier: Apache-2.0 */
/* Vault's paths and replies: no I/O here, so that every function can be unit-tested and
 * fuzzed (tests/unit/check_vault.c, tests/fuzz/fuzz_vault_response.c). */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "json.h"
#include "log.h"
#include "vault_kv.h"

void vault_mount_done(struct vault_mount *m) {
        free(m->path);
        free(m->type);
        *m = (struct vault_mount){0};
}

void vault_read_done(struct vault_read *r) {
        r->value = secret_free(r->value);
        free(r->version);
        free(r->lease_id);
        *r = (struct vault_read){0};
}

int vault_escape_path(const char *path, char **ret) {
        static const char hex[] = "0123456789ABCDEF";
        size_t n = strlen(path);
        char *out = malloc(3 * n + 1), *o = out;
        if (!out)
                return -ENOMEM;
        for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
                if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= '0' && *p <= '9') || strchr("-._~/", *p))
                        *o++ = (char)*p;
                else {
                        *o++ = '%';
                        *o++ = hex[*p >> 4];
                        *o++ = hex[*p & 15];
                }
        }
        *o = '\0';
        *ret = out;
        return 0;
}

/* Parse a reply body: a JSON object, at most the HTTP cap. */
static int vault_parse_json(const void *body, size_t size, json_t **ret) {
        char err[96];
        if (!body || size == 0)
                return -EBADMSG;
        int r = json_parse_strict(body, size, HTTP_MAX_RESPONSE_DEFAULT, ret, err, sizeof err);
        if (r < 0)
                return -EBADMSG;
        if (!json_is_object(*ret)) {
                json_decref(*ret);
                *ret = NULL;
                return -EBADMSG;
        }
        return 0;
}

/* Mount paths are printed by check: nothing that could forge a line. */
static bool vault_cfg_name_printable(const char *s) {
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p < 0x20 || *p >= 0x7f)
                        return false;
        return true;
}

/* ---- the KV version of a mount ----------------------------------------------------------- */

int vault_parse_mount(const void *body, size_t size, struct vault_mount *ret) {
        _cleanup_json_ json_t *j = NULL;
        int r = vault_parse_json(body, size, &j);
        if (r < 0)
                return r;
        const json_t *data = json_get_object(j, "data");
        const char *path = data ? json_get_string(data, "path") : NULL;
        const char *type = data ? json_get_string(data, "type") : NULL;
        if (!path || !type || strlen(path) > 1024 || strlen(type) > 64)
                return -EBADMSG;
        /* As the vault CLI decides (command/kv_helpers.go, kvPreflightVersionRequest): options
         * null, no "version", "" or "1" are KV v1; "2" is KV v2. */
        const json_t *opts = json_object_get(data, "options");
        const char *version = json_is_object(opts) ? json_get_string(opts, "version") : NULL;
        ret->kv_version = streq_ptr(version, "2") ? 2 : 1;
        ret->path = strdup(path);
        ret->type = strdup(type);
        ret->status = 200;
        if (!ret->path || !ret->type)
                return -ENOMEM;
        return 0;
}

/* The part of the mount's path that prefixes ref_path: Vault may answer with the namespace in
 * front ("ns1/secret/") when the request named it in the path; trim leading components until
 * the rest is a prefix (the CLI's addPrefixToKVPath does the same). 0 when none does. */
static size_t vault_mount_prefix(const char *mount, const char *ref_path) {
        while (mount && *mount) {
                size_t n = strlen(mount);
                if (strncmp(ref_path, mount, n) == 0)
                        return n;
                /* "secret/" and the ref "secret": the mount itself. */
                if (n > 1 && mount[n - 1] == '/' && strlen(ref_path) == n - 1 &&
                    strncmp(ref_path, mount, n - 1) == 0)
                        return n - 1;
                const char *slash = strchr(mount, '/');
                if (!slash)
                        break;
                mount = slash + 1;
        }
        return 0;
}

bool vault_mount_covers(const struct vault_mount *m, const char *ref_path) {
        if (m->path)
                return vault_mount_prefix(m->path, ref_path) > 0;
        size_t n = strcspn(ref_path, "/");
        return m->key && m->key_len == n && strncmp(m->key, ref_path, n) == 0;
}

static const char *vault_mount_kind(const json_t *mount, char *buf, size_t size) {
        const char *type = json_get_string(mount, "type");
        const json_t *opts = json_object_get(mount, "options");
        const char *version = json_is_object(opts) ? json_get_string(opts, "version") : NULL;
        if (!type || strlen(type) > 64 ||
            strspn(type, "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(type))
                return "?";
        if (streq_ptr(type, "kv") || streq_ptr(type, "generic"))
                snprintf(buf, size, "kv v%s", streq_ptr(version, "2") ? "2" : "1");
        else
                snprintf(buf, size, "%s", type);
        return buf;
}

int vault_parse_mount_list(const void *body, size_t size, char **ret) {
        _cleanup_json_ json_t *j = NULL;
        int r = vault_parse_json(body, size, &j);
        if (r < 0)
                return r;
        const json_t *data = json_get_object(j, "data");
        const json_t *secret = data ? json_get_object(data, "secret") : NULL;
        if (!secret)
                return -EBADMSG;
        char *out = strdup(""), *next;
        const char *path;
        json_t *m;
        json_object_foreach((json_t *)secret, path, m) {
                char kind[80];
                if (!out)
                        return -ENOMEM;
                if (strlen(path) > 256 || !vault_cfg_name_printable(path))
                        continue;
                if (asprintf(&next, "%s%s%s (%s)", out, *out ? ", " : "", path,
                             vault_mount_kind(m, kind, sizeof kind)) < 0)
                        next = NULL;
                free(out);
                out = next;
        }
        if (!out)
                return -ENOMEM;
        *ret = out;
        return 0;
}

int vault_read_path(const struct ref *ref, const struct vault_mount *m, char **ret,
                    const char **why) {
        _cleanup_free_ char *raw = NULL, *escaped = NULL;
        bool kv2 = m && m->kv_version == 2;
        *why = NULL;
        if (ref->version && !kv2) {
                *why = "a version (@N) needs a KV v2 mount";
                return -EINVAL;
        }
        if (kv2) {
                size_t n = vault_mount_prefix(m->path, ref->path);
                if (n == 0) {
                        *why = "the path is not under the mount Vault names for it";
                        return -EINVAL;
                }
                const char *rest = ref->path + n;
                if (*rest == '/')
                        rest++;
                if (!*rest) {
                        *why = "the path names a KV v2 mount, not a secret in it";
                        return -EINVAL;
                }
                if (asprintf(&raw, "%.*s%sdata/%s", (int)n, ref->path,
                             ref->path[n - 1] == '/' ? "" : "/", rest) < 0)
                        return raw = NULL, -ENOMEM;
        } else if (!(raw = strdup(ref->path)))
                return -ENOMEM;
        int r = vault_escape_path(raw, &escaped);
        if (r < 0)
                return r;
        if (ref->version) {
                /* ref.c allows digits only after '@'. */
                if (asprintf(ret, "%s?version=%s", escaped, ref->version) < 0)
                        return -ENOMEM;
                return 0;
        }
        *ret = TAKE_PTR(escaped);
        return 0;
}

/* ---- error messages ------------------------------------------------------------------------ */

/* The text of Vault's errors that may be repeated: fixed, and none can hold a value, a token or
 * an id. Anything else (AppRole once quoted the secret id it refused) is never printed. */
static const char *const vault_known_errors[] = {
        "permission denied",
        "Vault is sealed",
        "missing client token",
        "invalid role or secret ID",
        "invalid secret id",
        "missing role_id",
        "missing secret_id",
        "missing role",
        "missing jwt",
        "invalid certificate or no client certificate supplied",
        "wrapping token is not valid or does not exist",
        "unsupported path",
        "unsupported operation",
        "required index state not present",
        "local node not active but active cluster node not found",
        "invalid lease",
        "lease not found",
        "rate limit quota exceeded",
        "internal error",
        "error performing token check",
        "namespace not found",
};

/* Errors whose text quotes a path or a name: matched by their start, replaced by a fixed
 * phrase. */
static const struct {
        const char *prefix, *says;
} vault_known_prefixes[] = {
        {"no handler for route", "no such mount"},
        {"preflight capability check returned 403", "permission denied"},
        {"invalid role name", "no such role"},
        {"role \"", "no such role"},
        {"request path \"", "rate limit quota exceeded"},
};

/* "1 error occurred:\n\t* permission denied\n\n" (hashicorp/go-multierror) is "permission
 * denied" too. */
static void vault_error_core(const char *s, size_t len, const char **ret, size_t *ret_len) {
        static const char multi[] = "1 error occurred:\n\t* ";
        if (len >= sizeof multi - 1 && memcmp(s, multi, sizeof multi - 1) == 0) {
                s += sizeof multi - 1;
                len -= sizeof multi - 1;
        }
        while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' ' || s[len - 1] == '\t'))
                len--;
        *ret = s;
        *ret_len = len;
}

static const char *vault_error_known(const char *s, size_t len) {
        const char *core;
        size_t n;
        vault_error_core(s, len, &core, &n);
        for (size_t i = 0; i < ARRAY_SIZE(vault_known_errors); i++)
                if (strlen(vault_known_errors[i]) == n &&
                    memcmp(vault_known_errors[i], core, n) == 0)
                        return vault_known_errors[i];
        for (size_t i = 0; i < ARRAY_SIZE(vault_known_prefixes); i++) {
                size_t p = strlen(vault_known_prefixes[i].prefix);
                if (n >= p && memcmp(core, vault_known_prefixes[i].prefix, p) == 0) {
                        /* The rate-limit message quotes the path before the known part. */
                        if (i == ARRAY_SIZE(vault_known_prefixes) - 1 &&
                            !memmem(core, n, "rate limit quota exceeded", 25))
                                continue;
                        return vault_known_prefixes[i].says;
                }
        }
        return NULL;
}

void vault_error_message(long status, const void *body, size_t size, char *buf, size_t size_buf) {
        _cleanup_json_ json_t *j = NULL;
        const char *known = NULL;
        if (vault_parse_json(body, size, &j) >= 0) {
                const json_t *errors = json_get_array(j, "errors");
                size_t i;
                json_t *e;
                json_array_foreach(errors, i, e) {
                        if (json_is_string(e))
                                known = vault_error_known(json_string_value(e),
                                                          json_string_length(e));
                        if (known)
                                break;
                }
        }
        snprintf(buf, size_buf, "%s (%ld)", known ? known : http_status_phrase(status), status);
}

int vault_request_error(const struct http_request *r, char *buf, size_t size) {
        if (r->error) {
                snprintf(buf, size, "%s", r->why ? r->why : "transport error");
                return r->error;
        }
        vault_error_message(r->status, r->response.data, r->response.size, buf, size);
        switch (r->status) {
        case 400:
                return -EINVAL;
        case 401:
        case 403:
                return -EACCES;
        case 404:
                return -ENOENT;
        case 429:
                return -EBUSY;
        case 503:
                return -EAGAIN;
        default:
                return -EIO;
        }
}

/* ---- reads ---------------------------------------------------------------------------------- */

/* A JSON value's bytes: a string as itself, anything else as compact JSON. */
static int vault_value_to_secret(const json_t *v, struct secret_pool *pool, struct secret **ret) {
        if (json_is_string(v))
                return secret_new_pooled_copy(pool, json_string_value(v), json_string_length(v),
                                              ret);
        /* Dumped with jansson's (wiping) allocator, and released through it. */
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!s)
                return -ENOMEM;
        json_malloc_t m;
        json_free_t f;
        json_get_alloc_funcs(&m, &f);
        int r = secret_new_pooled_copy(pool, s, strlen(s), ret);
        f(s);
        return r;
}

/* A 404: no such secret, or a KV v2 version that is deleted or destroyed (the whole envelope
 * as the body, data.metadata telling which: logical.RespondWithStatusCode). */
static int vault_read_missing(const void *body, size_t size, char *why, size_t why_size) {
        _cleanup_json_ json_t *j = NULL;
        const json_t *meta = NULL;
        if (vault_parse_json(body, size, &j) >= 0) {
                const json_t *data = json_get_object(j, "data");
                meta = data ? json_get_object(data, "metadata") : NULL;
        }
        if (meta) {
                json_int_t v = json_integer_value(json_object_get(meta, "version"));
                const char *del = json_get_string(meta, "deletion_time");
                if (json_is_true(json_object_get(meta, "destroyed"))) {
                        snprintf(why, why_size, "version %lld destroyed", (long long)v);
                        return -ENOENT;
                }
                if (del && *del) {
                        snprintf(why, why_size, "version %lld deleted", (long long)v);
                        return -ENOENT;
                }
        }
        const json_t *errors = j ? json_get_array(j, "errors") : NULL;
        if (errors && json_array_size(errors) > 0) {
                /* "unsupported path", "no handler for route": not merely a missing secret. */
                vault_error_message(404, body, size, why, why_size);
                return -ENOENT;
        }
        snprintf(why, why_size, "no such secret (404)");
        return -ENOENT;
}

static int vault_read_meta(const json_t *j, const json_t *data, bool kv2, struct vault_read *out) {
        if (kv2) {
                const json_t *meta = json_get_object(data, "metadata");
                const json_t *v = meta ? json_object_get(meta, "version") : NULL;
                /* Recorded in state and printed by status: a version is a positive number. */
                if (json_is_integer(v) && json_integer_value(v) < 0)
                        return -EBADMSG;
                if (json_is_integer(v) &&
                    asprintf(&out->version, "%lld", (long long)json_integer_value(v)) < 0) {
                        out->version = NULL;
                        return -ENOMEM;
                }
        }
        const char *lease = json_get_string(j, "lease_id");
        if (lease && *lease) {
                /* The lease id goes to the state file, the audit log and status's output:
                 * printable ASCII only, so that a broken or hostile server cannot put a
                 * newline or a terminal escape there (found by fuzz_vault_response). */
                if (strlen(lease) > 1024)
                        return -EBADMSG;
                for (const char *c = lease; *c; c++)
                        if (*c <= ' ' || *c >= 0x7f)
                                return -EBADMSG;
                if (json_integer_value(json_object_get(j, "lease_duration")) < 0)
                        return -EBADMSG;
                if (!(out->lease_id = strdup(lease)))
                        return -ENOMEM;
                out->lease_duration =
                        (long)json_integer_value(json_object_get(j, "lease_duration"));
        }
        return 0;
}

static int vault_read_ok(const void *body, size_t size, bool kv2, const char *field,
                         struct secret_pool *pool, struct vault_read *out, char *why,
                         size_t why_size) {
        _cleanup_json_ json_t *j = NULL;
        if (vault_parse_json(body, size, &j) < 0)
                return snprintf(why, why_size, "malformed response (not JSON)"), -EBADMSG;
        const json_t *data = json_get_object(j, "data");
        const json_t *values = kv2 && data ? json_get_object(data, "data") : data;
        if (!values)
                return snprintf(why, why_size, "malformed response (no data object)"), -EBADMSG;
        if (field) {
                values = json_object_get(values, field);
                if (!values) {
                        snprintf(why, why_size, "no field '%s' in the secret", field);
                        return -ENOENT;
                }
        }
        int r = vault_read_meta(j, data, kv2, out);
        if (r == -EBADMSG)
                snprintf(why, why_size, "malformed response (lease)");
        if (r < 0)
                return r;
        return vault_value_to_secret(values, pool, &out->value);
}

int vault_parse_read(long status, const void *body, size_t size, bool kv2, const char *field,
                     struct secret_pool *pool, struct vault_read *ret, char *why, size_t why_size) {
        struct vault_read out = {0};
        int r;
        why[0] = '\0';
        if (status == 200)
                r = vault_read_ok(body, size, kv2, field, pool, &out, why, why_size);
        else if (status == 404)
                r = vault_read_missing(body, size, why, why_size);
        else {
                vault_error_message(status, body, size, why, why_size);
                r = status == 403 ? -EACCES : -EIO;
        }
        if (r < 0) {
                vault_read_done(&out);
                if (!why[0])
                        snprintf(why, why_size, "%s", r == -ENOMEM ? "out of memory" : "failed");
                return r;
        }
        *ret = out;
        return 0;
}

/* ---- auth replies ---------------------------------------------------------------------------- */

int vault_parse_login(const void *body, size_t size, struct secret **ret_token, int64_t *ret_ttl,
                      int64_t *ret_num_uses) {
        _cleanup_json_ json_t *j = NULL;
        int r = vault_parse_json(body, size, &j);
        if (r < 0)
                return r;
        const json_t *auth = json_get_object(j, "auth");
        const json_t *tok = auth ? json_object_get(auth, "client_token") : NULL;
        if (!json_is_string(tok) || json_string_length(tok) == 0 || json_string_length(tok) > 4096)
                return -EBADMSG;
        const char *t = json_string_value(tok);
        for (size_t i = 0; i < json_string_length(tok); i++)
                if ((unsigned char)t[i] <= ' ' || (unsigned char)t[i] >= 0x7f)
                        return -EBADMSG;
        json_int_t ttl = json_integer_value(json_object_get(auth, "lease_duration"));
        *ret_ttl = ttl > 0 ? (int64_t)ttl : 0;
        json_int_t uses = json_integer_value(json_object_get(auth, "num_uses"));
        *ret_num_uses = uses > 0 ? (int64_t)uses : 0;
        return secret_new_copy(t, json_string_length(tok), ret_token);
}

int vault_parse_unwrap(const void *body, size_t size, struct secret **ret_secret_id) {
        _cleanup_json_ json_t *j = NULL;
        int r = vault_parse_json(body, size, &j);
        if (r < 0)
                return r;
        const json_t *data = json_get_object(j, "data");
        const json_t *sid = data ? json_object_get(data, "secret_id") : NULL;
        if (!json_is_string(sid) || json_string_length(sid) == 0 || json_string_length(sid) > 4096)
                return -EBADMSG;
        return secret_new_copy(json_string_value(sid), json_string_length(sid), ret_secret_id);
}

/* ---- request bodies -------------------------------------------------------------------------- */

int vault_json_body(struct secret **ret, size_t n, const char *const *keys,
                    const void *const *values, const size_t *sizes) {
        _cleanup_json_ json_t *o = json_object();
        if (!o)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_t *v = json_stringn(values[i], sizes[i]);
                if (!v || json_object_set_new(o, keys[i], v) < 0)
                        return -EINVAL; /* not UTF-8, or no memory */
        }
        /* Straight into sodium memory: the body may hold a secret id or a JWT. */
        size_t len = json_dumpb(o, NULL, 0, JSON_COMPACT);
        if (len == 0)
                return -ENOMEM;
        struct secret *s;
        int r = secret_new(len, &s);
        if (r < 0)
                return r;
        if (json_dumpb(o, secret_data(s), len, JSON_COMPACT) != len) {
                secret_free(s);
                return -EIO;
        }
        *ret = s;
        return 0;
}
