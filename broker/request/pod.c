/* SPDX-License-Identifier: Apache-2.0 */
#include "pod.h"

#include <string.h>

#include "log.h"
#include "macro.h"

/* One runtime's keys (containerd 1.6 pkg/cri/annotations; CRI-O pkg/annotations and the
 * kubelet's container labels, which CRI-O writes into config.json last). */
struct pod_keys {
        enum pod_runtime runtime;
        const char *name; /* as in the configuration */
        const char *type, *namespace, *pod, *uid, *container;
};

static const struct pod_keys pod_keys[] = {
        {POD_RUNTIME_CONTAINERD, "containerd", "io.kubernetes.cri.container-type",
         "io.kubernetes.cri.sandbox-namespace", "io.kubernetes.cri.sandbox-name",
         "io.kubernetes.cri.sandbox-uid", "io.kubernetes.cri.container-name"},
        {POD_RUNTIME_CRIO, "cri-o", "io.kubernetes.cri-o.ContainerType",
         "io.kubernetes.pod.namespace", "io.kubernetes.pod.name", "io.kubernetes.pod.uid",
         "io.kubernetes.container.name"},
};

const char *pod_runtime_name(enum pod_runtime r) {
        for (size_t i = 0; i < ARRAY_SIZE(pod_keys); i++)
                if (pod_keys[i].runtime == r)
                        return pod_keys[i].name;
        return NULL;
}

int pod_runtime_from_name(const char *name, enum pod_runtime *ret) {
        for (size_t i = 0; i < ARRAY_SIZE(pod_keys); i++)
                if (streq_ptr(pod_keys[i].name, name)) {
                        *ret = pod_keys[i].runtime;
                        return 0;
                }
        return -EINVAL;
}

static const char *annotation(const json_t *annotations, const char *key) {
        return json_string_value(json_object_get(annotations, key));
}

bool pod_is_sandbox(const json_t *annotations) {
        for (size_t i = 0; i < ARRAY_SIZE(pod_keys); i++)
                if (streq_ptr(annotation(annotations, pod_keys[i].type), "sandbox"))
                        return true;
        return false;
}

static bool pod_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* RFC 1123 labels (dots: no) or subdomains (dots: yes), as Kubernetes validates names. */
static bool pod_name_is_dns(const char *s, size_t max, bool dots) {
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > max || !pod_alnum(s[0]) || !pod_alnum(s[n - 1]))
                return false;
        for (size_t i = 0; i < n; i++) {
                if (pod_alnum(s[i]) || s[i] == '-')
                        continue;
                /* A dot joins two labels, each of which begins and ends alphanumeric. */
                if (!dots || s[i] != '.' || !pod_alnum(s[i - 1]) || !pod_alnum(s[i + 1]))
                        return false;
        }
        return true;
}

bool pod_name_is_label(const char *s) {
        return pod_name_is_dns(s, 63, false);
}

/* A pod's uid: a UUID from the API server; letters, digits and '-' are enough. */
static bool pod_uid_is_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;
        return n > 0 && n <= 128 &&
               strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == n;
}

/* One field: present and valid, or NULL. A configured runtime's invalid value is an error: the
 * runtime wrote it, so something is badly wrong; another's is only left out. */
static int pod_field(const json_t *annotations, const char *key, bool (*valid)(const char *),
                     bool asserted, const char **ret) {
        const char *v = annotation(annotations, key);
        *ret = NULL;
        if (!v)
                return 0;
        if (!valid(v)) {
                if (!asserted)
                        return 0;
                /* Not quoted: not a name, so it could be anything. */
                log_error("annotation %s: not a valid Kubernetes name", key);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

static bool pod_valid_namespace(const char *s) {
        return pod_name_is_dns(s, 63, false);
}

bool pod_name_is_subdomain(const char *s) {
        return pod_name_is_dns(s, 253, true);
}

int pod_identify(const json_t *annotations, enum pod_runtime configured, struct pod_identity *ret) {
        const struct pod_keys *k = NULL;

        *ret = (struct pod_identity){.runtime = POD_RUNTIME_NONE};
        for (size_t i = 0; i < ARRAY_SIZE(pod_keys) && !k; i++) {
                if (configured != POD_RUNTIME_NONE && pod_keys[i].runtime != configured)
                        continue;
                if (annotation(annotations, pod_keys[i].type))
                        k = &pod_keys[i];
        }
        if (!k)
                return 0;
        bool asserted = configured != POD_RUNTIME_NONE;
        struct pod_identity p = {
                .runtime = k->runtime,
                .sandbox = streq_ptr(annotation(annotations, k->type), "sandbox"),
                .asserted = asserted,
        };
        int r = pod_field(annotations, k->namespace, pod_valid_namespace, asserted, &p.namespace);
        if (r >= 0)
                r = pod_field(annotations, k->pod, pod_name_is_subdomain, asserted, &p.name);
        if (r >= 0)
                r = pod_field(annotations, k->uid, pod_uid_is_valid, asserted, &p.uid);
        if (r >= 0)
                r = pod_field(annotations, k->container, pod_name_is_label, asserted, &p.container);
        if (r < 0)
                return r;
        *ret = p;
        return 0;
}

bool pod_runs_shim(const char *args0) {
        if (!args0)
                return false;
        const char *base = strrchr(args0, '/');
        return streq_ptr(base ? base + 1 : args0, "lockbox-shim");
}

enum pod_decision pod_decide(const struct pod_identity *pod, char *const *containers, size_t n,
                             bool runs_shim) {
        if (!pod || pod->runtime == POD_RUNTIME_NONE)
                return POD_PLACE;
        if (pod->sandbox)
                return POD_SKIP_SANDBOX;
        if (!containers)
                return runs_shim ? POD_PLACE : POD_SKIP_NO_SHIM;
        bool named = false;
        for (size_t i = 0; i < n && !named; i++)
                named = pod->container && streq_ptr(containers[i], pod->container);
        if (!named)
                return POD_SKIP_UNNAMED;
        return runs_shim ? POD_PLACE : POD_REFUSE_NO_SHIM;
}
