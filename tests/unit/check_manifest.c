/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "manifest.h"
#include "unit.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int parse(const char *s, struct manifest **ret) {
        return manifest_parse(s, strlen(s), ret);
}

START_TEST(test_names) {
        char max[SECRET_NAME_MAX + 2];
        memset(max, 'a', sizeof max);
        max[SECRET_NAME_MAX] = '\0';
        ck_assert(secret_name_is_valid(max));
        max[SECRET_NAME_MAX] = 'a';
        max[SECRET_NAME_MAX + 1] = '\0';
        ck_assert(!secret_name_is_valid(max));

        static const char *const good[] = {"a", "db", "_x", "0", "a.b-c_d", "A9", "x..y", "x-"};
        for (size_t i = 0; i < ARRAY_SIZE(good); i++)
                ck_assert_msg(secret_name_is_valid(good[i]), "refused %s", good[i]);
        static const char *const bad[] = {"",    ".",   "..", ".a",  "-a",  "a/b",
                                          "a b", "a\n", "é",  "a:b", "a=b", "a*"};
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
                ck_assert_msg(!secret_name_is_valid(bad[i]), "accepted %s", bad[i]);
        ck_assert(!secret_name_is_valid(NULL));
}
END_TEST

START_TEST(test_round_trip) {
        struct manifest_entry e[3] = {
                {.name = "db", .file = "db", .size = 12, .mode = 0400},
                {.name = "tls.key", .file = "tls.key", .size = 0, .mode = 0640},
                {.name = "x", .file = "file-x", .size = 1048576, .mode = 0},
        };
        for (size_t i = 0; i < ARRAY_SIZE(e); i++)
                hash_bytes(e[i].name, strlen(e[i].name), e[i].blake2b);
        struct manifest m = {
                .version = MANIFEST_VERSION, .generation = 7, .n_entries = 3, .entries = e};
        strcpy(m.container, "0123abcd");

        _cleanup_free_ char *text = NULL;
        ck_assert_int_eq(manifest_format(&m, &text), 0);
        ck_assert_ptr_nonnull(strstr(text, "\"mode\":\"0640\""));
        ck_assert_ptr_nonnull(strstr(text, "\"mode\":\"0000\""));
        _cleanup_manifest_ struct manifest *p = NULL;
        ck_assert_int_eq(parse(text, &p), 0);
        ck_assert_uint_eq(p->version, 1);
        ck_assert_str_eq(p->container, "0123abcd");
        ck_assert_uint_eq(p->generation, 7);
        ck_assert_uint_eq(p->n_entries, 3);
        for (size_t i = 0; i < 3; i++) {
                ck_assert_str_eq(p->entries[i].name, e[i].name);
                ck_assert_str_eq(p->entries[i].file, e[i].file);
                ck_assert_uint_eq(p->entries[i].size, e[i].size);
                ck_assert_uint_eq(p->entries[i].mode, e[i].mode);
                ck_assert(memcmp(p->entries[i].blake2b, e[i].blake2b, SECRET_HASH_BYTES) == 0);
        }
        /* Formatting what was parsed gives the same text. */
        _cleanup_free_ char *again = NULL;
        ck_assert_int_eq(manifest_format(p, &again), 0);
        ck_assert_str_eq(text, again);
}
END_TEST

START_TEST(test_design_example) {
        _cleanup_manifest_ struct manifest *m = NULL;
        ck_assert_int_eq(parse("{\"version\":1,\"container\":\"ID\",\"generation\":1,\"secrets\":"
                               "[{\"name\":\"db\",\"file\":\"db\",\"size\":12,\"mode\":\"0400\","
                               "\"blake2b\":\"" HEX64 "\"}]}",
                               &m),
                         0);
        ck_assert_uint_eq(m->entries[0].blake2b[0], 0x01);
        ck_assert_uint_eq(m->entries[0].blake2b[31], 0xef);
        manifest_free(m);
        m = NULL;
        ck_assert_int_eq(
                parse("{\"version\":1,\"container\":\"\",\"generation\":1,\"secrets\":[]}", &m), 0);
        ck_assert_uint_eq(m->n_entries, 0);
        ck_assert_ptr_null(manifest_free(NULL));
}
END_TEST

