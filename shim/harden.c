/* SPDX-License-Identifier: Apache-2.0 */
#include "harden.h"

#include "log.h"

int harden_process(void) {
        int r = secure_init();
        if (r < 0)
                return log_error_errno(r, "cannot protect the process before reading secrets "
                                          "(PR_SET_DUMPABLE, RLIMIT_CORE, libsodium)");
        return 0;
}

void harden_warn_unlocked(const struct secret_set *set) {
        for (size_t i = 0; i < set->n; i++)
                if (set->items[i].value && !secret_is_locked(set->items[i].value)) {
                        /* Not fatal: a container's RLIMIT_MEMLOCK is often 64 KiB and the
                         * shim holds the values only until the memfds are made. No value is
                         * printed: it would say nothing the operator can act on. */
                        log_warning("warning: mlock failed, secrets may be swapped out while "
                                    "the shim holds them; RLIMIT_MEMLOCK is probably too low");
                        return;
                }
}
