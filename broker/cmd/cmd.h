/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "request/config.h"
#include "request/exit.h"

/* What main() parsed before the command word. */
struct broker_ctx {
        const char *config_path; /* --config, NULL for the default */
        const char *state_dir_override; /* --state-dir, NULL for the config's */
        int verbose; /* number of -v */
};

/* Load the configuration named by ctx; on failure the reason is logged and the result is an
 * exit status (EXIT_USAGE for an invalid or unsafe file). */
int broker_load_config(const struct broker_ctx *ctx, struct broker_config **ret);

/* The one line for what getopt_long() returned for an option it did not accept (getopt's own
 * messages are off: opterr = 0 and a leading ':' in every optstring). cmd is the command word, or
 * NULL before it. Returns -EINVAL. */
int broker_option_error(const char *cmd, int c, char **argv);

/* The id of the container that what names (an id, a name or a unique id prefix: state_find)
 * into *ret_id; otherwise one line (cmd: ...) and the exit status: EXIT_FAILED when nothing
 * matches, EXIT_USAGE when several do (the line lists them). */
int broker_find_container(const struct broker_config *cfg, const char *cmd, const char *what,
                          char **ret_id);

/* Each command parses its own arguments (argv[0] is the command word) and returns an exit
 * status. "--help" prints usage to stdout and returns EXIT_DONE. */
int cmd_hook(const struct broker_ctx *ctx, int argc, char **argv);
int cmd_inject(const struct broker_ctx *ctx, int argc, char **argv);
int cmd_rotate(const struct broker_ctx *ctx, int argc, char **argv);
int cmd_status(const struct broker_ctx *ctx, int argc, char **argv);
int cmd_revoke(const struct broker_ctx *ctx, int argc, char **argv);
int cmd_store(const struct broker_ctx *ctx, int argc, char **argv);
int cmd_check(const struct broker_ctx *ctx, int argc, char **argv);
int cmd_agent(const struct broker_ctx *ctx, int argc, char **argv);
