/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "request/config.h"
#include "request/request.h"
#include "secret.h"

/*
 * Credential files: the TLS CA, client certificates and keys, Vault's token, AppRole and JWT
 * files. The secret fetcher (privsep.c) opens every one its configuration names while it is
 * still root, then drops to an unprivileged uid that could not open them (they are root's,
 * mode 0400); it reads them afterwards through these fds. Everywhere else a credential file is
 * opened when it is read.
 */

/* Open, as root, every string under a "*_file" key of each network backend's configuration and
 * of every role's auth overrides (what cannot be opened is remembered with its errno, so that
 * the later read reports the real reason, not EACCES). Safe to call once per process. */
int credfile_preload(const struct broker_config *cfg);

/* The same for one request: only the backends its secrets name (never the store's), and only the
 * request's role's overrides for them. A store-only request opens no credential file at all. */
int credfile_preload_request(const struct broker_config *cfg, const struct role *role,
                             const struct request *req);
/* Whether a secret of req names that backend. */
bool credfile_request_names(const struct request *req, const char *backend);

/* An fd positioned at the start of path's content, O_RDONLY and close-on-exec: a duplicate of
 * the preloaded one, or a fresh open(O_NOFOLLOW). The caller closes it. Returns -errno. */
int credfile_open(const char *path);

/* The whole content of path (at most max bytes, else -EFBIG) into sodium memory. */
int credfile_read(const char *path, size_t max, struct secret **ret);

/* raw without its leading and trailing whitespace (the newline of `echo ... >file`), copied into
 * sodium memory; -EINVAL when nothing else is left. */
int credfile_trimmed(const struct secret *raw, struct secret **ret);
