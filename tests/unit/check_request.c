/* SPDX-License-Identifier: Apache-2.0 */
/* The request (DESIGN §4) from annotations and process.env (broker/request/request.c). */
#include "unit.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "manifest.h"
#include "request/oci.h"
#include "request/request.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static json_t *ann(const char *text) {
        json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        ck_assert_ptr_nonnull(j);
        return j;
}

static struct backend_config test_backends[] = {
        {.name = "store"}, {.name = "vault"}, {.name = "keywhiz"}};
static const struct broker_config test_cfg = {
        .default_dir = "/run/secrets",
        .default_mode = 0400,
        .backends = test_backends,
        .n_backends = 3,
};

/* request_build from an annotation object (JSON text, or NULL) and an env list. */
static int build(const char *annotations, char **env, size_t n_env, struct request *r) {
        json_t *a = annotations ? ann(annotations) : NULL;
        int k = request_build(a, env, n_env, &test_cfg, r);
        json_decref(a);
        return k;
}

#define BUILD_ENV(r, ...)                                                                          \
        ({                                                                                         \
                char *_env[] = {__VA_ARGS__};                                                      \
                build(NULL, _env, ARRAY_SIZE(_env), (r));                                          \
        })

/* ---- request ---------------------------------------------------------------------------- */

START_TEST(test_request_annotations) {
        struct request r;
        ck_assert_int_eq(build("{\"io.lockbox.secret.db\":\"vault:secret/app/db#pw\","
                               "\"io.lockbox.secret.api\":\"store:api\","
                               "\"io.lockbox.mode.db\":\"0440\",\"io.lockbox.optional.api\":"
                               "\"true\",\"io.lockbox.dir\":\"/etc/app/secrets\","
                               "\"io.lockbox.uid\":\"1000\",\"io.lockbox.gid\":\"0\","
                               "\"io.lockbox.role\":\"web\",\"io.lockbox.rotate-signal\":"
                               "\"SIGHUP\",\"io.kubernetes.pod.namespace\":\"prod\","
                               "\"io.lockboxer\":\"x\"}",
                               NULL, 0, &r),
                         0);
        ck_assert_uint_eq(r.n_secrets, 2);
        ck_assert_str_eq(r.secrets[0].name, "api");
        ck_assert_str_eq(r.secrets[0].ref_text, "store:api");
        ck_assert_str_eq(r.secrets[0].ref.backend, "store");
        ck_assert_uint_eq(r.secrets[0].mode, 0400);
        ck_assert(r.secrets[0].optional);
        ck_assert_str_eq(r.secrets[1].name, "db");
        ck_assert_str_eq(r.secrets[1].ref.path, "secret/app/db");
        ck_assert_str_eq(r.secrets[1].ref.field, "pw");
        ck_assert_uint_eq(r.secrets[1].mode, 0440);
        ck_assert(!r.secrets[1].optional);
        ck_assert_str_eq(r.dir, "/etc/app/secrets");
        ck_assert(r.uid_set && r.gid_set);
        ck_assert_uint_eq(r.uid, 1000);
        ck_assert_uint_eq(r.gid, 0);
        ck_assert_str_eq(r.role, "web");
        ck_assert_int_eq(r.rotate_signal, SIGHUP);
        request_done(&r);
        ck_assert_ptr_null(r.secrets);
}
END_TEST

START_TEST(test_request_env) {
        struct request r;
        ck_assert_int_eq(BUILD_ENV(&r, "PATH=/bin", "LOCKBOX_SECRET_db=store:db",
                                   "LOCKBOX_MODE_db=640", "LOCKBOX_OPTIONAL_db=false",
                                   "LOCKBOX_DIR=/run/app/", "LOCKBOX_UID=33", "LOCKBOX_ROLE=batch",
                                   "LOCKBOX_ROTATE_SIGNAL=12", "LOCKBOX_FDS=db=3",
                                   "LOCKBOX_NOEQUALS", "lockbox_secret_x=y"),
                         0);
        ck_assert_uint_eq(r.n_secrets, 1);
        ck_assert_str_eq(r.secrets[0].name, "db");
        ck_assert_uint_eq(r.secrets[0].mode, 0640);
        ck_assert(!r.secrets[0].optional);
        ck_assert_str_eq(r.dir, "/run/app");
        ck_assert(r.uid_set);
        ck_assert(!r.gid_set);
        ck_assert_uint_eq(r.uid, 33);
        ck_assert_str_eq(r.role, "batch");
        ck_assert_int_eq(r.rotate_signal, 12);
        request_done(&r);
}
END_TEST

