/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <sys/types.h>

/*
 * Where the warm fetch agent listens: STATE_DIR/agent/, root's and 0700 (nobody else may even
 * reach the socket), holding agent.sock (SOCK_SEQPACKET), agent.pid, agent.log (the agent's
 * stderr when a hook started it) and spawn.lock. Root binds the socket and hands the agent the
 * listening fd (a hook that starts it, or systemd's lockbox-agent.socket): the agent, which
 * runs as the fetcher's uid, never needs to reach the directory.
 */

#define AGENT_SOCKET_NAME "agent.sock"
#define AGENT_PID_NAME "agent.pid"
#define AGENT_LOG_NAME "agent.log"

/* STATE_DIR/agent, created 0700 if missing (and STATE_DIR too); -EPERM when either is not
 * root's or is open to group or others. */
int agent_dir_open(const char *state_dir, int *ret_dirfd);

/* A new listening socket at DIR/agent.sock (a stale one removed first), close-on-exec. */
int agent_bind(int dirfd, int *ret_fd);

/* Connect to DIR/agent.sock without waiting on a full backlog: -ENOENT (no socket),
 * -ECONNREFUSED (no one listens: a stale socket), -EAGAIN, ... The fd is blocking, with
 * timeout_ms as its receive and send timeout. */
int agent_connect(int dirfd, unsigned timeout_ms, int *ret_fd);

/* flock DIR/spawn.lock, polled until timeout_ms has passed (-ETIMEDOUT). */
int agent_spawn_lock(int dirfd, unsigned timeout_ms, int *ret_fd);

/* DIR/agent.pid: written by the agent while it is root, read by tests and operators. */
int agent_write_pid(int dirfd, pid_t pid);
