/* SPDX-License-Identifier: Apache-2.0 */
#include "runtime_config.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdutil.h"
#include "log.h"
#include "oci.h"
#include "pod.h"

#define BROKER_NAME "lockbox-broker"

bool runtime_config_wants_secrets(const json_t *config) {
        const char *key;
        json_t *v;
        size_t i;

        /* A pod's sandbox (pause) container carries the pod's annotations too (containerd's
         * pod_annotations, CRI-O's pod annotations) and must never get a tmpfs: no hooks. */
        if (pod_is_sandbox(json_get_object(config, "annotations")))
                return false;
        json_object_foreach((json_t *)json_get_object(config, "annotations"), key, v) {
                if (strncmp(key, "io.lockbox.", 11) == 0)
                        return true;
        }
        const json_t *env = json_get_array(json_get_object(config, "process"), "env");
        json_array_foreach(env, i, v) {
                const char *s = json_string_value(v);
                /* LOCKBOX_FDS is what the shim tells the application, LOCKBOX_SHIM_* the
                 * shim's options: not requests. */
                if (s && strncmp(s, "LOCKBOX_", 8) == 0 && strncmp(s, "LOCKBOX_FDS=", 12) != 0 &&
                    strncmp(s, "LOCKBOX_SHIM_", 13) != 0)
                        return true;
        }
        return false;
}

static bool hook_is_lockbox(const json_t *h, const char *path) {
        const char *p = json_get_string(h, "path");
        if (!p)
                return false;
        const char *base = strrchr(p, '/');
        if (!streq_ptr(p, path) && !streq_ptr(base ? base + 1 : p, BROKER_NAME))
                return false;
        size_t i;
        json_t *v;
        json_array_foreach((json_t *)json_get_array(h, "args"), i, v) {
                if (streq_ptr(json_string_value(v), "hook"))
                        return true;
        }
        return false;
}

static bool stage_has_lockbox(const json_t *hooks, const char *stage, const char *path) {
        size_t i;
        json_t *h;
        json_array_foreach(json_object_get(hooks, stage), i, h) {
                if (hook_is_lockbox(h, path))
                        return true;
        }
        return false;
}

static int args_add(json_t *args, const char *a, const char *b) {
        if (json_array_append_new(args, json_string(a)) < 0)
                return -ENOMEM;
        return b && json_array_append_new(args, json_string(b)) < 0 ? -ENOMEM : 0;
}

/* {"path": BROKER, "args": ["lockbox-broker", --config C, --state-dir S, "hook", STAGE]} */
static json_t *hook_new(const struct runtime_hook *hook, const char *stage) {
        _cleanup_json_ json_t *args = json_array();
        if (!args || args_add(args, BROKER_NAME, NULL) < 0)
                return NULL;
        if (hook->config && args_add(args, "--config", hook->config) < 0)
                return NULL;
        if (hook->state_dir && args_add(args, "--state-dir", hook->state_dir) < 0)
                return NULL;
        if (args_add(args, "hook", stage) < 0)
                return NULL;
        return json_pack("{s:s,s:O}", "path", hook->path, "args", args);
}

/* Append a new hook to the stage's array, creating the array at the end of hooks. */
static int stage_append(json_t *hooks, const char *stage, const struct runtime_hook *hook) {
        json_t *h = hook_new(hook, stage);
        if (!h)
                return -ENOMEM;
        json_t *arr = json_object_get(hooks, stage);
        if (!json_is_array(arr)) {
                arr = json_array();
                if (!arr || json_object_set_new(hooks, stage, arr) < 0) {
                        json_decref(h);
                        return -ENOMEM;
                }
        }
        return json_array_append_new(arr, h) < 0 ? -ENOMEM : 0;
}

int runtime_config_add_hooks(json_t *config, const struct runtime_hook *hook, const char *what) {
        static const char *const stages[] = {"prestart", "createRuntime", "poststop"};
        json_t *hooks = json_object_get(config, "hooks");

        what = what ? what : "config.json";
        if (!json_is_object(config))
                return log_error("%s: not an object", what), -EINVAL;
        if (hooks && !json_is_null(hooks) && !json_is_object(hooks))
                return log_error("%s: hooks: not an object, cannot add lockbox's hooks", what),
                       -EINVAL;
        for (size_t i = 0; i < ARRAY_SIZE(stages); i++) {
                json_t *s = json_object_get(hooks, stages[i]);
                if (s && !json_is_null(s) && !json_is_array(s))
                        return log_error("%s: hooks.%s: not an array, cannot add lockbox's hooks",
                                         what, stages[i]),
                               -EINVAL;
        }
        bool place = !stage_has_lockbox(hooks, "prestart", hook->path) &&
                     !stage_has_lockbox(hooks, "createRuntime", hook->path);
        bool forget = !stage_has_lockbox(hooks, "poststop", hook->path);
        if (!place && !forget)
                return 0;
        if (!json_is_object(hooks)) {
                hooks = json_object();
                if (!hooks || json_object_set_new(config, "hooks", hooks) < 0)
                        return -ENOMEM;
        }
        int r = place ? stage_append(hooks, "createRuntime", hook) : 0;
        if (r >= 0 && forget)
                r = stage_append(hooks, "poststop", hook);
        return r < 0 ? r : 1;
}

