/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>

#include "agent_proto.h"
#include "request/config.h"

/*
 * What a warm fetch agent must serve for a hook to use it: the same configuration (the bytes
 * parsed, config.h's digest), the same state directory, the same broker binary (an upgrade
 * replaces it), and the same credential files (each *_file a network backend or a role's auth
 * names, by its inode, size, times, owner and mode: the agent opened them once, when it
 * started, and would go on reading a file that was replaced or changed). A hook computes it
 * for every request and the agent once, before it opens those files; when they differ the agent
 * says so and exits, and the hook fetches in its own child.
 */
int agent_digest(const struct broker_config *cfg, uint8_t ret[AGENT_DIGEST_BYTES]);
