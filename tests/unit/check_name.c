/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "request/name.h"
#include "unit.h"

static char *from(const char *json) {
        json_error_t err;
        json_t *a = json_loads(json, 0, &err);
        ck_assert_ptr_nonnull(a);
        char *name = container_name_from_annotations(a);
        json_decref(a);
        return name;
}

static void name_is(const char *json, const char *want) {
        char *got = from(json);
        ck_assert_pstr_eq(got, want);
        free(got);
}

START_TEST(test_runtimes) {
        /* containerd's CRI plugin: POD/CONTAINER, the sandbox by its pod */
        name_is("{\"io.kubernetes.cri.container-type\":\"container\","
                "\"io.kubernetes.cri.sandbox-name\":\"web-1\","
                "\"io.kubernetes.cri.container-name\":\"app\"}",
                "web-1/app");
        name_is("{\"io.kubernetes.cri.container-type\":\"sandbox\","
                "\"io.kubernetes.cri.sandbox-name\":\"web-1\","
                "\"io.kubernetes.cri.container-name\":\"x\"}",
                "web-1");
        /* CRI-O */
        name_is("{\"io.kubernetes.pod.name\":\"db-0\",\"io.kubernetes.container.name\":\"pg\"}",
                "db-0/pg");
        name_is("{\"nerdctl/name\":\"my_app.1\"}", "my_app.1");
        /* Docker 20.10 and Podman 4 put none into config.json */
        name_is("{\"io.container.manager\":\"libpod\"}", NULL);
        name_is("{}", NULL);
}
END_TEST

START_TEST(test_invalid_names_are_ignored) {
        name_is("{\"nerdctl/name\":\"../etc\"}", NULL);
        name_is("{\"nerdctl/name\":\"a b\"}", NULL);
        name_is("{\"nerdctl/name\":\"a\\nb\"}", NULL);
        name_is("{\"nerdctl/name\":\"\"}", NULL);
        name_is("{\"nerdctl/name\":7}", NULL);
        /* a bad container name leaves the pod's */
        name_is("{\"io.kubernetes.pod.name\":\"p\",\"io.kubernetes.container.name\":\"/x\"}", "p");
        ck_assert(container_name_is_valid("web-1/app"));
        ck_assert(container_name_is_valid("ns:pod/c.1"));
        ck_assert(!container_name_is_valid("web-1//app"));
        ck_assert(!container_name_is_valid("/web"));
        ck_assert(!container_name_is_valid("-web"));
        ck_assert(!container_name_is_valid("a/../b"));
        char long_name[CONTAINER_NAME_MAX + 2];
        memset(long_name, 'a', sizeof long_name - 1);
        long_name[sizeof long_name - 1] = '\0';
        ck_assert(!container_name_is_valid(long_name));
        long_name[CONTAINER_NAME_MAX] = '\0';
        ck_assert(container_name_is_valid(long_name));
}
END_TEST

/* Podman's conmon is not in this process's ancestry: no name, and no crash. */
START_TEST(test_conmon_absent) {
        ck_assert_ptr_null(container_name_from_conmon(getpid(), "x", 3));
        ck_assert_ptr_null(container_name_from_conmon(0, "x", 3));
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("name");
        TCase *tc = tcase_create("name");
        tcase_add_test(tc, test_runtimes);
        tcase_add_test(tc, test_invalid_names_are_ignored);
        tcase_add_test(tc, test_conmon_absent);
        suite_add_tcase(s, tc);
        return s;
}
