/* SPDX-License-Identifier: Apache-2.0 */
/* lockbox-shim: the container's entrypoint (DESIGN §7). Parses arguments and runs the steps:
 * harden, consume the secrets, deliver them, then exec or supervise the command. */
#include <signal.h>

#include "consume.h"
#include "deliver.h"
#include "harden.h"
#include "log.h"
#include "options.h"
#include "rotation.h"
#include "supervise.h"

extern char **environ;

static int shim_run(const struct shim_options *o) {
        _cleanup_secret_set_ struct secret_set *set = NULL;
        _cleanup_(deliver_done) struct delivery d = {};
        sigset_t rotate, orig_mask;

        /* A rotation can come as soon as the watcher has seen our first consumption, before
         * the command runs: blocked now, it waits for the supervisor (its default action
         * would kill a shim that is not PID 1). --exec keeps the mask as it was: the command
         * would inherit it. */
        sigemptyset(&rotate);
        sigaddset(&rotate, o->rotate_signal);
        if (!o->exec && sigprocmask(SIG_BLOCK, &rotate, &orig_mask) < 0)
                return SHIM_EXIT_FAILURE;
        if (harden_process() < 0)
                return SHIM_EXIT_FAILURE;
        const struct consume_params cp = {
                .dir = o->dir,
                .wait = o->wait,
                .wait_ms = o->wait_ms,
                .optional = o->optional,
                .require_mount = true,
                .unmount_timeout_ms = CONSUME_UNMOUNT_TIMEOUT_MS,
                .none_hint = shim_options_none_hint(environ),
        };
        if (consume_secrets(&cp, &set) < 0)
                return SHIM_EXIT_FAILURE;
        if (deliver_prepare(o, set, environ, &d) < 0)
                return SHIM_EXIT_FAILURE;
        /* The memfds hold the values now: wipe ours before anything is started. */
        if (set)
                secret_set_drop_values(set);

        if (o->exec)
                return deliver_exec_here(&d);
        struct shim_rotation rot;
        shim_rotation_init(&rot, o, environ, set);
        const struct supervise_params sp = {
                .rotate_signal = o->rotate_signal,
                .rotation = &rot,
                .child_mask = &orig_mask,
        };
        return supervise_run(&d, &sp);
}

int main(int argc, char **argv) {
        struct shim_options o;

        log_open("lockbox-shim");
        if (shim_options_parse(argc, argv, &o) < 0) {
                shim_options_done(&o);
                return SHIM_EXIT_FAILURE;
        }
        if (o.help) {
                shim_options_usage(stdout);
                shim_options_done(&o);
                return 0;
        }
        log_set_level(o.verbosity >= 2   ? LOG_LEVEL_DEBUG
                      : o.verbosity == 1 ? LOG_LEVEL_INFO
                                         : LOG_LEVEL_WARNING);
        int status = shim_run(&o);
        shim_options_done(&o);
        return status;
}
