/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lbx-bench-fetch — the broker's own fetch of one request, without a container (make bench).
 *
 *   lbx-bench-fetch [--privsep | --agent] [-v]... CONFIG NAME=REF...
 *
 * Loads CONFIG as the broker does, builds the request from io.lockbox.secret.NAME=REF as if
 * they were annotations, and fetches it with backend_fetch_all(), the code the hook runs (in
 * the fetch child that privsep_fetch_all() forks with --privsep, exactly as the hook does;
 * through the fetch agent with --agent, as agent_fetch() does for a hook, starting the agent when
 * none runs (see agent_main), and failing rather than falling back to the fetch child when
 * the agent does not serve).
 * Nothing is placed: no tmpfs, no state, no audit line. Prints one line, the number of
 * secrets and of bytes fetched, never a value; -v, -v -v: the broker's info and debug lines. Exit 0
 * when every secret was fetched.
 *
 * The broker has no fetch-only command, and the benchmark should not add one to its command
 * line: this program links the broker's own objects (libbroker.a, liblockbox.a) instead, so
 * that what is timed is the broker's code and libraries, process start included, as curl's
 * time includes curl's start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "fetch/agent_client.h"
#include "fetch/backend.h"
#include "request/config.h"
#include "json.h"
#include "log.h"
#include "request/request.h"
#include "fetch/privsep.h"
#include "secret.h"

/* Started by agent_fetch() as a hook starts the agent (agent_spawn.c: this executable again,
 * as `--config FILE --state-dir DIR [-v]... agent`): the broker's own `agent` command, from the
 * same objects. The agent checks that its clients run the same executable (agent_digest.c), so
 * the agent of this program is this program. */
static int agent_main(int argc, char **argv) {
        struct broker_ctx ctx = {0};
        int a = 1;
        for (; a + 1 < argc && argv[a][0] == '-'; a++) {
                if (strcmp(argv[a], "--config") == 0)
                        ctx.config_path = argv[++a];
                else if (strcmp(argv[a], "--state-dir") == 0)
                        ctx.state_dir_override = argv[++a];
                else if (strcmp(argv[a], "-v") == 0)
                        ctx.verbose++;
                else
                        return 2;
        }
        log_set_level(ctx.verbose >= 2 ? LOG_LEVEL_DEBUG
                      : ctx.verbose    ? LOG_LEVEL_INFO
                                       : LOG_LEVEL_WARNING);
        return cmd_agent(&ctx, argc - a, argv + a);
}

static int fetch(const struct broker_config *cfg, const struct role *role,
                 const struct request *req, struct fetched_secret *out, int mode) {
        if (mode == 1)
                return privsep_fetch_all(cfg, role, req, out);
        if (mode == 0)
                return backend_fetch_all(cfg, role, req, out);
        int r = agent_fetch(cfg, role, req, out);
        if (r == AGENT_UNAVAILABLE)
                log_error("the agent did not serve the request (-v says why)");
        return r == AGENT_UNAVAILABLE ? -EAGAIN : r;
}

int main(int argc, char **argv) {
        int mode = 0; /* 0: in process, 1: --privsep, 2: --agent */
        int a = 1;

        const bool agent = argc > 1 && strcmp(argv[argc - 1], "agent") == 0;
        log_open(agent ? "lockbox-broker" : "lbx-bench-fetch");
        if (secure_init() < 0) {
                log_error("cannot initialise (libsodium or process hardening)");
                return 1;
        }
        if (agent)
                return agent_main(argc, argv);
        int verbose = 0;
        for (; a < argc && argv[a][0] == '-'; a++) {
                if (strcmp(argv[a], "--privsep") == 0)
                        mode = 1;
                else if (strcmp(argv[a], "--agent") == 0)
                        mode = 2;
                else if (strcmp(argv[a], "-v") == 0)
                        verbose++;
                else
                        break;
        }
        log_set_level(verbose >= 2 ? LOG_LEVEL_DEBUG
                      : verbose    ? LOG_LEVEL_INFO
                                   : LOG_LEVEL_WARNING);
        if (argc - a < 2) {
                fputs("usage: lbx-bench-fetch [--privsep | --agent] [-v]... CONFIG NAME=REF...\n",
                      stderr);
                return 2;
        }

        _cleanup_config_ struct broker_config *cfg = NULL;
        if (config_load(argv[a], NULL, &cfg) < 0)
                return 2;

        _cleanup_json_ json_t *ann = json_object();
        if (!ann)
                return 1;
        for (int i = a + 1; i < argc; i++) {
                const char *eq = strchr(argv[i], '=');
                char key[160];
                if (!eq || snprintf(key, sizeof key, "io.lockbox.secret.%.*s", (int)(eq - argv[i]),
                                    argv[i]) >= (int)sizeof key) {
                        log_error("not NAME=REF: %s", argv[i]);
                        return 2;
                }
                if (json_object_set_new(ann, key, json_string(eq + 1)) < 0)
                        return 1;
        }

        struct request req = {0};
        if (request_build(ann, NULL, 0, cfg, &req) < 0)
                return 2;
        const struct role *role = config_find_role(cfg, req.role);
        if (!role) {
                log_error("no role '%s' in %s", req.role, argv[a]);
                request_done(&req);
                return 2;
        }

        struct fetched_secret *out = calloc(req.n_secrets + 1, sizeof *out);
        if (!out) {
                request_done(&req);
                return 1;
        }
        int r = fetch(cfg, role, &req, out, mode);
        size_t n = 0, bytes = 0;
        if (r >= 0)
                for (size_t i = 0; i < req.n_secrets; i++)
                        if (out[i].value) {
                                n++;
                                bytes += secret_size(out[i].value);
                        }
        if (r >= 0)
                printf("fetched %zu of %zu secrets, %zu bytes\n", n, req.n_secrets, bytes);
        fetched_done(out, req.n_secrets);
        free(out);
        size_t want = req.n_secrets;
        request_done(&req);
        return r >= 0 && n == want ? 0 : 1;
}
