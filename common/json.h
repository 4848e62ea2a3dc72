/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>

#include "macro.h"

/* Install the wiping allocator: every block jansson frees is zeroed first, because parsed
 * backend responses and manifests may have held secret bytes. Called by secure_init(). */
void json_secure_init(void);

/* Strict parse: one JSON object or array, duplicates rejected, at most max bytes, no NUL.
 * On failure returns -EINVAL and writes a short reason (position and kind, never the text)
 * into err. */
int json_parse_strict(const char *buf, size_t len, size_t max, json_t **ret, char *err,
                      size_t err_size);

/* Serialise compactly into a malloc'd string (the caller wipes it when it held values). */
int json_dump_compact(const json_t *j, char **ret);

/* Convenience accessors that return NULL when the key is missing or of the wrong type. */
const char *json_get_string(const json_t *obj, const char *key);
const json_t *json_get_object(const json_t *obj, const char *key);
const json_t *json_get_array(const json_t *obj, const char *key);

/* jansson provides json_decrefp(). */
#define _cleanup_json_ _cleanup_(json_decrefp)
