/* SPDX-License-Identifier: Apache-2.0 */
/* The Vault backend's paths and replies (vault_kv.c): pure, no server needed. */
#include <string.h>

#include "fetch/vault_kv.h"
#include "request/ref.h"
#include "unit.h"

/* ---- ref -> URL ---------------------------------------------------------------------------- */

static struct vault_mount mount_of(const char *path, int kv_version) {
        return (struct vault_mount){.path = (char *)path, .kv_version = kv_version};
}

/* The API path for ref under m, or NULL with the error in *err. */
static char *path_for(const char *ref_text, const struct vault_mount *m, int *err) {
        struct ref ref;
        char *out = NULL;
        const char *why = NULL;
        ck_assert_int_eq(ref_parse(ref_text, &ref), 0);
        *err = vault_read_path(&ref, m, &out, &why);
        if (*err < 0)
                ck_assert_ptr_nonnull(why);
        ref_done(&ref);
        return out;
}

static void assert_path(const char *ref_text, const struct vault_mount *m, const char *want) {
        int err;
        char *got = path_for(ref_text, m, &err);
        ck_assert_int_eq(err, 0);
        ck_assert_str_eq(got, want);
        free(got);
}

START_TEST(test_path_kv1) {
        struct vault_mount m = mount_of("kv1/", 1);
        assert_path("vault:kv1/app/api", &m, "kv1/app/api");
        assert_path("vault:kv1/app/api#key", &m, "kv1/app/api");
        /* A version needs KV v2. */
        int err;
        ck_assert_ptr_null(path_for("vault:kv1/app/api@2", &m, &err));
        ck_assert_int_eq(err, -EINVAL);
}
END_TEST

START_TEST(test_path_kv2) {
        struct vault_mount m = mount_of("secret/", 2);
        assert_path("vault:secret/app/db", &m, "secret/data/app/db");
        assert_path("vault:secret/app/db#password", &m, "secret/data/app/db");
        assert_path("vault:secret/app/db@3", &m, "secret/data/app/db?version=3");
        assert_path("vault:secret/app/db#pw@12", &m, "secret/data/app/db?version=12");
        /* The mount itself is not a secret. */
        int err;
        ck_assert_ptr_null(path_for("vault:secret", &m, &err));
        ck_assert_int_eq(err, -EINVAL);
}
END_TEST

START_TEST(test_path_kv2_nested_and_namespaced) {
        struct vault_mount team = mount_of("team/kv/", 2);
        assert_path("vault:team/kv/x/y", &team, "team/kv/data/x/y");
        /* A namespace in front of the mount's path, as Vault names it when the request's path
         * carried the namespace. */
        struct vault_mount ns = mount_of("ns1/secret/", 2);
        assert_path("vault:secret/app/db", &ns, "secret/data/app/db");
        assert_path("vault:ns1/secret/app/db", &ns, "ns1/secret/data/app/db");
        /* A mount that does not hold the path is refused rather than guessed. */
        struct vault_mount other = mount_of("other/", 2);
        int err;
        ck_assert_ptr_null(path_for("vault:secret/app/db", &other, &err));
        ck_assert_int_eq(err, -EINVAL);
}
END_TEST

START_TEST(test_path_unknown_mount) {
        /* Preflight refused (403/404): read the path as given, like the vault CLI. */
        assert_path("vault:database/creds/app#password", NULL, "database/creds/app");
        int err;
        ck_assert_ptr_null(path_for("vault:secret/app/db@2", NULL, &err));
        ck_assert_int_eq(err, -EINVAL);
}
END_TEST

START_TEST(test_path_escaped) {
        struct vault_mount m = mount_of("secret/", 2);
        /* Anything but unreserved characters and '/' is %-encoded: the server decodes it into
         * the same path, never into a query or another segment. */
        assert_path("vault:secret/a\"b<c>", &m, "secret/data/a%22b%3Cc%3E");
        assert_path("vault:secret/caf\xc3\xa9", &m, "secret/data/caf%C3%A9");
        assert_path("vault:secret/a+b=c&d", &m, "secret/data/a%2Bb%3Dc%26d");
}
END_TEST

START_TEST(test_mount_covers) {
        struct vault_mount m = mount_of("secret/", 2);
        ck_assert(vault_mount_covers(&m, "secret/app"));
        ck_assert(!vault_mount_covers(&m, "secretx/app"));
        ck_assert(!vault_mount_covers(&m, "kv1/app"));
        struct vault_mount unknown = {.key = "database/creds/app", .key_len = 8};
        ck_assert(vault_mount_covers(&unknown, "database/creds/app"));
        ck_assert(!vault_mount_covers(&unknown, "databases/x"));
}
END_TEST

