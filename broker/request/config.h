/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config_roles.h"
#include "json.h"
#include "macro.h"
#include "pod.h"

#define CONFIG_DEFAULT_PATH "/etc/lockbox/broker.json"
#define CONFIG_DEFAULT_STATE_DIR "/run/lockbox"
#define CONFIG_DEFAULT_DIR "/run/secrets"
#define CONFIG_DEFAULT_STORE_DIR "/var/lib/lockbox/store"
#define CONFIG_DEFAULT_STORE_KEY "/etc/lockbox/store.key"
/* The embedded default's audit log (a file names its own, or none). */
#define CONFIG_DEFAULT_AUDIT_LOG "/var/log/lockbox/audit.log"
/* "audit_syslog": true: syslog's (and journald's) socket. */
#define CONFIG_DEFAULT_SYSLOG_SOCKET "/dev/log"
#define CONFIG_MAX_BYTES (1024 * 1024)
#define CONFIG_DEFAULT_FETCH_ID 65534 /* "nobody", the kernel's overflow uid and gid */
#define CONFIG_DEFAULT_AGENT_IDLE_S 60
#define CONFIG_AGENT_IDLE_MAX 86400

struct backend_config {
        char *name; /* the key in "backends" and the BACKEND of refs */
        char *type; /* "store", "vault", "keywhiz" */
        json_t *raw; /* the whole object, for type-specific parsing by the backend */
        /* type "store": */
        char *store_dir;
        char *store_key_file;
};

struct broker_config {
        char *path; /* NULL for the embedded default */
        char *state_dir;
        char *audit_log; /* NULL: no audit log */
        char *audit_syslog; /* the socket audit lines are also sent to; NULL: none */
        char *default_dir;
        mode_t default_mode;
        uint64_t tmpfs_size;
        unsigned timeout_ms;
        /* The uid and gid the secret fetcher drops to (privsep.h); "fetcher" in the file. */
        uid_t fetch_uid;
        gid_t fetch_gid;
        /* false: the fetcher runs without its seccomp filter ("fetcher": {"seccomp": false}). */
        bool fetch_seccomp;
        /* The warm fetch agent (fetch/agent.h): "agent": {"enabled": true, "idle_s": 60}. */
        bool agent_enabled;
        unsigned agent_idle_s;
        /* BLAKE2b of the bytes parsed (the file, or the embedded default): the agent compares
         * it with a hook's to tell that it serves another configuration. */
        uint8_t digest[32];
        struct backend_config *backends;
        size_t n_backends;
        struct role *roles;
        size_t n_roles;
        /* "kubernetes": {"runtime": ...}: the CRI runtime whose annotations state a pod's
         * identity on this node (request/pod.h); NONE: roles cannot bind to pods. */
        enum pod_runtime pod_runtime;
};

/*
 * Load the broker configuration. path NULL means CONFIG_DEFAULT_PATH, and when that file does
 * not exist the embedded default is used (DESIGN §3: store backend at the default paths, role
 * "default" allowing "store:*"). An explicitly named file must exist. The file must be a
 * regular file (not a symlink), owned by root, not writable by group or others: anything else
 * is -EPERM. Errors are logged here with the path and the reason (one line), then returned
 * (-EINVAL for content). state_dir_override, if not NULL, replaces state_dir.
 */
int config_load(const char *path, const char *state_dir_override, struct broker_config **ret);
int config_parse(const char *buf, size_t size, const char *origin, struct broker_config **ret);
struct broker_config *config_free(struct broker_config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct broker_config *, config_free);
#define _cleanup_config_ _cleanup_(config_freep)

const struct backend_config *config_find_backend(const struct broker_config *c, const char *name);
const struct role *config_find_role(const struct broker_config *c, const char *name);
