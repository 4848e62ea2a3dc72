/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* Host ids from /proc/PID/{uid,gid}_map for a process's container ids: what the tmpfs and its
 * files are owned by on the host. -ERANGE when an id is unmapped. */
int idmap_pid_to_host(pid_t pid, uint32_t uid, uint32_t gid, uint32_t *ret_host_uid,
                      uint32_t *ret_host_gid);
