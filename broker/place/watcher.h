/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <sys/types.h>

#include "macro.h"

#define WATCHER_COMM "lockbox-watch"
#define WATCHER_SOCK_NAME_MAX 40

/*
 * The watcher: a detached process (setsid, double fork, stdio on /dev/null, no other fd but
 * the ones it needs — runtimes wait for the hook's stdout/stderr pipes to close) that holds the
 * tmpfs' mount fd and a pidfd of the container's init. The container user cannot remove
 * anything from the tmpfs (its root directory is host root's), so the shim signals that it has
 * read and verified the set by writing to MANIFEST_CONSUMED_FILE; the watcher (or a deleted
 * manifest: a shim that may remove files) then removes every file through the mount fd and
 * unmounts the tmpfs from the host side. It exits then, when the container's init exits, or on
 * SIGTERM (poststop).
 *
 * watcher_spawn returns once the watcher's inotify watch is in place, so it must be called
 * before the tmpfs is attached: no deletion can be missed.
 *
 * Rotation of a tmpfs that is still mounted needs that mount: the path in the container leads
 * wherever the container wants it to, the mount fd only to our tmpfs. So the watcher listens on
 * <state_dir>/watch/<hash of the id>.sock (root's directory, 0700; socket 0600) and hands its
 * mount fd (SCM_RIGHTS) to a root peer. It removes the socket before it unmounts, so that a
 * rotation that asks while the shim is consuming gets an error at once rather than a mount that
 * is about to go.
 */
int watcher_spawn(int mount_fd, int pidfd, const char *state_dir, const char *container_id,
                  pid_t *ret_pid, unsigned long long *ret_start);

/* Stop a watcher recorded in a state file, if that pid is still our watcher. */
void watcher_stop(pid_t pid, unsigned long long start);
/* Is that pid our watcher (name and start time)? */
bool watcher_is_alive(pid_t pid, unsigned long long start);
/* Wait up to timeout_ms for the watcher to exit: 0 once it is gone, -ETIMEDOUT. */
int watcher_wait_exit(pid_t pid, unsigned long long start, int timeout_ms);

/* The mount fd of the container's watcher (whose pid the record names): the root of the tmpfs,
 * checked to be one. -ENOTCONN when no watcher listens, -ETIMEDOUT when it does not answer
 * (it is unmounting), -EPERM when the listener is not that watcher. */
int watcher_take_mount(const char *state_dir, const char *container_id, pid_t watcher_pid,
                       int *ret_mount_fd);
/* Remove the container's socket (revoke, poststop: the watcher may have been killed). */
void watcher_forget_socket(const char *state_dir, const char *container_id);

/* Remove the sockets of watchers that were killed (their record gone, or naming a watcher that
 * is not running) once older than STATE_STALE_AFTER_S (state.h). Never fails. */
void watcher_sweep_sockets(const char *state_dir);

/* The socket's file name for a container. */
void watcher_socket_name(const char *container_id, char name[WATCHER_SOCK_NAME_MAX]);
