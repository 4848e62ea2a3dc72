/* SPDX-License-Identifier: Apache-2.0 */
#include "deliver.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "fdutil.h"
#include "log.h"

#define DELIVER_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)
/* --on-rotate signal:SIG rewrites the memfds the command holds, so they cannot be sealed
 * against writes or size changes; F_SEAL_SEAL alone keeps the command from adding a seal that
 * would make the rewrite fail. The price: the command itself can write to its copies, and a
 * read racing with a rewrite can see a mix (the command re-reads after SIG). restart and exit
 * keep every seal: a restart gets new memfds for what changed. */
#define DELIVER_SEALS_REWRITABLE F_SEAL_SEAL

static void deliver_strv_free(char **v) {
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

void deliver_close_fds(struct delivery *d) {
        for (size_t i = 0; i < d->n_moves; i++)
                d->moves[i].src = safe_close(d->moves[i].src);
}

static void deliver_held_free(char **names, int *memfds, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (names)
                        free(names[i]);
                if (memfds)
                        safe_close(memfds[i]);
        }
        free(names);
        free(memfds);
}

void deliver_done(struct delivery *d) {
        deliver_close_fds(d);
        free(d->moves);
        deliver_strv_free(d->argv);
        free(d->envp);
        free(d->fds_env);
        deliver_held_free(d->names, d->memfds, d->n_secrets);
        *d = (struct delivery){};
}

static ssize_t deliver_find(const char *const *names, size_t n, const char *name, size_t len) {
        for (size_t i = 0; i < n; i++)
                if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
                        return (ssize_t)i;
        return -1;
}

static bool deliver_fd_requested(const struct shim_fd_request *req, size_t n_req, int fd) {
        for (size_t i = 0; i < n_req; i++)
                if (req[i].fd == fd)
                        return true;
        return false;
}

int deliver_plan_fds(const char *const *names, size_t n, const struct shim_fd_request *req,
                     size_t n_req, const char *stdin_name, int *ret_targets) {
        const int unassigned = -2;
        for (size_t i = 0; i < n; i++)
                ret_targets[i] = unassigned;
        for (size_t k = 0; k < n_req; k++) {
                ssize_t i = deliver_find(names, n, req[k].name, strlen(req[k].name));
                if (i < 0) {
                        log_error("--fd %s=%d: no secret '%s' in the manifest", req[k].name,
                                  req[k].fd, req[k].name);
                        return -ENOENT;
                }
                ret_targets[i] = req[k].fd;
        }
        if (stdin_name) {
                ssize_t i = deliver_find(names, n, stdin_name, strlen(stdin_name));
                if (i < 0) {
                        log_error("--stdin %s: no secret '%s' in the manifest", stdin_name,
                                  stdin_name);
                        return -ENOENT;
                }
                /* On stdin only, unless --fd also asked for an fd. */
                if (ret_targets[i] == unassigned)
                        ret_targets[i] = -1;
        }
        int next = 3;
        for (size_t i = 0; i < n; i++) {
                if (ret_targets[i] != unassigned)
                        continue;
                while (deliver_fd_requested(req, n_req, next))
                        next++;
                ret_targets[i] = next++;
        }
        return 0;
}

