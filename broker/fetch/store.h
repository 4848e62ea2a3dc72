/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "macro.h"
#include "secret.h"

/*
 * The sealed local store. One file a secret, DIR/NAME.sealed, written atomically:
 *   "LBXS" | version byte (1) | 24-byte nonce | XChaCha20-Poly1305-IETF ciphertext+tag
 * with associated data "lockbox-store-v1:" NAME, so that a file renamed to another secret's
 * name fails to open. The key file holds 32 raw bytes, mode 0400, owned by root. The store
 * directory is 0700. Names are secret names (manifest.h: secret_name_is_valid).
 * Errors: -ENOENT no such secret; -EBADMSG tampered, truncated, renamed or wrong key;
 * -EINVAL bad name; -EPERM key file or directory with unsafe ownership or mode, refused in a
 * line that names it, what it is and what is expected (perm.h): callers add none.
 */
#define STORE_VALUE_MAX (1024 * 1024)

struct store {
        char *dir;
        char *key_file;
};

/* Create dir (0700) and key file (0400, O_EXCL) if missing; an existing key is kept. */
int store_init(const struct store *s);
int store_put(const struct store *s, const char *name, const struct secret *value);
int store_get(const struct store *s, const char *name, struct secret **ret);
/* The values of names[0..n), the directory and the key opened once and the values decrypted
 * into one arena (secret_new_batch). errs[i] is each name's result as store_get's, ret[i] its
 * value when 0; the return value is negative for what fails them all (the directory, the key,
 * memory), with every ret[i] NULL. */
int store_get_batch(const struct store *s, const char *const *names, size_t n, struct secret **ret,
                    int *errs);
/* Sorted names, NULL-terminated, malloc'd (free with strv_free). */
int store_list(const struct store *s, char ***ret);
/* Whether the directory and the key pass the checks every operation makes (-ENOKEY: no key). */
int store_check(const struct store *s);
int store_remove(const struct store *s, const char *name);

/* The file format without the filesystem, for store_put/store_get and the fuzz target. seal:
 * a malloc'd sealed file for NAME under key (32 bytes). unseal: the value of a sealed file's
 * bytes; -EBADMSG for anything that is not one sealed for NAME under key. */
int store_seal(const char *name, const struct secret *key, const struct secret *value,
               unsigned char **ret, size_t *ret_len);
int store_unseal(const char *name, const struct secret *key, const unsigned char *buf, size_t len,
                 struct secret **ret);

void strv_free(char **v);
