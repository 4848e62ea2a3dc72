/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "deliver.h"

struct supervise_params {
        int rotate_signal; /* taken by the shim, not forwarded (DESIGN §8) */
};

/* Start the command as a child with d's fds, forward signals to it, reap every zombie, and
 * return its exit status (128+N when killed by signal N), or 125 when it could not be started.
 * Closes d's fds in this process once the child has them. */
int supervise_run(struct delivery *d, const struct supervise_params *p);

/* Exit status of a wait status, as a shell reports it. */
int supervise_exit_status(int wstatus);
