/* SPDX-License-Identifier: Apache-2.0 */
/* A secret reference, BACKEND:PATH[#FIELD][@VERSION]: what a container writes in an annotation
 * or an env entry, matched against allow-list globs and put into backend URLs. */
#include <stdio.h>

#include "fuzz.h"
#include "request/ref.h"

/* A path the allow-list globs can trust: relative, canonical, nothing a server would decode. */
static void check_path(const char *p) {
        fuzz_assert(p && *p && p[0] != '/');
        fuzz_assert(!strpbrk(p, "%?\\#"));
        fuzz_assert(!strstr(p, "//"));
        size_t n = strlen(p);
        fuzz_assert(p[n - 1] != '/');
        for (const char *c = p; *c;) {
                size_t len = strcspn(c, "/");
                fuzz_assert(!(len == 1 && c[0] == '.'));
                fuzz_assert(!(len == 2 && c[0] == '.' && c[1] == '.'));
                c += len;
                if (*c == '/')
                        c++;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_init();
        char *s = fuzz_strndup(data, size);
        struct ref r;
        if (ref_parse(s, &r) < 0) {
                free(s);
                return 0;
        }
        fuzz_assert(r.backend && *r.backend && !strpbrk(r.backend, ":/*?[]"));
        check_path(r.path);
        fuzz_assert(!r.field || *r.field);
        if (r.version) {
                fuzz_assert(*r.version && strspn(r.version, "0123456789") == strlen(r.version));
                fuzz_assert(strlen(r.version) <= 19);
        }
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                fuzz_assert(*p > ' ' && *p != 0x7f);

        /* Lossless: the parts put back together are the input. */
        char *back = NULL;
        fuzz_assert(asprintf(&back, "%s:%s%s%s%s%s", r.backend, r.path, r.field ? "#" : "",
                             r.field ? r.field : "", r.version ? "@" : "",
                             r.version ? r.version : "") >= 0);
        fuzz_assert(strcmp(back, s) == 0);
        free(back);

        /* What the allow-list sees is BACKEND:PATH, never the field or the version. */
        char *key = ref_policy_key(&r);
        fuzz_assert(key);
        fuzz_assert(strncmp(key, s, strlen(key)) == 0);
        fuzz_assert(strlen(key) == strlen(r.backend) + 1 + strlen(r.path));
        free(key);

        /* Parsing is a function of the text. */
        struct ref again;
        fuzz_assert(ref_parse(s, &again) == 0);
        fuzz_assert(strcmp(again.path, r.path) == 0);
        ref_done(&again);
        ref_done(&r);
        fuzz_assert(!r.backend && !r.path);
        free(s);
        return 0;
}