/* A manifest with one entry whose fields are substituted: %s name, file, size, mode, hash. */
static int parse_entry(const char *name, const char *file, const char *size, const char *mode,
                       const char *hash) {
        char buf[2048];
        snprintf(buf, sizeof buf,
                 "{\"version\":1,\"container\":\"c\",\"generation\":1,\"secrets\":[{\"name\":%s,"
                 "\"file\":%s,\"size\":%s,\"mode\":%s,\"blake2b\":%s}]}",
                 name, file, size, mode, hash);
        struct manifest *m = NULL;
        int r = parse(buf, &m);
        if (r == 0)
                manifest_free(m);
        else
                ck_assert_ptr_null(m);
        return r;
}

#define OKHASH "\"" HEX64 "\""

START_TEST(test_entry_rejections) {
        ck_assert_int_eq(parse_entry("\"db\"", "\"db\"", "12", "\"0400\"", OKHASH), 0);
        static const char *const names[] = {"\"\"", "\".x\"", "\"a/b\"", "\"../x\"", "1", "null"};
        for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
                ck_assert_int_eq(parse_entry(names[i], "\"db\"", "1", "\"0400\"", OKHASH), -EINVAL);
                ck_assert_int_eq(parse_entry("\"db\"", names[i], "1", "\"0400\"", OKHASH), -EINVAL);
        }
        /* The manifest's own name as a file: it would be unlinked as a secret. */
        ck_assert_int_eq(parse_entry("\"db\"", "\".lockbox.json\"", "1", "\"0400\"", OKHASH),
                         -EINVAL);
        static const char *const sizes[] = {"-1", "\"12\"", "1.5", "null"};
        for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
                ck_assert_int_eq(parse_entry("\"db\"", "\"db\"", sizes[i], "\"0400\"", OKHASH),
                                 -EINVAL);
        static const char *const modes[] = {"\"0800\"", "\"4755\"", "\"04000\"", "\"abc\"",
                                            "\"\"",     "256",      "\"-400\""};
        for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
                ck_assert_int_eq(parse_entry("\"db\"", "\"db\"", "1", modes[i], OKHASH), -EINVAL);
        static const char *const hashes[] = {
                "\"\"",
                "\"" HEX64 "0\"",
                "\"0123\"",
                "1",
                "\"g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"",
                "\" 123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\""};
        for (size_t i = 0; i < ARRAY_SIZE(hashes); i++)
                ck_assert_int_eq(parse_entry("\"db\"", "\"db\"", "1", "\"0400\"", hashes[i]),
                                 -EINVAL);
}
END_TEST

START_TEST(test_document_rejections) {
        static const char *const bad[] = {
                "",
                "not json",
                "[]",
                "{}",
                "{\"version\":2,\"container\":\"c\",\"generation\":1,\"secrets\":[]}",
                "{\"version\":0,\"container\":\"c\",\"generation\":1,\"secrets\":[]}",
                "{\"version\":\"1\",\"container\":\"c\",\"generation\":1,\"secrets\":[]}",
                "{\"container\":\"c\",\"generation\":1,\"secrets\":[]}",
                "{\"version\":1,\"generation\":1,\"secrets\":[]}",
                "{\"version\":1,\"container\":\"c\",\"secrets\":[]}",
                "{\"version\":1,\"container\":\"c\",\"generation\":1}",
                "{\"version\":1,\"container\":\"c\",\"generation\":0,\"secrets\":[]}",
                "{\"version\":1,\"container\":\"c\",\"generation\":-1,\"secrets\":[]}",
                "{\"version\":1,\"container\":1,\"generation\":1,\"secrets\":[]}",
                "{\"version\":1,\"container\":\"c\",\"generation\":1,\"secrets\":{}}",
                "{\"version\":1,\"container\":\"c\",\"generation\":1,\"secrets\":[1]}",
                "{\"version\":1,\"container\":\"c\",\"generation\":1,\"secrets\":[],\"x\":1}",
                "{\"version\":1,\"version\":1,\"container\":\"c\",\"generation\":1,\"secrets\":[]}",
                "{\"version\":1,\"container\":\"c\",\"generation\":1,\"secrets\":[]",
        };
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                struct manifest *m = NULL;
                ck_assert_msg(parse(bad[i], &m) == -EINVAL, "accepted %s", bad[i]);
                ck_assert_ptr_null(m);
        }
        /* An extra key in an entry (JSON_STRICT). */
        struct manifest *m = NULL;
        ck_assert_int_eq(parse("{\"version\":1,\"container\":\"c\",\"generation\":1,\"secrets\":"
                               "[{\"name\":\"db\",\"file\":\"db\",\"size\":1,\"mode\":\"0400\","
                               "\"blake2b\":\"" HEX64 "\",\"value\":\"x\"}]}",
                               &m),
                         -EINVAL);
        /* A NUL byte inside the document. */
        const char nul[] = "{\"version\":1,\"container\":\"c\0\",\"generation\":1,\"secrets\":[]}";
        ck_assert_int_eq(manifest_parse(nul, sizeof nul - 1, &m), -EINVAL);
}
END_TEST

