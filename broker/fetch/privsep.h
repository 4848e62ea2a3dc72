/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "backend.h"

/*
 * Privilege separation of the fetch (SECURITY.md). backend_fetch_all runs in a forked child.
 * Still root, it opens every credential file the configuration names for a network backend
 * (credfile.h) and the token cache (token_cache_preopen, handed to the fetcher's uid); it empties
 * its bounding and ambient capability sets, keeps only CAP_SETUID and CAP_SETGID, sets
 * no_new_privs and reads the store (root's files) as uid 0. Then it becomes the configuration's
 * fetcher uid and gid (broker_config.fetch_uid, 65534 by default) with no capability, non-dumpable,
 * under a seccomp allow-list of what libcurl, OpenSSL, the resolver and the parsers call
 * (syscall_filter.h): everything else, mount and namespace calls, ptrace, exec, prctl, kill, uid
 * changes among them, fails with EPERM; clone may not ask for a namespace and tgkill reaches
 * only itself. Only then does it talk to the network. Capabilities go through libcap-ng, which
 * knows which ones the running kernel has. Where lockbox has no filter for the architecture,
 * every function below refuses before it forks (one line), unless the configuration says
 * "fetcher": {"seccomp": false}.
 *
 * The values come back over a SOCK_SEQPACKET socket in three kinds of messages (a secret's
 * header with its metadata, chunks of its value, and a final status), read straight into
 * sodium buffers. The parent trusts nothing in them: order, indices, sizes (each and in total),
 * the metadata's characters and lengths, optional-only skips, and an exact end are checked
 * before anything is used. Same contract as backend_fetch_all: on failure one line is logged
 * (by the child for a fetch failure, by the parent for anything else) and out is wiped.
 */
int privsep_fetch_all(const struct broker_config *cfg, const struct role *role,
                      const struct request *req, struct fetched_secret *out);

/*
 * The warm fetch agent (agent.h) reuses both halves. The agent: privsep_confine_agent() gives a
 * process that lives on the fetch child's confinement (every fd but listen_fd and the log's
 * closed, the credential files opened as root, capabilities dropped, no_new_privs, the fetcher's
 * uid and gid, the seccomp filter with the agent's few extra calls; its logins are kept in
 * memory, token_cache_keep_in_memory), and privsep_send_reply() sends a request's values as the
 * child does: every secret's header, then their values (so that the receiver sets one arena
 * aside for them all), then the end, whose status is the fetch's (why: its one line, sent
 * along when the other side cannot see the fetcher's log). The hook: privsep_receive_reply()
 * reads such a reply with every check the parent makes; on failure out is wiped, and when the
 * fetcher reported a failure the result is -ECANCELED with its status and line (why, "" when it
 * sent none) in ret_status and ret_why (valid until the next call).
 */
int privsep_confine_agent(const struct broker_config *cfg, int listen_fd);
int privsep_send_reply(int fd, const struct request *req, const struct fetched_secret *out,
                       int status, const char *why);
int privsep_receive_reply(int fd, const struct request *req, struct fetched_secret *out,
                          int *ret_status, const char **ret_why);

/* fn(userdata) in such a child (the store not read): lease revocation and `check`, which talk
 * to the network and read what a server sent as well. 0 when fn returned >= 0, else -EIO; fn
 * logs its own failures. */
int privsep_run(const struct broker_config *cfg, int (*fn)(void *userdata), void *userdata);

/* Revoke the leases recorded for a container (its state's "secrets" array), authenticating as
 * role_name (the state's "role"; NULL or unknown: the backend's own auth), in such a child
 * (backend_revoke_here). Logs each failure; returns an error when any. No lease: 0, no fork. */
int privsep_revoke_leases(const struct broker_config *cfg, const char *role_name,
                          const json_t *secrets);

/* `check` for a backend type other than the store, in such a child: reach it, log in; one line
 * printed. -EOPNOTSUPP (logged) for a type without a check. */
int privsep_check(const struct broker_config *cfg, const struct backend_config *b);

/* How the fetcher is confined here, for check and status: PRIVSEP_FILTERED (its seccomp filter),
 * PRIVSEP_UNFILTERED (turned off by the configuration), or -EAFNOSUPPORT (no filter for this
 * architecture and not turned off: every fetch is refused). */
enum { PRIVSEP_FILTERED = 0, PRIVSEP_UNFILTERED = 1 };
int privsep_filter_state(const struct broker_config *cfg);
