/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "token_entry.h"

/*
 * The token cache of the warm fetch agent (agent.h): the same entries as token_cache.h's files,
 * kept in this process's locked memory (sodium buffers) instead, so that no token is written to
 * disk while the agent runs. The agent runs one batch at a time in one thread: no lock is needed.
 * token_cache.c calls these once token_cache_keep_in_memory() was called.
 */

/* -ENOENT when there is no entry. ret gets copies. */
int token_memory_load(const char *name, struct token_cache_entry *ret);
/* Replaces the entry (copies of e's buffers). */
int token_memory_store(const char *name, const struct token_cache_entry *e);
void token_memory_remove(const char *name);
/* How many entries were stored (logins) since the process started, for status. */
unsigned token_memory_stores(void);
