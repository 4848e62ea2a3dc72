/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdio.h>

#include "fetch/fetched.h"
#include "request/config.h"
#include "place/digest.h"
#include "manifest.h"
#include "request/request.h"
#include "place/tmpfs.h"

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

enum rotate_outcome {
        ROTATE_UNCHANGED,
        ROTATE_CHANGED, /* another value, or another version of it */
        ROTATE_ADDED, /* optional, missing when placed, there now */
        ROTATE_KEPT, /* optional, gone from the backend: the application keeps what it has */
        ROTATE_FAILED,
};

#define ROTATE_WHY_MAX 400

/* One secret of the container, as rotation sees it. */
struct rotate_item {
        size_t index; /* in the record's "secrets" */
        const json_t *entry; /* that record entry */
        struct secret_request req; /* rebuilt from the entry */
        struct fetched_secret fetched;
        char digest[DIGEST_HEX_BYTES]; /* of the fetched value, "" when none */
        enum rotate_outcome outcome;
        char why[ROTATE_WHY_MAX]; /* for ROTATE_FAILED */
};

struct rotate_options {
        char **only; /* --secret NAMEs; none: every secret of the container */
        size_t n_only;
        int grace_ms; /* how long a retired lease waits for the new generation's consumption */
        bool all; /* --all: a container that is not running is skipped, not a failure */
};

#define ROTATE_GRACE_DEFAULT_MS 30000

/* Rotate one container, one line per secret to out (and container-level errors as one log
 * line). 0 when nothing failed; negative otherwise. */
int rotate_container(const struct broker_config *cfg, const struct secret *digest_key,
                     const char *id, const struct rotate_options *o, FILE *out);

/* The pure parts, for the unit tests. */

/* What happened to one secret: entry is its record, f the new fetch, digest f's keyed digest. */
enum rotate_outcome rotate_classify(const json_t *entry, const struct fetched_secret *f,
                                    const char *digest);

/* "c1 db: unchanged", "c1 db: rotated (v3 → v4)", "c1 db: failed: WHY", ... */
void rotate_format_line(char *buf, size_t size, const char *id, const struct rotate_item *it);

/* The manifest of an in-place rotation: cur's entries with those of files replaced (or added),
 * sorted by name (the shim's fd order), at generation. */
int rotate_merge_manifest(const struct manifest *cur, uint64_t generation,
                          const struct tmpfs_file *files, size_t n, struct manifest **ret);

/* Apply the changed and added items to a record: their entries (version, lease, digest),
 * each replaced lease into retired_leases, generation and last_rotation (now). */
int rotate_record(json_t *state, const struct rotate_item *items, size_t n,
                  const struct secret *digest_key, uint64_t generation, const char *now);

/* The reason of a captured failure line: without "PROGRAM: " and a leading
 * "secret 'NAME' (REF): ", whose context the report line gives already. */
void rotate_reason(const char *captured, const char *name, const char *ref, char *buf, size_t size);
