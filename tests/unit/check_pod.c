/* SPDX-License-Identifier: Apache-2.0 */
/* Kubernetes pods (broker/request/pod.c) on the config.json shapes of tests/unit/data/cri/:
 * containerd's, recorded by 80-cri-pod.sh; CRI-O's, made by hand from its source. */
#include "unit.h"

#include <fcntl.h>
#include <string.h>

#include "fdutil.h"
#include "fetch/vault_config.h"
#include "request/config.h"
#include "request/oci.h"
#include "request/pod.h"
#include "request/policy.h"
#include "request/request.h"
#include "request/runtime_config.h"

#define DATA "tests/unit/data/cri/"
#define SA_SOURCE                                                                                  \
        "/var/lib/kubelet/pods/a80da1b6-6459-534d-bedc-e32b4d7425f7/volumes/"                      \
        "kubernetes.io~projected/kube-api-access-lbx"

/* A recorded config.json, parsed as the hook reads it. */
static void load(const char *name, struct oci_config *oc) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        ck_assert_int_eq(read_file_at(AT_FDCWD, name, OCI_CONFIG_MAX, &buf, &size), 0);
        ck_assert_int_eq(oci_config_parse(buf, size, "/run/containerd/bundle", oc), 0);
}

static json_t *load_json(const char *name) {
        json_error_t e;
        json_t *j = json_load_file(name, JSON_REJECT_DUPLICATES, &e);
        ck_assert_msg(j != NULL, "%s: %s", name, e.text);
        return j;
}

START_TEST(test_containerd_sandbox) {
        _cleanup_(oci_config_done) struct oci_config oc = {0};
        struct pod_identity pod;
        load(DATA "containerd-sandbox.json", &oc);
        ck_assert(pod_is_sandbox(oc.annotations));
        ck_assert_int_eq(pod_identify(oc.annotations, POD_RUNTIME_CONTAINERD, &pod), 0);
        ck_assert_int_eq(pod.runtime, POD_RUNTIME_CONTAINERD);
        ck_assert(pod.sandbox && pod.asserted);
        ck_assert_str_eq(pod.namespace, "dev");
        ck_assert_str_eq(pod.name, "web");
        ck_assert_ptr_null(pod.container);
        ck_assert_int_eq(pod_decide(&pod, NULL, 0, pod_runs_shim(oc.args0)), POD_SKIP_SANDBOX);
        /* The pause container: read-only, no service-account volume, the pod's annotation. */
        ck_assert(oc.rootfs_readonly);
        ck_assert_ptr_null(oc.sa_token_dir);
        ck_assert_str_eq(oc.args0, "/bin/sleep");
        _cleanup_json_ json_t *config = load_json(DATA "containerd-sandbox.json");
        ck_assert(!runtime_config_wants_secrets(config));
}
END_TEST

START_TEST(test_containerd_container) {
        _cleanup_(oci_config_done) struct oci_config oc = {0};
        struct pod_identity pod;
        load(DATA "containerd-container.json", &oc);
        ck_assert(!pod_is_sandbox(oc.annotations));
        ck_assert_int_eq(pod_identify(oc.annotations, POD_RUNTIME_CONTAINERD, &pod), 0);
        ck_assert(!pod.sandbox && pod.asserted);
        ck_assert_str_eq(pod.namespace, "dev");
        ck_assert_str_eq(pod.name, "web");
        ck_assert_str_eq(pod.uid, "a80da1b6-6459-534d-bedc-e32b4d7425f7");
        ck_assert_str_eq(pod.container, "shape");
        ck_assert_str_eq(oc.sa_token_dir, SA_SOURCE);
        ck_assert(pod_runs_shim(oc.args0));
        ck_assert_int_eq(pod_decide(&pod, NULL, 0, true), POD_PLACE);
        _cleanup_json_ json_t *config = load_json(DATA "containerd-container.json");
        ck_assert(runtime_config_wants_secrets(config));
        /* Configured for CRI-O, a containerd pod is no pod of that runtime's. */
        ck_assert_int_eq(pod_identify(oc.annotations, POD_RUNTIME_CRIO, &pod), 0);
        ck_assert_int_eq(pod.runtime, POD_RUNTIME_NONE);
        /* Not configured: containerd's keys, but not asserted (roles cannot use them). */
        ck_assert_int_eq(pod_identify(oc.annotations, POD_RUNTIME_NONE, &pod), 0);
        ck_assert_int_eq(pod.runtime, POD_RUNTIME_CONTAINERD);
        ck_assert(!pod.asserted);
}
END_TEST