/* Parse config.json and change it in memory when it asks for secrets and lacks the hooks:
 * 1 with the new document in *ret, 0 when it stays as it is. */
static int bundle_update(const char *buf, size_t size, const char *bundle,
                         const struct runtime_hook *hook, json_t **ret) {
        _cleanup_json_ json_t *config = NULL;
        char err[128];

        /* Most containers ask for nothing: say so without parsing, so that they never depend on
         * what jansson accepts (an rlimit of 2^64-1 is a valid uint64 for runc, too big for
         * json_int_t). Go writes these ASCII bytes unescaped. */
        if (!memmem(buf, size, "io.lockbox.", 11) && !memmem(buf, size, "LOCKBOX_", 8))
                return 0;
        if (json_parse_strict(buf, size, OCI_CONFIG_MAX, &config, err, sizeof err) < 0)
                return log_error("%s/config.json: %s", bundle, err), -EINVAL;
        if (!json_is_object(config))
                return log_error("%s/config.json: not an object", bundle), -EINVAL;
        if (!runtime_config_wants_secrets(config))
                return 0;
        char what[PATH_MAX + 16];
        snprintf(what, sizeof what, "%s/config.json", bundle);
        int r = runtime_config_add_hooks(config, hook, what);
        if (r <= 0)
                return r;
        *ret = TAKE_PTR(config);
        return 1;
}

/* Same directory (rename is atomic there), same mode and owner. No fsync: a bundle is
 * runtime state on /run that does not outlive a reboot; rename alone makes readers see the old
 * file or the new one, never half of it. */
static int bundle_replace(int dfd, const char *bundle, const json_t *config,
                          const struct stat *st) {
        char tmp[64];

        snprintf(tmp, sizeof tmp, ".config.json.lockbox-%ld", (long)getpid());
        (void)unlinkat(dfd, tmp, 0);
        _cleanup_close_ int fd =
                openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return log_error_errno(errno, "%s/%s: cannot create", bundle, tmp);
        int r = 0;
        if ((st->st_uid != geteuid() || st->st_gid != getegid()) &&
            fchown(fd, st->st_uid, st->st_gid) < 0)
                r = negative_errno();
        if (r >= 0 && fchmod(fd, st->st_mode & 07777) < 0)
                r = negative_errno();
        errno = 0;
        if (r >= 0 && json_dumpfd(config, fd, JSON_COMPACT | JSON_PRESERVE_ORDER) < 0)
                r = negative_errno();
        if (r >= 0 && renameat(dfd, tmp, dfd, "config.json") < 0)
                r = negative_errno();
        if (r < 0) {
                (void)unlinkat(dfd, tmp, 0);
                return log_error_errno(r, "%s/config.json: cannot replace", bundle);
        }
        return 1;
}

int runtime_prepare_bundle(const char *bundle, const struct runtime_hook *hook) {
        _cleanup_json_ json_t *config = NULL;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t size = 0;

        _cleanup_close_ int dfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return log_error_errno(errno, "bundle %s: cannot open", bundle);
        int r = read_file_at(dfd, "config.json", OCI_CONFIG_MAX, &buf, &size);
        if (r == -EBADFD)
                return log_error("%s/config.json: not a regular file", bundle), -EINVAL;
        if (r == -EFBIG)
                return log_error("%s/config.json: larger than %d bytes", bundle, OCI_CONFIG_MAX),
                       -EFBIG;
        if (r < 0)
                return log_error_errno(r, "%s/config.json: cannot read", bundle);
        if (fstatat(dfd, "config.json", &st, AT_SYMLINK_NOFOLLOW) < 0)
                return log_error_errno(errno, "%s/config.json: cannot stat", bundle);

        r = bundle_update(buf, size, bundle, hook, &config);
        /* process.env is the user's: it may hold a password they put there themselves. */
        explicit_bzero(buf, size);
        if (r <= 0)
                return r;
        return bundle_replace(dfd, bundle, config, &st);
}
