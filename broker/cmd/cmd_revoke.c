/* SPDX-License-Identifier: Apache-2.0 */
#include "cmd.h"
#include "log.h"
#include "place/place.h"
#include "place/state.h"

static const char revoke_usage[] =
        "Usage: lockbox-broker revoke CONTAINER\n"
        "\n"
        "What poststop does, by hand: stop the container's watcher, revoke every lease it holds,\n"
        "and remove its state. CONTAINER is an id, a name or a unique id prefix.\n";

int cmd_revoke(const struct broker_ctx *ctx, int argc, char **argv) {
        _cleanup_config_ struct broker_config *cfg = NULL;
        _cleanup_json_ json_t *state = NULL;
        _cleanup_free_ char *id = NULL;

        if (argc == 2 && (streq_ptr(argv[1], "--help") || streq_ptr(argv[1], "-h")))
                return fputs(revoke_usage, stdout), EXIT_DONE;
        if (argc != 2) {
                log_error("revoke: exactly one container expected");
                return EXIT_USAGE;
        }
        int status = broker_load_config(ctx, &cfg);
        if (status != EXIT_DONE)
                return status;
        status = broker_find_container(cfg, "revoke", argv[1], &id);
        if (status != EXIT_DONE)
                return status;
        int r = state_load(cfg->state_dir, id, &state);
        if (r < 0) {
                log_error_errno(r, "revoke: container %s", id);
                return EXIT_FAILED;
        }
        status = place_forget(cfg, id, "revoke");
        if (status == EXIT_DONE)
                printf("revoked %s\n", id);
        return status;
}
