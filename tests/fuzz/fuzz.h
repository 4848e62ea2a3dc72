/* SPDX-License-Identifier: Apache-2.0 */
/* What every fuzz target needs: the broker's process setup once, log output dropped. */
#pragma once

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failed invariant: abort with a trap that both libFuzzer and the replay driver report. */
#define fuzz_assert(cond)                                                                          \
        do {                                                                                       \
                if (!(cond))                                                                       \
                        __builtin_trap();                                                          \
        } while (0)

static inline void fuzz_init(void) {
        static bool done;
        if (done)
                return;
        done = true;
        log_open("fuzz");
        /* Every rejection is logged: keep the formatting in the path, drop the output. */
        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (fd >= 0)
                log_set_fd(fd);
        /* The wiping jansson allocator is what the broker and the shim run with. */
        if (secure_init() < 0)
                abort();
}

/* The input as a C string: parsers that take one see exactly the fuzzer's bytes up to the
 * first NUL, in a buffer of that length (an over-read is then ASan's to see). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size) {
        size_t n = strnlen((const char *)data, size);
        char *s = malloc(n + 1);
        if (!s)
                abort();
        memcpy(s, data, n);
        s[n] = '\0';
        return s;
}