START_TEST(test_crio_shapes) {
        _cleanup_(oci_config_done) struct oci_config sb = {0}, ct = {0};
        struct pod_identity pod;
        load(DATA "crio-sandbox.json", &sb);
        ck_assert(pod_is_sandbox(sb.annotations));
        ck_assert_int_eq(pod_identify(sb.annotations, POD_RUNTIME_CRIO, &pod), 0);
        ck_assert(pod.sandbox);
        ck_assert_str_eq(pod.namespace, "dev");
        load(DATA "crio-container.json", &ct);
        ck_assert(!pod_is_sandbox(ct.annotations));
        ck_assert_int_eq(pod_identify(ct.annotations, POD_RUNTIME_CRIO, &pod), 0);
        ck_assert(!pod.sandbox && pod.asserted);
        ck_assert_str_eq(pod.namespace, "dev");
        ck_assert_str_eq(pod.name, "web-1");
        ck_assert_str_eq(pod.container, "app");
        ck_assert_str_eq(ct.sa_token_dir, SA_SOURCE);
        ck_assert_str_eq(ct.args0, "/lockbox-shim");
}
END_TEST

/* A CRI-O pod that wrote containerd's keys into its annotations (CRI-O copies every pod
 * annotation into each container): for CRI-O it is still dev; a CRI-O node configured as
 * containerd would believe the pod. Hence the runtime is the admin's word, not a guess. */
START_TEST(test_crio_forged_containerd_keys) {
        _cleanup_(oci_config_done) struct oci_config oc = {0};
        struct pod_identity pod;
        load(DATA "crio-container-forged.json", &oc);
        ck_assert_int_eq(pod_identify(oc.annotations, POD_RUNTIME_CRIO, &pod), 0);
        ck_assert_str_eq(pod.namespace, "dev");
        ck_assert_int_eq(pod_identify(oc.annotations, POD_RUNTIME_CONTAINERD, &pod), 0);
        ck_assert_str_eq(pod.namespace, "prod");
        /* Unconfigured, the first runtime found (containerd's keys here): never asserted. */
        ck_assert_int_eq(pod_identify(oc.annotations, POD_RUNTIME_NONE, &pod), 0);
        ck_assert(!pod.asserted);
}
END_TEST

/* Roles bound with when.kubernetes, on the recorded pod (namespace dev). */
START_TEST(test_policy_pods) {
        static const char cfg_json[] =
                "{\"kubernetes\": {\"runtime\": \"containerd\"}, \"roles\": ["
                " {\"name\": \"dev\", \"when\": {\"kubernetes\": {\"namespace\": \"^dev$\", "
                "  \"pod\": \"^web$\", \"container\": \"^shape$\"}}, \"allow\": []},"
                " {\"name\": \"prod\", \"when\": {\"kubernetes\": {\"namespace\": \"^prod$\"}},"
                "  \"allow\": []}]}";
        _cleanup_config_ struct broker_config *c = NULL;
        _cleanup_(oci_config_done) struct oci_config oc = {0};
        const struct role *role;
        struct pod_identity pod;
        ck_assert_int_eq(config_parse(cfg_json, strlen(cfg_json), "F", &c), 0);
        load(DATA "containerd-container.json", &oc);
        ck_assert_int_eq(pod_identify(oc.annotations, c->pod_runtime, &pod), 0);
        capture_log();
        ck_assert_int_eq(policy_select_role(c, "dev", oc.annotations, NULL, 0, &pod, &role), 0);
        ck_assert_int_eq(policy_select_role(c, "prod", oc.annotations, NULL, 0, &pod, &role),
                         -EACCES);
        ck_assert_str_eq(captured_log(), "unit: role 'prod': kubernetes namespace 'dev' (as "
                                         "containerd states it) does not match ^prod$\n");
        /* No pod, or one no runtime asserted: when.kubernetes never holds. */
        ck_assert_int_eq(policy_select_role(c, "dev", oc.annotations, NULL, 0, NULL, &role),
                         -EACCES);
        pod.asserted = false;
        ck_assert_int_eq(policy_select_role(c, "dev", oc.annotations, NULL, 0, &pod, &role),
                         -EACCES);
}
END_TEST

