/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sealed store files (broker/fetch/store.h). The first byte picks the mode:
 *   even: the rest is a file's bytes; it opens for "db" under the fixed key or is -EBADMSG,
 *         and anything that opens seals again to something that opens to the same value;
 *   odd:  the rest is a value; sealed for "db", it opens to itself, and under another name,
 *         another key, or with any one byte flipped, it does not open.
 * The seeds in corpus/store/ are files sealed under this key (tests/fuzz/mkcorpus-store.c).
 */
#include "fuzz.h"
#include "fetch/store.h"

#define FUZZ_STORE_NAME "db"

/* A fixed key, so that the seed files open: the key is not a secret here. */
static struct secret *fuzz_key(uint8_t fill) {
        uint8_t raw[32];
        for (size_t i = 0; i < sizeof raw; i++)
                raw[i] = (uint8_t)(fill + i);
        struct secret *k = NULL;
        fuzz_assert(secret_new_copy(raw, sizeof raw, &k) == 0);
        return k;
}

static bool same_value(const struct secret *v, const uint8_t *data, size_t size) {
        return secret_size(v) == size && (size == 0 || !memcmp(secret_cdata(v), data, size));
}

static void fuzz_open(const struct secret *key, const uint8_t *data, size_t size) {
        _cleanup_secret_ struct secret *v = NULL, *v2 = NULL;
        _cleanup_free_ unsigned char *resealed = NULL;
        size_t len = 0;
        int r = store_unseal(FUZZ_STORE_NAME, key, data, size, &v);
        fuzz_assert(r == 0 || r == -EBADMSG);
        if (r < 0) {
                fuzz_assert(!v);
                return;
        }
        fuzz_assert(size == secret_size(v) + 29 + 16);
        fuzz_assert(store_seal(FUZZ_STORE_NAME, key, v, &resealed, &len) == 0);
        fuzz_assert(len == size);
        fuzz_assert(store_unseal(FUZZ_STORE_NAME, key, resealed, len, &v2) == 0);
        fuzz_assert(secret_equal(v, v2));
}

static void fuzz_round_trip(const struct secret *key, const uint8_t *data, size_t size) {
        _cleanup_secret_ struct secret *value = NULL, *back = NULL, *other = NULL;
        _cleanup_secret_ struct secret *wrong_key = fuzz_key(0x80);
        _cleanup_free_ unsigned char *sealed = NULL;
        size_t len = 0;

        fuzz_assert(secret_new_copy(data, size, &value) == 0);
        if (store_seal(FUZZ_STORE_NAME, key, value, &sealed, &len) < 0) {
                fuzz_assert(size > STORE_VALUE_MAX);
                return;
        }
        fuzz_assert(store_unseal(FUZZ_STORE_NAME, key, sealed, len, &back) == 0);
        fuzz_assert(same_value(back, data, size));
        /* The name is bound in: a file renamed to another secret does not open. */
        fuzz_assert(store_unseal("db2", key, sealed, len, &other) == -EBADMSG);
        fuzz_assert(store_unseal(FUZZ_STORE_NAME, wrong_key, sealed, len, &other) == -EBADMSG);
        /* Any flipped byte, header included, and any truncation is tampering. */
        size_t at = size ? data[0] % len : len / 2;
        sealed[at] ^= 0x01;
        fuzz_assert(store_unseal(FUZZ_STORE_NAME, key, sealed, len, &other) == -EBADMSG);
        sealed[at] ^= 0x01;
        fuzz_assert(store_unseal(FUZZ_STORE_NAME, key, sealed, len - 1, &other) == -EBADMSG);
        fuzz_assert(!other);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_init();
        if (size == 0)
                return 0;
        _cleanup_secret_ struct secret *key = fuzz_key(0);
        if (data[0] % 2 == 0)
                fuzz_open(key, data + 1, size - 1);
        else
                fuzz_round_trip(key, data + 1, size - 1);
        return 0;
}
