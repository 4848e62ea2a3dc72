/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "manifest.h"

/* The shim's command line (DESIGN §3). Strings point into argv; nothing here is a value. */

#define SHIM_DEFAULT_DIR "/run/secrets"
#define SHIM_EXIT_FAILURE 125 /* the shim failed before running anything */
#define SHIM_EXIT_NOEXEC 126 /* COMMAND found but not executable */
#define SHIM_EXIT_NOTFOUND 127
/* --on-rotate exit: the secrets changed, start the container again (EX_TEMPFAIL: non-zero, so
 * that an on-failure restart policy restarts it too). */
#define SHIM_EXIT_ROTATED 75

enum shim_rotate_action {
        SHIM_ROTATE_RESTART,
        SHIM_ROTATE_EXIT,
        SHIM_ROTATE_SIGNAL,
};

/* --fd NAME=N */
struct shim_fd_request {
        char name[SECRET_NAME_MAX + 1];
        int fd;
};

struct shim_options {
        char dir[PATH_MAX]; /* absolute, without trailing slashes */
        bool exec;
        bool optional;
        bool wait; /* --wait given */
        uint64_t wait_ms; /* how long --wait waits */
        const char *stdin_name; /* --stdin NAME, or NULL */
        struct shim_fd_request *fds;
        size_t n_fds;
        enum shim_rotate_action on_rotate;
        int on_rotate_signal; /* for SHIM_ROTATE_SIGNAL */
        int rotate_signal; /* what the broker sends the shim */
        bool rotate_given; /* --on-rotate or --rotate-signal given */
        int verbosity; /* number of -v */
        bool help;
        char **command; /* NULL-terminated, COMMAND [ARG...] */
        int n_command;
};

/* Parse argv into o. On a usage error logs exactly one line and returns -EINVAL. With --help
 * sets o->help and returns 0 without requiring COMMAND. */
int shim_options_parse(int argc, char **argv, struct shim_options *o);
void shim_options_done(struct shim_options *o);
void shim_options_usage(FILE *f);
/* Why no secrets are mounted, most likely, and what to do: from env, whether the container
 * asked for secrets through LOCKBOX_SECRET_* (under Docker the only way). */
const char *shim_options_none_hint(char *const *env);
