/* SPDX-License-Identifier: Apache-2.0 */
/* The OCI state JSON a hook reads on stdin, and the request built from its annotations. */
#include <fcntl.h>
#include <stdint.h>

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
        /* The wiping jansson allocator is what the broker runs with. */
        if (secure_init() < 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct oci_state st;
        struct request req;

        fuzz_init();
        if (oci_state_parse((const char *)data, size, &st) < 0)
                return 0;
        if (!st.id || !st.status || !st.bundle || st.bundle[0] != '/' || st.pid < 0 ||
            !json_is_object(st.annotations))
                __builtin_trap();
        if (request_build(st.annotations, NULL, 0, &fuzz_cfg, &req) == 0) {
                if (!req.dir || req.dir[0] != '/' || !req.role)
                        __builtin_trap();
                request_done(&req);
        }
        oci_state_done(&st);
        return 0;
}
