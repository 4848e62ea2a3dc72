/* SPDX-License-Identifier: Apache-2.0 */
#include "ref.h"

#include <stdio.h>
#include <string.h>

/* Backend names are keys of "backends" in the config (config.c applies the same rule), so a
 * ref's BACKEND can never contain a glob character, a ':' or a path separator. */
static bool ref_backend_is_valid(const char *s, size_t len) {
        if (len == 0 || len > 64)
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-'))
                        return false;
        }
        return true;
}

/*
 * The allow-list globs match the path as written, and a backend may put it into a URL. So the
 * path must be canonical (no "", "." or ".." component, no leading '/'), and must not hold a
 * character that a server would decode or cut into something else ('%' escapes, '?' query,
 * '\\'): "secret/web/%2e%2e/admin" would pass "vault:secret/web/x" and read secret/admin.
 */
static bool ref_path_is_valid(const char *p, size_t len) {
        if (len == 0 || p[0] == '/')
                return false;
        if (memchr(p, '%', len) || memchr(p, '?', len) || memchr(p, '\\', len))
                return false;
        size_t start = 0;
        for (size_t i = 0; i <= len; i++) {
                if (i < len && p[i] != '/')
                        continue;
                size_t clen = i - start;
                if (clen == 0 || (clen == 1 && p[start] == '.') ||
                    (clen == 2 && p[start] == '.' && p[start + 1] == '.'))
                        return false;
                start = i + 1;
        }
        return true;
}

/* Length of a trailing "@digits" (including the '@'), 0 when there is none. */
static size_t ref_version_suffix(const char *loc, size_t len) {
        size_t i = len;
        while (i > 0 && loc[i - 1] >= '0' && loc[i - 1] <= '9')
                i--;
        if (i == len || i == 0 || loc[i - 1] != '@')
                return 0;
        return len - i + 1;
}

static bool ref_chars_are_valid(const char *s) {
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p <= ' ' || *p == 0x7f)
                        return false;
        return true;
}

int ref_parse(const char *s, struct ref *ret) {
        if (!s || strlen(s) > REF_MAX || !ref_chars_are_valid(s))
                return -EINVAL;
        const char *colon = strchr(s, ':');
        if (!colon || !ref_backend_is_valid(s, (size_t)(colon - s)))
                return -EINVAL;

        const char *loc = colon + 1;
        size_t loc_len = strlen(loc);
        size_t ver_len = ref_version_suffix(loc, loc_len);
        /* At most 19 digits: a KV version is a positive int64. */
        if (ver_len > 20)
                return -EINVAL;
        size_t rest = loc_len - ver_len;
        /* The first '#' ends the path, so a path never holds one; a field may. */
        const char *hash = memchr(loc, '#', rest);
        size_t path_len = hash ? (size_t)(hash - loc) : rest;
        if (!ref_path_is_valid(loc, path_len))
                return -EINVAL;
        if (hash && hash + 1 == loc + rest)
                return -EINVAL; /* "path#" or "path#@3": an empty field */

        struct ref r = {
                .backend = strndup(s, (size_t)(colon - s)),
                .path = strndup(loc, path_len),
                .field = hash ? strndup(hash + 1, (size_t)(loc + rest - hash - 1)) : NULL,
                .version = ver_len ? strdup(loc + rest + 1) : NULL,
        };
        if (!r.backend || !r.path || (hash && !r.field) || (ver_len && !r.version)) {
                ref_done(&r);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}

void ref_done(struct ref *r) {
        if (!r)
                return;
        free(r->backend);
        free(r->path);
        free(r->field);
        free(r->version);
        *r = (struct ref){0};
}

char *ref_policy_key(const struct ref *r) {
        char *key;
        if (asprintf(&key, "%s:%s", r->backend, r->path) < 0)
                return NULL;
        return key;
}
