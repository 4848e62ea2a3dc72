/* SPDX-License-Identifier: Apache-2.0 */
#include "unit.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "manifest.h"
#include "request/oci.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static int state_parse_str(const char *s, struct oci_state *st) {
        return oci_state_parse(s, strlen(s), st);
}

static int config_parse_str(const char *s, struct oci_config *c) {
        return oci_config_parse(s, strlen(s), "/b", c);
}

/* ---- state ------------------------------------------------------------------------------ */

START_TEST(test_state_runc) {
        struct oci_state st;
        const char *s = "{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"creating\","
                        "\"pid\":1234,\"bundle\":\"/b\",\"annotations\":"
                        "{\"io.lockbox.secret.db\":\"store:db\"}}";
        ck_assert_int_eq(state_parse_str(s, &st), 0);
        ck_assert_str_eq(st.id, "c1");
        ck_assert_str_eq(st.status, "creating");
        ck_assert_int_eq(st.pid, 1234);
        ck_assert_str_eq(st.bundle, "/b");
        ck_assert_str_eq(json_string_value(json_object_get(st.annotations, "io.lockbox.secret.db")),
                         "store:db");
        oci_state_done(&st);
        ck_assert_ptr_null(st.id);
}
END_TEST

START_TEST(test_state_runc_poststop) {
        /* runc omits pid (omitempty) and annotations when there are none. */
        struct oci_state st;
        ck_assert_int_eq(state_parse_str("{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":"
                                         "\"stopped\",\"bundle\":\"/b\"}",
                                         &st),
                         0);
        ck_assert_int_eq(st.pid, 0);
        ck_assert(json_is_object(st.annotations));
        ck_assert_int_eq(json_object_size(st.annotations), 0);
        oci_state_done(&st);
}
END_TEST

START_TEST(test_state_crun) {
        /* crun always writes pid, 0 at poststop, and may put the annotations first. */
        struct oci_state st;
        ck_assert_int_eq(state_parse_str("{\"annotations\":{},\"ociVersion\":\"1.0.0\","
                                         "\"id\":\"crun-1\",\"pid\":0,\"status\":\"stopped\","
                                         "\"bundle\":\"/var/lib/b\"}",
                                         &st),
                         0);
        ck_assert_int_eq(st.pid, 0);
        ck_assert_str_eq(st.id, "crun-1");
        oci_state_done(&st);
}
END_TEST

START_TEST(test_state_podman) {
        struct oci_state st;
        const char *s = "{\"ociVersion\":\"1.0.2-dev\",\"id\":"
                        "\"3f2b0a5c9d8e7f6a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef01\","
                        "\"status\":\"created\",\"pid\":4242,\"bundle\":"
                        "\"/var/lib/containers/storage/overlay-containers/3f2b/userdata\","
                        "\"annotations\":{\"io.container.manager\":\"libpod\","
                        "\"io.kubernetes.cri-o.Created\":\"2023-01-01T00:00:00Z\","
                        "\"io.lockbox.secret.api\":\"vault:secret/app/api#key\","
                        "\"org.opencontainers.image.stopSignal\":\"15\"},"
                        "\"created\":\"2023-01-01T00:00:00Z\",\"owner\":\"root\"}";
        ck_assert_int_eq(state_parse_str(s, &st), 0);
        ck_assert_int_eq(st.pid, 4242);
        ck_assert_int_eq(json_object_size(st.annotations), 4);
        oci_state_done(&st);
}
END_TEST

