/* SPDX-License-Identifier: Apache-2.0 */
/* What a hook sends the warm fetch agent (broker/fetch/agent_proto.h): a round trip keeps the
 * role, the digest and each secret's name, ref and optional flag; every malformed message is
 * -EBADMSG, never a crash; what is too large for the socket is -E2BIG (the hook then fetches in
 * its own child). */
#include "fetch/agent_proto.h"
#include "unit.h"

static struct request two_secrets(void) {
        static struct secret_request s[2];
        s[0] = (struct secret_request){.name = "db", .ref_text = "vault:secret/app/db#pw"};
        s[1] = (struct secret_request){
                .name = "api.key", .ref_text = "keywhiz:api-key", .optional = true};
        return (struct request){.secrets = s, .n_secrets = 2};
}

static void *encode(enum agent_kind kind, const char *role, const struct request *req,
                    size_t *size) {
        uint8_t digest[AGENT_DIGEST_BYTES];
        void *msg = NULL;
        for (size_t i = 0; i < sizeof digest; i++)
                digest[i] = (uint8_t)i;
        ck_assert_int_eq(agent_request_encode(kind, digest, role, req, &msg, size), 0);
        return msg;
}

START_TEST(test_round_trip) {
        struct request req = two_secrets();
        size_t size;
        _cleanup_free_ void *msg = encode(AGENT_FETCH, "web", &req, &size);
        struct agent_request ar;
        ck_assert_int_eq(agent_request_decode(msg, size, &ar), 0);
        ck_assert_int_eq(ar.kind, AGENT_FETCH);
        ck_assert_uint_eq(ar.digest[31], 31);
        ck_assert_str_eq(ar.req.role, "web");
        ck_assert_uint_eq(ar.req.n_secrets, 2);
        ck_assert_str_eq(ar.req.secrets[0].name, "db");
        ck_assert_str_eq(ar.req.secrets[0].ref_text, "vault:secret/app/db#pw");
        ck_assert_str_eq(ar.req.secrets[0].ref.backend, "vault");
        ck_assert_str_eq(ar.req.secrets[0].ref.field, "pw");
        ck_assert(!ar.req.secrets[0].optional);
        ck_assert_str_eq(ar.req.secrets[1].ref.path, "api-key");
        ck_assert(ar.req.secrets[1].optional);
        agent_request_done(&ar);

        /* A status: no role, no secret. */
        free(msg);
        msg = encode(AGENT_STATUS, NULL, NULL, &size);
        ck_assert_int_eq(agent_request_decode(msg, size, &ar), 0);
        ck_assert_int_eq(ar.kind, AGENT_STATUS);
        ck_assert_ptr_null(ar.req.role);
        ck_assert_uint_eq(ar.req.n_secrets, 0);
        agent_request_done(&ar);
}
END_TEST

/* Every prefix, every single-byte change at a structural place: a clean error or a request that
 * still parses, never a crash (ASan and UBSan in unit-asan). */
START_TEST(test_malformed) {
        struct request req = two_secrets();
        size_t size;
        _cleanup_free_ void *msg = encode(AGENT_FETCH, "web", &req, &size);
        struct agent_request ar;
        for (size_t n = 0; n < size; n++)
                ck_assert_int_eq(agent_request_decode(msg, n, &ar), -EBADMSG);
        unsigned char *copy = malloc(size + 1);
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, msg, size);
        copy[size] = 0;
        ck_assert_int_eq(agent_request_decode(copy, size + 1, &ar), -EBADMSG); /* trailing */
        static const struct {
                size_t offset;
                unsigned char value;
        } bad[] = {
                {0, 'X'}, /* magic */
                {4, 1}, /* version (1: before the reply sent headers first) */
                {8, 3}, /* kind */
                {12, 3}, /* n_secrets beyond the message */
                {50, 1}, /* reserved */
                {52, 'w' ^ 0x60}, /* a control character in the role */
                {55 + 4, 2}, /* optional neither 0 nor 1 */
                {55 + 8, '/'}, /* a name that is not one ("/b") */
                {55 + 10, ' '}, /* a ref with a space */
        };
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                memcpy(copy, msg, size);
                copy[bad[i].offset] = bad[i].value;
                ck_assert_msg(agent_request_decode(copy, size, &ar) == -EBADMSG, "case %zu", i);
        }
        /* A status that names a secret. */
        memcpy(copy, msg, size);
        copy[8] = AGENT_STATUS;
        ck_assert_int_eq(agent_request_decode(copy, size, &ar), -EBADMSG);
        free(copy);
}
END_TEST

START_TEST(test_too_large) {
        static struct secret_request many[AGENT_SECRETS_MAX + 1];
        for (size_t i = 0; i < ARRAY_SIZE(many); i++)
                many[i] = (struct secret_request){.name = "a", .ref_text = "vault:a"};
        struct request req = {.secrets = many, .n_secrets = ARRAY_SIZE(many)};
        uint8_t digest[AGENT_DIGEST_BYTES] = {0};
        void *msg = NULL;
        size_t size = 0;
        ck_assert_int_eq(agent_request_encode(AGENT_FETCH, digest, NULL, &req, &msg, &size),
                         -E2BIG);
        /* Within the count, beyond the size: 1000 refs of 1000 bytes. */
        static char ref[1001];
        memset(ref, 'x', sizeof ref - 1);
        memcpy(ref, "vault:", 6);
        for (size_t i = 0; i < 1000; i++)
                many[i].ref_text = ref;
        req.n_secrets = 1000;
        ck_assert_int_eq(agent_request_encode(AGENT_FETCH, digest, NULL, &req, &msg, &size),
                         -E2BIG);
        ck_assert_ptr_null(msg);
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("agent_proto");
        TCase *tc = tcase_create("request");
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_malformed);
        tcase_add_test(tc, test_too_large);
        suite_add_tcase(s, tc);
        return s;
}
