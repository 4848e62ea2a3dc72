/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "request/config.h"
#include "fdutil.h"
#include "request/policy.h"
#include "unit.h"

static const char policy_json[] =
        "{\"backends\": {\"store\": {\"type\": \"store\"}, \"storex\": {\"type\": \"store\"},"
        "  \"vault\": {\"type\": \"vault\"}, \"keywhiz\": {\"type\": \"keywhiz\"}},"
        " \"roles\": ["
        "  {\"name\": \"default\", \"allow\": [\"store:*\"]},"
        "  {\"name\": \"web\", \"when\": {\"annotations\": "
        "     {\"example.com/tier\": \"^prod$\"}},"
        "   \"allow\": [\"vault:secret/web/*\"]},"
        "  {\"name\": \"envrole\", \"when\": {\"env\": {\"APP_ENV\": \"^prod$\"}},"
        "   \"allow\": [\"vault:secret/exact\"]},"
        "  {\"name\": \"both\", \"when\": {\"annotations\": {\"team\": \"^(a|b)$\"},"
        "     \"env\": {\"TIER\": \"^front\"}}, \"allow\": [\"keywhiz:*\"]},"
        "  {\"name\": \"globs\", \"allow\": [\"vault:secret/a?c\", \"keywhiz:[ab]*\","
        "     \"vault:kv/\\\\*\"]},"
        "  {\"name\": \"none\", \"allow\": []}"
        " ]}";

static struct broker_config *load(void) {
        struct broker_config *c = NULL;
        ck_assert_int_eq(config_parse(policy_json, strlen(policy_json), "test", &c), 0);
        return c;
}

static int check(const struct broker_config *c, const char *role_name, const char *ref_text) {
        const struct role *role = config_find_role(c, role_name);
        ck_assert_ptr_nonnull(role);
        struct ref ref;
        ck_assert_msg(ref_parse(ref_text, &ref) == 0, "bad ref %s", ref_text);
        int r = policy_check_ref(role, &ref);
        ref_done(&ref);
        return r;
}

START_TEST(test_store_glob) {
        _cleanup_config_ struct broker_config *c = load();
        ck_assert_int_eq(check(c, "default", "store:db"), 0);
        ck_assert_int_eq(check(c, "default", "store:a.b-c"), 0);
        /* The ':' after the backend name is literal: other backends never match. */
        ck_assert_int_eq(check(c, "default", "vault:x"), -EACCES);
        ck_assert_int_eq(check(c, "default", "vault:store"), -EACCES);
        ck_assert_int_eq(check(c, "default", "storex:db"), -EACCES);
        ck_assert_int_eq(check(c, "default", "keywhiz:db"), -EACCES);
}
END_TEST

/* fnmatch without FNM_PATHNAME: '*' crosses '/', so a trailing '*' allows a whole subtree. */
START_TEST(test_subtree_glob) {
        _cleanup_config_ struct broker_config *c = load();
        ck_assert_int_eq(check(c, "web", "vault:secret/web/a"), 0);
        ck_assert_int_eq(check(c, "web", "vault:secret/web/a/b"), 0);
        ck_assert_int_eq(check(c, "web", "vault:secret/web/a#pw@2"), 0);
        ck_assert_int_eq(check(c, "web", "vault:secret/web"), -EACCES);
        ck_assert_int_eq(check(c, "web", "vault:secret/webx/a"), -EACCES);
        ck_assert_int_eq(check(c, "web", "vault:secret/other/web/a"), -EACCES);
        ck_assert_int_eq(check(c, "web", "store:secret/web/a"), -EACCES);
}
END_TEST

START_TEST(test_exact_and_field) {
        _cleanup_config_ struct broker_config *c = load();
        /* Field and version are not matched: the path decides. */
        ck_assert_int_eq(check(c, "envrole", "vault:secret/exact"), 0);
        ck_assert_int_eq(check(c, "envrole", "vault:secret/exact#pw"), 0);
        ck_assert_int_eq(check(c, "envrole", "vault:secret/exact#pw@4"), 0);
        ck_assert_int_eq(check(c, "envrole", "vault:secret/exact/sub"), -EACCES);
        ck_assert_int_eq(check(c, "envrole", "vault:secret/exactx"), -EACCES);
        ck_assert_int_eq(check(c, "envrole", "vault:secret/exac"), -EACCES);
}
END_TEST

