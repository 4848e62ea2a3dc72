/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/*
 * Ownership and mode of the files lockbox trusts (configuration, store key and directory, state
 * directory, token cache, credential files), and the one line that refuses one:
 *
 *   store key /etc/lockbox/store.key: refusing: mode 0644, owner root; expected owner root,
 *   no access for group or others (chmod go-rwx /etc/lockbox/store.key)
 *
 * It names the path, what was found and what is expected, and how to get there.
 */

/* Whether st is owned by uid and has none of the bits in forbidden. */
bool perm_ok(const struct stat *st, uid_t uid, mode_t forbidden);

/* "mode 0644, owner root" (or "owner uid 1000") into buf. */
void perm_describe(const struct stat *st, char *buf, size_t size);

/* Log the refusal of what (e.g. "store key") at path, as above; returns -EPERM. */
int perm_refuse(const char *what, const char *path, const struct stat *st, uid_t uid,
                mode_t forbidden);

/*
 * A directory of lockbox's own (the state directory and those in it), open as fd: owned by the
 * effective uid and without group or others' write permission, extra read or search bits are
 * taken away (chmod 0700) and a warning says so: nobody else could have put anything there. Owned
 * by someone else or writable by others (anything could have been planted): refused as above.
 * Returns 0 or -EPERM (or -errno of fstat, fchmod).
 */
int perm_fix_private_dir(int fd, const char *what, const char *path);
