/* SPDX-License-Identifier: Apache-2.0 */
#include "place.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#include "audit.h"
#include "fetch/fetch.h"
#include "fetch/fetched.h"
#include "request/exit.h"
#include "digest.h"
#include "fdutil.h"
#include "filemeta.h"
#include "log.h"
#include "pause.h"
#include "request/policy.h"
#include "fetch/privsep.h"
#include "state.h"
#include "tmpfs.h"
#include "watcher.h"

void place_time_now(char buf[PLACE_TIME_MAX], long offset_s) {
        time_t when = time(NULL) + offset_s;
        struct tm tm;
        gmtime_r(&when, &tm);
        strftime(buf, PLACE_TIME_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *place_secret_entry(const struct secret_request *sr, const struct fetched_secret *f,
                           const struct secret *digest_key) {
        char mode[8], expires[PLACE_TIME_MAX];
        bool placed = f && f->value;
        bool leased = f && f->lease_id && f->lease_duration > 0;

        snprintf(mode, sizeof mode, "%04o", (unsigned)sr->mode);
        if (leased)
                place_time_now(expires, f->lease_duration);
        /* mode_set: rotation decides the file's mode as placement did, and a backend's
         * metadata may set it only where the request did not. */
        json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:b, s:s?, s:s?, s:s?, s:b}", "name", sr->name,
                              "ref", sr->ref_text, "mode", mode, "mode_set", sr->mode_set,
                              "optional", sr->optional, "version", f ? f->version : NULL,
                              "lease_id", f ? f->lease_id : NULL, "lease_expires",
                              leased ? expires : NULL, "placed", placed);
        /* Only in the state (root's, private): what rotation compares the next fetch with. */
        if (o && placed && digest_key) {
                char digest[DIGEST_HEX_BYTES];
                digest_value(digest_key, f->value, digest);
                if (json_object_set_new(o, "digest", json_string(digest)) < 0)
                        o = (json_decref(o), NULL);
        }
        return o;
}