START_TEST(test_other_globs) {
        _cleanup_config_ struct broker_config *c = load();
        ck_assert_int_eq(check(c, "globs", "vault:secret/abc"), 0);
        ck_assert_int_eq(check(c, "globs", "vault:secret/a/c"), 0); /* '?' crosses '/' too */
        ck_assert_int_eq(check(c, "globs", "vault:secret/ac"), -EACCES);
        ck_assert_int_eq(check(c, "globs", "keywhiz:alpha"), 0);
        ck_assert_int_eq(check(c, "globs", "keywhiz:beta"), 0);
        ck_assert_int_eq(check(c, "globs", "keywhiz:gamma"), -EACCES);
        /* An escaped '*' is literal: only a path that is really "kv/\*" would match. */
        ck_assert_int_eq(check(c, "globs", "vault:kv/x"), -EACCES);
        ck_assert_int_eq(check(c, "none", "store:db"), -EACCES);
        ck_assert_int_eq(check(c, "none", "vault:x"), -EACCES);
}
END_TEST

static int select_role(const struct broker_config *c, const char *name, const char *annotations,
                       char *const *env, size_t n_env) {
        _cleanup_json_ json_t *a = NULL;
        if (annotations) {
                json_error_t jerr;
                a = json_loads(annotations, 0, &jerr);
                ck_assert_ptr_nonnull(a);
        }
        const struct role *role = NULL;
        int r = policy_select_role(c, name, a, env, n_env, NULL, &role);
        if (r == 0) {
                ck_assert_ptr_nonnull(role);
                ck_assert_str_eq(role->name, name ? name : "default");
        }
        return r;
}

START_TEST(test_select_annotations) {
        _cleanup_config_ struct broker_config *c = load();
        ck_assert_int_eq(select_role(c, "default", NULL, NULL, 0), 0);
        ck_assert_int_eq(select_role(c, NULL, NULL, NULL, 0), 0);
        ck_assert_int_eq(select_role(c, "nosuch", NULL, NULL, 0), -EACCES);
        ck_assert_int_eq(select_role(c, "web", "{\"example.com/tier\": \"prod\"}", NULL, 0), 0);
        ck_assert_int_eq(select_role(c, "web", "{\"example.com/tier\": \"prod2\"}", NULL, 0),
                         -EACCES);
        ck_assert_int_eq(select_role(c, "web", "{\"example.com/tier\": \"\"}", NULL, 0), -EACCES);
        /* Missing key, no annotations at all, or a value that is not a string: all deny. */
        ck_assert_int_eq(select_role(c, "web", "{\"other\": \"prod\"}", NULL, 0), -EACCES);
        ck_assert_int_eq(select_role(c, "web", NULL, NULL, 0), -EACCES);
        ck_assert_int_eq(select_role(c, "web", "{\"example.com/tier\": [\"prod\"]}", NULL, 0),
                         -EACCES);
        /* An env entry of the same name does not stand in for an annotation. */
        char *env[] = {"example.com/tier=prod"};
        ck_assert_int_eq(select_role(c, "web", NULL, env, 1), -EACCES);
}
END_TEST

START_TEST(test_select_env) {
        _cleanup_config_ struct broker_config *c = load();
        char *ok[] = {"PATH=/bin", "APP_ENV=prod"};
        char *dev[] = {"APP_ENV=dev"};
        char *prefix[] = {"APP_ENVX=prod", "APP_EN=prod", "APP_ENV"};
        char *twice[] = {"APP_ENV=prod", "APP_ENV=dev"};
        char *twice_ok[] = {"APP_ENV=prod", "APP_ENV=prod"};
        ck_assert_int_eq(select_role(c, "envrole", NULL, ok, 2), 0);
        ck_assert_int_eq(select_role(c, "envrole", NULL, dev, 1), -EACCES);
        ck_assert_int_eq(select_role(c, "envrole", NULL, prefix, 3), -EACCES);
        ck_assert_int_eq(select_role(c, "envrole", NULL, twice, 2), -EACCES);
        ck_assert_int_eq(select_role(c, "envrole", NULL, twice_ok, 2), 0);
        ck_assert_int_eq(select_role(c, "envrole", NULL, NULL, 0), -EACCES);
        /* n_env bounds the array: an entry past it does not count. */
        ck_assert_int_eq(select_role(c, "envrole", NULL, ok, 1), -EACCES);
        /* An annotation of the same name does not stand in for an env entry. */
        ck_assert_int_eq(select_role(c, "envrole", "{\"APP_ENV\": \"prod\"}", NULL, 0), -EACCES);
}
END_TEST