START_TEST(test_request_both_agree) {
        struct request r;
        char *env[] = {"LOCKBOX_SECRET_db=store:db", "LOCKBOX_MODE_db=400",
                       "LOCKBOX_DIR=/run//secrets", "LOCKBOX_ROTATE_SIGNAL=USR2",
                       "LOCKBOX_SECRET_db=store:db"};
        ck_assert_int_eq(build("{\"io.lockbox.secret.db\":\"store:db\",\"io.lockbox.mode.db\":"
                               "\"0400\",\"io.lockbox.dir\":\"/run/secrets/\","
                               "\"io.lockbox.rotate-signal\":\"SIGUSR2\"}",
                               env, ARRAY_SIZE(env), &r),
                         0);
        ck_assert_uint_eq(r.n_secrets, 1);
        ck_assert_str_eq(r.dir, "/run/secrets");
        ck_assert_int_eq(r.rotate_signal, SIGUSR2);
        request_done(&r);
}
END_TEST

START_TEST(test_request_both_conflict) {
        struct request r;
        char *env[] = {"LOCKBOX_SECRET_db=store:other"};
        capture_log();
        ck_assert_int_eq(build("{\"io.lockbox.secret.db\":\"store:db\"}", env, 1, &r), -EINVAL);
        ck_assert_ptr_null(r.secrets);
        const char *log = captured_log();
        ck_assert_ptr_nonnull(strstr(log, "io.lockbox.secret.db"));
        ck_assert_ptr_nonnull(strstr(log, "LOCKBOX_SECRET_db"));
        ck_assert_ptr_null(strstr(log, "store:other"));
        ck_assert_ptr_null(strchr(strchr(log, '\n') + 1, '\n')); /* one line */
}
END_TEST

START_TEST(test_request_conflicts) {
        struct request r;
        char *env_uid[] = {"LOCKBOX_UID=1"};
        ck_assert_int_eq(build("{\"io.lockbox.uid\":\"2\"}", env_uid, 1, &r), -EINVAL);
        char *env_opt[] = {"LOCKBOX_SECRET_a=store:a", "LOCKBOX_OPTIONAL_a=true",
                           "LOCKBOX_OPTIONAL_a=false"};
        ck_assert_int_eq(build(NULL, env_opt, 3, &r), -EINVAL);
        char *env_role[] = {"LOCKBOX_ROLE=a"};
        ck_assert_int_eq(build("{\"io.lockbox.role\":\"b\"}", env_role, 1, &r), -EINVAL);
        char *env_sig[] = {"LOCKBOX_ROTATE_SIGNAL=HUP"};
        ck_assert_int_eq(build("{\"io.lockbox.rotate-signal\":\"USR1\"}", env_sig, 1, &r), -EINVAL);
}
END_TEST

START_TEST(test_request_unknown_key) {
        struct request r;
        capture_log();
        ck_assert_int_eq(build("{\"io.lockbox.secrets.db\":\"store:db\"}", NULL, 0, &r), -EINVAL);
        ck_assert_ptr_nonnull(strstr(captured_log(), "io.lockbox.secrets.db: unknown key"));
        ck_assert_int_eq(BUILD_ENV(&r, "LOCKBOX_SECRETS_db=store:db"), -EINVAL);
        ck_assert_int_eq(BUILD_ENV(&r, "LOCKBOX_=x"), -EINVAL);
        ck_assert_int_eq(BUILD_ENV(&r, "LOCKBOX_DIRECTORY=/x"), -EINVAL);
        ck_assert_int_eq(build("{\"io.lockbox.\":\"x\"}", NULL, 0, &r), -EINVAL);
        ck_assert_int_eq(build("{\"io.lockbox.dir.x\":\"/x\"}", NULL, 0, &r), -EINVAL);
        ck_assert_int_eq(build("{\"io.lockbox.Secret.db\":\"store:db\"}", NULL, 0, &r), -EINVAL);
        ck_assert_ptr_null(strstr(captured_log(), "store:db"));
}
END_TEST

