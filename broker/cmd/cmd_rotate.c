/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <string.h>

#include "cmd.h"
#include "place/digest.h"
#include "fdutil.h"
#include "log.h"
#include "rotate/rotate.h"
#include "place/state.h"

static const char rotate_usage[] =
        "Usage: lockbox-broker rotate (--all | CONTAINER...) [--secret NAME]... [--grace SECONDS]\n"
        "\n"
        "Fetch each container's secrets again and place what changed as a new generation:\n"
        "replaced in place while the tmpfs is still mounted, or on a fresh tmpfs and the shim\n"
        "signalled (the container's rotate signal) when the shim consumed it. Prints one line\n"
        "per container and secret: unchanged, rotated (old -> new version), or failed (why).\n"
        "CONTAINER is an id, a name or a unique id prefix.\n"
        "\n"
        "  --all              every container with a record (one that is not running is\n"
        "                     skipped and said so)\n"
        "  --secret NAME      only this secret (repeatable)\n"
        "  --grace SECONDS    how long a replaced lease is kept for the application to take\n"
        "                     the new generation before it is revoked anyway (default 30)\n"
        "\n"
        "Exit status: 0 when nothing failed, 1 when anything did, 2 usage.\n";

struct rotate_args {
        struct rotate_options o;
        char **ids;
        size_t n_ids;
};

/* One line for a usage error, as every command says it (getopt's own would say "rotate: "). */
#define rotate_usage_error(...) (log_error("rotate: " __VA_ARGS__), -EINVAL)

static int rotate_option(struct rotate_args *a, int c, char **argv) {
        uint64_t seconds;

        switch (c) {
        case 'a':
                a->o.all = true;
                return 0;
        case 's':
                if (!secret_name_is_valid(optarg))
                        return rotate_usage_error("--secret %s: not a secret name", optarg);
                a->o.only[a->o.n_only++] = optarg;
                return 0;
        case 'g':
                if (parse_uint64(optarg, &seconds) < 0 || seconds > 3600)
                        return rotate_usage_error("--grace %s: seconds, 0 to 3600", optarg);
                a->o.grace_ms = (int)seconds * 1000;
                return 0;
        case 'h':
                fputs(rotate_usage, stdout);
                return 1;
        default:
                return broker_option_error("rotate", c, argv);
        }
}

static int rotate_parse(int argc, char **argv, struct rotate_args *a) {
        static const struct option opts[] = {
                {"all", no_argument, NULL, 'a'},
                {"secret", required_argument, NULL, 's'},
                {"grace", required_argument, NULL, 'g'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        int c;

        a->o.only = calloc((size_t)argc + 1, sizeof *a->o.only);
        if (!a->o.only)
                return -ENOMEM;
        a->o.grace_ms = ROTATE_GRACE_DEFAULT_MS;
        /* Permuting, so that options may follow the ids (rotate c1 --secret db); optind 0
         * makes glibc start afresh, forgetting main()'s "+" (stop at the first non-option). */
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
                int r = rotate_option(a, c, argv);
                if (r != 0)
                        return r;
        }
        a->ids = argv + optind;
        a->n_ids = (size_t)(argc - optind);
        if (a->o.all == (a->n_ids > 0))
                return rotate_usage_error("give --all or container ids (not both)");
        return 0;
}

/* --all: the ids of every record, in order. */
static int rotate_all(const struct broker_config *cfg, const struct secret *key,
                      const struct rotate_options *o) {
        _cleanup_json_ json_t *all = NULL;
        int r = state_load_all(cfg->state_dir, &all);
        if (r == -EPERM) /* refused in a line of its own (perm.h) */
                return r;
        if (r < 0)
                return log_error_errno(r, "rotate: state directory %s", cfg->state_dir);
        if (json_array_size(all) == 0)
                puts("no containers hold secrets");
        int ret = 0;
        for (size_t i = 0; i < json_array_size(all); i++) {
                r = rotate_container(cfg, key, json_get_string(json_array_get(all, i), "id"), o,
                                     stdout);
                fflush(stdout);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

int cmd_rotate(const struct broker_ctx *ctx, int argc, char **argv) {
        _cleanup_config_ struct broker_config *cfg = NULL;
        _cleanup_secret_ struct secret *key = NULL;
        struct rotate_args a = {};

        int r = rotate_parse(argc, argv, &a);
        if (r != 0) {
                free(a.o.only);
                return r > 0 ? EXIT_DONE : EXIT_USAGE;
        }
        int status = broker_load_config(ctx, &cfg);
        if (status != EXIT_DONE) {
                free(a.o.only);
                return status;
        }
        r = digest_key_load(cfg->state_dir, &key);
        if (r < 0) {
                log_error_errno(r, "rotate: digest key %s/%s", cfg->state_dir, DIGEST_KEY_FILE);
                free(a.o.only);
                return EXIT_FAILED;
        }
        /* Every name resolved before anything rotates: a typo or an ambiguous prefix changes
         * nothing. */
        char **ids = calloc(a.n_ids + 1, sizeof *ids);
        if (!ids)
                status = EXIT_FAILED;
        for (size_t i = 0; i < a.n_ids && status == EXIT_DONE; i++)
                status = broker_find_container(cfg, "rotate", a.ids[i], &ids[i]);
        int ret = 0;
        if (status == EXIT_DONE && a.o.all)
                ret = rotate_all(cfg, key, &a.o);
        for (size_t i = 0; status == EXIT_DONE && i < a.n_ids; i++) {
                r = rotate_container(cfg, key, ids[i], &a.o, stdout);
                fflush(stdout);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        for (size_t i = 0; ids && i < a.n_ids; i++)
                free(ids[i]);
        free(ids);
        free(a.o.only);
        if (status != EXIT_DONE)
                return status;
        return ret < 0 ? EXIT_FAILED : EXIT_DONE;
}
