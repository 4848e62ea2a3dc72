/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <regex.h>
#include <stdbool.h>

#include "config_parse.h"
#include "json.h"

/* The configuration's roles (DESIGN §5): "when" (regular expressions over annotations, env and
 * the Kubernetes pod, their cost bounded) and "allow" (globs over BACKEND:PATH). */

enum role_match_kind {
        ROLE_MATCH_ANNOTATION, /* when.annotations: any annotation but io.kubernetes.* */
        ROLE_MATCH_ENV, /* when.env */
        ROLE_MATCH_POD, /* when.kubernetes: what the configured runtime asserts */
};

struct role_match {
        char *key; /* annotation or env name; for ROLE_MATCH_POD one of role_pod_keys */
        enum role_match_kind kind;
        char *pattern; /* for messages */
        regex_t re; /* REG_EXTENDED|REG_NOSUB */
};

/* The keys of when.kubernetes: the pod's namespace, the pod's name, the container's name. */
#define ROLE_POD_NAMESPACE "namespace"
#define ROLE_POD_NAME "pod"
#define ROLE_POD_CONTAINER "container"

struct role {
        char *name;
        struct role_match *when;
        size_t n_when;
        char **allow; /* globs (fnmatch, no FNM_PATHNAME) over "BACKEND:PATH" */
        size_t n_allow;
        json_t *auth; /* per-backend auth override, may be NULL */
};

/* "roles" of the configuration's root object: every role, its "when" and "allow"; duplicate
 * names refused. when.kubernetes needs the root's "kubernetes.runtime" (pods true), and
 * when.annotations may not name io.kubernetes.* keys (a pod can set those itself under some
 * runtimes: when.kubernetes is the way). On failure (one line logged) *ret holds what was
 * parsed, for role_done. */
int config_parse_roles(struct config_ctx *x, const json_t *root, bool pods, struct role **ret,
                       size_t *ret_n);
void role_done(struct role *r);