static void check_bad(const char *annotation_key, const char *value, const char *reason) {
        char a[512];
        struct request r;
        capture_log();
        snprintf(a, sizeof a, "{\"io.lockbox.secret.db\":\"store:db\",\"%s\":\"%s\"}",
                 annotation_key, value);
        ck_assert_msg(build(a, NULL, 0, &r) == -EINVAL, "accepted %s=%s", annotation_key, value);
        const char *log = captured_log();
        ck_assert_msg(strstr(log, annotation_key) && strstr(log, reason), "log: %s", log);
        /* A value that did not parse is never repeated: it could be a pasted secret. */
        if (strlen(value) > 2)
                ck_assert_msg(!strstr(log, value), "value echoed: %s", log);
}

START_TEST(test_request_bad_values) {
        check_bad("io.lockbox.mode.db", "7777", "invalid mode (octal permission bits expected)");
        check_bad("io.lockbox.mode.db", "0888", "invalid mode");
        check_bad("io.lockbox.mode.db", "", "invalid mode");
        check_bad("io.lockbox.optional.db", "yes", "true or false");
        check_bad("io.lockbox.uid", "-1", "invalid id");
        check_bad("io.lockbox.uid", "4294967295", "invalid id");
        check_bad("io.lockbox.gid", "0x10", "invalid id");
        check_bad("io.lockbox.dir", "run/secrets", "absolute path expected");
        check_bad("io.lockbox.dir", "/run/../etc", "'..'");
        check_bad("io.lockbox.dir", "/run/./secrets", "'.'");
        check_bad("io.lockbox.dir", "/run/secrets/..", "'..'");
        check_bad("io.lockbox.dir", "/run/sec\\nrets", "control character");
        check_bad("io.lockbox.dir", "/", "root directory");
        check_bad("io.lockbox.dir", "//", "root directory");
        check_bad("io.lockbox.role", "../admin", "invalid role name");
        check_bad("io.lockbox.role", "", "invalid role name");
        check_bad("io.lockbox.rotate-signal", "SIGFOO", "invalid signal");
        check_bad("io.lockbox.rotate-signal", "KILL", "invalid signal");
        check_bad("io.lockbox.rotate-signal", "0", "invalid signal");
        check_bad("io.lockbox.secret.x", "no-colon", "invalid reference");
        check_bad("io.lockbox.secret.x", "vault:secret/../admin", "invalid reference");
        check_bad("io.lockbox.secret.x", "", "invalid reference");
        check_bad("io.lockbox.secret.-x", "store:x", "invalid secret name");
        check_bad("io.lockbox.secret.a/b", "store:x", "invalid secret name");
        check_bad("io.lockbox.secret.", "store:x", "invalid secret name");
        check_bad("io.lockbox.mode.", "0400", "invalid secret name");
}
END_TEST

START_TEST(test_request_bad_env) {
        struct request r;
        capture_log();
        ck_assert_int_eq(BUILD_ENV(&r, "LOCKBOX_SECRET_db=hunter2"), -EINVAL);
        ck_assert_int_eq(BUILD_ENV(&r, "LOCKBOX_SECRET_db=store:db", "LOCKBOX_MODE_db=hunter2"),
                         -EINVAL);
        ck_assert_int_eq(BUILD_ENV(&r, "LOCKBOX_UID=hunter2"), -EINVAL);
        ck_assert_int_eq(BUILD_ENV(&r, "LOCKBOX_DIR="), -EINVAL);
        const char *log = captured_log();
        ck_assert_ptr_nonnull(strstr(log, "env LOCKBOX_SECRET_db: invalid reference"));
        ck_assert_ptr_nonnull(strstr(log, "env LOCKBOX_MODE_db: invalid mode"));
        ck_assert_ptr_nonnull(strstr(log, "env LOCKBOX_UID: invalid id"));
        ck_assert_ptr_nonnull(strstr(log, "env LOCKBOX_DIR: absolute path expected"));
        ck_assert_ptr_null(strstr(log, "hunter2"));
}
END_TEST

START_TEST(test_request_dir_too_long) {
        static char a[PATH_MAX + 128], dir[PATH_MAX + 1];
        struct request r;
        for (size_t i = 0; i < PATH_MAX; i += 8)
                memcpy(dir + i, "/abcdefg", 8);
        dir[PATH_MAX - 1] = '\0'; /* 4095 characters: fits */
        snprintf(a, sizeof a, "{\"io.lockbox.dir\":\"%s\"}", dir);
        ck_assert_int_eq(build(a, NULL, 0, &r), 0);
        request_done(&r);
        memcpy(dir + PATH_MAX - 1, "x", 2);
        snprintf(a, sizeof a, "{\"io.lockbox.dir\":\"%s\"}", dir);
        ck_assert_int_eq(build(a, NULL, 0, &r), -EINVAL);
}
END_TEST

