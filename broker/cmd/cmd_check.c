/* SPDX-License-Identifier: Apache-2.0 */
#include "fetch/privsep.h"
#include "cmd.h"
#include "log.h"
#include "place/state.h"
#include "fetch/store.h"

static const char check_usage[] =
        "Usage: lockbox-broker check\n"
        "\n"
        "Validate the configuration, open the state directory, and reach each backend (for the\n"
        "store: its key and directory). Prints one line a backend; exit 0 when all are usable.\n";

static int check_backend(const struct broker_config *cfg, const struct backend_config *b) {
        if (streq_ptr(b->type, "store")) {
                struct store st = {.dir = b->store_dir, .key_file = b->store_key_file};
                char **names = NULL;
                int r = store_list(&st, &names);
                if (r < 0)
                        return log_error_errno(r, "backend %s (store %s)", b->name, b->store_dir);
                size_t n = 0;
                while (names[n])
                        n++;
                strv_free(names);
                printf("backend %s (store): ok, %zu secret(s)\n", b->name, n);
                return 0;
        }
        return privsep_check(cfg, b);
}

int cmd_check(const struct broker_ctx *ctx, int argc, char **argv) {
        _cleanup_config_ struct broker_config *cfg = NULL;
        _cleanup_close_ int state_fd = -1;
        int failed = 0;

        if (argc > 1 && (streq_ptr(argv[1], "--help") || streq_ptr(argv[1], "-h")))
                return fputs(check_usage, stdout), EXIT_DONE;
        if (argc > 1) {
                log_error("check: no arguments expected");
                return EXIT_USAGE;
        }
        int status = broker_load_config(ctx, &cfg);
        if (status != EXIT_DONE)
                return status;
        printf("config %s: ok, %zu backend(s), %zu role(s)\n",
               cfg->path ? cfg->path : "(embedded default)", cfg->n_backends, cfg->n_roles);
        int r = state_dir_open(cfg->state_dir, &state_fd);
        if (r < 0) {
                log_error_errno(r, "state directory %s", cfg->state_dir);
                failed++;
        } else {
                printf("state directory %s: ok\n", cfg->state_dir);
        }
        for (size_t i = 0; i < cfg->n_backends; i++)
                if (check_backend(cfg, &cfg->backends[i]) < 0)
                        failed++;
        return failed ? EXIT_FAILED : EXIT_DONE;
}