START_TEST(test_state_invalid) {
        static const char *const bad[] = {
                "{\"status\":\"creating\",\"bundle\":\"/b\"}", /* no id */
                "{\"id\":\"\",\"status\":\"creating\",\"bundle\":\"/b\"}", /* empty */
                "{\"id\":\"a/b\",\"status\":\"creating\",\"bundle\":\"/b\"}", /* '/' */
                "{\"id\":\"..\",\"status\":\"creating\",\"bundle\":\"/b\"}", /* .. */
                "{\"id\":\"a\\nb\",\"status\":\"creating\",\"bundle\":\"/b\"}", /* ctl */
                "{\"id\":7,\"status\":\"creating\",\"bundle\":\"/b\"}", /* type */
                "{\"id\":\"c\",\"status\":\"creating\",\"bundle\":\"b\"}", /* relative */
                "{\"id\":\"c\",\"status\":\"creating\",\"bundle\":\"\"}", /* empty */
                "{\"id\":\"c\",\"status\":\"creating\"}", /* no bundle */
                "{\"id\":\"c\",\"bundle\":\"/b\"}", /* no status */
                "{\"id\":\"c\",\"status\":\"\",\"bundle\":\"/b\"}", /* status */
                "{\"id\":\"c\",\"status\":\"creating\",\"bundle\":\"/b\",\"pid\":-1}",
                "{\"id\":\"c\",\"status\":\"creating\",\"bundle\":\"/b\",\"pid\":\"1\"}",
                "{\"id\":\"c\",\"status\":\"creating\",\"bundle\":\"/b\",\"pid\":1.5}",
                "{\"id\":\"c\",\"status\":\"creating\",\"bundle\":\"/b\",\"pid\":4294967296}",
                "{\"id\":\"c\",\"status\":\"creating\",\"bundle\":\"/b\",\"annotations\":[]}",
                "{\"id\":\"c\",\"status\":\"creating\",\"bundle\":\"/"
                "b\",\"annotations\":{\"a\":1}}",
                "{\"id\":\"c\",\"status\":\"creating\",\"bundle\":\"/b\",\"ociVersion\":1}",
                "{\"id\":\"c\",\"id\":\"d\",\"status\":\"creating\",\"bundle\":\"/b\"}", /* dup */
                "[{\"id\":\"c\",\"status\":\"creating\",\"bundle\":\"/b\"}]", /* not an object */
                "\"c\"",
                "42",
                "",
                "{\"id\":\"c\",\"status\":\"creating\",\"bundle\":\"/b\"",
                "{\"id\":\"c\\u0000d\",\"status\":\"creating\",\"bundle\":\"/b\"}",
        };
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                struct oci_state st;
                ck_assert_msg(state_parse_str(bad[i], &st) == -EINVAL, "accepted: %s", bad[i]);
                ck_assert_ptr_null(st.id);
                oci_state_done(&st);
        }
}
END_TEST

START_TEST(test_state_duplicate_annotation) {
        struct oci_state st;
        capture_log();
        ck_assert_int_eq(state_parse_str("{\"id\":\"c\",\"status\":\"creating\",\"bundle\":"
                                         "\"/b\",\"annotations\":{\"io.lockbox.secret.db\":"
                                         "\"store:a\",\"io.lockbox.secret.db\":\"store:b\"}}",
                                         &st),
                         -EINVAL);
        ck_assert_ptr_nonnull(strstr(captured_log(), "duplicate key"));
        ck_assert_ptr_null(strstr(captured_log(), "store:"));
}
END_TEST

START_TEST(test_state_id_length) {
        char s[2048 + 128], id[1026];
        struct oci_state st;

        memset(id, 'x', 1024);
        id[1024] = '\0';
        snprintf(s, sizeof s, "{\"id\":\"%s\",\"status\":\"creating\",\"bundle\":\"/b\"}", id);
        ck_assert_int_eq(state_parse_str(s, &st), 0);
        oci_state_done(&st);
        id[1024] = 'x';
        id[1025] = '\0';
        snprintf(s, sizeof s, "{\"id\":\"%s\",\"status\":\"creating\",\"bundle\":\"/b\"}", id);
        ck_assert_int_eq(state_parse_str(s, &st), -EINVAL);
}
END_TEST

