/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "json.h"

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
        char *args0; /* process.args[0], NULL when there is none */
        /* The source on the host of the last bind mount at POD_SA_MOUNT (request/pod.h): the
         * kubelet's projected service-account volume of a pod's container. NULL: none. */
        char *sa_token_dir;
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

/* Whether s holds a C0 control character or DEL: refused in ids, paths and names, which end
 * up in messages, state files and mount tables. */
bool oci_has_control(const char *s);