START_TEST(test_select_all_must_match) {
        _cleanup_config_ struct broker_config *c = load();
        char *front[] = {"TIER=frontend"};
        char *back[] = {"TIER=backend"};
        ck_assert_int_eq(select_role(c, "both", "{\"team\": \"a\"}", front, 1), 0);
        ck_assert_int_eq(select_role(c, "both", "{\"team\": \"b\"}", front, 1), 0);
        ck_assert_int_eq(select_role(c, "both", "{\"team\": \"c\"}", front, 1), -EACCES);
        ck_assert_int_eq(select_role(c, "both", "{\"team\": \"a\"}", back, 1), -EACCES);
        ck_assert_int_eq(select_role(c, "both", "{\"team\": \"a\"}", NULL, 0), -EACCES);
        ck_assert_int_eq(select_role(c, "both", NULL, front, 1), -EACCES);
}
END_TEST

/* Run select with the log redirected into a file; return what was logged. */
static char *logged_select(const struct broker_config *c, const char *name, const char *annotations,
                           int *ret_r) {
        char path[] = "/tmp/lbx-policy-log-XXXXXX";
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        unlink(path);
        log_set_fd(fd);
        *ret_r = select_role(c, name, annotations, NULL, 0);
        log_set_fd(STDERR_FILENO);
        char *out = NULL;
        ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
        char buf[4096];
        ssize_t n = read_full(fd, buf, sizeof buf - 1);
        ck_assert_int_ge(n, 0);
        buf[n] = '\0';
        out = strdup(buf);
        close(fd);
        return out;
}

START_TEST(test_deny_message) {
        _cleanup_config_ struct broker_config *c = load();
        int r;
        _cleanup_free_ char *log1 =
                logged_select(c, "web", "{\"example.com/tier\": \"hunter2-value\"}", &r);
        ck_assert_int_eq(r, -EACCES);
        ck_assert_str_eq(log1, "unit: role 'web': annotation example.com/tier does not "
                               "match ^prod$\n");
        ck_assert_ptr_null(strstr(log1, "hunter2"));

        _cleanup_free_ char *log2 = logged_select(c, "web", "{}", &r);
        ck_assert_int_eq(r, -EACCES);
        ck_assert_ptr_nonnull(strstr(log2, "role 'web': annotation example.com/tier"));
        ck_assert_ptr_nonnull(strstr(log2, "not set"));

        _cleanup_free_ char *log3 = logged_select(c, "nosuch", NULL, &r);
        ck_assert_int_eq(r, -EACCES);
        ck_assert_ptr_nonnull(strstr(log3, "role 'nosuch': no such role"));

        _cleanup_free_ char *log4 = logged_select(c, "web", "{\"example.com/tier\": \"prod\"}", &r);
        ck_assert_int_eq(r, 0);
        ck_assert_str_eq(log4, "");
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("policy");
        TCase *tc = tcase_create("check_ref");
        tcase_add_test(tc, test_store_glob);
        tcase_add_test(tc, test_subtree_glob);
        tcase_add_test(tc, test_exact_and_field);
        tcase_add_test(tc, test_other_globs);
        suite_add_tcase(s, tc);
        tc = tcase_create("select_role");
        tcase_add_test(tc, test_select_annotations);
        tcase_add_test(tc, test_select_env);
        tcase_add_test(tc, test_select_all_must_match);
        tcase_add_test(tc, test_deny_message);
        suite_add_tcase(s, tc);
        return s;
}
