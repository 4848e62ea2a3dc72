/* SPDX-License-Identifier: Apache-2.0 */
/* A bundle's config.json, the request from its annotations and env, and its id mappings. */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>

#include "log.h"
#include "request/oci.h"
#include "request/request.h"
#include "secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The backends refs in the corpus name (request_build refuses the others). */
static struct backend_config fuzz_backends[] = {
        {.name = "store"}, {.name = "vault"}, {.name = "keywhiz"}};
static struct broker_config fuzz_cfg = {
        .default_dir = "/run/secrets",
        .default_mode = 0400,
        .backends = fuzz_backends,
        .n_backends = 3,
};

static void fuzz_init(void) {
        static bool done;
        if (done)
                return;
        done = true;
        log_open("fuzz");
        /* Every rejection is logged: keep the formatting in the path, drop the output. */
        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (fd >= 0)
                log_set_fd(fd);
        if (secure_init() < 0)
                abort();
}

/* The rootfs is cleaned lexically; whatever config.json says, the result must be clean. */
static void check_rootfs(const char *p) {
        if (!p || p[0] != '/' || (strlen(p) > 1 && p[strlen(p) - 1] == '/'))
                __builtin_trap();
        if (strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../"))
                __builtin_trap();
        size_t n = strlen(p);
        if ((n >= 2 && strcmp(p + n - 2, "/.") == 0) || (n >= 3 && strcmp(p + n - 3, "/..") == 0))
                __builtin_trap();
}

static void check_map(const struct id_mapping *map, size_t n, uint32_t id) {
        uint32_t host = 0;
        int r = id_map_to_host(map, n, id, &host);
        if (r < 0 && r != -ERANGE)
                __builtin_trap();
        if (r == 0 && (host == UINT32_MAX || (n == 0 && host != id)))
                __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct oci_config c;
        struct request req;

        fuzz_init();
        if (oci_config_parse((const char *)data, size, "/var/lib/bundle", &c) < 0)
                return 0;
        check_rootfs(c.rootfs);
        if (!c.env || c.env[c.n_env] || !json_is_object(c.annotations))
                __builtin_trap();
        static const uint32_t ids[] = {0, 1, 1000, 65534, 65535, 65536, UINT32_MAX - 1};
        for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
                check_map(c.uid_map, c.n_uid_map, ids[i]);
                check_map(c.gid_map, c.n_gid_map, ids[i]);
        }
        check_map(c.uid_map, c.n_uid_map, c.uid);
        check_map(c.gid_map, c.n_gid_map, c.gid);

        if (request_build(c.annotations, c.env, c.n_env, &fuzz_cfg, &req) == 0) {
                for (size_t i = 1; i < req.n_secrets; i++)
                        if (strcmp(req.secrets[i - 1].name, req.secrets[i].name) >= 0)
                                __builtin_trap();
                if (!req.dir || req.dir[0] != '/' || !req.role)
                        __builtin_trap();
                request_done(&req);
        }
        oci_config_done(&c);
        return 0;
}
