/* SPDX-License-Identifier: Apache-2.0 */
#include "cmd.h"
#include "log.h"
#include "place/place.h"
#include "place/state.h"

static const char revoke_usage[] =
        "Usage: lockbox-broker revoke ID\n"
        "\n"
        "What poststop does, by hand: stop the container's watcher, revoke every lease it holds,\n"
        "and remove its state.\n";

int cmd_revoke(const struct broker_ctx *ctx, int argc, char **argv) {
        _cleanup_config_ struct broker_config *cfg = NULL;
        _cleanup_json_ json_t *state = NULL;

        if (argc == 2 && (streq_ptr(argv[1], "--help") || streq_ptr(argv[1], "-h")))
                return fputs(revoke_usage, stdout), EXIT_DONE;
        if (argc != 2) {
                log_error("revoke: exactly one container id expected");
                return EXIT_USAGE;
        }
        int status = broker_load_config(ctx, &cfg);
        if (status != EXIT_DONE)
                return status;
        int r = state_load(cfg->state_dir, argv[1], &state);
        if (r < 0) {
                log_error_errno(r, "revoke: container %s", argv[1]);
                return EXIT_FAILED;
        }
        status = place_forget(cfg, argv[1], "revoke");
        if (status == EXIT_DONE)
                printf("revoked %s\n", argv[1]);
        return status;
}
