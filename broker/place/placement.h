/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "json.h"

/* Where and for whom a request is placed: from a hook's bundle or from inject's arguments. */
struct placement {
        const char *container_id;
        pid_t pid; /* host pid of a process in the container's mount namespace */
        const char *rootfs; /* path in that namespace: the rootfs before pivot_root, or "/" */
        const char *bundle; /* for the record, may be NULL */
        const char *name; /* the runtime's name for it (request/name.h), may be NULL */
        const json_t *annotations; /* for role matching, may be NULL */
        char *const *env;
        size_t n_env;
        uint32_t uid, gid; /* owner inside the container */
        uint32_t host_uid, host_gid; /* the same, mapped to the host */
};
