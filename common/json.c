/* SPDX-License-Identifier: Apache-2.0 */
#include "json.h"

#include <string.h>

#include <sodium.h>

/* jansson's free() is not told the size, so each block carries it in a header. The header is
 * 16 bytes to keep the payload aligned for any type. */
#define JSON_HDR 16

static void *json_wiping_malloc(size_t size) {
        if (size > SIZE_MAX - JSON_HDR)
                return NULL;
        unsigned char *p = malloc(size + JSON_HDR);
        if (!p)
                return NULL;
        memcpy(p, &size, sizeof size);
        return p + JSON_HDR;
}

static void json_wiping_free(void *ptr) {
        if (!ptr)
                return;
        unsigned char *p = (unsigned char *)ptr - JSON_HDR;
        size_t size;
        memcpy(&size, p, sizeof size);
        sodium_memzero(p, size + JSON_HDR);
        free(p);
}

void json_secure_init(void) {
        json_set_alloc_funcs(json_wiping_malloc, json_wiping_free);
        /* Left to itself, jansson seeds its hash tables on the first object by reading
         * /dev/urandom through an fd opened without O_CLOEXEC (found by 64-fd-cloexec.sh).
         * libsodium (initialised before this) gives the seed instead. Never 0, which asks
         * jansson to seed itself. */
        json_object_seed((size_t)randombytes_random() | 1);
}

int json_parse_strict(const char *buf, size_t len, size_t max, json_t **ret, char *err,
                      size_t err_size) {
        json_error_t jerr;

        if (len > max) {
                snprintf(err, err_size, "document larger than %zu bytes", max);
                return -EINVAL;
        }
        if (memchr(buf, '\0', len)) {
                snprintf(err, err_size, "NUL byte in document");
                return -EINVAL;
        }
        json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!j) {
                /* jerr.text may quote input (a duplicate key's name): report only where and
                 * what kind of error, never the text around it. */
                const char *kind = "invalid JSON";
                if (json_error_code(&jerr) == json_error_duplicate_key)
                        kind = "duplicate key";
                else if (json_error_code(&jerr) == json_error_premature_end_of_input)
                        kind = "truncated JSON";
                snprintf(err, err_size, "%s at line %d column %d", kind, jerr.line, jerr.column);
                return -EINVAL;
        }
        if (!json_is_object(j) && !json_is_array(j)) {
                json_decref(j);
                snprintf(err, err_size, "not a JSON object");
                return -EINVAL;
        }
        *ret = j;
        return 0;
}

int json_dump_compact(const json_t *j, char **ret) {
        char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!s)
                return -ENOMEM;
        /* json_dumps allocates with our allocator; hand the caller a plain malloc'd copy so
         * that free() works on it. */
        json_malloc_t m;
        json_free_t f;
        json_get_alloc_funcs(&m, &f);
        size_t n = strlen(s);
        char *copy = malloc(n + 1);
        if (copy)
                memcpy(copy, s, n + 1);
        f(s);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

const char *json_get_string(const json_t *obj, const char *key) {
        return json_string_value(json_object_get(obj, key));
}

const json_t *json_get_object(const json_t *obj, const char *key) {
        json_t *v = json_object_get(obj, key);
        return json_is_object(v) ? v : NULL;
}

const json_t *json_get_array(const json_t *obj, const char *key) {
        json_t *v = json_object_get(obj, key);
        return json_is_array(v) ? v : NULL;
}
