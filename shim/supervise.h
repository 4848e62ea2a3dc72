/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "deliver.h"

#include <signal.h>

#include "rotation.h"

/* How long a restart or an exit on rotation waits after SIGTERM before SIGKILL. */
#define SUPERVISE_STOP_TIMEOUT_MS 10000

struct supervise_params {
        int rotate_signal; /* taken by the shim, not forwarded (DESIGN §8) */
        struct shim_rotation *rotation; /* NULL: the rotate signal is ignored with a warning */
        const sigset_t *child_mask; /* the command's signal mask; NULL: the mask on entry */
};

/* Start the command as a child with d's fds, forward signals to it, reap every zombie, and
 * return its exit status (128+N when killed by signal N), or 125 when it could not be started.
 * Closes d's fds in this process once the child has them (the held memfds stay). On the rotate
 * signal, p->rotation is applied (rotation.h); d may be replaced by a restart's delivery. With
 * --on-rotate exit the status is SHIM_EXIT_ROTATED. */
int supervise_run(struct delivery *d, const struct supervise_params *p);

/* Exit status of a wait status, as a shell reports it. */
int supervise_exit_status(int wstatus);
