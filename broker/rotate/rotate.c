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

/* ---- pure parts ------------------------------------------------------------------------ */

enum rotate_outcome rotate_classify(const json_t *entry, const struct fetched_secret *f,
                                    const char *digest) {
        bool placed = json_is_true(json_object_get(entry, "placed"));
        if (!f->value)
                return placed ? ROTATE_KEPT : ROTATE_UNCHANGED;
        if (!placed)
                return ROTATE_ADDED;
        /* No digest recorded (a key that could not be made at placement): the value may have
         * changed, and placing it again is harmless where missing a change is not. */
        const char *old_digest = json_get_string(entry, "digest");
        if (!old_digest || !streq_ptr(old_digest, digest))
                return ROTATE_CHANGED;
        /* The same bytes under a new version (Vault KV v2) is still a new version: the
         * operator asked for it, and the record must say which version the container holds. */
        const char *old_version = json_get_string(entry, "version");
        if (old_version && f->version && !streq_ptr(old_version, f->version))
                return ROTATE_CHANGED;
        return ROTATE_UNCHANGED;
}

void rotate_format_line(char *buf, size_t size, const char *id, const struct rotate_item *it) {
        const char *name = it->req.name;
        const char *old_v = json_get_string(it->entry, "version");
        const char *new_v = it->fetched.version;

        switch (it->outcome) {
        case ROTATE_UNCHANGED:
                snprintf(buf, size, "%s %s: unchanged", id, name);
                break;
        case ROTATE_CHANGED:
                if (old_v && new_v)
                        snprintf(buf, size, "%s %s: rotated (v%s \u2192 v%s)", id, name, old_v,
                                 new_v);
                else if (new_v)
                        snprintf(buf, size, "%s %s: rotated (\u2192 v%s)", id, name, new_v);
                else if (it->fetched.lease_id)
                        snprintf(buf, size, "%s %s: rotated (new lease)", id, name);
                else
                        snprintf(buf, size, "%s %s: rotated", id, name);
                break;
        case ROTATE_ADDED:
                snprintf(buf, size, "%s %s: added%s%s%s", id, name, new_v ? " (v" : "",
                         new_v ? new_v : "", new_v ? ")" : "");
                break;
        case ROTATE_KEPT:
                snprintf(buf, size,
                         "%s %s: kept (gone from the backend; optional, the application keeps "
                         "its value)",
                         id, name);
                break;
        case ROTATE_FAILED:
                snprintf(buf, size, "%s %s: failed: %s", id, name, it->why);
                break;
        }
}

static int entry_cmp(const void *a, const void *b) {
        return strcmp(((const struct manifest_entry *)a)->name,
                      ((const struct manifest_entry *)b)->name);
}

int rotate_merge_manifest(const struct manifest *cur, uint64_t generation,
                          const struct tmpfs_file *files, size_t n, struct manifest **ret) {
        _cleanup_manifest_ struct manifest *m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->entries = calloc(cur->n_entries + n + 1, sizeof *m->entries);
        if (!m->entries)
                return -ENOMEM;
        m->version = MANIFEST_VERSION;
        m->generation = generation;
        memcpy(m->container, cur->container, sizeof m->container);
        memcpy(m->entries, cur->entries, cur->n_entries * sizeof *m->entries);
        m->n_entries = cur->n_entries;
        for (size_t i = 0; i < n; i++) {
                struct manifest_entry *e = NULL;
                for (size_t j = 0; j < m->n_entries && !e; j++)
                        if (streq_ptr(m->entries[j].name, files[i].name))
                                e = &m->entries[j];
                if (!e)
                        e = &m->entries[m->n_entries++];
                snprintf(e->name, sizeof e->name, "%s", files[i].name);
                snprintf(e->file, sizeof e->file, "%s", tmpfs_file_name(&files[i]));
                e->size = secret_size(files[i].value);
                e->mode = files[i].mode;
                secret_hash(files[i].value, e->blake2b);
        }
        if (m->n_entries > MANIFEST_MAX_SECRETS)
                return -E2BIG;
        qsort(m->entries, m->n_entries, sizeof *m->entries, entry_cmp);
        *ret = TAKE_PTR(m);
        return 0;
}