/* ---- replies ------------------------------------------------------------------------------- */

static int parse_mount(const char *body, struct vault_mount *m) {
        *m = (struct vault_mount){0};
        return vault_parse_mount(body, strlen(body), m);
}

START_TEST(test_mount_versions) {
        struct vault_mount m;
        ck_assert_int_eq(parse_mount("{\"data\":{\"path\":\"secret/\",\"type\":\"kv\","
                                     "\"options\":{\"version\":\"2\"}}}",
                                     &m),
                         0);
        ck_assert_str_eq(m.path, "secret/");
        ck_assert_int_eq(m.kv_version, 2);
        vault_mount_done(&m);
        ck_assert_int_eq(parse_mount("{\"data\":{\"path\":\"kv1/\",\"type\":\"kv\","
                                     "\"options\":{\"version\":\"1\"}}}",
                                     &m),
                         0);
        ck_assert_int_eq(m.kv_version, 1);
        vault_mount_done(&m);
        /* options null (an old KV, or any other engine): version 1, the path as given. */
        ck_assert_int_eq(parse_mount("{\"data\":{\"path\":\"database/\",\"type\":\"database\","
                                     "\"options\":null}}",
                                     &m),
                         0);
        ck_assert_int_eq(m.kv_version, 1);
        ck_assert_str_eq(m.type, "database");
        vault_mount_done(&m);
        ck_assert_int_eq(parse_mount("{\"data\":{\"type\":\"kv\"}}", &m), -EBADMSG);
        vault_mount_done(&m);
        ck_assert_int_eq(parse_mount("not json", &m), -EBADMSG);
        vault_mount_done(&m);
}
END_TEST

struct parsed {
        int r;
        struct vault_read read;
        char why[256];
};

static struct parsed parse(long status, const char *body, bool kv2, const char *field) {
        struct parsed p = {0};
        p.r = vault_parse_read(status, body, body ? strlen(body) : 0, kv2, field, NULL, &p.read,
                               p.why, sizeof p.why);
        return p;
}

static void assert_value(struct parsed *p, const char *want) {
        ck_assert_int_eq(p->r, 0);
        ck_assert_ptr_nonnull(p->read.value);
        ck_assert_uint_eq(secret_size(p->read.value), strlen(want));
        ck_assert(memcmp(secret_cdata(p->read.value), want, strlen(want)) == 0);
}

static const char kv2_reply[] =
        "{\"request_id\":\"r\",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0,"
        "\"data\":{\"data\":{\"password\":\"hunter2\",\"port\":5432,\"user\":\"app\"},"
        "\"metadata\":{\"created_time\":\"2026-01-01T00:00:00Z\",\"custom_metadata\":null,"
        "\"deletion_time\":\"\",\"destroyed\":false,\"version\":3}},"
        "\"wrap_info\":null,\"warnings\":null,\"auth\":null,\"mount_type\":\"kv\"}\n";

START_TEST(test_read_kv2) {
        struct parsed p = parse(200, kv2_reply, true, "password");
        assert_value(&p, "hunter2");
        ck_assert_str_eq(p.read.version, "3");
        ck_assert_ptr_null(p.read.lease_id);
        vault_read_done(&p.read);

        p = parse(200, kv2_reply, true, NULL);
        assert_value(&p, "{\"password\":\"hunter2\",\"port\":5432,\"user\":\"app\"}");
        vault_read_done(&p.read);

        p = parse(200, kv2_reply, true, "port");
        assert_value(&p, "5432");
        vault_read_done(&p.read);

        p = parse(200, kv2_reply, true, "nope");
        ck_assert_int_eq(p.r, -ENOENT);
        ck_assert_str_eq(p.why, "no field 'nope' in the secret");
        ck_assert_ptr_null(p.read.value);
}
END_TEST

START_TEST(test_read_kv1_and_lease) {
        struct parsed p = parse(200,
                                "{\"lease_id\":\"\",\"lease_duration\":2764800,"
                                "\"data\":{\"key\":\"k1\"}}",
                                false, NULL);
        assert_value(&p, "{\"key\":\"k1\"}");
        /* KV v1's lease_duration is a refresh hint, not a lease. */
        ck_assert_ptr_null(p.read.lease_id);
        ck_assert_ptr_null(p.read.version);
        vault_read_done(&p.read);

        p = parse(200,
                  "{\"lease_id\":\"database/creds/app/AbC\",\"renewable\":true,"
                  "\"lease_duration\":3600,\"data\":{\"password\":\"x-y\",\"username\":\"v-a\"}}",
                  false, "username");
        assert_value(&p, "v-a");
        ck_assert_str_eq(p.read.lease_id, "database/creds/app/AbC");
        ck_assert_int_eq(p.read.lease_duration, 3600);
        vault_read_done(&p.read);
}
END_TEST

