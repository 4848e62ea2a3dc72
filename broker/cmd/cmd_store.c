/* SPDX-License-Identifier: Apache-2.0 */
/* lockbox-broker store init | put NAME [--file F] | ls | rm NAME */
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "request/config.h"
#include "log.h"
#include "manifest.h"
#include "secret.h"
#include "fetch/store.h"

static const char store_usage[] =
        "Usage: lockbox-broker [OPTIONS] store COMMAND\n"
        "\n"
        "The sealed local store (backend \"store\" in the config).\n"
        "\n"
        "Commands:\n"
        "  init               create the store directory (0700) and key file (0400)\n"
        "  put NAME [--file F]  seal a value read from stdin, or from the file F\n"
        "  ls                 list the names of the sealed secrets\n"
        "  rm NAME            remove a secret\n"
        "\n"
        "Values are never taken from the command line: argv is visible to every process.\n";

struct store_cmd {
        const char *name;
        const char *usage;
        bool takes_name;
        bool takes_file;
        int (*run)(const struct store *s, const char *name, const char *file);
};

struct store_args {
        const char *name;
        const char *file;
        bool help;
};

/* One line for each way a store operation fails (DESIGN §3), naming the store, never a value. */
static int store_fail(const struct store *s, const char *what, int r) {
        switch (r) {
        case -EPERM:
                /* the store said which file and why (store.h) */
                break;
        case -ENOKEY:
                log_error("%s: key file %s is missing (run 'lockbox-broker store init')", what,
                          s->key_file);
                break;
        case -EKEYREJECTED:
                log_error("%s: key file %s: not a 32-byte key", what, s->key_file);
                break;
        case -EBADMSG:
                log_error("%s: cannot open: tampered, truncated, renamed, or sealed with another "
                          "key",
                          what);
                break;
        default:
                log_error_errno(r, "%s", what);
        }
        return EXIT_FAILED;
}

/* A store that was never initialised would otherwise show up as "no secret 'NAME'". */
static int store_check_initialised(const struct store *s) {
        struct stat st;
        if (lstat(s->dir, &st) < 0 && errno == ENOENT) {
                log_error("store %s: not initialised (run 'lockbox-broker store init')", s->dir);
                return EXIT_FAILED;
        }
        return EXIT_DONE;
}

static int store_cmd_init(const struct store *s, const char *name, const char *file) {
        struct stat st;
        /* Only to choose the message: store_init itself never replaces an existing key. */
        bool had_dir = lstat(s->dir, &st) == 0;
        bool had_key = lstat(s->key_file, &st) == 0;
        int r = store_init(s);
        if (r == -EEXIST) {
                log_error("store %s: holds sealed secrets but key file %s is missing: restore the "
                          "key, or remove the secrets, before 'store init'",
                          s->dir, s->key_file);
                return EXIT_FAILED;
        }
        if (r < 0) {
                char what[PATH_MAX + 64];
                snprintf(what, sizeof what, "store %s: cannot initialise", s->dir);
                return store_fail(s, what, r);
        }
        if (had_dir && had_key)
                printf("store: %s already initialised\n", s->dir);
        else if (had_key)
                printf("store: initialised %s (existing key %s kept)\n", s->dir, s->key_file);
        else
                printf("store: initialised %s (key %s)\n", s->dir, s->key_file);
        return EXIT_DONE;
}

static int store_read_value(const char *name, const char *file, struct secret **ret) {
        _cleanup_close_ int fd = -1;
        if (file) {
                fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
                if (fd < 0) {
                        log_error_errno(errno, "store put '%s': cannot open %s", name, file);
                        return EXIT_FAILED;
                }
        } else if (isatty(STDIN_FILENO)) {
                log_warning("store put '%s': reading the value from the terminal, end with "
                            "Ctrl-D",
                            name);
        }
        int r = secret_read_fd(file ? fd : STDIN_FILENO, STORE_VALUE_MAX, ret);
        if (r == -EFBIG) {
                log_error("store put '%s': value larger than %d bytes", name, STORE_VALUE_MAX);
                return EXIT_FAILED;
        }
        if (r < 0) {
                log_error_errno(r, "store put '%s': cannot read the value from %s", name,
                                file ? file : "stdin");
                return EXIT_FAILED;
        }
        return EXIT_DONE;
}

static int store_cmd_put(const struct store *s, const char *name, const char *file) {
        _cleanup_secret_ struct secret *value = NULL;
        /* Before reading: nobody should type a secret into a store that cannot take it. */
        int rc = store_check_initialised(s);
        if (rc != EXIT_DONE)
                return rc;
        if ((rc = store_read_value(name, file, &value)) != EXIT_DONE)
                return rc;
        /* An empty value is almost always a mistake (an empty pipe, a wrong file). */
        if (secret_size(value) == 0) {
                log_error("store put '%s': empty value", name);
                return EXIT_FAILED;
        }
        int r = store_put(s, name, value);
        if (r < 0) {
                char what[SECRET_NAME_MAX + 32];
                snprintf(what, sizeof what, "store put '%s'", name);
                return store_fail(s, what, r);
        }
        printf("store: put %s (%zu bytes)\n", name, secret_size(value));
        return EXIT_DONE;
}

static int store_cmd_ls(const struct store *s, const char *name, const char *file) {
        int rc = store_check_initialised(s);
        if (rc != EXIT_DONE)
                return rc;
        char **names;
        int r = store_list(s, &names);
        if (r < 0) {
                char what[PATH_MAX + 16];
                snprintf(what, sizeof what, "store %s", s->dir);
                return store_fail(s, what, r);
        }
        for (char **n = names; *n; n++)
                printf("%s\n", *n);
        strv_free(names);
        return EXIT_DONE;
}

