/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "fetch/fetched.h"
#include "manifest.h"
#include "place/digest.h"
#include "place/tmpfs.h"
#include "request/request.h"

/* The pure parts of a rotation (no I/O: unit-tested): what happened to each secret, the line
 * that says so, the manifest of an in-place rotation, and the record's update. */

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
