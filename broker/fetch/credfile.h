/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "request/config.h"
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

/* An fd positioned at the start of path's content, O_RDONLY and close-on-exec: a duplicate of
 * the preloaded one, or a fresh open(O_NOFOLLOW). The caller closes it. Returns -errno. */
int credfile_open(const char *path);

/* The whole content of path (at most max bytes, else -EFBIG) into sodium memory. */
int credfile_read(const char *path, size_t max, struct secret **ret);

/* raw without its leading and trailing whitespace (the newline of `echo ... >file`), copied into
 * sodium memory; -EINVAL when nothing else is left. */
int credfile_trimmed(const struct secret *raw, struct secret **ret);
