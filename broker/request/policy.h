/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "config.h"
#include "pod.h"
#include "ref.h"

/*
 * Deny by default. The role named by the request must exist, and all of its "when" matches
 * must hold (an annotation or env entry that is absent fails its match; when.kubernetes holds
 * only for a pod whose identity the configured runtime asserted). Returns 0 and the role, or
 * -EACCES after logging one line naming the role and what did not match.
 * annotations: JSON object of string values (may be NULL); env: "K=V" strings (may be NULL);
 * pod: the container's pod (pod_identify), NULL outside one.
 */
int policy_select_role(const struct broker_config *c, const char *role_name,
                       const json_t *annotations, char *const *env, size_t n_env,
                       const struct pod_identity *pod, const struct role **ret);

/* 0 when a glob of the role allows the ref's "BACKEND:PATH", -EACCES otherwise (not logged). */
int policy_check_ref(const struct role *role, const struct ref *ref);
