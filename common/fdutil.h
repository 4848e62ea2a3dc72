/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "macro.h"

/* Full reads and writes, retried on EINTR and short transfers. Return bytes or -errno. */
ssize_t read_full(int fd, void *buf, size_t size);
int write_full(int fd, const void *buf, size_t size);

/* Read a whole regular file (opened O_NOFOLLOW, relative to dirfd) of at most max bytes into a
 * NUL-terminated malloc'd buffer. Not for secret values (see secret_read_fd). */
int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size);

/* openat2() with how.resolve = resolve. */
int openat2_fd(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve);

/* Open path inside the directory rootfd as if rootfd were "/": ".." and absolute symlinks
 * cannot leave it (RESOLVE_IN_ROOT), and no symlink or magic link is followed at all. */
int open_in_root(int rootfd, const char *path, int flags);

/* Resolve the absolute path dir inside rootfd, creating missing directories one level at a
 * time with mode (each opened again with no symlink followed after mkdirat, so a swap between
 * the mkdir and the open is caught). Returns an O_PATH|O_DIRECTORY fd in *ret_fd. With
 * create false a missing component is -ENOENT. */
int mkdir_in_root(int rootfd, const char *dir, mode_t mode, bool create, int *ret_fd);

/* Write data to dir/name atomically: a temporary file created O_EXCL with mode, fsync'd,
 * renamed over name, directory fsync'd. Used for state, store and config files. */
int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t size, mode_t mode);

/*
 * The rule ssh applies to authorized_keys' parents (StrictModes): every directory from path's
 * parent up to "/", symlinks resolved (realpath), belongs to root or to owner and is not
 * writable by group or others unless it is sticky (/tmp). Whoever may write a parent may swap
 * what path names. 0 when they all pass or the parent does not exist (the caller's open says
 * so), -EPERM with the first offending directory in *ret_dir (malloc'd) and its stat, another
 * negative errno when it cannot tell.
 */
int path_check_parents(const char *path, uid_t owner, char **ret_dir, struct stat *ret_st);
/* Why st (a directory) fails that rule, or NULL: "not owned by root", "writable by group or
 * others". */
const char *path_parent_problem(const struct stat *st, uid_t owner);

/* Close every fd above 2 that is not in keep (sorted or not). */
int close_all_fds_except(const int *keep, size_t n_keep);

/* Dup fd to at least 3, close-on-exec, and close the original. For fds that must not be
 * mistaken for stdio. */
int fd_move_above_stdio(int fd);

int parse_uint64(const char *s, uint64_t *ret);
int parse_uid(const char *s, uint32_t *ret);
/* Octal file mode: "0400", "400", "0640". Only permission bits (no setuid, setgid, sticky). */
int parse_mode(const char *s, mode_t *ret);
/* "1M", "512K", "1048576" */
int parse_size(const char *s, uint64_t *ret);
/* "SIGUSR1", "USR1", "10" */
int parse_signal(const char *s, int *ret);
const char *signal_name(int sig);
