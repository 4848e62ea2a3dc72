/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "json.h"
#include "ref.h"

#define OCI_STATE_MAX (1024 * 1024)
#define OCI_CONFIG_MAX (16 * 1024 * 1024)

/* The state the runtime gives a hook on stdin (OCI runtime spec, "State"). */
struct oci_state {
        char *id;
        char *status; /* creating, created, running, stopped */
        pid_t pid; /* 0 when absent (poststop) */
        char *bundle;
        json_t *annotations; /* object, never NULL after parse */
};

int oci_state_parse(const char *buf, size_t size, struct oci_state *ret);
void oci_state_done(struct oci_state *s);

struct id_mapping {
        uint32_t container_id, host_id, size;
};

/* What lockbox needs from <bundle>/config.json. */
struct oci_config {
        char *rootfs; /* absolute: root.path resolved against the bundle */
        bool rootfs_readonly;
        uint32_t uid, gid; /* process.user */
        char **env; /* process.env, NULL-terminated */
        size_t n_env;
        json_t *annotations; /* object, never NULL after load */
        struct id_mapping *uid_map, *gid_map;
        size_t n_uid_map, n_gid_map;
        bool has_userns;
};

int oci_config_parse(const char *buf, size_t size, const char *bundle, struct oci_config *ret);
int oci_config_load(const char *bundle, struct oci_config *ret);
void oci_config_done(struct oci_config *c);

/* Map a container id to the host through a mapping; without mappings the id is unchanged.
 * -ERANGE when it is not mapped. */
int id_map_to_host(const struct id_mapping *map, size_t n, uint32_t id, uint32_t *ret);

struct secret_request {
        char *name;
        char *ref_text; /* as written, for messages, state and audit */
        struct ref ref;
        mode_t mode;
        bool mode_set; /* io.lockbox.mode.NAME given: wins over a backend's metadata */
        bool optional;
};

/* The request (DESIGN §4) from annotations and/or process.env. */
struct request {
        struct secret_request *secrets;
        size_t n_secrets;
        char *dir; /* absolute; default from config */
        bool uid_set, gid_set;
        uint32_t uid, gid; /* container ids; defaults from process.user by the caller */
        char *role; /* default "default" */
        int rotate_signal; /* default SIGUSR1 */
};

/*
 * Build the request from annotations (may be NULL) and env (may be NULL). No secret asked for:
 * returns 0 with n_secrets == 0. A key given both ways with different values, a bad name, ref,
 * mode, uid, gid, dir (must be absolute, no "..", no control characters) or signal: -EINVAL,
 * with one line logged naming the key and the reason (never a value that could be one: refs
 * are references, but an env value that does not parse is quoted only by its key).
 * Secrets are sorted by name.
 */
int request_build(const json_t *annotations, char *const *env, size_t n_env,
                  const struct broker_config *cfg, struct request *ret);
void request_done(struct request *r);