static int retire_lease(json_t *state, const struct rotate_item *it, json_int_t generation) {
        const char *old = json_get_string(it->entry, "lease_id");
        if (!old || streq_ptr(old, it->fetched.lease_id))
                return 0;
        json_t *retired = json_object_get(state, "retired_leases");
        if (!json_is_array(retired)) {
                retired = json_array();
                if (!retired || json_object_set_new(state, "retired_leases", retired) < 0)
                        return -ENOMEM;
        }
        json_t *o = json_pack("{s:s, s:s?, s:s, s:I}", "lease_id", old, "ref",
                              json_get_string(it->entry, "ref"), "name", it->req.name, "generation",
                              generation);
        return o && json_array_append_new(retired, o) == 0 ? 0 : -ENOMEM;
}

int rotate_record(json_t *state, const struct rotate_item *items, size_t n,
                  const struct secret *digest_key, uint64_t generation, const char *now) {
        json_t *secrets = json_object_get(state, "secrets");
        json_int_t previous = json_integer_value(json_object_get(state, "generation"));

        for (size_t i = 0; i < n; i++) {
                const struct rotate_item *it = &items[i];
                if (it->outcome != ROTATE_CHANGED && it->outcome != ROTATE_ADDED)
                        continue;
                int r = retire_lease(state, it, previous);
                if (r < 0)
                        return r;
                json_t *e = place_secret_entry(&it->req, &it->fetched, digest_key);
                if (!e || json_array_set_new(secrets, it->index, e) < 0)
                        return -ENOMEM;
        }
        if (json_object_set_new(state, "generation", json_integer((json_int_t)generation)) < 0 ||
            json_object_set_new(state, "last_rotation", json_string(now)) < 0)
                return -ENOMEM;
        return 0;
}

void rotate_reason(const char *captured, const char *name, const char *ref, char *buf,
                   size_t size) {
        char line[ROTATE_WHY_MAX + REF_MAX + 2 * SECRET_NAME_MAX];
        char prefix[REF_MAX + SECRET_NAME_MAX + 32];
        log_capture_last(captured, line, sizeof line);
        const char *start = line;
        snprintf(prefix, sizeof prefix, "secret '%s' (%s): ", name ? name : "", ref ? ref : "");
        if (name && ref && strncmp(start, prefix, strlen(prefix)) == 0 &&
            start[strlen(prefix)] != '\0')
                start += strlen(prefix);
        snprintf(buf, size, "%s", start[0] ? start : "no reason given (run with -v)");
}

/* ---- the secrets of one container -------------------------------------------------------- */

static void rotate_items_free(struct rotate_item *items, size_t n) {
        for (size_t i = 0; items && i < n; i++) {
                json_decref((json_t *)items[i].entry);
                free(items[i].req.name);
                free(items[i].req.ref_text);
                ref_done(&items[i].req.ref);
                fetched_done(&items[i].fetched, 1);
        }
        free(items);
}

static bool rotate_selected(const struct rotate_options *o, const char *name) {
        for (size_t i = 0; i < o->n_only; i++)
                if (streq_ptr(o->only[i], name))
                        return true;
        return o->n_only == 0;
}

static void item_fail(struct rotate_item *it, const char *fmt, const char *arg) {
        it->outcome = ROTATE_FAILED;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(it->why, sizeof it->why, fmt, arg);
#pragma GCC diagnostic pop
}

/* A record written before mode_set, uid_set and gid_set were kept lacks them: what the request
 * set is unknown then, and the recorded mode and owner are kept, as rotation kept them then,
 * rather than let a backend's metadata widen a mode or change an owner the request may have
 * given. */
static bool record_flag(const json_t *o, const char *key) {
        const json_t *v = json_object_get(o, key);
        return v ? json_is_true(v) : true;
}