static int store_cmd_rm(const struct store *s, const char *name, const char *file) {
        int rc = store_check_initialised(s);
        if (rc != EXIT_DONE)
                return rc;
        int r = store_remove(s, name);
        if (r == -ENOENT) {
                log_error("store: no secret '%s'", name);
                return EXIT_FAILED;
        }
        if (r < 0) {
                char what[SECRET_NAME_MAX + 32];
                snprintf(what, sizeof what, "store rm '%s'", name);
                return store_fail(s, what, r);
        }
        printf("store: removed %s\n", name);
        return EXIT_DONE;
}

static const struct store_cmd store_cmds[] = {
        {"init",
         "Usage: lockbox-broker store init\n\nCreate the store directory (0700) and "
         "a random key file (0400). An existing key is kept.\n",
         false, false, store_cmd_init},
        {"put",
         "Usage: lockbox-broker store put NAME [--file F]\n\nSeal the value read from "
         "stdin (or from the file F, not followed if a symlink) as NAME.\nThe bytes are "
         "kept exactly, a trailing newline included. At most 1 MiB.\n",
         true, true, store_cmd_put},
        {"ls",
         "Usage: lockbox-broker store ls\n\nList the names of the sealed secrets, one a "
         "line.\n",
         false, false, store_cmd_ls},
        {"rm", "Usage: lockbox-broker store rm NAME\n\nRemove the secret NAME.\n", true, false,
         store_cmd_rm},
};

/* argv[0] is the subcommand. A NAME is never echoed when it is invalid: a value pasted in its
 * place must not end up in a log. */
static int store_parse_args(const struct store_cmd *cmd, int argc, char **argv,
                            struct store_args *ret) {
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (streq_ptr(a, "--help") || streq_ptr(a, "-h")) {
                        ret->help = true;
                        return EXIT_DONE;
                }
                if (cmd->takes_file && strncmp(a, "--file=", 7) == 0) {
                        ret->file = a + 7;
                } else if (cmd->takes_file && streq_ptr(a, "--file")) {
                        if (++i >= argc) {
                                log_error("store %s: --file needs an argument", cmd->name);
                                return EXIT_USAGE;
                        }
                        ret->file = argv[i];
                } else if (a[0] == '-') {
                        log_error("store %s: unknown option (see 'lockbox-broker store %s --help')",
                                  cmd->name, cmd->name);
                        return EXIT_USAGE;
                } else if (cmd->takes_name && !ret->name) {
                        ret->name = a;
                } else {
                        log_error("store %s: unexpected argument (see 'lockbox-broker store %s "
                                  "--help')",
                                  cmd->name, cmd->name);
                        return EXIT_USAGE;
                }
        }
        if (cmd->takes_name && !ret->name) {
                log_error("store %s: missing NAME", cmd->name);
                return EXIT_USAGE;
        }
        if (ret->name && !secret_name_is_valid(ret->name)) {
                log_error("store %s: invalid secret name (allowed: [A-Za-z0-9_][A-Za-z0-9._-], "
                          "at most 128)",
                          cmd->name);
                return EXIT_USAGE;
        }
        if (ret->file && !*ret->file) {
                log_error("store %s: --file needs an argument", cmd->name);
                return EXIT_USAGE;
        }
        return EXIT_DONE;
}

static const struct store_cmd *store_find_cmd(const char *name) {
        for (size_t i = 0; i < ARRAY_SIZE(store_cmds); i++)
                if (streq_ptr(store_cmds[i].name, name))
                        return &store_cmds[i];
        return NULL;
}

/* The store is the backend named "store"; a config without one has nothing for us to manage. */
static int store_from_config(const struct broker_config *cfg, struct store *ret) {
        const struct backend_config *b = config_find_backend(cfg, "store");
        if (!b || !streq_ptr(b->type, "store")) {
                log_error("config %s: no backend 'store' of type store",
                          cfg->path ? cfg->path : "(embedded default)");
                return EXIT_USAGE;
        }
        *ret = (struct store){.dir = b->store_dir, .key_file = b->store_key_file};
        return EXIT_DONE;
}

int cmd_store(const struct broker_ctx *ctx, int argc, char **argv) {
        if (argc < 2) {
                log_error("store: missing command: init, put, ls or rm (see 'lockbox-broker "
                          "store --help')");
                return EXIT_USAGE;
        }
        if (streq_ptr(argv[1], "--help") || streq_ptr(argv[1], "-h")) {
                fputs(store_usage, stdout);
                return EXIT_DONE;
        }
        const struct store_cmd *cmd = store_find_cmd(argv[1]);
        if (!cmd) {
                log_error("store: unknown command (init, put, ls or rm; see 'lockbox-broker store "
                          "--help')");
                return EXIT_USAGE;
        }
        struct store_args args = {0};
        int rc = store_parse_args(cmd, argc - 1, argv + 1, &args);
        if (rc != EXIT_DONE)
                return rc;
        if (args.help) {
                fputs(cmd->usage, stdout);
                return EXIT_DONE;
        }

        _cleanup_config_ struct broker_config *cfg = NULL;
        rc = broker_load_config(ctx, &cfg);
        if (rc != EXIT_DONE)
                return rc;
        struct store s;
        if ((rc = store_from_config(cfg, &s)) != EXIT_DONE)
                return rc;
        rc = cmd->run(&s, args.name, args.file);
        /* A full disk or a closed pipe on stdout is a failure, not a silent success. */
        if (fflush(stdout) != 0 && rc == EXIT_DONE) {
                log_error_errno(errno, "store %s: cannot write to stdout", cmd->name);
                rc = EXIT_FAILED;
        }
        return rc;
}
