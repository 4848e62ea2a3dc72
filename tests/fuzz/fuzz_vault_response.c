/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Vault's replies (broker/fetch/vault_kv.c): what a broken or hostile server (or whoever sits in
 * the TLS session) sends the broker. The first byte picks the parser and the reply's status, the
 * rest is the body: 0 read 200 KV v2 (field "pw")   1 read 200 KV v1 (no field)   2 read 404   3
 * read 403 4 read 500   5 login   6 unwrap   7 mount   8 mount list   9 error message (503) Besides
 * not crashing: a failure's message never quotes the body (a reply can hold a value; the seeds
 * carry the canary "lbxcanary" where a careless parser would copy it), a success has a value, and
 * versions and lease ids are what the state file may record.
 */
#include "fuzz.h"
#include "fetch/vault_kv.h"

#define CANARY "lbxcanary"

static bool body_has_canary(const uint8_t *body, size_t size) {
        return memmem(body, size, CANARY, strlen(CANARY)) != NULL;
}

static void check_message(const char *why, size_t size, const uint8_t *body, size_t body_size) {
        fuzz_assert(strnlen(why, size) < size);
        if (body_has_canary(body, body_size))
                fuzz_assert(!strstr(why, CANARY));
}

static void check_printable(const char *s) {
        for (const unsigned char *p = (const unsigned char *)s; s && *p; p++)
                fuzz_assert(*p >= 0x20 && *p != 0x7f);
}

static void fuzz_read(long status, bool kv2, const char *field, const uint8_t *body, size_t size) {
        struct vault_read out = {0};
        char why[256];
        int r = vault_parse_read(status, body, size, kv2, field, NULL, &out, why, sizeof why);
        check_message(why, sizeof why, body, size);
        if (r < 0) {
                fuzz_assert(!out.value && why[0]);
                return;
        }
        fuzz_assert(status == 200 && out.value);
        if (out.version)
                fuzz_assert(*out.version &&
                            strspn(out.version, "0123456789") == strlen(out.version));
        check_printable(out.lease_id);
        fuzz_assert(out.lease_duration >= 0);
        vault_read_done(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_init();
        if (size == 0)
                return 0;
        const uint8_t *body = data + 1;
        size_t n = size - 1;
        switch (data[0] % 10) {
        case 0:
                fuzz_read(200, true, "pw", body, n);
                break;
        case 1:
                fuzz_read(200, false, NULL, body, n);
                break;
        case 2:
                fuzz_read(404, true, "pw", body, n);
                break;
        case 3:
                fuzz_read(403, true, NULL, body, n);
                break;
        case 4:
                fuzz_read(500, false, "pw", body, n);
                break;
        case 5: {
                _cleanup_secret_ struct secret *token = NULL;
                int64_t ttl = 0, uses = 0;
                if (vault_parse_login(body, n, &token, &ttl, &uses) == 0)
                        fuzz_assert(token && secret_size(token) > 0);
                break;
        }
        case 6: {
                _cleanup_secret_ struct secret *id = NULL;
                if (vault_parse_unwrap(body, n, &id) == 0)
                        fuzz_assert(id);
                break;
        }
        case 7: {
                struct vault_mount m = {0};
                if (vault_parse_mount(body, n, &m) == 0) {
                        fuzz_assert(m.kv_version == 1 || m.kv_version == 2);
                        /* Whatever path the server names, the URL the broker then asks for
                         * holds only unreserved characters, '/', escapes and the version. */
                        struct ref ref;
                        _cleanup_free_ char *path = NULL;
                        const char *why = NULL;
                        fuzz_assert(ref_parse("vault:secret/app/db@2", &ref) == 0);
                        if (vault_read_path(&ref, &m, &path, &why) == 0)
                                fuzz_assert(strspn(path, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
                                                         "nopqrstuvwxyz0123456789-._~/%?=") ==
                                            strlen(path));
                        ref_done(&ref);
                }
                vault_mount_done(&m);
                break;
        }
        case 8: {
                _cleanup_free_ char *list = NULL;
                if (vault_parse_mount_list(body, n, &list) == 0)
                        fuzz_assert(list);
                break;
        }
        default: {
                char why[128];
                vault_error_message(503, body, n, why, sizeof why);
                check_message(why, sizeof why, body, n);
        }
        }
        return 0;
}
