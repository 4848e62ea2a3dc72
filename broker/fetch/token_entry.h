/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>

#include "secret.h"

/* A Vault login, as the token cache keeps it on disk (token_cache.h) and the agent in locked
 * memory (token_memory.h): its own header, so that neither of the two needs the other's. */
struct token_cache_entry {
        struct secret *token;
        int64_t expires; /* 0: never */
        int64_t ttl;
        struct secret *secret_id; /* NULL when none */
        char wrapped[2 * SECRET_HASH_BYTES + 1]; /* "" when none */
};