START_TEST(test_decide) {
        struct pod_identity outside = {.runtime = POD_RUNTIME_NONE};
        struct pod_identity sandbox = {.runtime = POD_RUNTIME_CONTAINERD, .sandbox = true};
        struct pod_identity app = {.runtime = POD_RUNTIME_CRIO, .container = "app"};
        struct pod_identity anon = {.runtime = POD_RUNTIME_CRIO};
        char *list[] = {"web", "app"};
        /* Outside a pod: a runc, Docker or Podman container may hold its tmpfs. */
        ck_assert_int_eq(pod_decide(&outside, NULL, 0, false), POD_PLACE);
        ck_assert_int_eq(pod_decide(NULL, list, 2, false), POD_PLACE);
        ck_assert_int_eq(pod_decide(&sandbox, list, 2, true), POD_SKIP_SANDBOX);
        ck_assert_int_eq(pod_decide(&app, NULL, 0, true), POD_PLACE);
        ck_assert_int_eq(pod_decide(&app, NULL, 0, false), POD_SKIP_NO_SHIM);
        ck_assert_int_eq(pod_decide(&app, list, 2, true), POD_PLACE);
        ck_assert_int_eq(pod_decide(&app, list, 2, false), POD_REFUSE_NO_SHIM);
        ck_assert_int_eq(pod_decide(&app, list, 1, true), POD_SKIP_UNNAMED);
        ck_assert_int_eq(pod_decide(&anon, list, 2, true), POD_SKIP_UNNAMED);
}
END_TEST

START_TEST(test_runs_shim_and_names) {
        ck_assert(pod_runs_shim("lockbox-shim"));
        ck_assert(pod_runs_shim("/usr/local/bin/lockbox-shim"));
        ck_assert(!pod_runs_shim("/lockbox-shim2"));
        ck_assert(!pod_runs_shim("/bin/sh"));
        ck_assert(!pod_runs_shim("/lockbox-shim/"));
        ck_assert(!pod_runs_shim(NULL));
        ck_assert(pod_name_is_label("web-1"));
        ck_assert(!pod_name_is_label("Web"));
        ck_assert(!pod_name_is_label("-web"));
        ck_assert(!pod_name_is_label("web."));
        ck_assert(!pod_name_is_label(""));
        ck_assert(pod_name_is_subdomain("web-1.example"));
        ck_assert(!pod_name_is_subdomain("web..x"));
        ck_assert(!pod_name_is_subdomain("web-.x"));
        ck_assert(!pod_name_is_subdomain("web.-x"));
}
END_TEST

/* A configured runtime's key that is not a name is an error; another runtime's is left out. */
START_TEST(test_identify_invalid) {
        struct pod_identity pod;
        json_t *a = json_pack("{s:s, s:s}", "io.kubernetes.cri.container-type", "container",
                              "io.kubernetes.cri.sandbox-namespace", "dev\nprod");
        capture_log();
        ck_assert_int_eq(pod_identify(a, POD_RUNTIME_CONTAINERD, &pod), -EINVAL);
        ck_assert_str_eq(captured_log(), "unit: annotation io.kubernetes.cri.sandbox-namespace: "
                                         "not a valid Kubernetes name\n");
        ck_assert_int_eq(pod_identify(a, POD_RUNTIME_NONE, &pod), 0);
        ck_assert_ptr_null(pod.namespace);
        json_decref(a);
}
END_TEST

