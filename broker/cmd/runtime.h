/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "json.h"
#include "macro.h"

/*
 * lockbox-runtime, the Docker runtime wrapper (DESIGN §9): the broker binary called under the
 * name lockbox-runtime. Docker 20.10 hands a runtime neither labels nor annotations, so on
 * `create` (and `run`) the wrapper adds lockbox's createRuntime and poststop hooks to
 * <bundle>/config.json of a container that asks for secrets, then execs the real runtime with
 * the arguments it was given, minus its own options.
 */

/* The command line, split: what is the wrapper's, what the real runtime gets, what matters. */
struct runtime_args {
        const char *config; /* --lockbox-config, NULL: the broker's default */
        const char *state_dir; /* --lockbox-state-dir, NULL: the config's */
        const char *runtime; /* --lockbox-runtime, default "runc" (looked up in PATH) */
        char **argv; /* for the real runtime: argv[0] = runtime, NULL-terminated */
        int argc;
        const char *command; /* the runtime's command word, NULL when none was found */
        bool create; /* create or run: the bundle may need hooks */
        bool help; /* `create --help`: nothing to prepare */
        bool ambiguous; /* an unknown global option hides where the command is */
        const char *bundle; /* --bundle/-b, NULL: the current directory */
        const char *log_path, *log_format; /* runc's --log and --log-format, for errors */
};

/* Split argv (argv[0] is the wrapper). A missing value of the wrapper's own options or one of
 * them after a runtime option: -EINVAL with one line logged. args->argv points into argv. */
int runtime_args_parse(int argc, char **argv, struct runtime_args *ret);
void runtime_args_done(struct runtime_args *a);

/* Where the options did not say: LOCKBOX_CONFIG and LOCKBOX_STATE_DIR from the wrapper's own
 * environment (not the container's), so that a runtime that cannot pass arguments (containerd's
 * BinaryName) can still name them. Empty values count as unset. */
void runtime_args_from_env(struct runtime_args *a);

/* main() of lockbox-runtime: returns only on failure (exit status 1), else execs the runtime. */
int runtime_main(int argc, char **argv);
