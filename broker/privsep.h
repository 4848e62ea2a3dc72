/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "backend.h"

/*
 * Privilege separation of the fetch (SECURITY.md). backend_fetch_all runs in a forked child
 * that keeps no capability (bounding, effective, permitted, inheritable and ambient sets
 * emptied), sets no_new_privs and installs a seccomp filter refusing what a compromised
 * libcurl, TLS stack or response parser could use against the host: mount and namespace calls,
 * ptrace and process_vm_*, exec, module and kexec calls, key rings, uid changes, and signals to
 * any process but itself. The child stays uid 0 without capabilities, so that the backends open
 * root's credential files (mode 0400) and the token cache as they do in-process; a dedicated
 * uid needs the backends to open those first (SECURITY.md, known limits).
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
