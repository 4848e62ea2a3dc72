/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "request/config.h"

/*
 * The warm fetch agent (`lockbox-broker agent`): the secret fetcher of privsep.h as a process
 * that lives on, so that hooks need neither load libcurl nor open a TLS connection nor log in:
 * it keeps one HTTP client a backend (http_keep_clients: its HTTP/2 or kept-alive HTTP/1.1
 * connections and TLS sessions) and its Vault logins in locked memory (token_cache_keep_in_memory:
 * no token file while it runs).
 *
 * It gets a listening socket that root bound in STATE_DIR/agent (agent_socket.h), writes its
 * pid there while still root, opens the credential files, then takes the fetch child's
 * confinement (privsep_confine_agent: the fetcher's uid, no capability, no_new_privs, its
 * seccomp filter with accept4). It serves root only (SO_PEERCRED), in one thread, one batch at
 * a time: the hook it accepted and those waiting behind it (agent.c). A request names what the
 * hook's policy allowed (agent_proto.h), the agent fetches it from the network backends and
 * sends the values back as the fetch child does. A
 * request made under another configuration (agent_digest.h) is answered -ESTALE, and the agent
 * exits: the hook fetches in its own child, the next hook starts a fresh agent. It exits as
 * well after the configuration's agent.idle_s seconds without a request.
 *
 * agent_serve returns when it is done (0) or could not start (logged).
 */
int agent_serve(const struct broker_config *cfg, int listen_fd);
