/* SPDX-License-Identifier: Apache-2.0 */
/* Service-account JWTs (broker/fetch/jwt.c) on tokens in tests/unit/data/jwt/, minted by
 * tests/fakes/mkjwt.py as a kube-apiserver mints them: RS256 and ES256 projected tokens (exp
 * in 2121), a legacy secret-based one, an expired one; rsa.pub and ec.pub verify them, other.pub
 * is another cluster's key. */
#include "unit.h"

#include <fcntl.h>
#include <string.h>

#include "fdutil.h"
#include "fetch/jwt.h"

#define DATA "tests/unit/data/jwt/"

static char *file(const char *name, size_t *ret_size) {
        char *buf = NULL;
        size_t size = 0;
        ck_assert_int_eq(read_file_at(AT_FDCWD, name, 65536, &buf, &size), 0);
        while (size > 0 && buf[size - 1] == '\n')
                buf[--size] = '\0';
        *ret_size = size;
        return buf;
}

static int verify(const char *token_file, const char *key_file) {
        size_t tlen, klen;
        _cleanup_free_ char *token = file(token_file, &tlen);
        _cleanup_free_ char *keys = file(key_file, &klen);
        _cleanup_(jwt_done) struct jwt j = {0};
        ck_assert_int_eq(jwt_parse(token, tlen, &j), 0);
        return jwt_verify(&j, token, keys, klen);
}

START_TEST(test_projected) {
        size_t n;
        _cleanup_free_ char *token = file(DATA "rs256.jwt", &n);
        _cleanup_(jwt_done) struct jwt j = {0};
        ck_assert_int_eq(jwt_parse(token, n, &j), 0);
        ck_assert_str_eq(j.alg, "RS256");
        ck_assert_str_eq(j.namespace, "dev");
        ck_assert_str_eq(j.service_account, "web");
        ck_assert_str_eq(j.pod, "web-1");
        ck_assert_str_eq(j.issuer, "https://kubernetes.default.svc.cluster.local");
        ck_assert(j.has_exp && j.has_nbf);
        ck_assert(jwt_times_valid(&j, j.nbf));
        ck_assert(jwt_times_valid(&j, j.exp + 59));
        ck_assert(!jwt_times_valid(&j, j.exp + 60));
        ck_assert(!jwt_times_valid(&j, j.nbf - 61));
        ck_assert_ptr_eq(memchr(token, '.', j.signing_len + 1), strchr(token, '.'));
}
END_TEST

START_TEST(test_legacy_and_expired) {
        size_t n;
        _cleanup_free_ char *legacy = file(DATA "legacy.jwt", &n);
        _cleanup_(jwt_done) struct jwt j = {0};
        ck_assert_int_eq(jwt_parse(legacy, n, &j), 0);
        ck_assert_str_eq(j.namespace, "dev");
        ck_assert_str_eq(j.service_account, "web");
        ck_assert_ptr_null(j.pod);
        ck_assert_str_eq(j.issuer, "kubernetes/serviceaccount");
        ck_assert(!j.has_exp);
        ck_assert(jwt_times_valid(&j, 4102444800));
        jwt_done(&j);
        _cleanup_free_ char *expired = file(DATA "expired.jwt", &n);
        ck_assert_int_eq(jwt_parse(expired, n, &j), 0);
        ck_assert(!jwt_times_valid(&j, j.exp + 3600));
        /* Signed by the cluster's key all the same. */
        ck_assert_int_eq(verify(DATA "expired.jwt", DATA "rsa.pub"), 1);
}
END_TEST

START_TEST(test_signatures) {
        ck_assert_int_eq(verify(DATA "rs256.jwt", DATA "rsa.pub"), 1);
        ck_assert_int_eq(verify(DATA "es256.jwt", DATA "ec.pub"), 1);
        /* Another cluster's key, or a key of the other type. */
        ck_assert_int_eq(verify(DATA "rs256.jwt", DATA "other.pub"), 0);
        ck_assert_int_eq(verify(DATA "rs256.jwt", DATA "ec.pub"), 0);
        ck_assert_int_eq(verify(DATA "es256.jwt", DATA "rsa.pub"), 0);
}
END_TEST

