/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "request/ref.h"
#include "unit.h"

static void parse_ok(const char *s, const char *backend, const char *path, const char *field,
                     const char *version) {
        struct ref r;
        ck_assert_msg(ref_parse(s, &r) == 0, "ref_parse(\"%s\") failed", s);
        ck_assert_str_eq(r.backend, backend);
        ck_assert_str_eq(r.path, path);
        ck_assert_pstr_eq(r.field, field);
        ck_assert_pstr_eq(r.version, version);
        ref_done(&r);
}

START_TEST(test_parse_forms) {
        parse_ok("store:db", "store", "db", NULL, NULL);
        parse_ok("vault:secret/app/db", "vault", "secret/app/db", NULL, NULL);
        parse_ok("vault:secret/app/db#pw", "vault", "secret/app/db", "pw", NULL);
        parse_ok("vault:secret/app/db@3", "vault", "secret/app/db", NULL, "3");
        parse_ok("vault:secret/app/db#pw@12", "vault", "secret/app/db", "pw", "12");
        parse_ok("vault:database/creds/app#password", "vault", "database/creds/app", "password",
                 NULL);
        parse_ok("keywhiz:app-db.pem", "keywhiz", "app-db.pem", NULL, NULL);
        parse_ok("my-vault_2:x", "my-vault_2", "x", NULL, NULL);
}
END_TEST

/* VERSION is only a trailing "@digits"; anything else with '@' belongs to the path or field. */
START_TEST(test_parse_at_and_hash) {
        parse_ok("vault:a@b", "vault", "a@b", NULL, NULL);
        parse_ok("vault:a@", "vault", "a@", NULL, NULL);
        parse_ok("vault:a@1x", "vault", "a@1x", NULL, NULL);
        parse_ok("vault:a#user@host", "vault", "a", "user@host", NULL);
        parse_ok("vault:a#user@host@7", "vault", "a", "user@host", "7");
        parse_ok("vault:a#b#c", "vault", "a", "b#c", NULL);
        parse_ok("store:123", "store", "123", NULL, NULL);
        parse_ok("vault:a:b", "vault", "a:b", NULL, NULL);
        parse_ok("vault:a/b.c/d..e", "vault", "a/b.c/d..e", NULL, NULL);
}
END_TEST

START_TEST(test_parse_rejects) {
        static const char *const bad[] = {
                "",
                "store",
                ":x",
                "store:",
                "store:a b",
                "store:a\tb",
                "store:a\n",
                "store:a\x7f",
                "sto re:a",
                "va*lt:x",
                "va/lt:x",
                "vault:/abs",
                "vault:a//b",
                "vault:a/",
                "vault:..",
                "vault:a/../b",
                "vault:a/..",
                "vault:./a",
                "vault:a/./b",
                "vault:a#",
                "vault:a#@3",
                "vault:@3",
                "vault:#f",
                "vault:#f@3",
                "vault:a%2f..%2fb",
                "vault:a?list=true",
                "vault:a\\b",
                "vault:a/b@12345678901234567890",
        };
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                struct ref r = {0};
                ck_assert_msg(ref_parse(bad[i], &r) == -EINVAL, "accepted \"%s\"", bad[i]);
                ck_assert_ptr_null(r.backend);
        }
        struct ref r;
        ck_assert_int_eq(ref_parse(NULL, &r), -EINVAL);
}
END_TEST

START_TEST(test_parse_length) {
        char s[REF_MAX + 2];
        memcpy(s, "vault:", 6);
        memset(s + 6, 'a', sizeof s - 6);
        s[REF_MAX] = '\0';
        struct ref r;
        ck_assert_int_eq(ref_parse(s, &r), 0);
        ck_assert_uint_eq(strlen(r.path), REF_MAX - 6);
        ref_done(&r);
        s[REF_MAX] = 'a';
        s[REF_MAX + 1] = '\0';
        ck_assert_int_eq(ref_parse(s, &r), -EINVAL);
}
END_TEST

START_TEST(test_policy_key) {
        struct ref r;
        ck_assert_int_eq(ref_parse("vault:secret/app/db#pw@3", &r), 0);
        char *key = ref_policy_key(&r);
        /* Field and version are not part of what policy sees (DESIGN §5). */
        ck_assert_str_eq(key, "vault:secret/app/db");
        free(key);
        ref_done(&r);
        ck_assert_ptr_null(r.path);
        ref_done(&r); /* twice is harmless */
        ref_done(NULL);
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("ref");
        TCase *tc = tcase_create("parse");
        tcase_add_test(tc, test_parse_forms);
        tcase_add_test(tc, test_parse_at_and_hash);
        tcase_add_test(tc, test_parse_rejects);
        tcase_add_test(tc, test_parse_length);
        tcase_add_test(tc, test_policy_key);
        suite_add_tcase(s, tc);
        return s;
}