START_TEST(test_read_missing_deleted_destroyed) {
        struct parsed p = parse(404, "{\"errors\":[]}\n", true, NULL);
        ck_assert_int_eq(p.r, -ENOENT);
        ck_assert_str_eq(p.why, "no such secret (404)");

        /* logical.RespondWithStatusCode: the whole envelope as the 404's body. */
        p = parse(404,
                  "{\"request_id\":\"r\",\"lease_id\":\"\",\"renewable\":false,"
                  "\"lease_duration\":0,\"data\":{\"data\":null,\"metadata\":{\"created_time\":"
                  "\"2026-01-01T00:00:00Z\",\"custom_metadata\":null,\"deletion_time\":"
                  "\"2026-01-02T00:00:00Z\",\"destroyed\":false,\"version\":2}},"
                  "\"wrap_info\":null,\"warnings\":null,\"auth\":null}",
                  true, "v");
        ck_assert_int_eq(p.r, -ENOENT);
        ck_assert_str_eq(p.why, "version 2 deleted");

        p = parse(404,
                  "{\"data\":{\"data\":null,\"metadata\":{\"deletion_time\":\"\","
                  "\"destroyed\":true,\"version\":3}}}",
                  true, NULL);
        ck_assert_int_eq(p.r, -ENOENT);
        ck_assert_str_eq(p.why, "version 3 destroyed");

        /* No mount there: not a missing secret's wording. */
        p = parse(404,
                  "{\"errors\":[\"no handler for route \\\"nope/x\\\". route entry not "
                  "found.\"]}",
                  false, NULL);
        ck_assert_int_eq(p.r, -ENOENT);
        ck_assert_str_eq(p.why, "no such mount (404)");
}
END_TEST

START_TEST(test_read_errors_and_malformed) {
        struct parsed p =
                parse(403, "{\"errors\":[\"1 error occurred:\\n\\t* permission denied\\n\\n\"]}",
                      true, NULL);
        ck_assert_int_eq(p.r, -EACCES);
        ck_assert_str_eq(p.why, "permission denied (403)");

        p = parse(503, "{\"errors\":[\"Vault is sealed\"]}", true, NULL);
        ck_assert_int_eq(p.r, -EIO);
        ck_assert_str_eq(p.why, "Vault is sealed (503)");

        p = parse(200, "{\"data\":{\"data\":{\"pw\":\"x\"", true, "pw");
        ck_assert_int_eq(p.r, -EBADMSG);
        ck_assert_ptr_null(p.read.value);
        p = parse(200, "{\"data\":\"text\"}", false, NULL);
        ck_assert_int_eq(p.r, -EBADMSG);
        p = parse(200, "{\"data\":{\"data\":null}}", true, NULL);
        ck_assert_int_eq(p.r, -EBADMSG);
        p = parse(200, "{\"data\":{\"a\":1,\"a\":2}}", false, NULL);
        ck_assert_int_eq(p.r, -EBADMSG);
        p = parse(200, "", false, NULL);
        ck_assert_int_eq(p.r, -EBADMSG);
        p = parse(500, "<html>oops</html>", false, NULL);
        ck_assert_int_eq(p.r, -EIO);
        ck_assert_str_eq(p.why, "internal server error (500)");
}
END_TEST

START_TEST(test_read_oversized) {
        /* More than the response cap: refused by the parser too, whatever the HTTP layer let
         * through. */
        size_t n = HTTP_MAX_RESPONSE_DEFAULT + 64;
        char *body = malloc(n + 1);
        ck_assert_ptr_nonnull(body);
        int len = snprintf(body, n + 1, "{\"data\":{\"pw\":\"x\",\"padding\":\"");
        memset(body + len, 'a', n - (size_t)len - 3);
        memcpy(body + n - 3, "\"}}", 4);
        struct vault_read out = {0};
        char why[128];
        int r = vault_parse_read(200, body, n, false, "pw", NULL, &out, why, sizeof why);
        ck_assert_int_eq(r, -EBADMSG);
        ck_assert_ptr_null(out.value);
        free(body);
}
END_TEST

