/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "request/pod.h"
#include "secret.h"

/*
 * The projected service-account token of the pod whose container this hook serves: Vault's
 * kubernetes login uses it in place of the backend's jwt_file (vault_auth.c), so that Vault's
 * per-service-account policies decide what the pod may read.
 *
 * One hook run serves one container, so the token is the process's, as credfile.c's preloaded
 * files are: the hook names it (pod_token_use), the secret fetcher opens it while it is still
 * root (pod_token_preload, from privsep.c: the kubelet's files are root's, mode 0644 in a
 * directory only root can reach on a real node), and the login reads it through that fd. The
 * file is never looked for inside the container's image: it is "token" in the mount's SOURCE on
 * the host, as the runtime wrote it into config.json, resolved beneath that directory (the
 * kubelet's ..data symlinks stay inside it; anything leaving it, a magic link or another mount
 * is refused), a regular file of at most POD_TOKEN_MAX bytes.
 */

#define POD_TOKEN_MAX 16384 /* a service-account JWT is 1-2 KB */

/* Use dir/token for this process's Vault kubernetes logins; pod names the pod in messages.
 * Copies what it keeps. -ENOMEM. */
int pod_token_use(const char *dir, const struct pod_identity *pod);

/* Whether pod_token_use was called: a kubernetes login then uses the pod's token. */
bool pod_token_active(void);

/* As root, before the fetcher drops its uid: open the token (the error, if any, is kept for
 * pod_token_read). No-op without pod_token_use. */
void pod_token_preload(void);

/* The token's content without surrounding whitespace, into sodium memory. On failure a
 * negative errno and why (names the file, never its content). */
int pod_token_read(struct secret **ret, char *why, size_t why_size);

/* "pod NAMESPACE/NAME" (or "pod ?" when the runtime said nothing), for messages. */
const char *pod_token_pod(void);
