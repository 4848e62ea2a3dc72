/* SPDX-License-Identifier: Apache-2.0 */
/* What every command shares: loading the configuration, and the one line for a bad option. */
#include "cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "place/state.h"
#include "request/name.h"

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

/* "ID (NAME), ID, ..." of the records in matches, at most size bytes. */
static void list_matches(const json_t *matches, char *buf, size_t size) {
        size_t i, len = 0;
        json_t *s;
        buf[0] = '\0';
        json_array_foreach(matches, i, s) {
                const char *name = json_get_string(s, "name");
                int n = snprintf(buf + len, size - len, "%s%s%s%s%s", i ? ", " : "",
                                 json_get_string(s, "id"), name ? " (" : "", name ?: "",
                                 name ? ")" : "");
                if (n < 0 || (size_t)n >= size - len)
                        break;
                len += (size_t)n;
        }
}

int broker_find_container(const struct broker_config *cfg, const char *cmd, const char *what,
                          char **ret_id) {
        _cleanup_json_ json_t *matches = NULL;
        char list[4096];

        if (!state_id_is_valid(what) && !container_name_is_valid(what)) {
                log_error("%s: '%s' is not a container id or name", cmd, what);
                return EXIT_USAGE;
        }
        int r = state_find(cfg->state_dir, what, ret_id, &matches);
        if (r >= 0)
                return EXIT_DONE;
        if (r == -ENOTUNIQ) {
                list_matches(matches, list, sizeof list);
                log_error("%s: '%s' matches %zu containers: %s (give more of the id)", cmd, what,
                          json_array_size(matches), list);
                return EXIT_USAGE;
        }
        if (r == -ENOENT) {
                log_error("container %s: unknown (no record in %s has that id, name or id "
                          "prefix: not placed by lockbox, or stopped and cleaned up)",
                          what, cfg->state_dir);
                return EXIT_FAILED;
        }
        /* -EPERM: the state directory was refused, in a line that says why (perm.h). */
        if (r != -EPERM)
                log_error_errno(r, "%s: state directory %s", cmd, cfg->state_dir);
        return EXIT_FAILED;
}
