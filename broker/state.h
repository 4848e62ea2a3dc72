/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <sys/types.h>

#include "json.h"
#include "macro.h"

/*
 * The state directory (default /run/lockbox, on /run's tmpfs, 0700 root): one file a container
 * that holds secrets, containers/<id>.json, written atomically. It holds names, refs, versions,
 * leases, the generation and the watcher's identity: never a value, never a hash of one.
 *
 *   {"version":1,"id":"c1","pid":123,"pid_start":456,"rootfs":"/b/rootfs","dir":"/run/secrets",
 *    "role":"default","generation":1,"created":"2026-...Z","uid":0,"gid":0,
 *    "rotate_signal":"USR1","consumed":false,"watcher_pid":0,"watcher_start":0,
 *    "secrets":[{"name":"db","ref":"store:db","mode":"0400","version":null,"lease_id":null}]}
 */

/* A container id is used as a file name: 1..256 of [A-Za-z0-9_.-], not starting with '.'. */
bool state_id_is_valid(const char *id);

/* Create the directory tree if missing (0700) and check it is root's and private. */
int state_dir_open(const char *state_dir, int *ret_fd);

int state_save(const char *state_dir, const json_t *state);
/* -ENOENT when the container has no state. */
int state_load(const char *state_dir, const char *id, json_t **ret);
int state_remove(const char *state_dir, const char *id);
/* Every container's state, sorted by id; unreadable files are skipped with a warning. */
int state_load_all(const char *state_dir, json_t **ret_array);

/* Start time of a process in clock ticks (field 22 of /proc/PID/stat), to tell a pid from a
 * reused one. */
int proc_start_time(pid_t pid, unsigned long long *ret);
