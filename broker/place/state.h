/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include "json.h"
#include "macro.h"

/*
 * The state directory (default /run/lockbox, on /run's tmpfs, 0700 root): one file a container
 * that holds secrets, containers/<id>.json, written atomically. It holds names, refs, versions,
 * leases, the generation and the watcher's identity: never a value, and never a plain hash of
 * one. To tell whether a value changed on rotation it keeps a keyed digest of each value
 * (BLAKE2b keyed with digest.key, 32 random bytes in this directory, root only, see digest.h):
 * a MAC says nothing about the value to whoever lacks the key, unlike a plain hash, which would
 * let anyone who reads the record test guesses of a low-entropy password.
 *
 *   {"version":1,"id":"c1","pid":123,"pid_start":456,"rootfs":"/b/rootfs","dir":"/run/secrets",
 *    "role":"default","generation":1,"created":"2026-...Z","last_rotation":null,"uid":0,"gid":0,
 *    "uid_set":false,"gid_set":false,"rotate_signal":"USR1","consumed":false,"watcher_pid":0,
 *    "watcher_start":0,
 *    "secrets":[{"name":"db","ref":"store:db","mode":"0400","mode_set":false,"optional":false,
 *                "version":null,"lease_id":null,"lease_expires":null,"placed":true,
 *                "digest":"HEX"}],
 *    "retired_leases":[{"lease_id":"...","ref":"vault:...","generation":1}]}
 *
 * uid, gid and mode are the request's (its own or the defaults); uid_set, gid_set and mode_set
 * say which the request gave itself, so that rotation lets a backend's metadata (Keywhiz) decide
 * the others as placement did. A record without them (written before they were kept) is taken
 * as if the request gave all three.
 *
 * retired_leases (absent when empty): leases replaced by a rotation and not yet revoked, because
 * the application may not have the new value yet; revoke and poststop revoke them too.
 */

/* A container id is used as a file name: 1..256 of [A-Za-z0-9_.-], not starting with '.'. */
bool state_id_is_valid(const char *id);

/* Create the directory tree if missing (0700) and check it is root's and private. */
int state_dir_open(const char *state_dir, int *ret_fd);
/* The same for the state directory itself (sub NULL) or one of its subdirectories. */
int state_private_dir(const char *state_dir, const char *sub, int *ret_fd);

/*
 * Serialise changes to one container's record between the broker's commands (rotate, revoke,
 * poststop) and its watcher (which marks the record consumed): an exclusive flock on
 * containers/<id>.lock, held until state_unlock. -ENOENT when the container has no record (the
 * lock file is then removed again, so that none is left for a container that is gone).
 */
int state_lock(const char *state_dir, const char *id, int *ret_fd);
/* Release; with forget, remove the lock file first (the record is gone for good). Returns -1. */
int state_unlock(int fd, const char *state_dir, const char *id, bool forget);

int state_save(const char *state_dir, const json_t *state);
/* -ENOENT when the container has no state. */
int state_load(const char *state_dir, const char *id, json_t **ret);
int state_remove(const char *state_dir, const char *id);
/* Every container's state, sorted by id; unreadable files are skipped with a warning. */
int state_load_all(const char *state_dir, json_t **ret_array);

/*
 * Leftovers of a broker (or fetcher) killed while it wrote: the temporary files of
 * write_file_atomic_at (".#NAME.PID", and the digest key's ".#digest.key.PID.RAND") in the
 * state directory, containers/ and tokens/ hold names, references, bundle paths, digests or
 * tokens. One is removed once it is older than STATE_STALE_AFTER_S and its writer's pid is gone,
 * or once it is older than STATE_STALE_MAX_S whatever the pid (reused by then). Called by every
 * hook, revoke and status; never fails (what cannot be removed now is left for the next run).
 */
#define STATE_STALE_AFTER_S 60
#define STATE_STALE_MAX_S 3600
void state_sweep_temps(const char *state_dir);
/* Is a file with this mtime stale for a writer that is alive_or_unknown? (For the watcher's
 * sockets as well.) */
bool state_is_stale(const struct stat *st, bool owner_alive);

/*
 * The one record that what names: its id, else its name (the runtime's, see request/name.h),
 * else a unique prefix of its id (as docker takes ids). 0 and the id (malloc'd) in *ret_id;
 * -ENOENT when nothing matches; -ENOTUNIQ when several do, with their records in
 * *ret_matches (an array, sorted by id).
 */
int state_find(const char *state_dir, const char *what, char **ret_id, json_t **ret_matches);

/* Start time of a process in clock ticks (field 22 of /proc/PID/stat), to tell a pid from a
 * reused one. */
int proc_start_time(pid_t pid, unsigned long long *ret);