int deliver_fds_value(const char *const *names, const int *targets, size_t n, char **ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        bool first = true;
        for (size_t i = 0; i < n; i++) {
                if (targets[i] < 0)
                        continue;
                fprintf(f, "%s%s=%d", first ? "" : ",", names[i], targets[i]);
                first = false;
        }
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

/* One {secret:NAME} at p (just past the prefix) with its closing brace at end. */
static int deliver_substitute_one(FILE *f, const char *p, const char *end, const char *const *names,
                                  const int *targets, size_t n) {
        size_t len = (size_t)(end - p);
        ssize_t i = deliver_find(names, n, p, len);
        if (i < 0) {
                /* The name may be anything the image's author typed: cap and let the logger
                 * sanitise it. */
                log_error("%s%.*s}: no secret '%.*s' in the manifest", DELIVER_PLACEHOLDER,
                          (int)(len > SECRET_NAME_MAX ? SECRET_NAME_MAX : len), p,
                          (int)(len > SECRET_NAME_MAX ? SECRET_NAME_MAX : len), p);
                return -ENOENT;
        }
        if (targets[i] < 0) {
                log_error("%s%s}: secret '%s' is only on stdin; add --fd %s=N to refer to it "
                          "by path",
                          DELIVER_PLACEHOLDER, names[i], names[i], names[i]);
                return -EBADF;
        }
        fprintf(f, "/proc/self/fd/%d", targets[i]);
        return 0;
}

int deliver_substitute(const char *arg, const char *const *names, const int *targets, size_t n,
                       char **ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return log_error_errno(-ENOMEM, "arguments");
        int r = 0;
        const char *p = arg;
        for (;;) {
                const char *start = strstr(p, DELIVER_PLACEHOLDER);
                const char *end = start ? strchr(start, '}') : NULL;
                /* No placeholder, or one that is never closed: the rest is literal. */
                if (!end) {
                        fputs(p, f);
                        break;
                }
                fwrite(p, 1, (size_t)(start - p), f);
                r = deliver_substitute_one(f, start + strlen(DELIVER_PLACEHOLDER), end, names,
                                           targets, n);
                if (r < 0)
                        break;
                p = end + 1;
        }
        if (fclose(f) != 0 && r >= 0)
                r = log_error_errno(-ENOMEM, "arguments");
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        return 0;
}

int deliver_build_env(char *const *env, char *fds_entry, char ***ret) {
        size_t n = 0;
        while (env && env[n])
                n++;
        char **out = calloc(n + 2, sizeof *out);
        if (!out)
                return -ENOMEM;
        size_t k = 0;
        /* Every LOCKBOX_* variable goes: they are the broker's request (references, and
         * under Docker the only channel for them), not the application's business, and an
         * inherited LOCKBOX_FDS would lie about our fds. */
        for (size_t i = 0; i < n; i++)
                if (strncmp(env[i], DELIVER_ENV_PREFIX, strlen(DELIVER_ENV_PREFIX)) != 0)
                        out[k++] = env[i];
        out[k++] = fds_entry;
        out[k] = NULL;
        *ret = out;
        return 0;
}

/* A sealed memfd holding the value: the application can read it (and mmap it, and reopen it
 * through /proc/self/fd/N) but nobody can change or resize it. It gets the owner and mode the
 * broker gave the file, so that reopening by path behaves as the file did. */
int deliver_memfd(const struct shim_secret *s, bool rewritable, int *ret) {
        _cleanup_close_ int fd = memfd_create(s->name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return negative_errno();
        /* Never at 0-2: a closed stdio fd must not become a secret the command writes to. */
        fd = fd_move_above_stdio(fd);
        if (fd < 0)
                return fd;
        int r = write_full(fd, secret_cdata(s->value), secret_size(s->value));
        if (r < 0)
                return r;
        /* Best effort: without CAP_CHOWN only our own uid is possible, which is also the
         * owner already. */
        if (fchown(fd, s->uid, s->gid) < 0)
                log_debug_errno(errno, "secret '%s': memfd keeps the shim's owner", s->name);
        if (fchmod(fd, s->mode) < 0)
                return negative_errno();
        if (fcntl(fd, F_ADD_SEALS, rewritable ? DELIVER_SEALS_REWRITABLE : DELIVER_SEALS) < 0)
                return negative_errno();
        if (lseek(fd, 0, SEEK_SET) < 0)
                return negative_errno();
        *ret = TAKE_FD(fd);
        return 0;
}

static int deliver_splice_all(int memfd, int pipe_w, size_t size) {
        loff_t off = 0;
        while ((size_t)off < size) {
                ssize_t n = splice(memfd, &off, pipe_w, NULL, size - (size_t)off, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? negative_errno() : -EIO;
        }
        return 0;
}

/* A pipe carrying the value, for --stdin. The kernel moves the bytes from the memfd (splice):
 * no copy in our memory. When the value fits in the pipe (grown up to it where allowed), it is
 * written now; otherwise a helper process writes it while the command reads. */
static int deliver_stdin_pipe(const char *name, int memfd, size_t size, int *ret_read,
                              pid_t *ret_writer) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return log_error_errno(errno, "--stdin %s: cannot create a pipe", name);
        _cleanup_close_ int rd = fd_move_above_stdio(p[0]);
        _cleanup_close_ int wr = fd_move_above_stdio(p[1]);
        if (rd < 0 || wr < 0)
                return log_error_errno(rd < 0 ? rd : wr, "--stdin %s: cannot create a pipe", name);
        int cap = fcntl(wr, F_GETPIPE_SZ);
        if (cap >= 0 && (size_t)cap < size && size <= INT_MAX)
                cap = fcntl(wr, F_SETPIPE_SZ, (int)size) < 0 ? cap : fcntl(wr, F_GETPIPE_SZ);
        if (cap >= 0 && (size_t)cap >= size) {
                int r = deliver_splice_all(memfd, wr, size);
                if (r < 0)
                        return log_error_errno(r, "--stdin %s: cannot fill the pipe", name);
                *ret_writer = 0;
        } else {
                pid_t pid = fork();
                if (pid < 0)
                        return log_error_errno(errno, "--stdin %s: cannot fork a writer", name);
                if (pid == 0) {
                        int keep[] = {memfd, wr};
                        (void)close_all_fds_except(keep, ARRAY_SIZE(keep));
                        _exit(deliver_splice_all(memfd, wr, size) < 0 ? 1 : 0);
                }
                *ret_writer = pid;
        }
        *ret_read = TAKE_FD(rd);
        return 0; /* wr closed here: the command sees EOF after the value */
}

static int deliver_check_limit(const char *const *names, const int *targets, size_t n) {
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return 0;
        for (size_t i = 0; i < n; i++)
                if (targets[i] >= 0 && (rlim_t)targets[i] >= rl.rlim_cur) {
                        log_error("secret '%s': fd %d is beyond the open file limit "
                                  "(RLIMIT_NOFILE %llu)",
                                  names[i], targets[i], (unsigned long long)rl.rlim_cur);
                        return -EMFILE;
                }
        return 0;
}

/* The fds the command gets: a duplicate of each held memfd that has a target (the shim keeps
 * its own for a restart or a rewrite), and the stdin pipe, filled from its memfd. */
static int deliver_make_fds(const struct shim_options *o, const int *targets, struct delivery *d) {
        d->moves = calloc(d->n_secrets + 2, sizeof *d->moves);
        if (!d->moves)
                return log_error_errno(-ENOMEM, "secrets");
        for (size_t i = 0; i < d->n_secrets; i++) {
                const char *name = d->names[i];
                if (o->stdin_name && streq_ptr(o->stdin_name, name)) {
                        struct stat st;
                        int rd = -1;
                        if (fstat(d->memfds[i], &st) < 0)
                                return log_error_errno(errno, "--stdin %s", name);
                        int r = deliver_stdin_pipe(name, d->memfds[i], (size_t)st.st_size, &rd,
                                                   &d->stdin_writer);
                        if (r < 0)
                                return r;
                        d->moves[d->n_moves++] = (struct fd_move){rd, STDIN_FILENO};
                }
                if (targets[i] < 0)
                        continue;
                int fd = fcntl(d->memfds[i], F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return log_error_errno(errno, "secret '%s': cannot duplicate its memfd",
                                               name);
                d->moves[d->n_moves++] = (struct fd_move){fd, targets[i]};
        }
        return 0;
}

static int deliver_make_argv(const struct shim_options *o, const char *const *names,
                             const int *targets, size_t n, bool substitute, struct delivery *d) {
        d->argv = calloc((size_t)o->n_command + 1, sizeof *d->argv);
        if (!d->argv)
                return log_error_errno(-ENOMEM, "arguments");
        for (int i = 0; i < o->n_command; i++) {
                /* Not in COMMAND itself: a secret is never something to execute. */
                if (i == 0 || !substitute) {
                        d->argv[i] = strdup(o->command[i]);
                        if (!d->argv[i])
                                return log_error_errno(-ENOMEM, "arguments");
                        continue;
                }
                int r = deliver_substitute(o->command[i], names, targets, n, &d->argv[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int deliver_make_env(const char *const *names, const int *targets, size_t n,
                            char *const *env, struct delivery *d) {
        _cleanup_free_ char *value = NULL;
        if (deliver_fds_value(names, targets, n, &value) < 0 ||
            asprintf(&d->fds_env, "%s=%s", DELIVER_FDS_ENV, value) < 0 ||
            deliver_build_env(env, d->fds_env, &d->envp) < 0)
                return log_error_errno(-ENOMEM, "environment");
        return 0;
}

int deliver_prepare_held(const struct shim_options *o, char **names, int *memfds, size_t n,
                         char *const *env, struct delivery *d) {
        d->names = names;
        d->memfds = memfds;
        d->n_secrets = n;
        _cleanup_free_ int *targets = calloc(n + 1, sizeof *targets);
        if (!targets)
                return log_error_errno(-ENOMEM, "secrets");
        const char *const *cnames = (const char *const *)names;

        /* Without secrets (--optional) a --fd, --stdin or {secret:NAME} has nothing to refer
         * to: they are left alone, so that {secret:NAME} reaches the command as the literal
         * text it can recognise rather than a path to an empty stand-in. */
        if (names) {
                int r = deliver_plan_fds(cnames, n, o->fds, o->n_fds, o->stdin_name, targets);
                if (r < 0)
                        return r;
                r = deliver_check_limit(cnames, targets, n);
                if (r < 0)
                        return r;
        }
        int r = deliver_make_argv(o, cnames, targets, n, names != NULL, d);
        if (r < 0)
                return r;
        r = deliver_make_env(cnames, targets, n, env, d);
        if (r < 0)
                return r;
        /* A restart hands the same memfds to a new command: from their start again. */
        for (size_t i = 0; i < n; i++)
                (void)lseek(memfds[i], 0, SEEK_SET);
        return names ? deliver_make_fds(o, targets, d) : 0;
}

int deliver_prepare(const struct shim_options *o, const struct secret_set *set, char *const *env,
                    struct delivery *d) {
        size_t n = set ? set->n : 0;
        char **names = set ? calloc(n + 1, sizeof *names) : NULL;
        int *memfds = set ? calloc(n + 1, sizeof *memfds) : NULL;
        if (set && (!names || !memfds)) {
                free(names);
                free(memfds);
                return log_error_errno(-ENOMEM, "secrets");
        }
        for (size_t i = 0; i < n; i++)
                memfds[i] = -1;
        for (size_t i = 0; i < n; i++) {
                const struct shim_secret *s = &set->items[i];
                names[i] = strdup(s->name);
                int r = names[i] ? deliver_memfd(s, o->on_rotate == SHIM_ROTATE_SIGNAL, &memfds[i])
                                 : -ENOMEM;
                if (r < 0) {
                        deliver_held_free(names, memfds, n);
                        return log_error_errno(r, "secret '%s': cannot make a sealed memfd",
                                               s->name);
                }
        }
        return deliver_prepare_held(o, names, memfds, n, env, d);
}

int deliver_apply_layout(const struct fd_move *moves, size_t n) {
        int moved[MANIFEST_MAX_SECRETS + 1], keep[MANIFEST_MAX_SECRETS + 1];
        int max_target = STDERR_FILENO;
        if (n > ARRAY_SIZE(moved))
                return -E2BIG;
        for (size_t i = 0; i < n; i++)
                if (moves[i].target > max_target)
                        max_target = moves[i].target;
        /* Move every source above every target first: a memfd that happens to sit at another
         * secret's target would otherwise be overwritten by that secret's dup2. */
        for (size_t i = 0; i < n; i++) {
                moved[i] = fcntl(moves[i].src, F_DUPFD_CLOEXEC, max_target + 1);
                if (moved[i] < 0)
                        return negative_errno();
        }
        /* dup2 clears close-on-exec on the target: exactly the fds meant for the command. */
        for (size_t i = 0; i < n; i++) {
                if (dup2(moved[i], moves[i].target) < 0)
                        return negative_errno();
                keep[i] = moves[i].target;
        }
        return close_all_fds_except(keep, n);
}

int deliver_exec(const struct delivery *d) {
        execvpe(d->argv[0], d->argv, d->envp);
        int e = errno;
        log_error_errno(e, "cannot run '%s'", d->argv[0]);
        return (e == ENOENT || e == ENOTDIR) ? SHIM_EXIT_NOTFOUND : SHIM_EXIT_NOEXEC;
}

int deliver_exec_here(const struct delivery *d) {
        int r = deliver_apply_layout(d->moves, d->n_moves);
        if (r < 0) {
                log_error_errno(r, "cannot set up the command's file descriptors");
                return SHIM_EXIT_FAILURE;
        }
        return deliver_exec(d);
}