START_TEST(test_state_too_large) {
        size_t n = OCI_STATE_MAX + 1;
        char *s = malloc(n);
        ck_assert_ptr_nonnull(s);
        memset(s, ' ', n);
        const char *doc = "{\"id\":\"c\",\"status\":\"creating\",\"bundle\":\"/b\"}";
        memcpy(s, doc, strlen(doc));
        struct oci_state st;
        ck_assert_int_eq(oci_state_parse(s, n, &st), -EINVAL);
        ck_assert_int_eq(oci_state_parse(s, n - 1, &st), 0);
        oci_state_done(&st);
        free(s);
}
END_TEST

/* ---- config.json ------------------------------------------------------------------------ */

static void check_rootfs(const char *root_path, const char *expected) {
        char s[512];
        struct oci_config c;
        snprintf(s, sizeof s, "{\"root\":{\"path\":\"%s\"}}", root_path);
        ck_assert_int_eq(config_parse_str(s, &c), 0);
        ck_assert_str_eq(c.rootfs, expected);
        oci_config_done(&c);
}

START_TEST(test_config_rootfs) {
        check_rootfs("rootfs", "/b/rootfs");
        check_rootfs("./rootfs/", "/b/rootfs");
        check_rootfs("a//b/./c", "/b/a/b/c");
        check_rootfs("../other/rootfs", "/other/rootfs");
        check_rootfs("../../../..", "/");
        check_rootfs("/var/lib//x/./y/", "/var/lib/x/y");
        check_rootfs("/", "/");
        check_rootfs(".", "/b");
}
END_TEST

START_TEST(test_config_full) {
        struct oci_config c;
        const char *s =
                "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
                "\"process\":{\"terminal\":false,\"user\":{\"uid\":1000,\"gid\":1001},"
                "\"args\":[\"sh\"],\"env\":[\"PATH=/bin\",\"NOEQUALS\",\"LOCKBOX_SECRET_db="
                "store:db\",\"EMPTY=\"]},"
                "\"annotations\":{\"io.lockbox.role\":\"web\"},"
                "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},"
                "{\"type\":\"user\"}],"
                "\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
                "\"gidMappings\":[{\"containerID\":0,\"hostID\":200000,\"size\":1000},"
                "{\"containerID\":1000,\"hostID\":300000,\"size\":1}]},"
                "\"hooks\":{\"createRuntime\":[{\"path\":\"/usr/bin/lockbox-broker\"}]}}";
        ck_assert_int_eq(config_parse_str(s, &c), 0);
        ck_assert_str_eq(c.rootfs, "/b/rootfs");
        ck_assert(c.rootfs_readonly);
        ck_assert_uint_eq(c.uid, 1000);
        ck_assert_uint_eq(c.gid, 1001);
        ck_assert_uint_eq(c.n_env, 3);
        ck_assert_str_eq(c.env[0], "PATH=/bin");
        ck_assert_str_eq(c.env[1], "LOCKBOX_SECRET_db=store:db");
        ck_assert_str_eq(c.env[2], "EMPTY=");
        ck_assert_ptr_null(c.env[3]);
        ck_assert_str_eq(json_string_value(json_object_get(c.annotations, "io.lockbox.role")),
                         "web");
        ck_assert(c.has_userns);
        ck_assert_uint_eq(c.n_uid_map, 1);
        ck_assert_uint_eq(c.uid_map[0].host_id, 100000);
        ck_assert_uint_eq(c.uid_map[0].size, 65536);
        ck_assert_uint_eq(c.n_gid_map, 2);
        ck_assert_uint_eq(c.gid_map[1].container_id, 1000);
        ck_assert_uint_eq(c.gid_map[1].host_id, 300000);
        oci_config_done(&c);
}
END_TEST

START_TEST(test_config_minimal) {
        struct oci_config c;
        ck_assert_int_eq(config_parse_str("{\"root\":{\"path\":\"/r\"},\"x\":{}}", &c), 0);
        ck_assert(!c.rootfs_readonly);
        ck_assert_uint_eq(c.uid, 0);
        ck_assert_uint_eq(c.gid, 0);
        ck_assert_uint_eq(c.n_env, 0);
        ck_assert_ptr_nonnull(c.env);
        ck_assert_ptr_null(c.env[0]);
        ck_assert(json_is_object(c.annotations));
        ck_assert(!c.has_userns);
        ck_assert_uint_eq(c.n_uid_map, 0);
        ck_assert_uint_eq(c.n_gid_map, 0);
        oci_config_done(&c);
}
END_TEST

