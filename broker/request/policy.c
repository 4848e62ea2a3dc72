/* SPDX-License-Identifier: Apache-2.0 */
#include "policy.h"

#include <fnmatch.h>
#include <string.h>

#include "log.h"

/* Messages quote the key and the pattern (both from the trusted config), never the value: it
 * comes from the container and may be anything, a secret pasted by mistake included. */
static int policy_deny(const struct role *role, const struct role_match *m, bool absent) {
        const char *kind = m->kind == ROLE_MATCH_ENV ? "env" : "annotation";
        if (absent)
                log_error("role '%s': %s %s is not set (must match %s)", role->name, kind, m->key,
                          m->pattern);
        else
                log_error("role '%s': %s %s does not match %s", role->name, kind, m->key,
                          m->pattern);
        return -EACCES;
}

static bool policy_regex_matches(const struct role_match *m, const char *value) {
        return regexec(&m->re, value, 0, NULL, 0) == 0;
}

/* An env list may name a variable twice; which one the process sees depends on the libc, so
 * every occurrence must match, or a second value could slip past the first's check. */
static int policy_match_env(const struct role *role, const struct role_match *m, char *const *env,
                            size_t n_env) {
        size_t klen = strlen(m->key);
        bool seen = false;
        for (size_t i = 0; env && i < n_env; i++) {
                if (!env[i] || strncmp(env[i], m->key, klen) != 0 || env[i][klen] != '=')
                        continue;
                seen = true;
                if (!policy_regex_matches(m, env[i] + klen + 1))
                        return policy_deny(role, m, false);
        }
        return seen ? 0 : policy_deny(role, m, true);
}

static int policy_match_annotation(const struct role *role, const struct role_match *m,
                                   const json_t *annotations) {
        const char *value = json_string_value(json_object_get(annotations, m->key));
        /* A non-string annotation is malformed and counts as absent: fail closed. */
        if (!value)
                return policy_deny(role, m, true);
        if (!policy_regex_matches(m, value))
                return policy_deny(role, m, false);
        return 0;
}

/* when.kubernetes: only what the configured runtime asserted counts. The value is a checked
 * Kubernetes name (pod_identify), so it may be quoted: it says which pod was refused. */
static int policy_match_pod(const struct broker_config *c, const struct role *role,
                            const struct role_match *m, const struct pod_identity *pod) {
        const char *runtime = pod_runtime_name(c->pod_runtime);
        if (!pod || !pod->asserted || pod->runtime != c->pod_runtime) {
                log_error("role '%s': not a Kubernetes pod's container as %s states it (kubernetes "
                          "%s must match %s)",
                          role->name, runtime, m->key, m->pattern);
                return -EACCES;
        }
        const char *value = streq_ptr(m->key, ROLE_POD_NAMESPACE) ? pod->namespace
                            : streq_ptr(m->key, ROLE_POD_NAME)    ? pod->name
                                                                  : pod->container;
        if (!value) {
                log_error("role '%s': %s states no kubernetes %s (must match %s)", role->name,
                          runtime, m->key, m->pattern);
                return -EACCES;
        }
        if (!policy_regex_matches(m, value)) {
                log_error("role '%s': kubernetes %s '%s' (as %s states it) does not match %s",
                          role->name, m->key, value, runtime, m->pattern);
                return -EACCES;
        }
        return 0;
}

int policy_select_role(const struct broker_config *c, const char *role_name,
                       const json_t *annotations, char *const *env, size_t n_env,
                       const struct pod_identity *pod, const struct role **ret) {
        if (!role_name)
                role_name = "default";
        const struct role *role = config_find_role(c, role_name);
        if (!role) {
                /* The name comes from the request: capped, and the logger strips control
                 * characters. */
                log_error("role '%.64s': no such role in config %s", role_name,
                          c->path ? c->path : "(embedded default)");
                return -EACCES;
        }
        for (size_t i = 0; i < role->n_when; i++) {
                const struct role_match *m = &role->when[i];
                int r = m->kind == ROLE_MATCH_ENV   ? policy_match_env(role, m, env, n_env)
                        : m->kind == ROLE_MATCH_POD ? policy_match_pod(c, role, m, pod)
                                                    : policy_match_annotation(role, m, annotations);
                if (r < 0)
                        return r;
        }
        *ret = role;
        return 0;
}

int policy_check_ref(const struct role *role, const struct ref *ref) {
        _cleanup_free_ char *key = ref_policy_key(ref);
        if (!key)
                return -ENOMEM;
        /*
         * flags 0, deliberately without FNM_PATHNAME: '*' crosses '/', so the glob
         * "vault:secret/web/" "*" allows "vault:secret/web/a/b" (a whole subtree, as operators
         * write Vault policies).
         * The ref was parsed with no "..", "." or empty component, so a subtree glob cannot be
         * escaped upwards. The ':' after the backend is literal in every useful glob, so
         * "store:*" never allows "vault:x".
         */
        for (size_t i = 0; i < role->n_allow; i++)
                if (fnmatch(role->allow[i], key, 0) == 0)
                        return 0;
        return -EACCES;
}
