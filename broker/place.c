/* SPDX-License-Identifier: Apache-2.0 */
#include "place.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#include "audit.h"
#include "backend.h"
#include "cmd.h"
#include "fdutil.h"
#include "log.h"
#include "policy.h"
#include "state.h"
#include "tmpfs.h"
#include "watcher.h"

static json_t *secrets_summary(const struct request *req, const struct fetched_secret *f) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < req->n_secrets; i++) {
                const struct secret_request *sr = &req->secrets[i];
                char mode[8];
                snprintf(mode, sizeof mode, "%04o", (unsigned)sr->mode);
                json_t *o =
                        json_pack("{s:s, s:s, s:s, s:b, s:s?, s:s?, s:b}", "name", sr->name, "ref",
                                  sr->ref_text, "mode", mode, "optional", sr->optional, "version",
                                  f ? f[i].version : NULL, "lease_id", f ? f[i].lease_id : NULL,
                                  "placed", f ? f[i].value != NULL : false);
                if (!o || json_array_append_new(a, o) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

static json_t *state_new(const struct placement *p, const struct request *req, const char *role,
                         const struct fetched_secret *f, pid_t watcher,
                         unsigned long long watcher_start) {
        unsigned long long pid_start = 0;
        char when[32];
        time_t now = time(NULL);
        struct tm tm;

        (void)proc_start_time(p->pid, &pid_start);
        gmtime_r(&now, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return json_pack("{s:i, s:s, s:i, s:I, s:s?, s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:s, "
                         "s:b, s:i, s:I, s:o}",
                         "version", 1, "id", p->container_id, "pid", (int)p->pid, "pid_start",
                         (json_int_t)pid_start, "bundle", p->bundle, "rootfs", p->rootfs, "dir",
                         req->dir, "role", role, "generation", (json_int_t)1, "created", when,
                         "uid", (json_int_t)p->uid, "gid", (json_int_t)p->gid, "rotate_signal",
                         signal_name(req->rotate_signal), "consumed", 0, "watcher_pid",
                         (int)watcher, "watcher_start", (json_int_t)watcher_start, "secrets",
                         secrets_summary(req, f));
}

static int audit_event(const struct broker_config *cfg, const char *event, const char *id,
                       const char *role, const struct request *req, const struct fetched_secret *f,
                       const char *result, const char *reason) {
        _cleanup_json_ json_t *secrets = secrets_summary(req, f);
        return audit_write(cfg->audit_log, event, id, role, secrets, result, reason);
}

static int check_policy(const struct broker_config *cfg, const struct placement *p,
                        const struct request *req, const struct role **ret_role) {
        int r = policy_select_role(cfg, req->role, p->annotations, p->env, p->n_env, ret_role);
        if (r < 0) {
                /* policy_select_role said which role and why, in the one line a failure
                 * gets (found by 65-hostile-request.sh: an unknown role printed two). */
                audit_event(cfg, "deny", p->container_id, req->role, req, NULL, "denied",
                            "role does not match");
                return EXIT_DENIED;
        }
        for (size_t i = 0; i < req->n_secrets; i++) {
                const struct secret_request *sr = &req->secrets[i];
                if (policy_check_ref(*ret_role, &sr->ref) >= 0)
                        continue;
                log_error("secret '%s' (%s): denied by role '%s'", sr->name, sr->ref_text,
                          req->role);
                audit_event(cfg, "deny", p->container_id, req->role, req, NULL, "denied",
                            "reference not allowed by role");
                return EXIT_DENIED;
        }
        return EXIT_DONE;
}

static const char *attach_reason(int r) {
        switch (r) {
        case -ENOENT:
        case -EROFS:
                return "does not exist and the rootfs is read-only";
        case -ELOOP:
        case -EXDEV:
        case -ENOTDIR:
                return "a component is a symlink or not a directory (refused)";
        case -EPERM:
                return "is on procfs, sysfs or cgroupfs (refused)";
        case -EINVAL:
                return "is not a clean absolute path";
        default:
                return NULL;
        }
}

/* Everything from the tmpfs to the attached mount. On failure nothing is left. */
static int place_mount(const struct broker_config *cfg, const struct placement *p,
                       const struct request *req, const struct role *role,
                       const struct fetched_secret *f) {
        _cleanup_free_ struct tmpfs_file *files = calloc(req->n_secrets + 1, sizeof *files);
        _cleanup_close_ int mount_fd = -1, pidfd = -1;
        struct tmpfs_spec spec = {cfg->tmpfs_size, p->host_uid, p->host_gid};
        size_t n = 0;
        int r;

        if (!files)
                return log_error_errno(-ENOMEM, "container %s", p->container_id);
        for (size_t i = 0; i < req->n_secrets; i++)
                if (f[i].value)
                        files[n++] = (struct tmpfs_file){req->secrets[i].name, f[i].value,
                                                         req->secrets[i].mode};

        pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
        if (pidfd < 0)
                return log_error_errno(errno, "container %s: process %d", p->container_id,
                                       (int)p->pid);
        r = tmpfs_create(&spec, files, n, &mount_fd);
        if (r == -ENOSYS)
                return log_error_errno(r, "the new mount API (Linux 5.2+) is required");
        if (r < 0)
                return log_error_errno(r, "container %s: cannot create the tmpfs", p->container_id);
        r = tmpfs_write(mount_fd, &spec, p->container_id, 1, files, n);
        if (r == -ENOSPC)
                return log_error_errno(r,
                                       "container %s: secrets exceed the tmpfs size of %llu "
                                       "bytes (defaults.tmpfs_size)",
                                       p->container_id, (unsigned long long)cfg->tmpfs_size);
        if (r < 0)
                return r;

        pid_t wpid;
        unsigned long long wstart;
        r = watcher_spawn(mount_fd, pidfd, cfg->state_dir, p->container_id, &wpid, &wstart);
        if (r < 0)
                return log_error_errno(r, "container %s: cannot start the watcher",
                                       p->container_id);
        _cleanup_json_ json_t *state = state_new(p, req, role->name, f, wpid, wstart);
        r = state ? state_save(cfg->state_dir, state) : -ENOMEM;
        if (r < 0) {
                watcher_stop(wpid, wstart);
                return log_error_errno(r, "container %s: cannot record state in %s",
                                       p->container_id, cfg->state_dir);
        }
        r = tmpfs_attach(mount_fd, pidfd, p->rootfs, req->dir, p->create_dirs);
        if (r < 0) {
                watcher_stop(wpid, wstart);
                (void)state_remove(cfg->state_dir, p->container_id);
                const char *why = attach_reason(r);
                if (why) {
                        log_error("container %s: target %s: %s", p->container_id, req->dir, why);
                        return r;
                }
                return log_error_errno(r, "container %s: cannot mount at %s", p->container_id,
                                       req->dir);
        }
        return 0;
}

int place_request(const struct broker_config *cfg, const struct placement *p,
                  const struct request *req) {
        const struct role *role = NULL;
        _cleanup_json_ json_t *existing = NULL;

        int status = check_policy(cfg, p, req, &role);
        if (status != EXIT_DONE)
                return status;
        if (state_load(cfg->state_dir, p->container_id, &existing) >= 0) {
                log_error("container %s: already holds secrets (use rotate, or revoke first)",
                          p->container_id);
                return EXIT_FAILED;
        }

        struct fetched_secret *f = calloc(req->n_secrets + 1, sizeof *f);
        if (!f)
                return log_error_errno(-ENOMEM, "container %s", p->container_id), EXIT_FAILED;
        int r = backend_fetch_all(cfg, role, req, f);
        if (r >= 0)
                r = place_mount(cfg, p, req, role, f);
        audit_event(cfg, r < 0 ? "failure" : "inject", p->container_id, role->name, req, f,
                    r < 0 ? "failed" : "ok", r < 0 ? strerror(-r) : NULL);
        if (r >= 0)
                log_info("container %s: %zu secret(s) placed at %s", p->container_id,
                         req->n_secrets, req->dir);
        fetched_done(f, req->n_secrets);
        free(f);
        return r < 0 ? EXIT_FAILED : EXIT_DONE;
}

int place_forget(const struct broker_config *cfg, const char *container_id, const char *event) {
        _cleanup_json_ json_t *state = NULL;
        int r = state_load(cfg->state_dir, container_id, &state);
        if (r == -ENOENT) {
                log_debug("container %s: no state, nothing to revoke", container_id);
                return EXIT_DONE;
        }
        if (r < 0)
                return log_error_errno(r, "container %s: cannot read state", container_id),
                       EXIT_FAILED;

        json_int_t wpid = json_integer_value(json_object_get(state, "watcher_pid"));
        json_int_t wstart = json_integer_value(json_object_get(state, "watcher_start"));
        watcher_stop((pid_t)wpid, (unsigned long long)wstart);
        int revoked = backend_revoke_leases(cfg, json_get_string(state, "role"),
                                            json_object_get(state, "secrets"));
        r = state_remove(cfg->state_dir, container_id);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "container %s: cannot remove state", container_id),
                       EXIT_FAILED;
        audit_write(cfg->audit_log, event, container_id, json_get_string(state, "role"),
                    json_object_get(state, "secrets"), revoked < 0 ? "failed" : "ok",
                    revoked < 0 ? "lease revocation failed" : NULL);
        log_info("container %s: revoked and forgotten", container_id);
        return revoked < 0 ? EXIT_FAILED : EXIT_DONE;
}

static int read_map(pid_t pid, const char *which, uint32_t id, uint32_t *ret) {
        char path[64];
        _cleanup_free_ char *text = NULL;
        snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, which);
        int r = read_file_at(AT_FDCWD, path, 65536, &text, NULL);
        if (r < 0)
                return r;
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                unsigned long inside, outside, count;
                if (sscanf(line, "%lu %lu %lu", &inside, &outside, &count) != 3)
                        return -EINVAL;
                if (id >= inside && id - inside < count) {
                        *ret = (uint32_t)(outside + (id - inside));
                        return 0;
                }
        }
        return -ERANGE;
}

int place_map_ids(pid_t pid, uint32_t uid, uint32_t gid, uint32_t *ret_host_uid,
                  uint32_t *ret_host_gid) {
        int r = read_map(pid, "uid_map", uid, ret_host_uid);
        if (r < 0)
                return r;
        return read_map(pid, "gid_map", gid, ret_host_gid);
}
