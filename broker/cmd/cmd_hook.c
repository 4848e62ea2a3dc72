/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "cmd.h"
#include "fdutil.h"
#include "log.h"
#include "request/name.h"
#include "request/oci.h"
#include "request/pod.h"
#include "request/request.h"
#include "fetch/pod_token.h"
#include "place/audit.h"
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

/* A pod's container, for messages: "container ID ('app' of pod dev/web)". The names were
 * checked by pod_identify; a missing one reads "?". */
static void pod_describe(const char *id, const struct pod_identity *pod, char *buf, size_t size) {
        snprintf(buf, size, "container %s ('%s' of pod %s/%s)", id,
                 pod->container ? pod->container : "?", pod->namespace ? pod->namespace : "?",
                 pod->name ? pod->name : "?");
}

/* Which of a pod's containers get the secrets (request/pod.h): -1 to go on and place, or the
 * exit status. A container that does not run the shim would keep the tmpfs mounted for its
 * whole life, which a pod's other containers (a sidecar, an init container) must never do. */
static int hook_pod_decide(const struct broker_config *cfg, const struct oci_state *st,
                           const struct oci_config *oc, const struct request *req,
                           const struct pod_identity *pod, const char *name) {
        char what[512];
        struct audit_record rec = {.container = st->id, .name = name, .role = req->role};
        pod_describe(st->id, pod, what, sizeof what);
        switch (pod_decide(pod, req->containers, req->n_containers, pod_runs_shim(oc->args0))) {
        case POD_PLACE:
                return -1;
        case POD_SKIP_SANDBOX:
                return EXIT_DONE;
        case POD_SKIP_UNNAMED:
                log_info("%s: not named in io.lockbox.containers, nothing placed", what);
                return EXIT_DONE;
        case POD_SKIP_NO_SHIM:
                log_info("%s: its command is not lockbox-shim, nothing placed", what);
                rec.event = "skip", rec.result = "skipped";
                rec.reason = "its command is not lockbox-shim: a pod's container without the "
                             "shim gets no secrets (name it in io.lockbox.containers to be "
                             "refused instead)";
                audit_write(cfg, &rec);
                return EXIT_DONE;
        case POD_REFUSE_NO_SHIM:
                log_error("%s: named in io.lockbox.containers, but its command is not "
                          "lockbox-shim: it would hold the secrets' tmpfs for its life (refused)",
                          what);
                rec.event = "deny", rec.result = "denied";
                rec.reason = "named in io.lockbox.containers but does not run lockbox-shim";
                audit_write(cfg, &rec);
                return EXIT_DENIED;
        }
        return EXIT_FAILED;
}

/* A pod's container with the kubelet's service-account volume logs in to Vault (kubernetes
 * auth) with the pod's own token (fetch/pod_token.h): -1 on, or an exit status. */
static int hook_pod_token(const struct oci_config *oc, const struct pod_identity *pod) {
        if (pod->runtime == POD_RUNTIME_NONE || !oc->sa_token_dir)
                return 0;
        return pod_token_use(oc->sa_token_dir, pod) < 0 ? EXIT_FAILED : 0;
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
        /* A pod's sandbox (pause) container carries the pod's annotations too: never a tmpfs
         * for it, whatever a hooks.d file (CRI-O) made the runtime run. */
        if (pod_is_sandbox(ann) || !request_wanted(ann, oc.env, oc.n_env))
                return EXIT_DONE;
        int status = broker_load_config(ctx, &cfg);
        if (status != EXIT_DONE)
                return status;
        if (request_build(ann, oc.env, oc.n_env, cfg, &req) < 0)
                return EXIT_USAGE;
        if (req.n_secrets == 0)
                return EXIT_DONE;
        struct pod_identity pod;
        if (pod_identify(ann, cfg->pod_runtime, &pod) < 0)
                return EXIT_USAGE;
        _cleanup_free_ char *name = container_name_find(ann, st->id);
        status = hook_pod_decide(cfg, st, &oc, &req, &pod, name);
        if (status >= 0)
                return status;
        req.pod = &pod;
        if (hook_pod_token(&oc, &pod) != 0)
                return EXIT_FAILED;

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

/* At poststop the bundle is usually still there (runc runs the hook before its delete returns):
 * a pod's container revokes its leases with the same login it took them with, its own token. */
static void hook_forget_pod(const struct broker_config *cfg, const struct oci_state *st) {
        _cleanup_(oci_config_done) struct oci_config oc = {0};
        _cleanup_free_ char *path = NULL;
        struct pod_identity pod;
        if (asprintf(&path, "%s/config.json", st->bundle) < 0 || access(path, F_OK) < 0)
                return;
        if (oci_config_load(st->bundle, &oc) < 0)
                return;
        json_t *ann = json_object_size(st->annotations) ? st->annotations : oc.annotations;
        if (pod_identify(ann, cfg->pod_runtime, &pod) >= 0)
                (void)hook_pod_token(&oc, &pod);
}

static int hook_forget(const struct broker_ctx *ctx, const struct oci_state *st) {
        _cleanup_config_ struct broker_config *cfg = NULL;
        int status = broker_load_config(ctx, &cfg);
        if (status != EXIT_DONE)
                return status;
        hook_forget_pod(cfg, st);
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