static char *manifest_with(size_t n, const char *name_fmt, const char *file_fmt,
                           size_t container_len) {
        size_t cap = 256 + container_len + n * 200;
        char *buf = malloc(cap);
        ck_assert_ptr_nonnull(buf);
        size_t len = (size_t)snprintf(buf, cap, "{\"version\":1,\"container\":\"");
        memset(buf + len, 'c', container_len);
        len += container_len;
        len += (size_t)snprintf(buf + len, cap - len, "\",\"generation\":1,\"secrets\":[");
        for (size_t i = 0; i < n; i++) {
                char name[64], file[64];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
                snprintf(name, sizeof name, name_fmt, i);
                snprintf(file, sizeof file, file_fmt, i);
#pragma GCC diagnostic pop
                len += (size_t)snprintf(buf + len, cap - len,
                                        "%s{\"name\":\"%s\",\"file\":\"%s\",\"size\":1,\"mode\":"
                                        "\"0400\",\"blake2b\":\"" HEX64 "\"}",
                                        i ? "," : "", name, file);
        }
        snprintf(buf + len, cap - len, "]}");
        return buf;
}

START_TEST(test_limits_and_duplicates) {
        struct manifest *m = NULL;
        _cleanup_free_ char *max = manifest_with(MANIFEST_MAX_SECRETS, "s%zu", "f%zu", 255);
        ck_assert_int_eq(parse(max, &m), 0);
        ck_assert_uint_eq(m->n_entries, MANIFEST_MAX_SECRETS);
        m = manifest_free(m);
        _cleanup_free_ char *over = manifest_with(MANIFEST_MAX_SECRETS + 1, "s%zu", "f%zu", 1);
        ck_assert_int_eq(parse(over, &m), -EINVAL);
        _cleanup_free_ char *longid = manifest_with(1, "s%zu", "f%zu", 256);
        ck_assert_int_eq(parse(longid, &m), -EINVAL);
        /* Two entries with one name, or two names sharing one file. */
        _cleanup_free_ char *dupname = manifest_with(2, "same", "f%zu", 1);
        ck_assert_int_eq(parse(dupname, &m), -EINVAL);
        _cleanup_free_ char *dupfile = manifest_with(2, "s%zu", "same", 1);
        ck_assert_int_eq(parse(dupfile, &m), -EINVAL);
        /* Larger than MANIFEST_MAX_BYTES, whatever it holds. */
        _cleanup_free_ char *big = manifest_with(1, "s%zu", "f%zu", MANIFEST_MAX_BYTES);
        ck_assert_int_eq(parse(big, &m), -EINVAL);
        ck_assert_ptr_null(m);
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("manifest");
        TCase *tc = tcase_create("manifest");
        tcase_add_test(tc, test_names);
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_design_example);
        tcase_add_test(tc, test_entry_rejections);
        tcase_add_test(tc, test_document_rejections);
        tcase_add_test(tc, test_limits_and_duplicates);
        suite_add_tcase(s, tc);
        return s;
}
