/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "consume.h"
#include "deliver.h"
#include "options.h"

/*
 * Rotation in the shim (DESIGN §8). The broker mounts a new generation holding the secrets that
 * changed and sends the rotate signal; the shim consumes it as at start (read, verify, remove,
 * unmount or wait for the watcher) and applies it by name to the memfds it holds:
 *   restart      a new delivery: new memfds for what changed, the others shared; the supervisor
 *                stops the command (SIGTERM, a bounded wait, SIGKILL) and starts it with that;
 *   signal:SIG   the command's memfds rewritten in place; the supervisor then sends SIG;
 *   exit         nothing more; the supervisor stops the command and exits (the orchestrator
 *                starts the container again, with the new values from the hook).
 * A failure changes nothing the command holds and is said in one line.
 */
struct shim_rotation {
        const struct shim_options *o;
        char *const *env;
        char container[256]; /* of the generation consumed at start ("": any) */
        uint64_t generation; /* the last one consumed */
};

/* From the set consumed at start (NULL when the command started without secrets). */
void shim_rotation_init(struct shim_rotation *rot, const struct shim_options *o, char *const *env,
                        const struct secret_set *set);

/* The rotate signal came: consume the new generation and apply it to cur as --on-rotate says;
 * for restart *next is the delivery to start the command with (cur is left as it was). 0 on
 * success; negative after one line saying why, with cur and the command untouched. */
int shim_rotation_receive(struct shim_rotation *rot, struct delivery *cur, struct delivery *next);
