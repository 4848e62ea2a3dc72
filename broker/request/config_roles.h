/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <regex.h>
#include <stdbool.h>

#include "config_parse.h"
#include "json.h"

/* The configuration's roles (DESIGN §5): "when" (regular expressions over annotations and env,
 * their cost bounded) and "allow" (globs over BACKEND:PATH). */

struct role_match {
        char *key; /* annotation or env name */
        bool is_env;
        char *pattern; /* for messages */
        regex_t re; /* REG_EXTENDED|REG_NOSUB */
};

struct role {
        char *name;
        struct role_match *when;
        size_t n_when;
        char **allow; /* globs (fnmatch, no FNM_PATHNAME) over "BACKEND:PATH" */
        size_t n_allow;
        json_t *auth; /* per-backend auth override, may be NULL */
};

/* "roles" of the configuration's root object: every role, its "when" and "allow"; duplicate
 * names refused. On failure (one line logged) *ret holds what was parsed, for role_done. */
int config_parse_roles(struct config_ctx *x, const json_t *root, struct role **ret, size_t *ret_n);
void role_done(struct role *r);