START_TEST(test_config_invalid) {
        static const char *const bad[] = {
                "{}",
                "{\"root\":{}}",
                "{\"root\":{\"path\":\"\"}}",
                "{\"root\":\"rootfs\"}",
                "{\"root\":{\"path\":\"r\",\"readonly\":\"yes\"}}",
                "{\"root\":{\"path\":\"r\"},\"process\":[]}",
                "{\"root\":{\"path\":\"r\"},\"process\":{\"user\":{\"uid\":-1}}}",
                "{\"root\":{\"path\":\"r\"},\"process\":{\"user\":{\"uid\":4294967295}}}",
                "{\"root\":{\"path\":\"r\"},\"process\":{\"user\":{\"gid\":\"0\"}}}",
                "{\"root\":{\"path\":\"r\"},\"process\":{\"env\":\"A=b\"}}",
                "{\"root\":{\"path\":\"r\"},\"process\":{\"env\":[\"A=b\",3]}}",
                "{\"root\":{\"path\":\"r\"},\"annotations\":{\"io.lockbox.uid\":0}}",
                "{\"root\":{\"path\":\"r\"},\"annotations\":[]}",
                "{\"root\":{\"path\":\"r\"},\"linux\":[]}",
                "{\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":[{}]}}",
                "{\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":{\"type\":\"user\"}}}",
                "{\"root\":{\"path\":\"r\"},\"linux\":{\"uidMappings\":[{\"containerID\":0,"
                "\"hostID\":1}]}}",
                "{\"root\":{\"path\":\"r\"},\"linux\":{\"uidMappings\":[{\"containerID\":0,"
                "\"hostID\":1,\"size\":0}]}}",
                "{\"root\":{\"path\":\"r\"},\"linux\":{\"gidMappings\":[{\"containerID\":0,"
                "\"hostID\":4294967295,\"size\":2}]}}",
                "{\"root\":{\"path\":\"r\"},\"linux\":{\"gidMappings\":[{\"containerID\":-1,"
                "\"hostID\":0,\"size\":1}]}}",
                "{\"root\":{\"path\":\"r\"},\"linux\":{\"uidMappings\":{}}}",
                "{\"root\":{\"path\":\"r\"},\"root\":{\"path\":\"s\"}}",
                "[]",
                "{\"root\":{\"path\":\"r\"}",
        };
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                struct oci_config c;
                ck_assert_msg(config_parse_str(bad[i], &c) == -EINVAL, "accepted: %s", bad[i]);
                ck_assert_ptr_null(c.rootfs);
                oci_config_done(&c);
        }
}
END_TEST

START_TEST(test_config_relative_bundle) {
        struct oci_config c;
        ck_assert_int_eq(oci_config_parse("{\"root\":{\"path\":\"r\"}}", 22, "b", &c), -EINVAL);
}
END_TEST

START_TEST(test_config_mapping_edges) {
        struct oci_config c;
        /* The last possible range: [4294967294, 4294967295) on both sides. */
        ck_assert_int_eq(config_parse_str("{\"root\":{\"path\":\"r\"},\"linux\":{\"uidMappings\":"
                                          "[{\"containerID\":4294967295,\"hostID\":4294967295,"
                                          "\"size\":1}]}}",
                                          &c),
                         0);
        ck_assert_uint_eq(c.n_uid_map, 1);
        oci_config_done(&c);
}
END_TEST

static char bundle_dir[] = "/tmp/check_oci.XXXXXX";

static void write_at(const char *name, const char *text) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", bundle_dir, name);
        FILE *f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        fputs(text, f);
        fclose(f);
}

