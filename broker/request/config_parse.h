/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The parse context of the configuration's parsers (config.c, config_roles.c). */

#include <stdint.h>

#include "json.h"
#include "macro.h"

/* Where a parse is, for messages: the file and the JSON path of the key. */
struct config_ctx {
        const char *origin;
        uint64_t regex_cost; /* config_regex_cost() of every pattern so far */
};

/* Log "config ORIGIN: JPATH: MESSAGE" (one line) and return -EINVAL. */
_printf_(3, 4) int config_fail(const struct config_ctx *x, const char *jpath, const char *fmt, ...);

/* Every key of obj must be in allowed (NULL-terminated). Only the key's name is printed: an
 * unknown key could be a misplaced token. */
int config_check_keys(const struct config_ctx *x, const json_t *obj, const char *jpath,
                      const char *const *allowed);
