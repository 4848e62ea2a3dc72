/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "fetched.h"

/*
 * Where a request's secrets are fetched (what place.c and rotation call): the network backends'
 * through the warm fetch agent (agent_client.h) when the configuration has it on, the store's in
 * the hook's own fetch child (privsep.h, which reads it before it drops root, as ever), and the
 * whole request in that child when the agent cannot serve (no agent, a stale or dead one, a
 * request too large for its socket). Same contract as privsep_fetch_all: 0 with out[i] for
 * req->secrets[i], or one line logged, out wiped and a negative errno.
 */
int fetch_secrets(const struct broker_config *cfg, const struct role *role,
                  const struct request *req, struct fetched_secret *out);
