/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "runtime.h"
#include "secret.h"

static const char usage[] =
        "Usage: lockbox-broker [--config FILE] [--state-dir DIR] [-v] COMMAND ...\n"
        "\n"
        "Commands:\n"
        "  hook [prestart|createRuntime|poststop]   OCI hook; container state on stdin\n"
        "  inject --pid PID [...] NAME=REF...       place secrets into a running container\n"
        "  rotate (--all | CONTAINER...) [--secret NAME]...  fetch again, replace what changed\n"
        "  status [--json] [CONTAINER]              containers, secret names, refs, versions\n"
        "  revoke CONTAINER                         what poststop does, by hand\n"
        "  store init|put NAME [--file F]|ls|rm NAME the sealed local store (values from stdin)\n"
        "  check                                    validate config, reach each backend\n"
        "  agent                                    the warm fetch agent (hooks start it)\n"
        "\n"
        "Options:\n"
        "  --config FILE     broker configuration (default /etc/lockbox/broker.json; without\n"
        "                    it, the embedded default: the local store and role 'default')\n"
        "  --state-dir DIR   state directory (default from the config, /run/lockbox)\n"
        "  -v, --verbose     more detail (never a value); twice for debug\n"
        "  -h, --help        this text; COMMAND --help for a command's\n"
        "\n"
        "CONTAINER: an id, a name the runtime gave it, or a unique id prefix.\n"
        "Exit status: 0 done, 1 failed, 2 usage or invalid configuration, 3 denied by policy.\n"
        "See lockbox-broker(8), lockbox-broker.json(5).\n";

static const struct {
        const char *name;
        int (*fn)(const struct broker_ctx *, int, char **);
} commands[] = {
        {"hook", cmd_hook},     {"inject", cmd_inject}, {"rotate", cmd_rotate},
        {"status", cmd_status}, {"revoke", cmd_revoke}, {"store", cmd_store},
        {"check", cmd_check},   {"agent", cmd_agent},
};

int main(int argc, char **argv) {
        static const struct option opts[] = {
                {"config", required_argument, NULL, 'c'},
                {"state-dir", required_argument, NULL, 's'},
                {"verbose", no_argument, NULL, 'v'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        struct broker_ctx ctx = {0};
        int c;

        /* The same binary is the Docker runtime wrapper when called lockbox-runtime (DESIGN
         * §9). Decided before secure_init(): its RLIMIT_CORE would pass through exec to the
         * runtime and to every container that it starts. */
        const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
        if (argc > 0 && streq_ptr(base ? base + 1 : argv[0], "lockbox-runtime"))
                return runtime_main(argc, argv);

        log_open("lockbox-broker");
        /* Before anything can hold a secret: no core dumps, no ptrace by our uid, wiping
         * allocators. */
        if (secure_init() < 0) {
                log_error("cannot initialise (libsodium or process hardening)");
                return EXIT_FAILED;
        }
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:vh", opts, NULL)) != -1) {
                switch (c) {
                case 'c':
                        ctx.config_path = optarg;
                        break;
                case 's':
                        ctx.state_dir_override = optarg;
                        break;
                case 'v':
                        ctx.verbose++;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return EXIT_DONE;
                default:
                        broker_option_error(NULL, c, argv);
                        return EXIT_USAGE;
                }
        }
        log_set_level(ctx.verbose >= 2 ? LOG_LEVEL_DEBUG
                      : ctx.verbose    ? LOG_LEVEL_INFO
                                       : LOG_LEVEL_WARNING);
        if (optind >= argc) {
                log_error("no command given (try --help)");
                return EXIT_USAGE;
        }
        for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
                if (streq_ptr(argv[optind], commands[i].name))
                        return commands[i].fn(&ctx, argc - optind, argv + optind);
        log_error("unknown command '%s' (try --help)", argv[optind]);
        return EXIT_USAGE;
}