/* The request of each selected secret, rebuilt from the record (names, refs, modes). */
static int rotate_items_build(const json_t *state, const struct rotate_options *o,
                              struct rotate_item **ret, size_t *ret_n) {
        const json_t *secrets = json_get_array(state, "secrets");
        struct rotate_item *items = calloc(json_array_size(secrets) + 1, sizeof *items);
        size_t i, n = 0;
        json_t *e;

        if (!items)
                return -ENOMEM;
        json_array_foreach(secrets, i, e) {
                const char *name = json_get_string(e, "name"), *ref = json_get_string(e, "ref");
                if (!name || !ref || !rotate_selected(o, name))
                        continue;
                struct rotate_item *it = &items[n++];
                it->index = i;
                it->entry = json_incref(e);
                it->req.name = strdup(name);
                it->req.ref_text = strdup(ref);
                it->req.optional = json_is_true(json_object_get(e, "optional"));
                if (!it->req.name || !it->req.ref_text) {
                        rotate_items_free(items, n);
                        return -ENOMEM;
                }
                if (parse_mode(json_get_string(e, "mode"), &it->req.mode) < 0)
                        it->req.mode = 0400;
                it->req.mode_set = record_flag(e, "mode_set");
                if (ref_parse(ref, &it->req.ref) < 0)
                        item_fail(it, "the record's ref '%s' does not parse", ref);
        }
        *ret = items;
        *ret_n = n;
        return 0;
}

/* Fetch one secret on its own, so that each failure is reported against its secret and the
 * others still rotate. */
static void rotate_fetch_one(const struct broker_config *cfg, const struct role *role,
                             const struct secret *digest_key, struct rotate_item *it) {
        if (it->outcome == ROTATE_FAILED)
                return;
        /* The configuration may have changed since the placement: the role decides now. */
        if (policy_check_ref(role, &it->req.ref) < 0) {
                item_fail(it, "denied by role '%s'", role->name);
                return;
        }
        struct request one = {.secrets = &it->req, .n_secrets = 1};
        int capture = log_capture_begin();
        int r = privsep_fetch_all(cfg, role, &one, &it->fetched);
        _cleanup_free_ char *text = capture >= 0 ? log_capture_end(capture) : NULL;
        if (r < 0) {
                it->outcome = ROTATE_FAILED;
                rotate_reason(text, it->req.name, it->req.ref_text, it->why, sizeof it->why);
                return;
        }
        log_capture_replay(text);
        if (it->fetched.value && digest_key)
                digest_value(digest_key, it->fetched.value, it->digest);
}

/* Under the lock, against the record as it is now (a rotation may have run since the fetch):
 * each fetched item's entry again, and what changed. */
static void rotate_items_classify(struct rotate_item *items, size_t n, const json_t *state) {
        const json_t *secrets = json_get_array(state, "secrets");
        for (size_t i = 0; i < n; i++) {
                struct rotate_item *it = &items[i];
                size_t k;
                json_t *e;
                if (it->outcome == ROTATE_FAILED)
                        continue;
                json_array_foreach(secrets, k, e) {
                        if (!streq_ptr(json_get_string(e, "name"), it->req.name))
                                continue;
                        json_decref((json_t *)it->entry);
                        it->entry = json_incref(e);
                        it->index = k;
                        break;
                }
                if (k == json_array_size(secrets))
                        item_fail(it, "%s", "no longer in the container's record");
                else
                        it->outcome = rotate_classify(it->entry, &it->fetched, it->digest);
        }
}

/* Leases taken by this run that nobody will use: revoked at once (a failed placement, or a
 * fetch that found the value unchanged). */
static void rotate_drop_new_leases(const struct broker_config *cfg, const char *role,
                                   const struct rotate_item *items, size_t n, bool placed) {
        _cleanup_json_ json_t *drop = json_array();
        for (size_t i = 0; drop && i < n; i++) {
                const struct rotate_item *it = &items[i];
                bool used =
                        placed && (it->outcome == ROTATE_CHANGED || it->outcome == ROTATE_ADDED);
                if (!it->fetched.lease_id || used ||
                    streq_ptr(it->fetched.lease_id, json_get_string(it->entry, "lease_id")))
                        continue;
                json_array_append_new(drop,
                                      json_pack("{s:s, s:s, s:s}", "lease_id", it->fetched.lease_id,
                                                "ref", it->req.ref_text, "name", it->req.name));
        }
        if (json_array_size(drop))
                (void)privsep_revoke_leases(cfg, role, drop);
}

/* ---- one rotation, under the container's lock ------------------------------------------- */

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
                              .uid_set = record_flag(c->state, "uid_set"),
                              .gid_set = record_flag(c->state, "gid_set")};
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
                .create_dirs = true,
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
                        item_fail(&c->items[i], "%s", c->why);
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
                audit_write(c->cfg->audit_log, "rotate", c->id, role, secrets,
                            reason ? "failed" : "ok", reason);
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
