/* SPDX-License-Identifier: Apache-2.0 */
/* The keywhiz backend's pure parts: its configuration, Keywhiz's replies, base64 and the
 * metadata keysync honoured. Nothing here does I/O, so that all of it is unit-tested and
 * fuzzed (tests/unit/check_keywhiz.c, tests/fuzz/fuzz_keywhiz_response.c). */
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include <sodium.h>

#include "keywhiz_parse.h"
#include "log.h"
#include "manifest.h"

#define KEYWHIZ_TIMEOUT_MAX 600000
#define KEYWHIZ_NAME_MAX 1024
#define KEYWHIZ_OWNER_MAX 256

/* ---- configuration -------------------------------------------------------------------------- */

_printf_(4, 5) static int kw_cfg_fail(const char *origin, const char *backend, const char *key,
                                      const char *fmt, ...);

static int kw_cfg_fail(const char *origin, const char *backend, const char *key, const char *fmt,
                       ...) {
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        vsnprintf(msg, sizeof msg, fmt, ap);
#pragma GCC diagnostic pop
        va_end(ap);
        log_error("config %s: backends.%s.%s: %s", origin, backend, key, msg);
        return -EINVAL;
}

struct kw_cfg_ctx {
        const char *origin, *backend;
        const json_t *raw;
};