START_TEST(test_request_unknown_secret) {
        struct request r;
        capture_log();
        ck_assert_int_eq(build("{\"io.lockbox.secret.db\":\"store:db\",\"io.lockbox.mode.dv\":"
                               "\"0400\"}",
                               NULL, 0, &r),
                         -EINVAL);
        ck_assert_ptr_nonnull(strstr(captured_log(), "io.lockbox.mode.dv: no secret 'dv'"));
        ck_assert_int_eq(BUILD_ENV(&r, "LOCKBOX_OPTIONAL_db=true"), -EINVAL);
        /* A mode from env for a secret from an annotation is fine. */
        char *env[] = {"LOCKBOX_MODE_db=0600"};
        ck_assert_int_eq(build("{\"io.lockbox.secret.db\":\"store:db\"}", env, 1, &r), 0);
        ck_assert_uint_eq(r.secrets[0].mode, 0600);
        request_done(&r);
}
END_TEST

START_TEST(test_request_none) {
        struct request r;
        ck_assert_int_eq(build(NULL, NULL, 0, &r), 0);
        ck_assert_uint_eq(r.n_secrets, 0);
        ck_assert_str_eq(r.dir, "/run/secrets");
        ck_assert_str_eq(r.role, "default");
        ck_assert_int_eq(r.rotate_signal, SIGUSR1);
        ck_assert(!r.uid_set && !r.gid_set);
        request_done(&r);

        ck_assert_int_eq(build("{\"org.example\":\"1\",\"io.lockbox\":\"x\"}", NULL, 0, &r), 0);
        ck_assert_uint_eq(r.n_secrets, 0);
        request_done(&r);

        ck_assert_int_eq(BUILD_ENV(&r, "HOME=/", "LOCKBOX_FDS=a=3"), 0);
        ck_assert_uint_eq(r.n_secrets, 0);
        request_done(&r);
        /* The shim's options (issue 14) are not the broker's request, and not an error. */
        ck_assert_int_eq(BUILD_ENV(&r, "LOCKBOX_SHIM_WAIT=30", "LOCKBOX_SHIM_OPTIONAL=1",
                                   "LOCKBOX_SECRET_db=store:db"),
                         0);
        ck_assert_uint_eq(r.n_secrets, 1);
        request_done(&r);
}
END_TEST

/* Issue 14: a ref naming no configured backend is a mistake in the request (exit 2), not a
 * denial, and the line says which backends there are. */
START_TEST(test_request_unknown_backend) {
        struct request r;
        capture_log();
        ck_assert_int_eq(build("{\"io.lockbox.secret.db\":\"stor:db\"}", NULL, 0, &r), -EINVAL);
        ck_assert_str_eq(captured_log(), "unit: secret 'db' (stor:db): unknown backend 'stor' "
                                         "(configured: store, vault, keywhiz)\n");
        struct broker_config none = {.default_dir = "/run/secrets"};
        json_t *a = ann("{\"io.lockbox.secret.db\":\"store:db\"}");
        capture_log();
        ck_assert_int_eq(request_build(a, NULL, 0, &none, &r), -EINVAL);
        ck_assert_str_eq(captured_log(), "unit: secret 'db' (store:db): unknown backend 'store' "
                                         "(configured: none)\n");
        json_decref(a);
}
END_TEST

START_TEST(test_request_config_defaults) {
        struct request r;
        struct broker_config cfg = {.default_dir = "/var/run/creds",
                                    .default_mode = 0440,
                                    .backends = test_backends,
                                    .n_backends = 1};
        json_t *a = ann("{\"io.lockbox.secret.x\":\"store:x\"}");
        ck_assert_int_eq(request_build(a, NULL, 0, &cfg, &r), 0);
        ck_assert_str_eq(r.dir, "/var/run/creds");
        ck_assert_uint_eq(r.secrets[0].mode, 0440);
        request_done(&r);
        json_decref(a);
}
END_TEST

