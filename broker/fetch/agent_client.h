/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "fetched.h"
#include "json.h"

/*
 * A hook's side of the warm fetch agent (agent.h): ask it for what policy allowed, starting it
 * first when no agent listens (a missing or stale socket, under STATE_DIR/agent/spawn.lock so
 * that a burst of hooks starts one).
 */

/* The agent could not serve: the caller fetches in its own child (privsep.h). */
#define AGENT_UNAVAILABLE 1

/*
 * Fetch req's secrets (network backends only) through the agent. 0: out holds them, checked as
 * the fetch child's reply is. AGENT_UNAVAILABLE: no agent could be reached or started, it
 * serves another configuration (it exits), it died or answered something malformed: out is
 * wiped and why is said at -v only. A negative errno: the agent's fetch failed (a backend's
 * answer, such as a 403): its one line is logged as the hook's own, as the fetch child's would
 * be, and the container fails.
 */
int agent_fetch(const struct broker_config *cfg, const struct role *role, const struct request *req,
                struct fetched_secret *out);

/* For status: what the running agent says about itself (agent.c: pid, uid, uptime_s, requests,
 * logins, current, backends[] with their connections); never starts one. -ENOENT or
 * -ECONNREFUSED when none runs. */
int agent_query_status(const struct broker_config *cfg, json_t **ret);
