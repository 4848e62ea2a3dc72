/* SPDX-License-Identifier: Apache-2.0 */
#include "rotation.h"

#include <fcntl.h>
#include <string.h>

#include "fdutil.h"
#include "harden.h"
#include "log.h"

void shim_rotation_init(struct shim_rotation *rot, const struct shim_options *o, char *const *env,
                        const struct secret_set *set) {
        *rot = (struct shim_rotation){.o = o, .env = env};
        if (set) {
                snprintf(rot->container, sizeof rot->container, "%s", set->manifest->container);
                rot->generation = set->manifest->generation;
        }
}

static ssize_t held_find(const struct delivery *d, const char *name) {
        for (size_t i = 0; i < d->n_secrets; i++)
                if (streq_ptr(d->names[i], name))
                        return (ssize_t)i;
        return -1;
}

/* The new generation, consumed as at start, and checked to follow the one we hold. */
static int rotation_consume(const struct shim_rotation *rot, struct secret_set **ret) {
        const struct consume_params cp = {
                .dir = rot->o->dir,
                .require_mount = true,
                .unmount_timeout_ms = CONSUME_UNMOUNT_TIMEOUT_MS,
        };
        _cleanup_secret_set_ struct secret_set *set = NULL;
        _cleanup_close_ int dirfd = -1;
        const char *why = NULL;

        int r = consume_probe(cp.dir, true, &dirfd, &why);
        if (r < 0)
                return r;
        if (r == 0)
                return log_error("no new generation at %s (%s)", cp.dir, why);
        dirfd = safe_close(dirfd);
        r = consume_secrets(&cp, &set);
        if (r < 0)
                return r;
        const struct manifest *m = set->manifest;
        if (rot->container[0] && !streq_ptr(m->container, rot->container))
                return log_error("%s: the new generation is for container '%s', not '%s'", cp.dir,
                                 m->container, rot->container);
        if (m->generation <= rot->generation)
                return log_error("%s: generation %llu is not newer than the one held (%llu)",
                                 cp.dir, (unsigned long long)m->generation,
                                 (unsigned long long)rot->generation);
        *ret = TAKE_PTR(set);
        return 0;
}

/* signal:SIG: every value into the memfd the command already has. All names are checked first:
 * a new secret cannot be given to a running command (it has no fd for it). */
static int rotation_rewrite(const struct delivery *cur, const struct secret_set *set) {
        for (size_t i = 0; i < set->n; i++)
                if (held_find(cur, set->items[i].name) < 0)
                        return log_error("secret '%s' is new: a running command cannot get "
                                         "another fd (--on-rotate signal); use --on-rotate "
                                         "restart",
                                         set->items[i].name);
        for (size_t i = 0; i < set->n; i++) {
                const struct shim_secret *s = &set->items[i];
                int fd = cur->memfds[held_find(cur, s->name)];
                /* Write, then cut to size: a reader racing with us sees the new bytes over the
                 * old ones, never an empty file. The offset the command shares is reset so
                 * that a plain read() after SIG starts at the beginning. */
                int r = lseek(fd, 0, SEEK_SET) < 0
                                ? negative_errno()
                                : write_full(fd, secret_cdata(s->value), secret_size(s->value));
                if (r >= 0 && ftruncate(fd, (off_t)secret_size(s->value)) < 0)
                        r = negative_errno();
                if (r >= 0 && lseek(fd, 0, SEEK_SET) < 0)
                        r = negative_errno();
                if (r < 0)
                        return log_error_errno(r, "secret '%s': cannot rewrite its memfd", s->name);
        }
        return 0;
}

/* restart: the held secrets in their order (new memfds for those in set, the others shared),
 * then the new names. */
static int rotation_next(const struct shim_rotation *rot, const struct delivery *cur,
                         const struct secret_set *set, struct delivery *next) {
        size_t n = cur->n_secrets;
        for (size_t i = 0; i < set->n; i++)
                n += held_find(cur, set->items[i].name) < 0;
        char **names = calloc(n + 1, sizeof *names);
        int *memfds = calloc(n + 1, sizeof *memfds);
        if (!names || !memfds) {
                free(names);
                free(memfds);
                return log_error_errno(-ENOMEM, "secrets");
        }
        for (size_t i = 0; i < n; i++)
                memfds[i] = -1;
        size_t k = cur->n_secrets;
        int r = 0;
        for (size_t i = 0; i < cur->n_secrets && r >= 0; i++) {
                names[i] = strdup(cur->names[i]);
                memfds[i] = fcntl(cur->memfds[i], F_DUPFD_CLOEXEC, 3);
                r = names[i] && memfds[i] >= 0 ? 0 : -ENOMEM;
        }
        for (size_t i = 0; i < set->n && r >= 0; i++) {
                const struct shim_secret *s = &set->items[i];
                ssize_t at = held_find(cur, s->name);
                size_t j = at >= 0 ? (size_t)at : k++;
                memfds[j] = safe_close(memfds[j]);
                if (!names[j])
                        names[j] = strdup(s->name);
                r = names[j] ? deliver_memfd(s, false, &memfds[j]) : -ENOMEM;
                if (r < 0)
                        log_error_errno(r, "secret '%s': cannot make a sealed memfd", s->name);
        }
        if (r < 0) {
                for (size_t i = 0; i < n; i++) {
                        free(names[i]);
                        safe_close(memfds[i]);
                }
                free(names);
                free(memfds);
                return r == -ENOMEM ? log_error_errno(r, "secrets") : r;
        }
        /* deliver_prepare_held owns names and memfds from here, even on failure. */
        return deliver_prepare_held(rot->o, names, memfds, n, rot->env, next);
}

static int rotation_apply(struct shim_rotation *rot, struct delivery *cur, struct delivery *next) {
        _cleanup_secret_set_ struct secret_set *set = NULL;
        int r = rotation_consume(rot, &set);
        if (r < 0)
                return r;
        harden_warn_unlocked(set);
        if (rot->o->on_rotate == SHIM_ROTATE_SIGNAL)
                r = rotation_rewrite(cur, set);
        else if (rot->o->on_rotate == SHIM_ROTATE_RESTART)
                r = rotation_next(rot, cur, set, next);
        if (r < 0) {
                deliver_done(next);
                return r;
        }
        rot->generation = set->manifest->generation;
        log_info("generation %llu: %zu secret(s) received", (unsigned long long)rot->generation,
                 set->n);
        return 0;
}

int shim_rotation_receive(struct shim_rotation *rot, struct delivery *cur, struct delivery *next) {
        /* Whatever fails below logs its own line; it becomes the reason of ours. */
        int capture = log_capture_begin();
        int r = rotation_apply(rot, cur, next);
        _cleanup_free_ char *text = capture >= 0 ? log_capture_end(capture) : NULL;
        if (r >= 0) {
                log_capture_replay(text);
                return 0;
        }
        char why[1024];
        log_capture_last(text, why, sizeof why);
        return log_error("rotation failed, '%s' keeps running with its current secrets: %s",
                         rot->o->command[0], why[0] ? why : "unknown reason");
}
