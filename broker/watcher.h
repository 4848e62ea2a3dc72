/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <sys/types.h>

#include "macro.h"

#define WATCHER_COMM "lockbox-watch"

/*
 * The watcher: a detached process (setsid, double fork, stdio on /dev/null, no other fd but
 * the ones it needs — runtimes wait for the hook's stdout/stderr pipes to close) that holds the
 * tmpfs' mount fd and a pidfd of the container's init. The shim usually lacks CAP_SYS_ADMIN, so
 * when it deletes the manifest (the last thing it removes) the watcher unmounts the tmpfs from
 * the host side. It exits then, when the container's init exits, or on SIGTERM (poststop).
 *
 * watcher_spawn returns once the watcher's inotify watch is in place, so it must be called
 * before the tmpfs is attached: no deletion can be missed.
 */
int watcher_spawn(int mount_fd, int pidfd, const char *state_dir, const char *container_id,
                  pid_t *ret_pid, unsigned long long *ret_start);

/* Stop a watcher recorded in a state file, if that pid is still our watcher. */
void watcher_stop(pid_t pid, unsigned long long start);