START_TEST(test_config_load) {
        struct oci_config c;
        char path[PATH_MAX], target[PATH_MAX];

        ck_assert_ptr_nonnull(mkdtemp(bundle_dir));
        ck_assert_int_eq(oci_config_load(bundle_dir, &c), -ENOENT);

        write_at("real.json", "{\"root\":{\"path\":\"rootfs\"}}");
        snprintf(path, sizeof path, "%s/config.json", bundle_dir);
        snprintf(target, sizeof target, "%s/real.json", bundle_dir);
        ck_assert_int_eq(symlink(target, path), 0);
        /* A symlinked config.json could point anywhere on the host: refused. */
        ck_assert_int_lt(oci_config_load(bundle_dir, &c), 0);
        ck_assert_int_eq(unlink(path), 0);

        ck_assert_int_eq(mkdir(path, 0700), 0);
        ck_assert_int_lt(oci_config_load(bundle_dir, &c), 0);
        ck_assert_int_eq(rmdir(path), 0);

        write_at("config.json", "{\"root\":{\"path\":\"rootfs\"},\"process\":{\"env\":[\"A=1\"]}}");
        ck_assert_int_eq(oci_config_load(bundle_dir, &c), 0);
        snprintf(target, sizeof target, "%s/rootfs", bundle_dir);
        ck_assert_str_eq(c.rootfs, target);
        ck_assert_uint_eq(c.n_env, 1);
        oci_config_done(&c);

        write_at("config.json", "{\"root\":{\"path\":\"rootfs\"},\"root\":{}}");
        ck_assert_int_eq(oci_config_load(bundle_dir, &c), -EINVAL);

        ck_assert_int_eq(oci_config_load("relative", &c), -EINVAL);
        unlink(path);
        unlink(target);
        snprintf(target, sizeof target, "%s/real.json", bundle_dir);
        unlink(target);
        rmdir(bundle_dir);
}
END_TEST

/* ---- id mapping ------------------------------------------------------------------------- */

START_TEST(test_id_map) {
        const struct id_mapping map[] = {
                {.container_id = 0, .host_id = 100000, .size = 1000},
                {.container_id = 1000, .host_id = 50000, .size = 1},
                {.container_id = 2000, .host_id = 4294967290U, .size = 10},
        };
        uint32_t h = 7;

        ck_assert_int_eq(id_map_to_host(map, 3, 0, &h), 0);
        ck_assert_uint_eq(h, 100000);
        ck_assert_int_eq(id_map_to_host(map, 3, 500, &h), 0);
        ck_assert_uint_eq(h, 100500);
        ck_assert_int_eq(id_map_to_host(map, 3, 999, &h), 0);
        ck_assert_uint_eq(h, 100999);
        ck_assert_int_eq(id_map_to_host(map, 3, 1000, &h), 0);
        ck_assert_uint_eq(h, 50000);
        h = 7;
        ck_assert_int_eq(id_map_to_host(map, 3, 1001, &h), -ERANGE);
        ck_assert_int_eq(id_map_to_host(map, 3, 65534, &h), -ERANGE);
        ck_assert_int_eq(id_map_to_host(map, 3, UINT32_MAX, &h), -ERANGE);
        ck_assert_uint_eq(h, 7);
        ck_assert_int_eq(id_map_to_host(map, 3, 2004, &h), 0);
        ck_assert_uint_eq(h, 4294967294U);
        /* Would be (uint32_t)-1, which is "no id" to the kernel, or past 2^32. */
        ck_assert_int_eq(id_map_to_host(map, 3, 2005, &h), -ERANGE);
        ck_assert_int_eq(id_map_to_host(map, 3, 2009, &h), -ERANGE);

        ck_assert_int_eq(id_map_to_host(NULL, 0, 1234, &h), 0);
        ck_assert_uint_eq(h, 1234);
        ck_assert_int_eq(id_map_to_host(map, 1, 0, &h), 0);
        ck_assert_uint_eq(h, 100000);
}
END_TEST

/* The kubelet's service-account volume: the source of the last bind mount at its path
 * (other types have no host source); process.args[0]. */
