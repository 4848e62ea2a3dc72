/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <sys/types.h>

#include "consume.h"
#include "options.h"

/* Secret names are also the prefix of the request variables the broker reads (DESIGN §4). */
#define DELIVER_ENV_PREFIX "LOCKBOX_"
#define DELIVER_FDS_ENV "LOCKBOX_FDS"
#define DELIVER_PLACEHOLDER "{secret:"

/* An fd to put at target in the command's process. */
struct fd_move {
        int src; /* owned by the delivery, close-on-exec */
        int target;
};

/* Everything the command's process needs, made before it is started (the child of fork()
 * only moves fds and execs: nothing there allocates). */
struct delivery {
        char **argv; /* NULL-terminated, each string malloc'd */
        char **envp; /* NULL-terminated; entries borrowed from environ but fds_env */
        char *fds_env; /* "LOCKBOX_FDS=..." */
        struct fd_move *moves;
        size_t n_moves;
        pid_t stdin_writer; /* helper feeding a --stdin secret larger than a pipe, or 0 */
        /* What the shim keeps while the command runs (DESIGN §8): each secret's name and memfd
         * (close-on-exec, never given away: the command gets a duplicate), for a restart with
         * the same values or a rewrite in place. Set order; NULL without secrets. */
        char **names;
        int *memfds;
        size_t n_secrets;
};

void deliver_done(struct delivery *d);
/* Close the fds to be placed (the supervisor once the child has them). */
void deliver_close_fds(struct delivery *d);

/* Pure parts (unit-tested). Where each secret goes: ret_targets[i] is its fd, or -1 when it is
 * only on stdin. --fd requests first; the others get 3, 4, ... in manifest order, skipping
 * requested numbers. Logs one line and returns -ENOENT for a name not in names. */
int deliver_plan_fds(const char *const *names, size_t n, const struct shim_fd_request *req,
                     size_t n_req, const char *stdin_name, int *ret_targets);
/* "a=3,b=4" for the secrets with an fd, in manifest order ("" for none). */
int deliver_fds_value(const char *const *names, const int *targets, size_t n, char **ret);
/* arg with every {secret:NAME} replaced by /proc/self/fd/N. Logs one line and returns
 * -ENOENT for an unknown NAME, -EBADF for a secret that has no fd (stdin only). */
int deliver_substitute(const char *arg, const char *const *names, const int *targets, size_t n,
                       char **ret);
/* env without any LOCKBOX_* variable, plus fds_entry. The array is malloc'd, the strings are
 * env's and fds_entry. */
int deliver_build_env(char *const *env, char *fds_entry, char ***ret);

/* Build everything: memfds, the stdin pipe, argv, env. set may be NULL (--optional and nothing
 * mounted: no fds, argv and --fd/--stdin left alone). Logs one line on failure. */
int deliver_prepare(const struct shim_options *o, const struct secret_set *set, char *const *env,
                    struct delivery *d);
/* The same from memfds the shim holds (a restart): d takes names and memfds (n of each, all
 * malloc'd; names NULL for none) whatever the result. */
int deliver_prepare_held(const struct shim_options *o, char **names, int *memfds, size_t n,
                         char *const *env, struct delivery *d);
/* A memfd holding s's value with its owner and mode, sealed against any change unless
 * rewritable (--on-rotate signal:SIG), then only against new seals. */
int deliver_memfd(const struct shim_secret *s, bool rewritable, int *ret);
/* In the process that will exec: put every fd at its target, close every other fd above 2. */
int deliver_apply_layout(const struct fd_move *moves, size_t n);
/* execvpe; returns only on failure, after one line, with 126 or 127. */
int deliver_exec(const struct delivery *d);
/* --exec: layout and exec in this process. Returns the exit status on failure. */
int deliver_exec_here(const struct delivery *d);
