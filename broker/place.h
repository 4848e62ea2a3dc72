/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <sys/types.h>

#include "config.h"
#include "oci.h"

/* Where and for whom a request is placed: from a hook's bundle or from inject's arguments. */
struct placement {
        const char *container_id;
        pid_t pid; /* host pid of a process in the container's mount namespace */
        const char *rootfs; /* path in that namespace: the rootfs before pivot_root, or "/" */
        bool create_dirs; /* false for a read-only rootfs */
        const char *bundle; /* for the record, may be NULL */
        const json_t *annotations; /* for role matching, may be NULL */
        char *const *env;
        size_t n_env;
        uint32_t uid, gid; /* owner inside the container */
        uint32_t host_uid, host_gid; /* the same, mapped to the host */
};

/*
 * The whole placement (DESIGN §2 steps 2-5): role and allow-list, fetch, tmpfs, watcher, state,
 * attach, audit. All or nothing: on any failure no tmpfs, state or watcher is left. Returns an
 * exit status (cmd.h).
 */
int place_request(const struct broker_config *cfg, const struct placement *p,
                  const struct request *req);

/* Revoke what a container holds and forget it (poststop, revoke). Returns an exit status. */
int place_forget(const struct broker_config *cfg, const char *container_id, const char *event);

/* Host ids from /proc/PID/{uid,gid}_map for container ids. -ERANGE when unmapped. */
int place_map_ids(pid_t pid, uint32_t uid, uint32_t gid, uint32_t *ret_host_uid,
                  uint32_t *ret_host_gid);
