/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdio.h>

#include "items.h"
#include "request/config.h"
#include "secret.h"

/*
 * Rotation (DESIGN §8): fetch a container's references again and place what changed as a new
 * generation. The broker keeps no value between runs: "changed" is a keyed digest (digest.h) or
 * a backend version that differs from the record.
 *
 * - The tmpfs is still mounted (nobody consumed it; its watcher holds the mount fd): the
 *   changed files are replaced in it (tmpfs_replace: all written, then renamed, manifest last),
 *   through the mount fd the watcher hands over (watcher.h), never through a path.
 * - The shim consumed it: a fresh tmpfs holding only the changed secrets is mounted with a new
 *   watcher (the placement's own pipeline, place_fresh_tmpfs) and the shim, the container's
 *   init verified by its start time, gets the record's rotate_signal. It merges them by name.
 * - A leased secret (Vault) got a new lease: the old one is retired, and revoked only once the
 *   application has the new value (the new generation was consumed, or --grace ran out), or at
 *   revoke/poststop.
 */

#define ROTATE_GRACE_DEFAULT_MS 30000

/* Rotate one container, one line per secret to out (and container-level errors as one log
 * line). 0 when nothing failed; negative otherwise. */
int rotate_container(const struct broker_config *cfg, const struct secret *digest_key,
                     const char *id, const struct rotate_options *o, FILE *out);