/* Several keys in one file (a key rotation): any of them. */
START_TEST(test_key_bundle) {
        size_t a, b, t;
        _cleanup_free_ char *k1 = file(DATA "other.pub", &a);
        _cleanup_free_ char *k2 = file(DATA "ec.pub", &b);
        _cleanup_free_ char *token = file(DATA "es256.jwt", &t);
        _cleanup_free_ char *both = NULL;
        ck_assert_int_ge(asprintf(&both, "%s\n%s\n", k1, k2), 0);
        _cleanup_(jwt_done) struct jwt j = {0};
        ck_assert_int_eq(jwt_parse(token, t, &j), 0);
        ck_assert_int_eq(jwt_verify(&j, token, both, strlen(both)), 1);
        capture_log();
        ck_assert_int_eq(jwt_verify(&j, token, "not a key", 9), -EINVAL);
        ck_assert_ptr_nonnull(strstr(captured_log(), "pem_keys_file: no public key"));
}
END_TEST

/* A changed byte anywhere: the claims, the header, the signature. */
START_TEST(test_tampered) {
        size_t n, k;
        _cleanup_free_ char *keys = file(DATA "rsa.pub", &k);
        _cleanup_free_ char *token = file(DATA "rs256.jwt", &n);
        size_t at[] = {5, strchr(token, '.') - token + 10, n - 5};
        for (size_t i = 0; i < ARRAY_SIZE(at); i++) {
                _cleanup_free_ char *t = strdup(token);
                t[at[i]] = t[at[i]] == 'A' ? 'B' : 'A';
                _cleanup_(jwt_done) struct jwt j = {0};
                if (jwt_parse(t, n, &j) < 0)
                        continue; /* no longer JSON: refused before any signature */
                ck_assert_msg(jwt_verify(&j, t, keys, k) == 0, "byte %zu", at[i]);
        }
}
END_TEST

START_TEST(test_malformed) {
        static const char *const bad[] = {
                "",
                "a.b",
                "a.b.c.d",
                "eyJhbGciOiJSUzI1NiJ9.e30",
                "eyJhbGciOiJSUzI1NiJ9.e30.",
                "e30.e30.c2ln", /* no alg */
                "eyJhbGciOiJSUzI1NiJ9.W10.c2ln", /* claims an array */
                "eyJhbGciOiJSUzI1NiJ9.e30=.c2ln", /* padding */
                "eyJhbGciOiJSUzI1NiJ9.e3+.c2ln", /* not base64url */
                "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln", /* not JSON */
        };
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                struct jwt j;
                ck_assert_msg(jwt_parse(bad[i], strlen(bad[i]), &j) == -EBADMSG, "%s", bad[i]);
                ck_assert_ptr_null(j.signature);
        }
        /* Claims that are not Kubernetes names are left out, not used. */
        const char *odd = "eyJhbGciOiJub25lIn0."
                          "eyJrdWJlcm5ldGVzLmlvIjp7Im5hbWVzcGFjZSI6IkRFViIsInNlcnZpY2VhY2NvdW50"
                          "Ijp7Im5hbWUiOiJ3ZWIvLi4ifX19.c2ln";
        struct jwt j;
        ck_assert_int_eq(jwt_parse(odd, strlen(odd), &j), 0);
        ck_assert_ptr_null(j.namespace);
        ck_assert_ptr_null(j.service_account);
        /* alg "none" never verifies. */
        size_t k;
        _cleanup_free_ char *keys = file(DATA "rsa.pub", &k);
        ck_assert_int_eq(jwt_verify(&j, odd, keys, k), 0);
        jwt_done(&j);
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("jwt");
        TCase *tc = tcase_create("jwt");
        tcase_add_test(tc, test_projected);
        tcase_add_test(tc, test_legacy_and_expired);
        tcase_add_test(tc, test_signatures);
        tcase_add_test(tc, test_key_bundle);
        tcase_add_test(tc, test_tampered);
        tcase_add_test(tc, test_malformed);
        suite_add_tcase(s, tc);
        return s;
}
