/* SPDX-License-Identifier: Apache-2.0 */
/* What every command shares: loading the configuration, and the one line for a bad option. */
#include "cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

int broker_load_config(const struct broker_ctx *ctx, struct broker_config **ret) {
        int r = config_load(ctx->config_path, ctx->state_dir_override, ret);
        if (r == -ENOMEM)
                return EXIT_FAILED;
        return r < 0 ? EXIT_USAGE : EXIT_DONE;
}

int broker_option_error(const char *cmd, int c, char **argv) {
        const char *arg = argv[optind - 1];
        char what[64];

        /* A long option as written, without any "=VALUE"; a short one by the letter refused,
         * since argv may bundle several (-vx). */
        if (strncmp(arg, "--", 2) == 0)
                snprintf(what, sizeof what, "%.*s", (int)strcspn(arg, "="), arg);
        else
                snprintf(what, sizeof what, "-%c", optopt > 32 && optopt < 127 ? optopt : '?');
        if (c == ':')
                log_error("%s%soption '%s' needs an argument (see --help)", cmd ?: "",
                          cmd ? ": " : "", what);
        else
                log_error("%s%sunknown option '%s' (see --help)", cmd ?: "", cmd ? ": " : "", what);
        return -EINVAL;
}
