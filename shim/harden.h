/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "consume.h"

/* Before the first secret byte: no core dumps, not dumpable, libsodium and the wiping jansson
 * allocator ready. Logs one line on failure. */
int harden_process(void);

/* One warning line when any secret could not be locked in memory. */
void harden_warn_unlocked(const struct secret_set *set);
