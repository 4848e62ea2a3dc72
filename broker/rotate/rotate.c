/* SPDX-License-Identifier: Apache-2.0 */
#include "rotate.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "place/audit.h"
#include "fdutil.h"
#include "place/filemeta.h"
#include "log.h"
#include "place/idmap.h"
#include "place/place.h"
#include "request/policy.h"
#include "fetch/privsep.h"
#include "place/state.h"
#include "place/watcher.h"

/* How long a rotation waits for the watcher of a generation the shim is consuming right now
 * to finish (unmount, mark the record) before it looks again. */
#define ROTATE_CONSUME_WAIT_MS 5000
#define ROTATE_ATTEMPTS 3
/* How long the in-place path waits for the shim to finish with the tmpfs (milliseconds). */
#define ROTATE_TMPFS_LOCK_MS 2000

struct rotation {
        const struct broker_config *cfg;
        const struct secret *digest_key;
        const struct rotate_options *o;
        const char *id;
        json_t *state;
        int pidfd; /* the container's init, checked against the record's start time */
        int mount_fd; /* in place: the watcher's mount */
        struct rotate_item *items;
        size_t n_items;
        uint64_t generation; /* the new one */
        char why[ROTATE_WHY_MAX]; /* why the placement failed */
        /* For the lease hand-over once the lock is released. */
        bool fresh;
        pid_t watcher_pid;
        unsigned long long watcher_start;
};

static void rotation_done(struct rotation *c) {
        json_decref(c->state);
        c->pidfd = safe_close(c->pidfd);
        c->mount_fd = safe_close(c->mount_fd);
        rotate_items_free(c->items, c->n_items);
        c->state = NULL;
        c->items = NULL;
}

static pid_t record_pid(const json_t *state, const char *key) {
        return (pid_t)json_integer_value(json_object_get(state, key));
}

static unsigned long long record_ull(const json_t *state, const char *key) {
        return (unsigned long long)json_integer_value(json_object_get(state, key));
}

/* A pidfd of the container's init, if the record's pid is still that process: opened first,
 * then its start time checked, so that it cannot name a reused pid. */
static int rotation_open_init(struct rotation *c) {
        pid_t pid = record_pid(c->state, "pid");
        unsigned long long start;
        c->pidfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
        if (c->pidfd < 0 || proc_start_time(pid, &start) < 0 ||
            start != record_ull(c->state, "pid_start"))
                return -ESRCH;
        /* A pidfd is readable once the process has exited: an init that is a zombie not yet
         * reaped (its /proc entry and start time still there) is not running. */
        struct pollfd p = {.fd = c->pidfd, .events = POLLIN};
        if (poll(&p, 1, 0) != 0)
                return -ESRCH;
        return 0;
}

/* Not consumed yet: the watcher's mount. -EAGAIN when the shim is consuming it right now (no
 * answer, or no manifest any more): the caller waits for the watcher and looks again. */
static int rotation_take_mount(struct rotation *c) {
        pid_t wpid = record_pid(c->state, "watcher_pid");
        if (!watcher_is_alive(wpid, record_ull(c->state, "watcher_start")))
                return log_error("container %s: its tmpfs was not consumed and its watcher "
                                 "(pid %d) is gone: the mount cannot be reached safely; revoke "
                                 "it and start the container again",
                                 c->id, (int)wpid),
                       -ESRCH;
        int r = watcher_take_mount(c->cfg->state_dir, c->id, wpid, &c->mount_fd);
        if (r == -ENOTCONN || r == -ETIMEDOUT)
                return -EAGAIN;
        if (r < 0)
                return log_error_errno(r, "container %s: cannot get its tmpfs from the watcher",
                                       c->id);
        return 0;
}

/* The shim takes the same lock while it reads and removes a generation (consume.c): with it,
 * a shim starting during a rotation reads one whole generation, and a rotation never writes
 * into a set that the shim is about to remove. (An application reading the files itself takes
 * no lock: for it, each file is replaced by rename and the manifest last.) A container that
 * holds the lock only stops its own rotation. */
static int rotation_lock_tmpfs(int dir_fd) {
        for (int waited = 0; flock(dir_fd, LOCK_EX | LOCK_NB) < 0; waited += 10) {
                if (errno != EWOULDBLOCK)
                        return negative_errno();
                /* The shim holds it for milliseconds; longer is the container's doing. */
                if (waited >= ROTATE_TMPFS_LOCK_MS)
                        return -EBUSY;
                (void)poll(NULL, 0, 10);
        }
        return 0;
}