/* Whatever a server puts in its errors, only fixed phrases come out. */
START_TEST(test_error_message_never_quotes) {
        static const struct {
                long status;
                const char *body, *want;
        } cases[] = {
                {400, "{\"errors\":[\"invalid secret id \\\"lbx-canary-sid\\\"\"]}",
                 "bad request (400)"},
                {400, "{\"errors\":[\"invalid role or secret ID\"]}",
                 "invalid role or secret ID (400)"},
                {500, "{\"errors\":[\"value lbx-canary-value was rejected\"]}",
                 "internal server error (500)"},
                {403,
                 "{\"errors\":[\"preflight capability check returned 403, please ensure "
                 "client's policies grant access to path \\\"lbx-canary/\\\"\"]}",
                 "permission denied (403)"},
                {429,
                 "{\"errors\":[\"request path \\\"lbx-canary/x\\\": rate limit quota "
                 "exceeded\"]}",
                 "rate limit quota exceeded (429)"},
                {429, "{\"errors\":[\"request path \\\"lbx-canary/x\\\": something else\"]}",
                 "too many requests (429)"},
                {400, "{\"errors\":[\"invalid role name \\\"lbx-canary\\\"\"]}",
                 "no such role (400)"},
                {502, "lbx-canary in plain text", "bad gateway (502)"},
                {418, "{\"errors\":\"lbx-canary\"}", "unexpected status (418)"},
                {403, "{\"errors\":[42,\"permission denied\"]}", "permission denied (403)"},
        };
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                char buf[128];
                vault_error_message(cases[i].status, cases[i].body, strlen(cases[i].body), buf,
                                    sizeof buf);
                ck_assert_str_eq(buf, cases[i].want);
                ck_assert_ptr_null(strstr(buf, "lbx-canary"));
        }
}
END_TEST

START_TEST(test_login_and_unwrap) {
        _cleanup_secret_ struct secret *tok = NULL, *sid = NULL;
        int64_t ttl, uses;
        const char login[] = "{\"auth\":{\"client_token\":\"hvs.ABC\",\"accessor\":\"a\","
                             "\"lease_duration\":1200,\"renewable\":true,\"num_uses\":0}}";
        ck_assert_int_eq(vault_parse_login(login, strlen(login), &tok, &ttl, &uses), 0);
        ck_assert_uint_eq(secret_size(tok), 7);
        ck_assert(memcmp(secret_cdata(tok), "hvs.ABC", 7) == 0);
        ck_assert_int_eq(ttl, 1200);
        ck_assert_int_eq(uses, 0);
        const char bad[] = "{\"auth\":{\"client_token\":\"a b\"}}";
        struct secret *none = NULL;
        ck_assert_int_eq(vault_parse_login(bad, strlen(bad), &none, &ttl, &uses), -EBADMSG);
        ck_assert_int_eq(vault_parse_login("{\"auth\":null}", 13, &none, &ttl, &uses), -EBADMSG);
        const char unwrap[] = "{\"data\":{\"secret_id\":\"s-1\",\"secret_id_accessor\":\"x\"}}";
        ck_assert_int_eq(vault_parse_unwrap(unwrap, strlen(unwrap), &sid), 0);
        ck_assert_uint_eq(secret_size(sid), 3);
}
END_TEST

START_TEST(test_json_body) {
        _cleanup_secret_ struct secret *b = NULL;
        const char *keys[] = {"role_id", "secret_id"};
        const void *values[] = {"r\"1", "s\\2"};
        size_t sizes[] = {3, 3};
        ck_assert_int_eq(vault_json_body(&b, 2, keys, values, sizes), 0);
        const char want[] = "{\"role_id\":\"r\\\"1\",\"secret_id\":\"s\\\\2\"}";
        ck_assert_uint_eq(secret_size(b), strlen(want));
        ck_assert(memcmp(secret_cdata(b), want, strlen(want)) == 0);
        /* Not UTF-8: refused, not mangled. */
        const void *bad[] = {"\xff", "x"};
        size_t bad_sizes[] = {1, 1};
        struct secret *none = NULL;
        ck_assert_int_eq(vault_json_body(&none, 2, keys, bad, bad_sizes), -EINVAL);
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("vault_kv");
        TCase *tc = tcase_create("paths");
        tcase_add_test(tc, test_path_kv1);
        tcase_add_test(tc, test_path_kv2);
        tcase_add_test(tc, test_path_kv2_nested_and_namespaced);
        tcase_add_test(tc, test_path_unknown_mount);
        tcase_add_test(tc, test_path_escaped);
        tcase_add_test(tc, test_mount_covers);
        suite_add_tcase(s, tc);

        tc = tcase_create("replies");
        tcase_add_test(tc, test_mount_versions);
        tcase_add_test(tc, test_read_kv2);
        tcase_add_test(tc, test_read_kv1_and_lease);
        tcase_add_test(tc, test_read_missing_deleted_destroyed);
        tcase_add_test(tc, test_read_errors_and_malformed);
        tcase_add_test(tc, test_read_oversized);
        tcase_add_test(tc, test_error_message_never_quotes);
        tcase_add_test(tc, test_login_and_unwrap);
        tcase_add_test(tc, test_json_body);
        suite_add_tcase(s, tc);
        return s;
}
