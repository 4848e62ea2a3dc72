/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "json.h"
#include "macro.h"
#include "request/config.h"

/*
 * The audit log: one JSON line an event, always the same fields (null where there is none), in
 * this order:
 *   {"time":"2026-12-05T10:52:33.123Z","event":"inject","container":"ID","name":null,
 *    "role":"default","result":"ok","reason":null,
 *    "secrets":[{"name":"db","ref":"store:db","version":null,"lease_id":null,
 *                "outcome":"placed"}]}
 * event: inject, deny, failure, rotate, revoke (also poststop's), skip (a pod's container that
 * does not run the shim). result: ok, denied, failed, skipped.
 * Each secret: name, ref, version (Vault KV), lease_id (Vault dynamic secrets), outcome
 * (inject: placed or skipped; rotate: unchanged, rotated, added, kept or failed; otherwise
 * null). Never a value, nor anything derived from one.
 *
 * Appended with a single write(2) on an O_APPEND file (audit_log), so that concurrent hooks
 * do not interleave; and, with audit_syslog, the same line sent to the system log (syslog or
 * journald) as facility LOG_AUTHPRIV, severity info (warning when not ok). Failure to write
 * is logged and returned, never fatal to the caller.
 */
struct audit_record {
        const char *event;
        const char *container;
        const char *name; /* the container's name (request/name.h), may be NULL */
        const char *role;
        const json_t *secrets; /* objects with name, ref and optionally version, lease_id,
                                * outcome, placed; other fields are left out */
        const char *result;
        const char *reason; /* may be NULL */
};

int audit_write(const struct broker_config *cfg, const struct audit_record *rec);

/* The line (without newline) for rec, at time now: for the log and for tests. NULL on ENOMEM. */
char *audit_format(const struct audit_record *rec);
