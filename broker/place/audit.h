/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "json.h"
#include "macro.h"

/*
 * The audit log: one JSON line an event (inject, deny, rotate, revoke, failure), appended with
 * a single write(2) on an O_APPEND file so that concurrent hooks do not interleave:
 *   {"time":"...Z","event":"inject","container":"c1","role":"default",
 *    "secrets":[{"name":"db","ref":"store:db","version":null}],"result":"ok","reason":null}
 * secrets is built by the caller from names, refs and versions: never a value. A path of NULL
 * means no audit log. Failure to write is logged and returned, not fatal to the caller.
 */
int audit_write(const char *path, const char *event, const char *container, const char *role,
                const json_t *secrets, const char *result, const char *reason);
