/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "json.h"
#include "pod.h"
#include "ref.h"

struct secret_request {
        char *name;
        char *ref_text; /* as written, for messages, state and audit */
        struct ref ref;
        mode_t mode;
        bool mode_set; /* io.lockbox.mode.NAME given: wins over a backend's metadata */
        bool optional;
        /* In a warm agent's batch of several hooks' requests (agent.c): whose, 0 elsewhere. A
         * backend shares one read between secrets of one hook only: two containers never get
         * one lease. */
        unsigned hook;
};

/* The request (DESIGN §4) from annotations and/or process.env. */
struct request {
        struct secret_request *secrets;
        size_t n_secrets;
        char *dir; /* absolute; default from config */
        bool uid_set, gid_set;
        uint32_t uid, gid; /* container ids; defaults from process.user by the caller */
        char *role; /* default "default" */
        int rotate_signal; /* default SIGUSR1 */
        /* io.lockbox.containers: which containers of a Kubernetes pod get the secrets
         * (request/pod.h); NULL when not given. */
        char **containers;
        size_t n_containers;
        /* The pod the container belongs to, as its runtime states it (borrowed; set by the
         * hook after request_build, NULL outside a pod): roles' when.kubernetes match it. */
        const struct pod_identity *pod;
};

/*
 * Build the request from annotations (may be NULL) and env (may be NULL). No secret asked for:
 * returns 0 with n_secrets == 0. A key given both ways with different values, a bad name, ref,
 * mode, uid, gid, dir (must be absolute, no "..", no control characters) or signal: -EINVAL,
 * with one line logged naming the key and the reason (never a value that could be one: refs
 * are references, but an env value that does not parse is quoted only by its key).
 * Secrets are sorted by name.
 */
int request_build(const json_t *annotations, char *const *env, size_t n_env,
                  const struct broker_config *cfg, struct request *ret);
void request_done(struct request *r);
