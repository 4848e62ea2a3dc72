/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <sys/types.h>

#include "fetch/fetched.h"
#include "placement.h"
#include "request/config.h"
#include "request/request.h"
#include "tmpfs.h"

/*
 * The whole placement (DESIGN §2 steps 2-5): role and allow-list, fetch, tmpfs, watcher, state,
 * attach, audit. All or nothing: on any failure no tmpfs, state or watcher is left. Returns an
 * exit status (cmd.h).
 */
int place_request(const struct broker_config *cfg, const struct placement *p,
                  const struct request *req);

/* One fresh tmpfs, from creation to attachment: placement (generation 1, every secret) and
 * rotation after the shim consumed the previous tmpfs (generation N, the changed secrets). */
struct fresh_tmpfs {
        const char *container_id;
        pid_t pid; /* a process in the container's mount namespace */
        int pidfd; /* of pid, already checked by the caller; -1: opened here from pid */
        const char *rootfs, *dir;
        uint32_t host_uid, host_gid;
        uint64_t generation;
        const struct tmpfs_file *files;
        size_t n_files;
};

/*
 * Create the tmpfs, write the files and the manifest, start a watcher, record state (with the
 * watcher's pid and start time set in it) and attach the tmpfs in the container. On failure
 * nothing is left: the watcher is stopped and the record is put back to previous (removed when
 * previous is NULL). The caller holds the container's lock when there is a record. Logs one
 * line on failure.
 */
int place_fresh_tmpfs(const struct broker_config *cfg, const struct fresh_tmpfs *t, json_t *state,
                      const json_t *previous);

/* A secret's entry in the state (name, ref, mode, optional, version, lease_id, lease_expires,
 * placed, and its keyed digest when digest_key is given) or in an audit line (no digest). */
json_t *place_secret_entry(const struct secret_request *sr, const struct fetched_secret *f,
                           const struct secret *digest_key);

#define PLACE_TIME_MAX 32
/* UTC now plus offset_s, as 2026-01-31T12:00:00Z. */
void place_time_now(char buf[PLACE_TIME_MAX], long offset_s);

/* What a broker killed mid-write left in the state directory: stale temporary files and watcher
 * sockets (state_sweep_temps, watcher_sweep_sockets). Every hook, revoke and status calls it. */
void place_sweep(const struct broker_config *cfg);

/* Revoke what a container holds and forget it (poststop, revoke). Returns an exit status. */
int place_forget(const struct broker_config *cfg, const char *container_id, const char *event);
