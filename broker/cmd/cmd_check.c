/* SPDX-License-Identifier: Apache-2.0 */
#include "fetch/privsep.h"
#include "fetch/syscall_filter.h"
#include "cmd.h"
#include "log.h"
#include "place/state.h"
#include "fetch/store.h"

static const char check_usage[] =
        "Usage: lockbox-broker check\n"
        "\n"
        "Validate the configuration, open the state directory, say how the secret fetcher is\n"
        "confined (its uid and seccomp filter), and reach each backend (for the store: its key\n"
        "and directory). Prints one line each; exit 0 when all are usable.\n";

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

/* How the fetcher is confined here: its filter, none by the configuration's word (said, not a
 * failure), or none possible (a failure: every fetch is refused). */
static int check_fetcher(const struct broker_config *cfg) {
        int state = privsep_filter_state(cfg);
        if (state == PRIVSEP_FILTERED) {
                printf("fetcher: uid %u gid %u, seccomp filter for %s: ok\n",
                       (unsigned)cfg->fetch_uid, (unsigned)cfg->fetch_gid,
                       syscall_filter_native_name());
                return 0;
        }
        if (state == PRIVSEP_UNFILTERED) {
                printf("fetcher: uid %u gid %u, WITHOUT a seccomp filter (\"fetcher\": "
                       "{\"seccomp\": false})\n",
                       (unsigned)cfg->fetch_uid, (unsigned)cfg->fetch_gid);
                return 0;
        }
        return log_error_errno(state,
                               "fetcher: no seccomp filter for this architecture (%s): every "
                               "fetch is refused unless \"fetcher\": {\"seccomp\": false}",
                               syscall_filter_native_name());
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
        if (check_fetcher(cfg) < 0)
                failed++;
        for (size_t i = 0; i < cfg->n_backends; i++)
                if (check_backend(cfg, &cfg->backends[i]) < 0)
                        failed++;
        return failed ? EXIT_FAILED : EXIT_DONE;
}