START_TEST(test_config_pod_fields) {
        static const struct {
                const char *mounts;
                const char *want;
        } cases[] = {
                {"[{\"destination\":\"/var/run/secrets/kubernetes.io/serviceaccount\","
                 "\"type\":\"bind\",\"source\":\"/k/a\"}]",
                 "/k/a"},
                {"[{\"destination\":\"/var/run/secrets/kubernetes.io/serviceaccount/\","
                 "\"source\":\"/k/a\",\"options\":[\"rbind\"]},"
                 "{\"destination\":\"/var/run/secrets/kubernetes.io/serviceaccount\","
                 "\"type\":\"none\",\"source\":\"/k/b\"}]",
                 "/k/b"},
                {"[{\"destination\":\"/var/run/secrets/kubernetes.io/serviceaccount\","
                 "\"type\":\"bind\",\"source\":\"/k/a\"},"
                 "{\"destination\":\"/var/run/secrets/kubernetes.io/serviceaccount\","
                 "\"type\":\"tmpfs\",\"source\":\"tmpfs\"}]",
                 NULL},
                {"[{\"destination\":\"/var/run/secrets/kubernetes.io/serviceaccountx\","
                 "\"type\":\"bind\",\"source\":\"/k/a\"}]",
                 NULL},
                {"[{\"destination\":\"/run/secrets/kubernetes.io/serviceaccount\","
                 "\"type\":\"bind\",\"source\":\"/k/a\"}]",
                 NULL},
        };
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                char json[1024];
                struct oci_config c;
                snprintf(json, sizeof json,
                         "{\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"/x/lockbox-shim\","
                         "\"--\"]},\"mounts\":%s}",
                         cases[i].mounts);
                ck_assert_int_eq(config_parse_str(json, &c), 0);
                if (cases[i].want)
                        ck_assert_str_eq(c.sa_token_dir, cases[i].want);
                else
                        ck_assert_ptr_null(c.sa_token_dir);
                ck_assert_str_eq(c.args0, "/x/lockbox-shim");
                oci_config_done(&c);
        }
        struct oci_config c;
        ck_assert_int_eq(
                config_parse_str("{\"root\":{\"path\":\"r\"},\"mounts\":[{\"destination\":"
                                 "\"/var/run/secrets/kubernetes.io/serviceaccount\",\"type\":"
                                 "\"bind\",\"source\":\"rel\"}]}",
                                 &c),
                -EINVAL);
        ck_assert_int_eq(config_parse_str("{\"root\":{\"path\":\"r\"},\"process\":{\"args\""
                                          ":[1]}}",
                                          &c),
                         -EINVAL);
        ck_assert_int_eq(config_parse_str("{\"root\":{\"path\":\"r\"},\"process\":{}}", &c), 0);
        ck_assert_ptr_null(c.args0);
        oci_config_done(&c);
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("oci");
        TCase *tc = tcase_create("state");
        tcase_add_test(tc, test_state_runc);
        tcase_add_test(tc, test_state_runc_poststop);
        tcase_add_test(tc, test_state_crun);
        tcase_add_test(tc, test_state_podman);
        tcase_add_test(tc, test_state_invalid);
        tcase_add_test(tc, test_state_duplicate_annotation);
        tcase_add_test(tc, test_state_id_length);
        tcase_add_test(tc, test_state_too_large);
        suite_add_tcase(s, tc);

        tc = tcase_create("config");
        tcase_add_test(tc, test_config_rootfs);
        tcase_add_test(tc, test_config_full);
        tcase_add_test(tc, test_config_minimal);
        tcase_add_test(tc, test_config_invalid);
        tcase_add_test(tc, test_config_relative_bundle);
        tcase_add_test(tc, test_config_mapping_edges);
        tcase_add_test(tc, test_config_load);
        tcase_add_test(tc, test_config_pod_fields);
        suite_add_tcase(s, tc);

        tc = tcase_create("idmap");
        tcase_add_test(tc, test_id_map);
        suite_add_tcase(s, tc);

        return s;
}
