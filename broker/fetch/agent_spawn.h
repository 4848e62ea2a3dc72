/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "request/config.h"

/*
 * Start the warm fetch agent for a hook (agent_client.c): the broker executed again as
 * `lockbox-broker --config FILE --state-dir DIR [-v...] agent`, detached (double fork, setsid,
 * cwd /, stdin and stdout on /dev/null, stderr on DIR/agent/agent.log: it holds none of the
 * hook's pipes, which the runtime waits for), with listen_fd as systemd's socket activation
 * passes one (fd 3, LISTEN_FDS=1, LISTEN_PID), so that `lockbox-broker agent` has one way in.
 * The environment is only that. Returns when the intermediate child is reaped; the socket is
 * listening already, so a hook can connect at once.
 */
int agent_spawn(const struct broker_config *cfg, int dirfd, int listen_fd);