START_TEST(test_request_sorted) {
        struct request r;
        ck_assert_int_eq(build("{\"io.lockbox.secret.zeta\":\"store:z\",\"io.lockbox.secret.B\":"
                               "\"store:b\",\"io.lockbox.secret.alpha\":\"store:a\"}",
                               NULL, 0, &r),
                         0);
        ck_assert_uint_eq(r.n_secrets, 3);
        ck_assert_str_eq(r.secrets[0].name, "B");
        ck_assert_str_eq(r.secrets[1].name, "alpha");
        ck_assert_str_eq(r.secrets[2].name, "zeta");
        request_done(&r);

        ck_assert_int_eq(BUILD_ENV(&r, "LOCKBOX_SECRET_c=store:c", "LOCKBOX_SECRET_a.b=store:ab",
                                   "LOCKBOX_SECRET_a=store:a", "LOCKBOX_SECRET_a-b=store:a-b"),
                         0);
        ck_assert_str_eq(r.secrets[0].name, "a");
        ck_assert_str_eq(r.secrets[1].name, "a-b");
        ck_assert_str_eq(r.secrets[2].name, "a.b");
        ck_assert_str_eq(r.secrets[3].name, "c");
        request_done(&r);
}
END_TEST

START_TEST(test_request_max_secrets) {
        char *env[MANIFEST_MAX_SECRETS + 1];
        struct request r;
        for (size_t i = 0; i < ARRAY_SIZE(env); i++)
                ck_assert_int_ge(asprintf(&env[i], "LOCKBOX_SECRET_s%03zu=store:s%zu", i, i), 0);
        ck_assert_int_eq(build(NULL, env, MANIFEST_MAX_SECRETS, &r), 0);
        ck_assert_uint_eq(r.n_secrets, MANIFEST_MAX_SECRETS);
        ck_assert_str_eq(r.secrets[MANIFEST_MAX_SECRETS - 1].name, "s255");
        request_done(&r);
        ck_assert_int_eq(build(NULL, env, ARRAY_SIZE(env), &r), -EINVAL);
        for (size_t i = 0; i < ARRAY_SIZE(env); i++)
                free(env[i]);
}
END_TEST

START_TEST(test_request_non_string) {
        struct request r;
        json_t *a = json_pack("{s:i}", "io.lockbox.uid", 0);
        ck_assert_int_eq(request_build(a, NULL, 0, &test_cfg, &r), -EINVAL);
        json_decref(a);
        a = json_pack("{s:i}", "org.other", 0);
        ck_assert_int_eq(request_build(a, NULL, 0, &test_cfg, &r), 0);
        request_done(&r);
        json_decref(a);
        a = json_array();
        ck_assert_int_eq(request_build(a, NULL, 0, &test_cfg, &r), -EINVAL);
        json_decref(a);
        char *env[] = {NULL, "LOCKBOX_SECRET_a=store:a"};
        ck_assert_int_eq(request_build(NULL, env, 2, &test_cfg, &r), 0);
        ck_assert_uint_eq(r.n_secrets, 1);
        request_done(&r);
}
END_TEST

/* The hook's path end to end: state annotations, config.json env, one request. */
START_TEST(test_request_from_config) {
        struct oci_config c;
        struct request r;
        const char *text = "{\"root\":{\"path\":\"rootfs\"},\"process\":{\"env\":"
                           "[\"LOCKBOX_SECRET_db=vault:secret/db@3\"]},"
                           "\"annotations\":{\"io.lockbox.secret.db\":\"vault:secret/db@3\"}}";
        ck_assert_int_eq(oci_config_parse(text, strlen(text), "/b", &c), 0);
        ck_assert_int_eq(request_build(c.annotations, c.env, c.n_env, &test_cfg, &r), 0);
        ck_assert_uint_eq(r.n_secrets, 1);
        ck_assert_str_eq(r.secrets[0].ref.version, "3");
        request_done(&r);
        oci_config_done(&c);
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("request");
        TCase *tc = tcase_create("request");
        tcase_add_test(tc, test_request_annotations);
        tcase_add_test(tc, test_request_env);
        tcase_add_test(tc, test_request_both_agree);
        tcase_add_test(tc, test_request_both_conflict);
        tcase_add_test(tc, test_request_conflicts);
        tcase_add_test(tc, test_request_unknown_key);
        tcase_add_test(tc, test_request_bad_values);
        tcase_add_test(tc, test_request_bad_env);
        tcase_add_test(tc, test_request_dir_too_long);
        tcase_add_test(tc, test_request_unknown_secret);
        tcase_add_test(tc, test_request_none);
        tcase_add_test(tc, test_request_unknown_backend);
        tcase_add_test(tc, test_request_config_defaults);
        tcase_add_test(tc, test_request_sorted);
        tcase_add_test(tc, test_request_max_secrets);
        tcase_add_test(tc, test_request_non_string);
        tcase_add_test(tc, test_request_from_config);
        suite_add_tcase(s, tc);
        return s;
}