/* io.lockbox.containers: container names, checked; no LOCKBOX_ form. */
START_TEST(test_request_containers) {
        static struct backend_config store = {.name = "store", .type = "store"};
        static const struct broker_config cfg = {.default_dir = "/run/secrets",
                                                 .default_mode = 0400,
                                                 .backends = &store,
                                                 .n_backends = 1};
        struct request r;
        json_t *a = json_pack("{s:s, s:s}", "io.lockbox.secret.db", "store:db",
                              "io.lockbox.containers", "app,web-2");
        ck_assert_int_eq(request_build(a, NULL, 0, &cfg, &r), 0);
        ck_assert_uint_eq(r.n_containers, 2);
        ck_assert_str_eq(r.containers[0], "app");
        ck_assert_str_eq(r.containers[1], "web-2");
        request_done(&r);
        json_decref(a);
        static const char *const bad[] = {"App", "app,", ",app", "a,,b", "a b", ""};
        capture_log();
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                a = json_pack("{s:s, s:s}", "io.lockbox.secret.db", "store:db",
                              "io.lockbox.containers", bad[i]);
                ck_assert_msg(request_build(a, NULL, 0, &cfg, &r) == -EINVAL, "%s", bad[i]);
                json_decref(a);
        }
        ck_assert_ptr_nonnull(strstr(captured_log(), "annotation io.lockbox.containers: "));
        char *env[] = {"LOCKBOX_SECRET_db=store:db", "LOCKBOX_CONTAINERS=app"};
        ck_assert_int_eq(request_build(NULL, env, 2, &cfg, &r), -EINVAL);
}
END_TEST

/* contrib/kubernetes/broker.json is a configuration the broker takes, per-pod Vault login
 * (kubernetes auth without jwt_file) and roles by namespace included. */
START_TEST(test_contrib_broker_json) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_config_ struct broker_config *c = NULL;
        struct vault_config vc;
        size_t size = 0;
        ck_assert_int_eq(
                read_file_at(AT_FDCWD, "contrib/kubernetes/broker.json", 65536, &buf, &size), 0);
        ck_assert_int_eq(config_parse(buf, size, "contrib/kubernetes/broker.json", &c), 0);
        ck_assert_int_eq(c->pod_runtime, POD_RUNTIME_CONTAINERD);
        ck_assert_int_eq(config_find_role(c, "web")->when[0].kind, ROLE_MATCH_POD);
        ck_assert_int_eq(vault_config_parse(c, config_find_backend(c, "vault"), NULL, &vc), 0);
        ck_assert_int_eq(vc.auth.method, VAULT_AUTH_KUBERNETES);
        ck_assert_ptr_null(vc.auth.jwt_file);
        ck_assert_str_eq(vc.auth.pem_keys_file, "/etc/lockbox/k8s-sa.pub");
        vault_config_done(&vc);
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("pod");
        TCase *tc = tcase_create("pod");
        tcase_add_test(tc, test_containerd_sandbox);
        tcase_add_test(tc, test_containerd_container);
        tcase_add_test(tc, test_crio_shapes);
        tcase_add_test(tc, test_crio_forged_containerd_keys);
        tcase_add_test(tc, test_policy_pods);
        tcase_add_test(tc, test_decide);
        tcase_add_test(tc, test_runs_shim_and_names);
        tcase_add_test(tc, test_identify_invalid);
        tcase_add_test(tc, test_request_containers);
        tcase_add_test(tc, test_contrib_broker_json);
        suite_add_tcase(s, tc);
        return s;
}
