/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "macro.h"
#include "secret.h"

/*
 * Keyed digests of secret values, so that rotation can tell whether a value changed although
 * the broker keeps no value between runs. BLAKE2b-256 keyed with DIGEST_KEY_FILE: 32 random
 * bytes in the state directory (root only, 0600, made on first use). Without that key a digest
 * reveals nothing about the value, not even whether a guess is right.
 */
#define DIGEST_KEY_FILE "digest.key"
#define DIGEST_KEY_BYTES 32
#define DIGEST_HEX_BYTES 65 /* 64 hex digits and a NUL */

/* Load the key from the state directory, creating it when missing (two brokers racing agree on
 * one key: it is linked into place, never renamed over). -EPERM when the file is not a private
 * regular file of ours of the right size. The key lives in a secret buffer. */
int digest_key_load(const char *state_dir, struct secret **ret_key);

/* Lower-case hex of the keyed digest of value. */
void digest_value(const struct secret *key, const struct secret *value, char hex[DIGEST_HEX_BYTES]);