static uint32_t record_id(const json_t *state, const char *key) {
        return (uint32_t)json_integer_value(json_object_get(state, key));
}

/* The files of the new generation, one per changed or added secret: name, mode and owner
 * decided as at placement (filemeta_files: the request the record keeps, the metadata of this
 * fetch, owner names looked up in the container's own files), so that a rotated Keywhiz secret
 * keeps the mode and owner its metadata gives. The file names point into c->items. */
static int rotation_files(const struct rotation *c, struct tmpfs_file *files, size_t *ret_n) {
        _cleanup_free_ struct secret_request *secrets = calloc(c->n_items + 1, sizeof *secrets);
        _cleanup_free_ struct fetched_secret *fetched = calloc(c->n_items + 1, sizeof *fetched);
        if (!secrets || !fetched)
                return log_error_errno(-ENOMEM, "container %s", c->id);
        /* Shallow copies, side by side as a placement has them: nothing in them is freed here,
         * the items own it. */
        struct request req = {.secrets = secrets,
                              .uid_set = rotate_record_flag(c->state, "uid_set"),
                              .gid_set = rotate_record_flag(c->state, "gid_set")};
        for (size_t i = 0; i < c->n_items; i++) {
                const struct rotate_item *it = &c->items[i];
                if (it->outcome != ROTATE_CHANGED && it->outcome != ROTATE_ADDED)
                        continue;
                secrets[req.n_secrets] = it->req;
                fetched[req.n_secrets++] = it->fetched;
        }
        /* "/" of the container's mount namespace, seen through its init: the rootfs path of
         * the placement existed only before pivot_root. */
        struct placement p = {.container_id = c->id,
                              .pid = record_pid(c->state, "pid"),
                              .rootfs = "/",
                              .uid = record_id(c->state, "uid"),
                              .gid = record_id(c->state, "gid")};
        return filemeta_files(&p, &req, fetched, files, ret_n);
}

static int rotation_spec(const struct rotation *c, struct tmpfs_spec *spec) {
        uint32_t uid = record_id(c->state, "uid");
        uint32_t gid = record_id(c->state, "gid");
        *spec = (struct tmpfs_spec){.size_max = c->cfg->tmpfs_size};
        int r = idmap_pid_to_host(record_pid(c->state, "pid"), uid, gid, &spec->host_uid,
                                  &spec->host_gid);
        if (r < 0)
                return log_error_errno(r, "container %s: owner %u:%u is not mapped to the host",
                                       c->id, uid, gid);
        return 0;
}

