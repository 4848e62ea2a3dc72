/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

#include "record.h"
#include "request/config.h"
#include "secret.h"

/* The secrets of one container's rotation: rebuilt from its record, fetched again (in the
 * secret fetcher's child), classified; the leases a failed placement took are given back. */

struct rotate_options {
        char **only; /* --secret NAMEs; none: every secret of the container */
        size_t n_only;
        int grace_ms; /* how long a retired lease waits for the new generation's consumption */
        bool all; /* --all: a container that is not running is skipped, not a failure */
};

/* The items of a record (only o->only's names when given); -ENOENT (logged) for a name the
 * container does not have. */
int rotate_items_build(const json_t *state, const struct rotate_options *o,
                       struct rotate_item **ret, size_t *ret_n);
void rotate_items_free(struct rotate_item *items, size_t n);

/* Fetch one item again under role; its outcome is ROTATE_FAILED with why set on failure. */
void rotate_fetch_one(const struct broker_config *cfg, const struct role *role,
                      const struct secret *digest_key, struct rotate_item *it);

/* rotate_classify() for each item that did not fail. */
void rotate_items_classify(struct rotate_item *items, size_t n, const json_t *state);

/* Revoke the leases the new fetch took and that will not be used: all of them when the new
 * generation was not placed, else those of items that were not changed or added. */
void rotate_drop_new_leases(const struct broker_config *cfg, const char *role,
                            const struct rotate_item *items, size_t n, bool placed);

/* Mark it failed with a reason (fmt has one %s, arg). */
void rotate_item_fail(struct rotate_item *it, const char *fmt, const char *arg);

/* A boolean of a record ("uid_set", ...): false when absent. */
bool rotate_record_flag(const json_t *o, const char *key);
