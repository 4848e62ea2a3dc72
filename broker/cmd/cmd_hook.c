/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "cmd.h"
#include "fdutil.h"
#include "log.h"
#include "request/name.h"
#include "request/oci.h"
#include "request/request.h"
#include "place/idmap.h"
#include "place/place.h"

static const char hook_usage[] =
        "Usage: lockbox-broker hook [prestart|createRuntime|poststop]\n"
        "\n"
        "OCI hook. Reads the container state JSON on stdin. prestart and createRuntime place\n"
        "the secrets the container asks for; poststop revokes and forgets them. Without a\n"
        "stage the state's status decides (creating/created: place, stopped: clean up).\n"
        "A container that asks for nothing costs one read of its config.json.\n";

/* Cheap test, before the broker configuration is read: does the container ask for anything? */
static bool request_wanted(const json_t *annotations, char *const *env, size_t n_env) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)annotations, key,
                            v) if (strncmp(key, "io.lockbox.", 11) == 0) return true;
        for (size_t i = 0; i < n_env; i++)
                if (strncmp(env[i], "LOCKBOX_", 8) == 0 && strncmp(env[i], "LOCKBOX_FDS=", 12) &&
                    strncmp(env[i], "LOCKBOX_SHIM_", 13))
                        return true;
        return false;
}

static int hook_place(const struct broker_ctx *ctx, const struct oci_state *st) {
        _cleanup_(oci_config_done) struct oci_config oc = {0};
        _cleanup_(request_done) struct request req = {0};
        _cleanup_config_ struct broker_config *cfg = NULL;
        int r;

        if (st->pid <= 0) {
                log_error("container %s: state has no pid", st->id);
                return EXIT_USAGE;
        }
        /* oci_config_load names the file and the field that failed. */
        if (oci_config_load(st->bundle, &oc) < 0)
                return EXIT_USAGE;
        /* Podman and CRI-O put annotations in the state; runc only in config.json. */
        json_t *ann = json_object_size(st->annotations) ? st->annotations : oc.annotations;
        if (!request_wanted(ann, oc.env, oc.n_env))
                return EXIT_DONE;
        int status = broker_load_config(ctx, &cfg);
        if (status != EXIT_DONE)
                return status;
        if (request_build(ann, oc.env, oc.n_env, cfg, &req) < 0)
                return EXIT_USAGE;
        if (req.n_secrets == 0)
                return EXIT_DONE;

        _cleanup_free_ char *name = container_name_find(ann, st->id);
        struct placement p = {
                .container_id = st->id,
                .name = name,
                .pid = st->pid,
                .rootfs = oc.rootfs,
                .bundle = st->bundle,
                .annotations = ann,
                .env = oc.env,
                .n_env = oc.n_env,
                .uid = req.uid_set ? req.uid : oc.uid,
                .gid = req.gid_set ? req.gid : oc.gid,
        };
        r = idmap_pid_to_host(st->pid, p.uid, p.gid, &p.host_uid, &p.host_gid);
        if (r < 0) {
                log_error_errno(r, "container %s: owner %u:%u is not mapped to the host", st->id,
                                p.uid, p.gid);
                return EXIT_USAGE;
        }
        return place_request(cfg, &p, &req);
}

static int hook_forget(const struct broker_ctx *ctx, const struct oci_state *st) {
        _cleanup_config_ struct broker_config *cfg = NULL;
        int status = broker_load_config(ctx, &cfg);
        if (status != EXIT_DONE)
                return status;
        return place_forget(cfg, st->id, "revoke");
}

int cmd_hook(const struct broker_ctx *ctx, int argc, char **argv) {
        const char *stage = argc > 1 ? argv[1] : NULL;
        _cleanup_free_ char *buf = NULL;
        struct oci_state st = {0};
        size_t size;

        if (stage && (streq_ptr(stage, "--help") || streq_ptr(stage, "-h"))) {
                fputs(hook_usage, stdout);
                return EXIT_DONE;
        }
        if (argc > 2 || (stage && !streq_ptr(stage, "prestart") &&
                         !streq_ptr(stage, "createRuntime") && !streq_ptr(stage, "poststop"))) {
                log_error("hook: unsupported stage '%s' (prestart, createRuntime or poststop)",
                          argc > 2 ? argv[2] : stage);
                return EXIT_USAGE;
        }
        /* One byte more than the cap, so that an oversized state is noticed. */
        buf = malloc(OCI_STATE_MAX + 1);
        ssize_t n = buf ? read_full(STDIN_FILENO, buf, OCI_STATE_MAX + 1) : -ENOMEM;
        if (n < 0 || n > OCI_STATE_MAX) {
                log_error_errno(n < 0 ? (int)n : -EFBIG,
                                "hook: cannot read the container state on stdin");
                return EXIT_USAGE;
        }
        size = (size_t)n;
        if (oci_state_parse(buf, size, &st) < 0)
                return EXIT_USAGE;

        bool forget = stage ? streq_ptr(stage, "poststop") : streq_ptr(st.status, "stopped");
        bool place = stage ? !forget
                           : (streq_ptr(st.status, "creating") || streq_ptr(st.status, "created"));
        int status = EXIT_DONE;
        if (forget)
                status = hook_forget(ctx, &st);
        else if (place)
                status = hook_place(ctx, &st);
        else
                log_debug("container %s: status '%s', nothing to do", st.id, st.status);
        oci_state_done(&st);
        return status;
}