/* In place: every changed file, then the manifest, through the watcher's mount fd. */
static int rotation_in_place(struct rotation *c, const struct tmpfs_file *files, size_t n) {
        _cleanup_close_ int dir_fd = openat(c->mount_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *text = NULL;
        _cleanup_manifest_ struct manifest *cur = NULL, *next = NULL;
        struct tmpfs_spec spec;
        struct stat st;
        size_t size;
        ino_t ino;

        if (dir_fd < 0)
                return log_error_errno(errno, "container %s: cannot open its tmpfs", c->id);
        int r = rotation_lock_tmpfs(dir_fd);
        if (r == -EBUSY)
                return log_error("container %s: its tmpfs has been locked for %d ms (by a "
                                 "process in the container); not replaced",
                                 c->id, ROTATE_TMPFS_LOCK_MS),
                       r;
        if (r < 0)
                return log_error_errno(r, "container %s: cannot lock its tmpfs", c->id);
        r = read_file_at(dir_fd, MANIFEST_FILE, MANIFEST_MAX_BYTES, &text, &size);
        if (r == -ENOENT)
                return -EAGAIN; /* consumed just now: its watcher is unmounting it */
        if (r >= 0)
                r = manifest_parse(text, size, &cur);
        if (r < 0)
                return log_error_errno(r,
                                       "container %s: the manifest on its tmpfs is missing or "
                                       "not lockbox's (changed inside the container)",
                                       c->id);
        if ((r = rotate_merge_manifest(cur, c->generation, files, n, &next)) < 0 ||
            (r = rotation_spec(c, &spec)) < 0)
                return log_error_errno(r, "container %s: cannot build the new manifest", c->id);
        r = tmpfs_replace(dir_fd, &spec, next, files, n, &ino);
        if (r < 0)
                return r;
        /* The shim may have read and removed the set while we replaced it; then it holds the
         * old values, or failed its check, and the record must not claim otherwise. */
        if (fstatat(dir_fd, MANIFEST_FILE, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_ino != ino)
                return log_error("container %s: the shim consumed the tmpfs while it was "
                                 "being replaced; run rotate again",
                                 c->id),
                       -ESTALE;
        char now[PLACE_TIME_MAX];
        place_time_now(now, 0);
        r = rotate_record(c->state, c->items, c->n_items, c->digest_key, c->generation, now);
        if (r >= 0)
                r = state_save(c->cfg->state_dir, c->state);
        if (r < 0)
                return log_error_errno(r,
                                       "container %s: generation %llu is in place but cannot be "
                                       "recorded in %s",
                                       c->id, (unsigned long long)c->generation, c->cfg->state_dir);
        return 0;
}

/* Consumed: a fresh tmpfs with the changed secrets, a new watcher, then the shim's signal. */
static int rotation_fresh(struct rotation *c, const struct tmpfs_file *files, size_t n) {
        _cleanup_json_ json_t *next = json_deep_copy(c->state);
        struct tmpfs_spec spec;
        char now[PLACE_TIME_MAX];
        int sig, r;

        if (!next)
                return log_error_errno(-ENOMEM, "container %s", c->id);
        if (parse_signal(json_get_string(c->state, "rotate_signal"), &sig) < 0)
                sig = SIGUSR1;
        place_time_now(now, 0);
        if ((r = rotate_record(next, c->items, c->n_items, c->digest_key, c->generation, now)) <
                    0 ||
            (r = json_object_set_new(next, "consumed", json_false())) < 0)
                return log_error_errno(-ENOMEM, "container %s", c->id);
        if ((r = rotation_spec(c, &spec)) < 0)
                return r;
        /* "/" of the container's mount namespace: the rootfs path of the placement existed
         * only before pivot_root. */
        struct fresh_tmpfs t = {
                .container_id = c->id,
                .pid = record_pid(c->state, "pid"),
                .pidfd = c->pidfd,
                .rootfs = "/",
                .dir = json_get_string(c->state, "dir"),
                .host_uid = spec.host_uid,
                .host_gid = spec.host_gid,
                .generation = c->generation,
                .files = files,
                .n_files = n,
        };
        if (!t.dir)
                return log_error_errno(-EINVAL, "container %s: the record has no dir", c->id);
        r = place_fresh_tmpfs(c->cfg, &t, next, c->state);
        if (r < 0)
                return r;
        c->fresh = true;
        c->watcher_pid = record_pid(next, "watcher_pid");
        c->watcher_start = record_ull(next, "watcher_start");
        json_decref(c->state);
        c->state = TAKE_PTR(next);
        /* The record is the new generation's from here on: if the signal cannot be sent, the
         * container is gone and poststop clears it with everything else. */
        if (syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0) < 0)
                return log_error_errno(errno, "container %s: cannot send SIG%s to its init", c->id,
                                       signal_name(sig));
        return 0;
}

static bool rotation_failed(const struct rotation *c) {
        for (size_t i = 0; i < c->n_items; i++)
                if (c->items[i].outcome == ROTATE_FAILED)
                        return true;
        return false;
}

static bool rotation_changes(const struct rotation *c) {
        for (size_t i = 0; i < c->n_items; i++)
                if (c->items[i].outcome == ROTATE_CHANGED || c->items[i].outcome == ROTATE_ADDED)
                        return true;
        return false;
}

/* Under the lock: the record again, what changed against it, and the placement. -EAGAIN: the
 * shim is consuming the tmpfs right now (c->watcher_* name the watcher to wait for). */
static int rotation_place_locked(struct rotation *c) {
        json_decref(c->state);
        c->state = NULL;
        int r = state_load(c->cfg->state_dir, c->id, &c->state);
        if (r < 0)
                return log_error_errno(r, "container %s: its record went away during the rotation",
                                       c->id);
        rotate_items_classify(c->items, c->n_items, c->state);
        if (!rotation_changes(c))
                return 0;
        c->generation = (uint64_t)json_integer_value(json_object_get(c->state, "generation")) + 1;
        _cleanup_free_ struct tmpfs_file *files = calloc(c->n_items + 1, sizeof *files);
        if (!files)
                return log_error_errno(-ENOMEM, "container %s", c->id);
        size_t n = 0;
        r = rotation_files(c, files, &n);
        if (r < 0)
                return r;
        if (json_is_true(json_object_get(c->state, "consumed")))
                return rotation_fresh(c, files, n);
        c->watcher_pid = record_pid(c->state, "watcher_pid");
        c->watcher_start = record_ull(c->state, "watcher_start");
        r = rotation_take_mount(c);
        if (r >= 0)
                r = rotation_in_place(c, files, n);
        c->mount_fd = safe_close(c->mount_fd);
        return r;
}

/* Place what changed; on failure each changed secret fails with the reason. A shim that is
 * consuming the tmpfs right now is waited for (its watcher exits once it is unmounted and the
 * record says so), and then the fresh path is taken: the values fetched are kept. */
static void rotation_place(struct rotation *c) {
        int r = -EAGAIN;
        _cleanup_free_ char *text = NULL;
        for (int attempt = 1; r == -EAGAIN && attempt <= ROTATE_ATTEMPTS; attempt++) {
                if (attempt > 1)
                        (void)watcher_wait_exit(c->watcher_pid, c->watcher_start,
                                                ROTATE_CONSUME_WAIT_MS);
                int lock = -1;
                r = state_lock(c->cfg->state_dir, c->id, &lock);
                if (r < 0) {
                        snprintf(c->why, sizeof c->why,
                                 "the container stopped during the rotation");
                        break;
                }
                int capture = log_capture_begin();
                r = rotation_place_locked(c);
                free(text);
                text = capture >= 0 ? log_capture_end(capture) : NULL;
                state_unlock(lock, c->cfg->state_dir, c->id, false);
        }
        if (r >= 0) {
                log_capture_replay(text);
                return;
        }
        if (!c->why[0] && r == -EAGAIN)
                snprintf(c->why, sizeof c->why,
                         "the shim is consuming the tmpfs; run rotate again");
        else if (!c->why[0])
                rotate_reason(text, NULL, NULL, c->why, sizeof c->why);
        for (size_t i = 0; i < c->n_items; i++)
                if (c->items[i].outcome == ROTATE_CHANGED || c->items[i].outcome == ROTATE_ADDED)
                        rotate_item_fail(&c->items[i], "%s", c->why);
}

/* Without the lock: the record, the init, the requests, and each secret fetched. 1: not
 * running under --all (skipped, reported). */
static int rotation_start(struct rotation *c, FILE *out) {
        int r = state_load(c->cfg->state_dir, c->id, &c->state);
        if (r == -ENOENT)
                return log_error("container %s: unknown (no record in %s: not placed by "
                                 "lockbox, or stopped and cleaned up)",
                                 c->id, c->cfg->state_dir),
                       -ENOENT;
        if (r < 0)
                return log_error_errno(r, "container %s: cannot read its record", c->id);
        if (rotation_open_init(c) < 0) {
                if (c->o->all) {
                        fprintf(out,
                                "%s: skipped: not running (a stale record; `lockbox-broker "
                                "revoke %s` removes it)\n",
                                c->id, c->id);
                        return 1;
                }
                return log_error("container %s: not running (its init, pid %d, is gone); "
                                 "nothing to rotate",
                                 c->id, (int)record_pid(c->state, "pid")),
                       -ESRCH;
        }
        const char *role_name = json_get_string(c->state, "role");
        const struct role *role = config_find_role(c->cfg, role_name);
        if (!role)
                return log_error("container %s: its role '%s' is not in %s any more", c->id,
                                 role_name ? role_name : "",
                                 c->cfg->path ? c->cfg->path : "the configuration"),
                       -ENOENT;
        r = rotate_items_build(c->state, c->o, &c->items, &c->n_items);
        if (r < 0)
                return log_error_errno(r, "container %s", c->id);
        for (size_t i = 0; i < c->n_items; i++)
                rotate_fetch_one(c->cfg, role, c->digest_key, &c->items[i]);
        return 0;
}

static json_t *rotation_audit_secrets(const struct rotation *c) {
        static const char *const outcome[] = {"unchanged", "rotated", "added", "kept", "failed"};
        json_t *a = json_array();
        for (size_t i = 0; a && i < c->n_items; i++) {
                const struct rotate_item *it = &c->items[i];
                json_t *o = place_secret_entry(&it->req, &it->fetched, NULL);
                if (o)
                        json_object_set_new(o, "outcome", json_string(outcome[it->outcome]));
                if (!o || json_array_append_new(a, o) < 0)
                        return json_decref(a), NULL;
        }
        return a;
}

/* New leases nobody uses revoked, one audit line when anything changed or failed, and one
 * report line per secret. */
static void rotation_report(const struct rotation *c, FILE *out) {
        const char *role = json_get_string(c->state, "role");
        rotate_drop_new_leases(c->cfg, role, c->items, c->n_items, !c->why[0]);
        if (rotation_changes(c) || rotation_failed(c)) {
                _cleanup_json_ json_t *secrets = rotation_audit_secrets(c);
                const char *reason = NULL;
                for (size_t i = 0; i < c->n_items && !reason; i++)
                        if (c->items[i].outcome == ROTATE_FAILED)
                                reason = c->items[i].why;
                struct audit_record rec = {"rotate", c->id,   json_get_string(c->state, "name"),
                                           role,     secrets, reason ? "failed" : "ok",
                                           reason};
                audit_write(c->cfg, &rec);
        }
        for (size_t i = 0; i < c->n_items; i++) {
                char line[ROTATE_WHY_MAX + 2 * SECRET_NAME_MAX + 512];
                rotate_format_line(line, sizeof line, c->id, &c->items[i]);
                fprintf(out, "%s\n", line);
        }
}

static int rotation_check_names(const struct rotation *c, FILE *out) {
        int r = 0;
        for (size_t k = 0; k < c->o->n_only; k++) {
                bool found = false;
                for (size_t i = 0; i < c->n_items && !found; i++)
                        found = streq_ptr(c->items[i].req.name, c->o->only[k]);
                if (!found) {
                        fprintf(out, "%s %s: failed: the container has no such secret\n", c->id,
                                c->o->only[k]);
                        r = -ENOENT;
                }
        }
        return r;
}

/* After the lock is released: the leases this rotation replaced, once the new generation was
 * consumed (its watcher exits then) or the grace ran out. A kept tmpfs holds the new values as
 * soon as the renames are done. */
static void rotation_retire(const struct rotation *c) {
        const json_t *retired = json_get_array(c->state, "retired_leases");
        if (json_array_size(retired) == 0 || c->why[0])
                return;
        if (c->fresh && watcher_wait_exit(c->watcher_pid, c->watcher_start, c->o->grace_ms) < 0)
                log_warning("container %s: generation %llu not consumed within %d ms; revoking "
                            "the old leases anyway",
                            c->id, (unsigned long long)c->generation, c->o->grace_ms);
        const char *role = json_get_string(c->state, "role");
        if (privsep_revoke_leases(c->cfg, role, retired) < 0)
                return; /* kept in the record: revoke and poststop try again */
        int lock = -1;
        _cleanup_json_ json_t *state = NULL;
        if (state_lock(c->cfg->state_dir, c->id, &lock) < 0)
                return;
        if (state_load(c->cfg->state_dir, c->id, &state) >= 0) {
                /* Only those revoked here: a rotation since may have retired others. */
                json_t *now = json_object_get(state, "retired_leases");
                for (size_t i = json_array_size(now); i-- > 0;)
                        for (size_t j = 0; j < json_array_size(retired); j++)
                                if (streq_ptr(json_get_string(json_array_get(now, i), "lease_id"),
                                              json_get_string(json_array_get(retired, j),
                                                              "lease_id"))) {
                                        json_array_remove(now, i);
                                        break;
                                }
                if (json_array_size(now) == 0)
                        json_object_del(state, "retired_leases");
                (void)state_save(c->cfg->state_dir, state);
        }
        state_unlock(lock, c->cfg->state_dir, c->id, false);
}

int rotate_container(const struct broker_config *cfg, const struct secret *digest_key,
                     const char *id, const struct rotate_options *o, FILE *out) {
        struct rotation c = {.cfg = cfg,
                             .digest_key = digest_key,
                             .o = o,
                             .id = id,
                             .pidfd = -1,
                             .mount_fd = -1};
        int r = rotation_start(&c, out);
        if (r == 0) {
                int names = rotation_check_names(&c, out);
                rotation_place(&c);
                rotation_report(&c, out);
                rotation_retire(&c);
                r = rotation_failed(&c) ? -EIO : names;
        }
        rotation_done(&c);
        return r > 0 ? 0 : r;
}
