/* SPDX-License-Identifier: Apache-2.0 */
/* Keywhiz's replies (broker/fetch/keywhiz_parse.c): a 200 body from GET /secret/{name}, POST
 * /batchsecret or GET /secrets, from a server (or whatever sits in front of it) that the
 * broker does not trust to be well-formed. Whatever parses must hold a value of exactly the
 * length the reply gave, and metadata that keeps every rule. */
#include "fuzz.h"
#include "fetch/keywhiz_parse.h"
#include "manifest.h"

static void check_secret(const struct keywhiz_secret *s, bool with_value) {
        fuzz_assert(s->name && *s->name);
        fuzz_assert(with_value == (s->value != NULL));
        fuzz_assert(!s->has_mode || (s->mode & ~0444U) == 0);
        /* The filename becomes a file on the tmpfs: never a path, never hidden. */
        if (s->filename)
                fuzz_assert(secret_name_is_valid(s->filename) && !strchr(s->filename, '/'));
        if (s->owner)
                fuzz_assert(*s->owner && !strchr(s->owner, ':') && !strchr(s->owner, '\n'));
        if (s->group)
                fuzz_assert(*s->group && !strchr(s->group, ':') && !strchr(s->group, '\n'));
        if (s->value)
                fuzz_assert(secret_size(s->value) <= KEYWHIZ_SECRET_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct keywhiz_secret s = {0}, *list = NULL;
        const char *why = NULL;
        size_t n = 0;

        fuzz_init();
        /* As the backend parses: the values into a pool of the reply's size (keywhiz.c). */
        struct secret_pool *pool = secret_pool_try(size);
        int r = keywhiz_parse_secret(data, size, pool, &s, &why);
        fuzz_assert(r == 0 || (why && !s.name && !s.value));
        if (r == 0) {
                check_secret(&s, true);
                struct fetched_secret f = {0};
                fuzz_assert(keywhiz_to_fetched(&s, &f) == 0);
                fuzz_assert(f.value && !s.value);
                fetched_done(&f, 1);
        }
        keywhiz_secret_done(&s);

        for (int with_value = 0; with_value < 2; with_value++) {
                r = keywhiz_parse_list(data, size, with_value, pool, &list, &n, &why);
                fuzz_assert(r == 0 || why);
                for (size_t i = 0; r == 0 && i < n; i++)
                        check_secret(&list[i], with_value);
                if (r == 0)
                        keywhiz_list_free(list, n);
                list = NULL;
                n = 0;
        }

        /* The same bytes as base64 text: a decoded value has the length asked for. */
        struct secret *v = NULL;
        uint64_t want = size / 4 * 3;
        if (keywhiz_base64_decode((const char *)data, size, want, NULL, &v) == 0) {
                fuzz_assert(secret_size(v) == want);
                secret_free(v);
        }
        secret_pool_unref(pool);
        return 0;
}
