/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "macro.h"
#include "secret.h"

/* The on-tmpfs format (DESIGN §6): DIR/.lockbox.json, written last, and one file a secret. */
#define MANIFEST_FILE ".lockbox.json"
/* The consumption signal: an empty file that the container user may write and nothing else on
 * the tmpfs is writable by it. The shim writes one byte once it has read and verified the set;
 * the broker's watcher then removes every file through its mount fd and unmounts the tmpfs. A
 * process that writes it earlier only makes the shim find nothing (it fails closed). */
#define MANIFEST_CONSUMED_FILE ".lockbox.consumed"
#define MANIFEST_VERSION 1
#define MANIFEST_MAX_BYTES (256 * 1024)
#define MANIFEST_MAX_SECRETS 256
#define SECRET_NAME_MAX 128

struct manifest_entry {
        char name[SECRET_NAME_MAX + 1];
        char file[SECRET_NAME_MAX + 1];
        uint64_t size;
        mode_t mode;
        uint8_t blake2b[SECRET_HASH_BYTES];
};

struct manifest {
        unsigned version;
        char container[256];
        uint64_t generation;
        size_t n_entries;
        struct manifest_entry *entries;
};

/* NAME: [A-Za-z0-9_][A-Za-z0-9._-]{0,127} — also safe as a file name and in an env name. */
bool secret_name_is_valid(const char *name);

/* Parse and validate a manifest: version 1, names valid and unique, files valid names (so no
 * '/' and no leading '.'), sizes and hashes present. -EINVAL on anything else. */
int manifest_parse(const char *buf, size_t size, struct manifest **ret);
int manifest_format(const struct manifest *m, char **ret);
struct manifest *manifest_free(struct manifest *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct manifest *, manifest_free);
#define _cleanup_manifest_ _cleanup_(manifest_freep)
