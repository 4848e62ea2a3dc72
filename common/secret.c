/* SPDX-License-Identifier: Apache-2.0 */
#include "secret.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <sodium.h>

#include "fdutil.h"
#include "json.h"

struct secret {
        void *data; /* sodium_malloc'd, at least 1 byte */
        size_t size;
        bool locked;
};

int secure_init(void) {
        struct rlimit no_core = {0, 0};

        /* Before any secret byte: a crash must not write one to a core file, and another
         * process of the same uid must not read our memory through ptrace or /proc/PID/mem. */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return negative_errno();
        if (setrlimit(RLIMIT_CORE, &no_core) < 0)
                return negative_errno();
        if (sodium_init() < 0)
                return -EIO;
        json_secure_init();
        return 0;
}

/* A forked child (the broker's watcher and namespace helpers, the shim's stdin writer) sees
 * zeros in these pages instead of a copy of the value: it never needs one, and its copy would
 * outlive ours (the watcher lives as long as the container) without being locked, since mlock is
 * not inherited (found by 66-memory-residue.sh). Such a child must not secret_free() a value
 * (libsodium's canary is wiped as well); every one of them _exit()s. */
static void secret_wipe_on_fork(void *data, size_t size) {
        uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        uintptr_t lo = (uintptr_t)data & ~(page - 1);
        uintptr_t hi = ((uintptr_t)data + size + page - 1) & ~(page - 1);
        /* Best effort: Linux 4.14+, private anonymous memory (what sodium_malloc maps). */
        (void)madvise((void *)lo, hi - lo, MADV_WIPEONFORK);
}

int secret_new(size_t size, struct secret **ret) {
        struct secret *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        /* sodium_malloc(0) would return a valid but useless pointer; keep one byte. */
        s->data = sodium_malloc(size ? size : 1);
        if (!s->data) {
                free(s);
                return -ENOMEM;
        }
        s->size = size;
        /* sodium_malloc ignores a failed mlock; ask again so that we know. mlock of pages
         * already locked costs nothing more. */
        s->locked = mlock(s->data, size ? size : 1) == 0;
        secret_wipe_on_fork(s->data, size ? size : 1);
        *ret = s;
        return 0;
}

int secret_new_copy(const void *data, size_t size, struct secret **ret) {
        struct secret *s;
        int r = secret_new(size, &s);
        if (r < 0)
                return r;
        if (size)
                memcpy(s->data, data, size);
        *ret = s;
        return 0;
}

int secret_read_fd(int fd, size_t max, struct secret **ret) {
        _cleanup_secret_ struct secret *s = NULL;
        size_t cap = 4096, len = 0;
        int r = secret_new(cap, &s);
        if (r < 0)
                return r;

        for (;;) {
                if (len == cap) {
                        if (cap > max)
                                return -EFBIG;
                        struct secret *bigger;
                        r = secret_new(cap * 2, &bigger);
                        if (r < 0)
                                return r;
                        memcpy(bigger->data, s->data, len);
                        secret_free(s); /* wipes */
                        s = bigger;
                        cap *= 2;
                }
                ssize_t n = read(fd, (char *)s->data + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > max)
                        return -EFBIG;
        }

        struct secret *exact;
        r = secret_new_copy(s->data, len, &exact);
        if (r < 0)
                return r;
        *ret = exact;
        return 0;
}

struct secret *secret_free(struct secret *s) {
        if (!s)
                return NULL;
        sodium_free(s->data); /* wipes, even when read-only */
        free(s);
        return NULL;
}

void *secret_data(struct secret *s) {
        return s->data;
}

const void *secret_cdata(const struct secret *s) {
        return s->data;
}

size_t secret_size(const struct secret *s) {
        return s->size;
}

bool secret_is_locked(const struct secret *s) {
        return s->locked;
}

int secret_seal(struct secret *s) {
        return sodium_mprotect_readonly(s->data) < 0 ? negative_errno() : 0;
}

bool secret_equal(const struct secret *a, const struct secret *b) {
        return a->size == b->size && sodium_memcmp(a->data, b->data, a->size) == 0;
}

void hash_bytes(const void *data, size_t size, uint8_t out[SECRET_HASH_BYTES]) {
        crypto_generichash(out, SECRET_HASH_BYTES, data, size, NULL, 0);
}

void secret_hash(const struct secret *s, uint8_t out[SECRET_HASH_BYTES]) {
        hash_bytes(s->data, s->size, out);
}

void hash_to_hex(const uint8_t hash[SECRET_HASH_BYTES], char *out) {
        sodium_bin2hex(out, 2 * SECRET_HASH_BYTES + 1, hash, SECRET_HASH_BYTES);
}

int hash_from_hex(const char *hex, uint8_t out[SECRET_HASH_BYTES]) {
        size_t bin_len = 0;
        const char *end = NULL;
        if (strlen(hex) != 2 * SECRET_HASH_BYTES)
                return -EINVAL;
        if (sodium_hex2bin(out, SECRET_HASH_BYTES, hex, 2 * SECRET_HASH_BYTES, NULL, &bin_len,
                           &end) < 0 ||
            bin_len != SECRET_HASH_BYTES || *end != '\0')
                return -EINVAL;
        return 0;
}