static json_t *secrets_summary(const struct request *req, const struct fetched_secret *f,
                               const struct secret *digest_key) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < req->n_secrets; i++) {
                json_t *o = place_secret_entry(&req->secrets[i], f ? &f[i] : NULL, digest_key);
                if (!o || json_array_append_new(a, o) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

/* The record of a new placement; the watcher's identity is filled in by place_fresh_tmpfs. */
static json_t *state_new(const struct placement *p, const struct request *req, const char *role,
                         const struct fetched_secret *f, const struct secret *digest_key) {
        unsigned long long pid_start = 0;
        char when[PLACE_TIME_MAX];

        (void)proc_start_time(p->pid, &pid_start);
        place_time_now(when, 0);
        /* uid_set, gid_set: whether uid and gid are the request's own, which a backend's
         * metadata does not override on rotation either. */
        return json_pack("{s:i, s:s, s:s?, s:i, s:I, s:s?, s:s, s:s, s:s, s:I, s:s, s:n, s:I, s:I, "
                         "s:b, s:b, s:s, s:b, s:i, s:I, s:o}",
                         "version", 1, "id", p->container_id, "name", p->name, "pid", (int)p->pid,
                         "pid_start", (json_int_t)pid_start, "bundle", p->bundle, "rootfs",
                         p->rootfs, "dir", req->dir, "role", role, "generation", (json_int_t)1,
                         "created", when, "last_rotation", "uid", (json_int_t)p->uid, "gid",
                         (json_int_t)p->gid, "uid_set", req->uid_set, "gid_set", req->gid_set,
                         "rotate_signal", signal_name(req->rotate_signal), "consumed", 0,
                         "watcher_pid", 0, "watcher_start", (json_int_t)0, "secrets",
                         secrets_summary(req, f, digest_key));
}

static int audit_event(const struct broker_config *cfg, const char *event,
                       const struct placement *p, const char *role, const struct request *req,
                       const struct fetched_secret *f, const char *result, const char *reason) {
        _cleanup_json_ json_t *secrets = secrets_summary(req, f, NULL);
        struct audit_record rec = {event, p->container_id, p->name, role, secrets, result, reason};
        return audit_write(cfg, &rec);
}

static int check_policy(const struct broker_config *cfg, const struct placement *p,
                        const struct request *req, const struct role **ret_role) {
        int r = policy_select_role(cfg, req->role, p->annotations, p->env, p->n_env, req->pod,
                                   ret_role);
        if (r < 0) {
                /* policy_select_role said which role and why, in the one line a failure
                 * gets (found by 65-hostile-request.sh: an unknown role printed two). */
                audit_event(cfg, "deny", p, req->role, req, NULL, "denied", "role does not match");
                return EXIT_DENIED;
        }
        for (size_t i = 0; i < req->n_secrets; i++) {
                const struct secret_request *sr = &req->secrets[i];
                if (policy_check_ref(*ret_role, &sr->ref) >= 0)
                        continue;
                log_error("secret '%s' (%s): denied by role '%s'", sr->name, sr->ref_text,
                          req->role);
                audit_event(cfg, "deny", p, req->role, req, NULL, "denied",
                            "reference not allowed by role");
                return EXIT_DENIED;
        }
        return EXIT_DONE;
}

static const char *attach_reason(int r) {
        switch (r) {
        /* runc and Podman create it as they create their own mount points (the rootfs is
         * made read-only after the hooks); crun, or a rootfs on a read-only filesystem, is
         * read-only already. */
        case -EROFS:
                return "does not exist and cannot be created (read-only file system)";
        case -ELOOP:
        case -EXDEV:
        case -ENOTDIR:
                return "a component is a symlink or not a directory (refused)";
        case -EPERM:
                return "is on procfs, sysfs or cgroupfs (refused)";
        case -EINVAL:
                return "is not a clean absolute path";
        case -EREMOTE:
                return "is on a shared mount (propagation shared): a tmpfs there would appear in "
                       "other mount namespaces, the host's among them (refused); choose "
                       "io.lockbox.dir on a private or slave mount, such as the default "
                       "/run/secrets, or mount the volume rslave or rprivate";
        case -EOPNOTSUPP:
                return "its mount's propagation cannot be checked on this kernel (STATX_MNT_ID, "
                       "Linux 5.8+, is needed; refused)";
        default:
                return NULL;
        }
}

static void attach_failed(const char *container_id, const char *dir, int r) {
        const char *why = attach_reason(r);
        if (r == -EROFS)
                log_error("container %s: target %s: %s: add it to the image (RUN mkdir -p %s) or "
                          "choose a directory that exists (io.lockbox.dir, inject --dir)",
                          container_id, dir, why, dir);
        else if (why)
                log_error("container %s: target %s: %s", container_id, dir, why);
        else
                log_error_errno(r, "container %s: cannot mount at %s", container_id, dir);
}

int place_fresh_tmpfs(const struct broker_config *cfg, const struct fresh_tmpfs *t, json_t *state,
                      const json_t *previous) {
        _cleanup_close_ int mount_fd = -1, pidfd = -1;
        struct tmpfs_spec spec = {cfg->tmpfs_size, t->host_uid, t->host_gid};
        const char *id = t->container_id;
        int r;

        pause_init(cfg->state_dir);
        pidfd = t->pidfd >= 0 ? fcntl(t->pidfd, F_DUPFD_CLOEXEC, 3)
                              : (int)syscall(SYS_pidfd_open, t->pid, 0);
        if (pidfd < 0)
                return log_error_errno(errno, "container %s: process %d", id, (int)t->pid);
        r = tmpfs_create(&spec, t->files, t->n_files, &mount_fd);
        if (r == -ENOSYS)
                return log_error_errno(r, "the new mount API (Linux 5.2+) is required");
        if (r < 0)
                return log_error_errno(r, "container %s: cannot create the tmpfs", id);
        r = tmpfs_write(mount_fd, &spec, id, t->generation, t->files, t->n_files);
        if (r == -ENOSPC)
                return log_error_errno(r,
                                       "container %s: secrets exceed the tmpfs size of %llu "
                                       "bytes (defaults.tmpfs_size)",
                                       id, (unsigned long long)cfg->tmpfs_size);
        if (r < 0)
                return r;

        pid_t wpid;
        unsigned long long wstart;
        r = watcher_spawn(mount_fd, pidfd, cfg->state_dir, id, &wpid, &wstart);
        if (r < 0)
                return log_error_errno(r, "container %s: cannot start the watcher", id);
        /* Recorded before the attach: once the tmpfs is in the container the shim may consume
         * it at once, and the watcher then marks this record. */
        r = json_object_set_new(state, "watcher_pid", json_integer(wpid)) < 0 ||
                            json_object_set_new(state, "watcher_start",
                                                json_integer((json_int_t)wstart)) < 0
                    ? -ENOMEM
                    : state_save(cfg->state_dir, state);
        if (r < 0) {
                watcher_stop(wpid, wstart);
                return log_error_errno(r, "container %s: cannot record state in %s", id,
                                       cfg->state_dir);
        }
        r = tmpfs_attach(mount_fd, pidfd, t->rootfs, t->dir);
        if (r < 0) {
                watcher_stop(wpid, wstart);
                if (previous)
                        (void)state_save(cfg->state_dir, previous);
                else
                        (void)state_remove(cfg->state_dir, id);
                attach_failed(id, t->dir, r);
                return r;
        }
        return 0;
}

/* Everything from the tmpfs to the attached mount. On failure nothing is left. */
static int place_mount(const struct broker_config *cfg, const struct placement *p,
                       const struct request *req, const struct role *role,
                       const struct fetched_secret *f) {
        _cleanup_free_ struct tmpfs_file *files = calloc(req->n_secrets + 1, sizeof *files);
        _cleanup_secret_ struct secret *digest_key = NULL;
        size_t n = 0;

        if (!files)
                return log_error_errno(-ENOMEM, "container %s", p->container_id);
        /* File name, mode and owner: the request's, or a backend's metadata (Keywhiz). */
        int r = filemeta_files(p, req, f, files, &n);
        if (r < 0)
                return r;
        /* Without the key the record has no digests, and the first rotation replaces every
         * secret instead of only those that changed: worth a warning, not a failed start. */
        r = digest_key_load(cfg->state_dir, &digest_key);
        if (r < 0)
                log_warning_errno(r,
                                  "container %s: no digest key in %s; rotation will treat "
                                  "every secret as changed",
                                  p->container_id, cfg->state_dir);
        _cleanup_json_ json_t *state = state_new(p, req, role->name, f, digest_key);
        if (!state)
                return log_error_errno(-ENOMEM, "container %s", p->container_id);
        struct fresh_tmpfs t = {
                .container_id = p->container_id,
                .pid = p->pid,
                .pidfd = -1,
                .rootfs = p->rootfs,
                .dir = req->dir,
                .host_uid = p->host_uid,
                .host_gid = p->host_gid,
                .generation = 1,
                .files = files,
                .n_files = n,
        };
        return place_fresh_tmpfs(cfg, &t, state, NULL);
}

/* The leases of a fetch whose placement then failed: place_fresh_tmpfs took its record back,
 * so no poststop or revoke would find them. Revoked now, in the fetcher's child as poststop
 * does; its failure is logged and leaves the start's own failure as it is. */
static void place_revoke_unplaced(const struct broker_config *cfg, const struct placement *p,
                                  const struct request *req, const struct role *role,
                                  const struct fetched_secret *f) {
        _cleanup_json_ json_t *leases = fetched_leases(req, f, NULL);
        if (!leases) {
                log_error_errno(-ENOMEM, "container %s: cannot revoke its leases", p->container_id);
                return;
        }
        if (json_array_size(leases) == 0)
                return;
        log_info("container %s: not placed; revoking the %zu lease(s) its fetch took",
                 p->container_id, json_array_size(leases));
        (void)privsep_revoke_leases(cfg, role->name, leases);
}

void place_sweep(const struct broker_config *cfg) {
        state_sweep_temps(cfg->state_dir);
        watcher_sweep_sockets(cfg->state_dir);
}

int place_request(const struct broker_config *cfg, const struct placement *p,
                  const struct request *req) {
        const struct role *role = NULL;
        _cleanup_json_ json_t *existing = NULL;

        place_sweep(cfg);
        pause_init(cfg->state_dir);
        int status = check_policy(cfg, p, req, &role);
        if (status != EXIT_DONE)
                return status;
        /* Before anything is fetched: a state directory that cannot be trusted fails the
         * start in the one line perm.h gives it (or is made right, and said so). */
        _cleanup_close_ int state_fd = -1;
        int r = state_dir_open(cfg->state_dir, &state_fd);
        if (r < 0) {
                if (r != -EPERM)
                        log_error_errno(r, "state directory %s", cfg->state_dir);
                return EXIT_FAILED;
        }
        if (state_load(cfg->state_dir, p->container_id, &existing) >= 0) {
                log_error("container %s: already holds secrets (use rotate, or revoke first)",
                          p->container_id);
                return EXIT_FAILED;
        }

        struct fetched_secret *f = calloc(req->n_secrets + 1, sizeof *f);
        if (!f)
                return log_error_errno(-ENOMEM, "container %s", p->container_id), EXIT_FAILED;
        r = fetch_secrets(cfg, role, req, f);
        if (r >= 0) {
                pause_point("fetched");
                r = place_mount(cfg, p, req, role, f);
                if (r < 0)
                        place_revoke_unplaced(cfg, p, req, role, f);
        }
        audit_event(cfg, r < 0 ? "failure" : "inject", p, role->name, req, f,
                    r < 0 ? "failed" : "ok", r < 0 ? strerror(-r) : NULL);
        if (r >= 0)
                log_info("container %s: %zu secret(s) placed at %s", p->container_id,
                         req->n_secrets, req->dir);
        fetched_done(f, req->n_secrets);
        free(f);
        return r < 0 ? EXIT_FAILED : EXIT_DONE;
}

static int place_forget_locked(const struct broker_config *cfg, const char *container_id,
                               const char *event, bool *ret_removed) {
        _cleanup_json_ json_t *state = NULL;
        int r = state_load(cfg->state_dir, container_id, &state);
        if (r < 0)
                return log_error_errno(r, "container %s: cannot read state", container_id),
                       EXIT_FAILED;

        json_int_t wpid = json_integer_value(json_object_get(state, "watcher_pid"));
        json_int_t wstart = json_integer_value(json_object_get(state, "watcher_start"));
        watcher_stop((pid_t)wpid, (unsigned long long)wstart);
        watcher_forget_socket(cfg->state_dir, container_id);
        const char *role = json_get_string(state, "role");
        int revoked = privsep_revoke_leases(cfg, role, json_object_get(state, "secrets"));
        /* Leases a rotation replaced and had not revoked yet (the shim had not taken the new
         * generation): the container is gone, nothing needs them now. */
        const json_t *retired = json_get_array(state, "retired_leases");
        if (retired) {
                int r2 = privsep_revoke_leases(cfg, role, retired);
                revoked = revoked < 0 ? revoked : r2;
        }
        r = state_remove(cfg->state_dir, container_id);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "container %s: cannot remove state", container_id),
                       EXIT_FAILED;
        *ret_removed = true;
        struct audit_record rec = {event,
                                   container_id,
                                   json_get_string(state, "name"),
                                   role,
                                   json_object_get(state, "secrets"),
                                   revoked < 0 ? "failed" : "ok",
                                   revoked < 0 ? "lease revocation failed" : NULL};
        audit_write(cfg, &rec);
        log_info("container %s: revoked and forgotten", container_id);
        return revoked < 0 ? EXIT_FAILED : EXIT_DONE;
}

int place_forget(const struct broker_config *cfg, const char *container_id, const char *event) {
        int lock = -1;
        place_sweep(cfg);
        /* The lock waits for a rotation under way, so that nothing it started (a tmpfs, a
         * watcher, a record) outlives the container. */
        int r = state_lock(cfg->state_dir, container_id, &lock);
        if (r == -ENOENT) {
                log_debug("container %s: no state, nothing to revoke", container_id);
                return EXIT_DONE;
        }
        if (r == -EPERM) /* the state directory, refused in a line that says why (perm.h) */
                return EXIT_FAILED;
        if (r < 0)
                return log_error_errno(r, "container %s: cannot lock its state", container_id),
                       EXIT_FAILED;
        bool removed = false;
        int status = place_forget_locked(cfg, container_id, event, &removed);
        state_unlock(lock, cfg->state_dir, container_id, removed);
        return status;
}