static bool kw_text_is_clean(const char *s) {
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

static int kw_cfg_string(const struct kw_cfg_ctx *x, const char *key, bool required, char **ret) {
        const json_t *v = json_object_get(x->raw, key);
        if (!v)
                return required ? kw_cfg_fail(x->origin, x->backend, key, "missing") : 0;
        const char *s = json_string_value(v);
        if (!s || !*s || strlen(s) > 4096 || !kw_text_is_clean(s))
                return kw_cfg_fail(x->origin, x->backend, key, "must be a non-empty string");
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* Files the broker (root) opens: absolute, no ".." component. */
static int kw_cfg_path(const struct kw_cfg_ctx *x, const char *key, bool required, char **ret) {
        int r = kw_cfg_string(x, key, required, ret);
        if (r < 0 || !*ret)
                return r;
        const char *p = *ret;
        bool dotdot = false;
        for (const char *c = p; (c = strstr(c, "..")); c += 2)
                if (c[-1] == '/' && (c[2] == '/' || c[2] == '\0'))
                        dotdot = true;
        if (p[0] != '/' || dotdot || strlen(p) >= PATH_MAX)
                return kw_cfg_fail(x->origin, x->backend, key, "must be an absolute path");
        return 0;
}

static int kw_cfg_keys(const struct kw_cfg_ctx *x) {
        static const char *const keys[] = {"type",          "url",        "ca_file",
                                           "cert_file",     "key_file",   "server_name",
                                           "pinned_pubkey", "timeout_ms", NULL};
        const char *key;
        json_t *v;
        /* Only the key's name is printed: an unknown key could hold a misplaced secret. */
        json_object_foreach((json_t *)x->raw, key, v) {
                bool known = false;
                for (const char *const *k = keys; *k && !known; k++)
                        known = streq_ptr(*k, key);
                if (!known)
                        return kw_cfg_fail(x->origin, x->backend, key, "unknown key");
        }
        return 0;
}

static int kw_cfg_fields(const struct kw_cfg_ctx *x, struct keywhiz_config *c) {
        int r;
        if ((r = kw_cfg_keys(x)) < 0 || (r = kw_cfg_string(x, "url", true, &c->url)) < 0 ||
            (r = kw_cfg_path(x, "ca_file", false, &c->ca_file)) < 0 ||
            (r = kw_cfg_path(x, "cert_file", true, &c->cert_file)) < 0 ||
            (r = kw_cfg_path(x, "key_file", true, &c->key_file)) < 0 ||
            (r = kw_cfg_string(x, "server_name", false, &c->server_name)) < 0 ||
            (r = kw_cfg_string(x, "pinned_pubkey", false, &c->pinned_pubkey)) < 0)
                return r;
        if (strncmp(c->url, "https://", 8) != 0)
                return kw_cfg_fail(x->origin, x->backend, "url", "must be an https:// URL");
        if (c->pinned_pubkey && strncmp(c->pinned_pubkey, "sha256//", 8) != 0)
                return kw_cfg_fail(x->origin, x->backend, "pinned_pubkey",
                                   "must be \"sha256//BASE64\"");
        const json_t *t = json_object_get(x->raw, "timeout_ms");
        if (t) {
                if (!json_is_integer(t) || json_integer_value(t) < 1 ||
                    json_integer_value(t) > KEYWHIZ_TIMEOUT_MAX)
                        return kw_cfg_fail(x->origin, x->backend, "timeout_ms",
                                           "must be an integer from 1 to %d", KEYWHIZ_TIMEOUT_MAX);
                c->timeout_ms = (unsigned)json_integer_value(t);
        }
        return 0;
}

int keywhiz_config_parse(const struct broker_config *cfg, const struct backend_config *b,
                         struct keywhiz_config *ret) {
        struct kw_cfg_ctx x = {cfg->path ? cfg->path : "(embedded default)", b->name, b->raw};
        struct keywhiz_config c = {.timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 10000};
        int r = json_is_object(b->raw) ? kw_cfg_fields(&x, &c) : -EINVAL;
        if (r < 0) {
                keywhiz_config_done(&c);
                return r;
        }
        *ret = c;
        return 0;
}

void keywhiz_config_done(struct keywhiz_config *c) {
        free(c->url);
        free(c->ca_file);
        free(c->cert_file);
        free(c->key_file);
        free(c->server_name);
        free(c->pinned_pubkey);
        *c = (struct keywhiz_config){0};
}

/* ---- base64 --------------------------------------------------------------------------------- */

int keywhiz_base64_decode(const char *text, size_t text_len, uint64_t length,
                          struct secret_pool *pool, struct secret **ret) {
        /* Keywhiz's decodedLength chomps one trailing newline; Go's decoder (keysync) skips
         * newlines anywhere. Padding: none, or as much as keysync's decoder would have added
         * (it appends '=' up to a multiple of 4), never more. */
        size_t end = text_len;
        while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r'))
                end--;
        size_t pad = 0;
        while (end > 0 && text[end - 1] == '=' && pad < 3)
                end--, pad++;
        size_t chars = 0;
        for (size_t i = 0; i < end; i++)
                if (text[i] != '\n' && text[i] != '\r')
                        chars++;
        if (chars % 4 == 1 || pad > (4 - chars % 4) % 4)
                return -EBADMSG;
        uint64_t decoded = (uint64_t)chars / 4 * 3 + (chars % 4 ? chars % 4 - 1 : 0);
        if (decoded != length)
                return -EMSGSIZE;

        _cleanup_secret_ struct secret *v = NULL;
        int r = secret_new_pooled(pool, (size_t)length, &v);
        if (r < 0)
                return r;
        size_t bin_len = 0;
        const char *stop = NULL;
        if (sodium_base642bin(secret_data(v), (size_t)length, text, end, "\r\n", &bin_len, &stop,
                              sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0 ||
            stop != text + end)
                return -EBADMSG;
        if (bin_len != length)
                return -EMSGSIZE;
        *ret = TAKE_PTR(v);
        return 0;
}

/* ---- replies -------------------------------------------------------------------------------- */

void keywhiz_secret_done(struct keywhiz_secret *s) {
        free(s->name);
        s->value = secret_free(s->value);
        free(s->owner);
        free(s->group);
        free(s->filename);
        *s = (struct keywhiz_secret){0};
}

/* keysync: strconv.ParseUint(mode, 8, 16), then & 0444 — only read bits may be given. */
static int kw_parse_mode(const char *s, mode_t *ret) {
        size_t n = strlen(s);
        if (n == 0 || n > 6 || strspn(s, "01234567") != n)
                return -EINVAL;
        unsigned long v = strtoul(s, NULL, 8);
        if (v > 0177777)
                return -EINVAL;
        *ret = (mode_t)(v & 0444);
        return 0;
}

/* Metadata is Map<String,String> in Keywhiz: a key we use must hold a string. NULL when
 * absent. */
static int kw_meta(const json_t *obj, const char *key, const char **ret) {
        const json_t *v = json_object_get(obj, key);
        *ret = NULL;
        if (!v)
                return 0;
        if (!json_is_string(v))
                return -EBADMSG;
        *ret = json_string_value(v);
        return 0;
}

static int kw_strdup_opt(const char *s, char **ret) {
        *ret = NULL;
        if (!s || !*s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* owner and group are looked up by name in the container; a name that cannot be in a
 * passwd or group file is refused rather than looked up. */
static bool kw_owner_is_valid(const char *s) {
        size_t n = strlen(s);
        return n <= KEYWHIZ_OWNER_MAX && !strchr(s, ':') && kw_text_is_clean(s);
}

static int kw_parse_metadata(const json_t *obj, struct keywhiz_secret *s, const char **why) {
        const char *mode, *owner, *group, *filename;
        if (kw_meta(obj, "mode", &mode) < 0 || kw_meta(obj, "owner", &owner) < 0 ||
            kw_meta(obj, "group", &group) < 0 || kw_meta(obj, "filename", &filename) < 0)
                return *why = "metadata mode, owner, group or filename is not a string", -EBADMSG;
        /* keysync took an empty mode as absent. */
        if (mode && *mode) {
                if (kw_parse_mode(mode, &s->mode) < 0)
                        return *why = "metadata 'mode' is not an octal file mode", -EINVAL;
                s->has_mode = true;
        }
        if ((owner && !kw_owner_is_valid(owner)) || (group && !kw_owner_is_valid(group)))
                return *why = "metadata 'owner' or 'group' is not a user or group name", -EINVAL;
        /* keysync refused a filename with a '/' (it would leave the directory); here it also
         * becomes the file's name on the tmpfs and in the manifest, so it follows the rule
         * for secret names (which also keeps it from hiding as a dot file or the manifest). */
        if (filename && (strchr(filename, '/') || !secret_name_is_valid(filename)))
                return *why = "metadata 'filename' is not a valid file name (no '/'; "
                              "[A-Za-z0-9_][A-Za-z0-9._-]{0,127})",
                       -EINVAL;
        if (kw_strdup_opt(owner, &s->owner) < 0 || kw_strdup_opt(group, &s->group) < 0 ||
            kw_strdup_opt(filename, &s->filename) < 0)
                return *why = "out of memory", -ENOMEM;
        return 0;
}

static int kw_parse_fields(const json_t *obj, bool with_value, struct secret_pool *pool,
                           struct keywhiz_secret *s, const char **why) {
        const json_t *name = json_object_get(obj, "name");
        const json_t *value = json_object_get(obj, "secret");
        const json_t *length = json_object_get(obj, "secretLength");
        const json_t *created = json_object_get(obj, "creationDate");
        const json_t *versioned = json_object_get(obj, "isVersioned");

        if (!json_is_string(name) || !json_string_length(name) ||
            json_string_length(name) > KEYWHIZ_NAME_MAX)
                return *why = "malformed response (no name)", -EBADMSG;
        if (!json_is_string(value) || !json_is_integer(length) || json_integer_value(length) < 0 ||
            json_integer_value(length) > KEYWHIZ_SECRET_MAX)
                return *why = "malformed response (no secret and secretLength)", -EBADMSG;
        if ((created && !json_is_string(created) && !json_is_null(created)) ||
            (versioned && !json_is_boolean(versioned)))
                return *why = "malformed response (creationDate, isVersioned)", -EBADMSG;
        s->name = strdup(json_string_value(name));
        if (!s->name)
                return *why = "out of memory", -ENOMEM;
        if (!with_value)
                return 0;
        int r = keywhiz_base64_decode(json_string_value(value), json_string_length(value),
                                      (uint64_t)json_integer_value(length), pool, &s->value);
        if (r == -EBADMSG)
                return *why = "malformed response (secret is not base64)", r;
        if (r == -EMSGSIZE)
                return *why = "the value does not have the secretLength the server gives "
                              "(refused: truncated or altered)",
                       r;
        if (r < 0)
                return *why = "out of memory", r;
        return 0;
}

int keywhiz_parse_object(const json_t *obj, bool with_value, struct secret_pool *pool,
                         struct keywhiz_secret *ret, const char **why) {
        struct keywhiz_secret s = {0};
        *why = NULL;
        if (!json_is_object(obj))
                return *why = "malformed response (not an object)", -EBADMSG;
        int r = kw_parse_fields(obj, with_value, pool, &s, why);
        if (r >= 0)
                r = kw_parse_metadata(obj, &s, why);
        if (r < 0) {
                keywhiz_secret_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

static int kw_load(const void *body, size_t size, json_t **ret, const char **why) {
        char err[128];
        /* The reply is in sodium memory (http.c); jansson's copies are wiped when freed. */
        if (json_parse_strict(body, size, SIZE_MAX, ret, err, sizeof err) < 0)
                return *why = "malformed response (not JSON)", -EBADMSG;
        return 0;
}

int keywhiz_parse_secret(const void *body, size_t size, struct secret_pool *pool,
                         struct keywhiz_secret *ret, const char **why) {
        _cleanup_json_ json_t *j = NULL;
        int r = kw_load(body, size, &j, why);
        if (r < 0)
                return r;
        return keywhiz_parse_object(j, true, pool, ret, why);
}

void keywhiz_list_free(struct keywhiz_secret *list, size_t n) {
        for (size_t i = 0; list && i < n; i++)
                keywhiz_secret_done(&list[i]);
        free(list);
}

int keywhiz_parse_list(const void *body, size_t size, bool with_value, struct secret_pool *pool,
                       struct keywhiz_secret **ret, size_t *ret_n, const char **why) {
        _cleanup_json_ json_t *j = NULL;
        int r = kw_load(body, size, &j, why);
        if (r < 0)
                return r;
        if (!json_is_array(j))
                return *why = "malformed response (not a list)", -EBADMSG;
        size_t n = json_array_size(j);
        struct keywhiz_secret *list = calloc(n ? n : 1, sizeof *list);
        if (!list)
                return *why = "out of memory", -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = keywhiz_parse_object(json_array_get(j, i), with_value, pool, &list[i], why);
                if (r < 0) {
                        keywhiz_list_free(list, n);
                        return r;
                }
        }
        *ret = list;
        *ret_n = n;
        return 0;
}

/* ---- requests ------------------------------------------------------------------------------- */

int keywhiz_batch_body(const char *const *names, size_t n, char **ret) {
        _cleanup_json_ json_t *list = json_array();
        if (!list)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (json_array_append_new(list, json_string(names[i])) < 0)
                        return -ENOMEM;
        _cleanup_json_ json_t *o = json_pack("{s:O}", "secrets", list);
        if (!o)
                return -ENOMEM;
        return json_dump_compact(o, ret);
}

int keywhiz_secret_path(const char *name, char **ret) {
        static const char hex[] = "0123456789ABCDEF";
        size_t n = strlen(name);
        if (n == 0 || n > KEYWHIZ_NAME_MAX || strchr(name, '/'))
                return -EINVAL;
        char *out = malloc(sizeof "/secret/" + 3 * n);
        if (!out)
                return -ENOMEM;
        char *p = stpcpy(out, "/secret/");
        for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
                if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                    (*c >= '0' && *c <= '9') || strchr("-._~", *c))
                        *p++ = (char)*c;
                else {
                        *p++ = '%';
                        *p++ = hex[*c >> 4];
                        *p++ = hex[*c & 15];
                }
        }
        *p = '\0';
        *ret = out;
        return 0;
}

int keywhiz_to_fetched(struct keywhiz_secret *s, struct fetched_secret *out) {
        out->value = TAKE_PTR(s->value);
        out->file = TAKE_PTR(s->filename);
        out->owner = TAKE_PTR(s->owner);
        out->group = TAKE_PTR(s->group);
        out->has_mode = s->has_mode;
        out->mode = s->mode;
        return 0;
}
