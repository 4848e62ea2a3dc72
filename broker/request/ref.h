/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "macro.h"

/*
 * A reference: BACKEND:LOCATOR (DESIGN §4). LOCATOR is PATH[#FIELD][@VERSION]; VERSION is
 * recognised only as a trailing "@digits". Whether a backend accepts a field or a version is
 * the backend's business (the store accepts neither).
 */
struct ref {
        char *backend; /* "store", "vault", "keywhiz" or any backend name in the config */
        char *path; /* the locator without field and version; never empty */
        char *field; /* NULL when absent */
        char *version; /* NULL when absent; digits only */
};

#define REF_MAX 1024

/* -EINVAL for: empty parts, no ':', control characters or spaces, longer than REF_MAX, a path
 * with a ".." component or an empty component ("a//b"), a leading '/'. */
int ref_parse(const char *s, struct ref *ret);
void ref_done(struct ref *r);
/* "BACKEND:PATH", what a role's allow-list globs are matched against; malloc'd. */
char *ref_policy_key(const struct ref *r);
