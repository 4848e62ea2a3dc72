/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "manifest.h"
#include "secret.h"

/* Default bound on waiting for the broker's watcher to unmount the tmpfs when the shim may not
 * (no CAP_SYS_ADMIN). The watcher reacts within milliseconds; seconds mean it is not there. */
#define CONSUME_UNMOUNT_TIMEOUT_MS 5000

/* One secret read from the tmpfs. */
struct shim_secret {
        const char *name; /* points into the manifest */
        struct secret *value; /* NULL once dropped (the memfd holds it) */
        uid_t uid; /* owner of the file the broker wrote */
        gid_t gid;
        mode_t mode; /* the manifest's mode */
};

struct secret_set {
        struct manifest *manifest;
        struct shim_secret *items; /* manifest order */
        size_t n;
        dev_t dev; /* the tmpfs's st_dev, to tell when it is gone */
};

struct secret_set *secret_set_free(struct secret_set *set);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct secret_set *, secret_set_free);
#define _cleanup_secret_set_ _cleanup_(secret_set_freep)
/* Wipe and free every value, keep names and modes. */
void secret_set_drop_values(struct secret_set *set);

struct consume_params {
        const char *dir;
        bool wait;
        uint64_t wait_ms;
        bool optional;
        /* Only the unit tests turn this off: accept a plain directory instead of a tmpfs
         * mounted at dir. */
        bool require_mount;
        uint64_t unmount_timeout_ms;
        /* What to say when nothing is mounted and neither --wait nor --optional was given (the
         * likely cause); NULL: a generic hint. */
        const char *none_hint;
};

/* Find the secrets (waiting with --wait), read and verify every file (the manifest's files, one
 * link each, and no other name on the tmpfs), signal the watcher, and make sure the files are
 * gone and the tmpfs is unmounted. 0 and *ret set: the secrets; 0 and
 * *ret NULL: none are mounted and --optional allows that. Negative: failed, after logging
 * exactly one line. */
int consume_secrets(const struct consume_params *p, struct secret_set **ret);

/* The steps, for the unit tests. probe: 1 when a lockbox tmpfs with a manifest is at dir (an
 * O_RDONLY directory fd in *ret_dirfd), 0 when not (*ret_why says what is missing), negative
 * after logging. */
int consume_probe(const char *dir, bool require_mount, int *ret_dirfd, const char **ret_why);
int consume_read(int dirfd, const char *dir, struct secret_set **ret);
/* Signal the watcher (MANIFEST_CONSUMED_FILE), then remove the files and the manifest where
 * this process may (EACCES and EPERM are not errors: the watcher removes them). */
int consume_remove(int dirfd, const char *dir, const struct secret_set *set);
/* Unmount dir (or let the watcher) and wait until it is unmounted and the tmpfs, seen through
 * dirfd, holds no file any more. mountinfo_fd: an open /proc/self/mountinfo to wake up on
 * mount changes, or -1. */
int consume_unmount(const char *dir, int dirfd, dev_t dev, uint64_t timeout_ms, int mountinfo_fd);
