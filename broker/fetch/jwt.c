/* SPDX-License-Identifier: Apache-2.0 */
#include "jwt.h"

#include <dlfcn.h>
#include <sodium.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "request/pod.h"

#define JWT_PART_MAX 16384
#define JWT_KEYS_MAX 16
#define JWT_LEEWAY_S 60

void jwt_done(struct jwt *j) {
        free(j->namespace);
        free(j->service_account);
        free(j->pod);
        free(j->issuer);
        secret_free(j->signature);
        *j = (struct jwt){0};
}

/* base64url without padding (RFC 7515 §2), all of it, into sodium memory. */
static int jwt_b64(const char *p, size_t len, struct secret **ret) {
        _cleanup_secret_ struct secret *s = NULL;
        const char *end = NULL;
        size_t n = 0;
        if (len == 0 || len > JWT_PART_MAX)
                return -EBADMSG;
        int r = secret_new(len * 3 / 4 + 1, &s);
        if (r < 0)
                return r;
        if (sodium_base642bin(secret_data(s), secret_size(s), p, len, NULL, &n, &end,
                              sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
            end != p + len)
                return -EBADMSG;
        return secret_new_copy(secret_cdata(s), n, ret);
}

static int jwt_json(const char *p, size_t len, json_t **ret) {
        _cleanup_secret_ struct secret *raw = NULL;
        char err[64];
        int r = jwt_b64(p, len, &raw);
        if (r < 0)
                return r;
        if (json_parse_strict(secret_cdata(raw), secret_size(raw), JWT_PART_MAX, ret, err,
                              sizeof err) < 0 ||
            !json_is_object(*ret))
                return -EBADMSG;
        return 0;
}

/* A copy of s when valid(s), else NULL (and 0): claims that are not names are not used. */
static int jwt_name(const char *s, bool (*valid)(const char *), char **ret) {
        *ret = NULL;
        if (!s || !valid(s))
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static bool jwt_time(const json_t *claims, const char *key, int64_t *ret) {
        const json_t *v = json_object_get(claims, key);
        if (json_is_integer(v)) {
                *ret = json_integer_value(v);
                return true;
        }
        if (json_is_real(v)) {
                *ret = (int64_t)json_real_value(v);
                return true;
        }
        return false;
}

static int jwt_claims(const json_t *c, struct jwt *j) {
        const json_t *k8s = json_get_object(c, "kubernetes.io");
        const char *ns = json_get_string(c, "kubernetes.io/serviceaccount/namespace");
        const char *sa = json_get_string(c, "kubernetes.io/serviceaccount/service-account.name");
        const char *pod = NULL;
        if (k8s) {
                ns = json_get_string(k8s, "namespace");
                sa = json_get_string(json_get_object(k8s, "serviceaccount"), "name");
                pod = json_get_string(json_get_object(k8s, "pod"), "name");
        }
        int r = jwt_name(ns, pod_name_is_label, &j->namespace);
        if (r >= 0)
                r = jwt_name(sa, pod_name_is_subdomain, &j->service_account);
        if (r >= 0)
                r = jwt_name(pod, pod_name_is_subdomain, &j->pod);
        const char *iss = json_get_string(c, "iss");
        if (r >= 0 && iss && !(j->issuer = strndup(iss, 1024)))
                r = -ENOMEM;
        j->has_exp = jwt_time(c, "exp", &j->exp);
        j->has_nbf = jwt_time(c, "nbf", &j->nbf);
        return r;
}

int jwt_parse(const char *text, size_t len, struct jwt *ret) {
        _cleanup_json_ json_t *header = NULL, *claims = NULL;
        struct jwt j = {0};
        const char *dot1 = memchr(text, '.', len);
        const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - text)) : NULL;

        *ret = (struct jwt){0};
        if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - text)))
                return -EBADMSG;
        int r = jwt_json(text, (size_t)(dot1 - text), &header);
        if (r >= 0)
                r = jwt_json(dot1 + 1, (size_t)(dot2 - dot1 - 1), &claims);
        const char *alg = r >= 0 ? json_get_string(header, "alg") : NULL;
        if (r >= 0 && (!alg || strlen(alg) >= sizeof j.alg))
                r = -EBADMSG;
        if (r >= 0) {
                strcpy(j.alg, alg);
                j.signing_len = (size_t)(dot2 - text);
                r = jwt_b64(dot2 + 1, len - j.signing_len - 1, &j.signature);
        }
        if (r >= 0)
                r = jwt_claims(claims, &j);
        if (r < 0) {
                jwt_done(&j);
                return r == -ENOMEM ? r : -EBADMSG;
        }
        *ret = j;
        return 0;
}

bool jwt_times_valid(const struct jwt *j, int64_t now) {
        if (j->has_exp && now >= j->exp + JWT_LEEWAY_S)
                return false;
        if (j->has_nbf && now + JWT_LEEWAY_S < j->nbf)
                return false;
        return true;
}

/* ---- signatures: libcrypto, loaded when a token is verified ------------------------------ */

/* OpenSSL's opaque types, and the few functions used (stable since 1.1.0). */
typedef struct jwt_bio JWT_BIO;
typedef struct jwt_pkey JWT_PKEY;
typedef struct jwt_md JWT_MD;
typedef struct jwt_md_ctx JWT_MD_CTX;

static struct {
        JWT_BIO *(*bio_new_mem_buf)(const void *, int);
        int (*bio_free)(JWT_BIO *);
        JWT_PKEY *(*pem_read_bio_pubkey)(JWT_BIO *, JWT_PKEY **, void *, void *);
        void (*pkey_free)(JWT_PKEY *);
        int (*pkey_base_id)(const JWT_PKEY *);
        JWT_MD_CTX *(*md_ctx_new)(void);
        void (*md_ctx_free)(JWT_MD_CTX *);
        int (*verify_init)(JWT_MD_CTX *, void **, const JWT_MD *, void *, JWT_PKEY *);
        int (*verify)(JWT_MD_CTX *, const unsigned char *, size_t, const unsigned char *, size_t);
        const JWT_MD *(*sha256)(void);
        const JWT_MD *(*sha384)(void);
        const JWT_MD *(*sha512)(void);
        void (*err_clear)(void);
} jwt_crypto;

#define JWT_PKEY_RSA 6 /* NID_rsaEncryption */
#define JWT_PKEY_EC 408 /* NID_X9_62_id_ecPublicKey */

static int jwt_crypto_load(void) {
        static const char *const names[] = {
                "BIO_new_mem_buf",      "BIO_free",
                "PEM_read_bio_PUBKEY",  "EVP_PKEY_free",
                "EVP_PKEY_get_base_id", "EVP_MD_CTX_new",
                "EVP_MD_CTX_free",      "EVP_DigestVerifyInit",
                "EVP_DigestVerify",     "EVP_sha256",
                "EVP_sha384",           "EVP_sha512",
                "ERR_clear_error",
        };
        _Static_assert(sizeof jwt_crypto == ARRAY_SIZE(names) * sizeof(void (*)(void)),
                       "one name a pointer, in order");
        void (*fns[ARRAY_SIZE(names)])(void);

        if (jwt_crypto.err_clear)
                return 0;
        /* libcurl has loaded it already (its TLS): this only takes a reference. */
        void *h = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
        if (!h)
                return log_error_errno(-ELIBACC, "libcrypto: cannot load libcrypto.so.3 (%s)",
                                       dlerror());
        for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
                void *sym = dlsym(h, names[i]);
                if (!sym)
                        return log_error_errno(-ELIBBAD, "libcrypto: no %s", names[i]);
                memcpy(&fns[i], &sym, sizeof sym);
        }
        memcpy(&jwt_crypto, fns, sizeof jwt_crypto);
        return 0;
}

/* JOSE's ECDSA signature is r || s (RFC 7518 §3.4); libcrypto wants DER's SEQUENCE of two
 * INTEGERs. n: the size of each half. */
static size_t jwt_der_int(const unsigned char *p, size_t n, unsigned char *out) {
        while (n > 1 && p[0] == 0)
                p++, n--;
        size_t pad = p[0] & 0x80 ? 1 : 0;
        out[0] = 0x02;
        out[1] = (unsigned char)(n + pad);
        out[2] = 0;
        memcpy(out + 2 + pad, p, n);
        return 2 + pad + n;
}

static size_t jwt_ecdsa_der(const unsigned char *sig, size_t half, unsigned char *out) {
        unsigned char body[2 * (2 + 1 + 66)];
        size_t n = jwt_der_int(sig, half, body);
        n += jwt_der_int(sig + half, half, body + n);
        size_t h = 0;
        out[h++] = 0x30;
        if (n >= 0x80)
                out[h++] = 0x81;
        out[h++] = (unsigned char)n;
        memcpy(out + h, body, n);
        return h + n;
}

/* The algorithm's digest, key type and (ECDSA) half size; false for any other algorithm. */
static bool jwt_alg(const char *alg, const JWT_MD **md, int *key_type, size_t *half) {
        static const struct {
                const char *name;
                int bits, key_type;
                size_t half;
        } algs[] = {
                {"RS256", 256, JWT_PKEY_RSA, 0}, {"RS384", 384, JWT_PKEY_RSA, 0},
                {"RS512", 512, JWT_PKEY_RSA, 0}, {"ES256", 256, JWT_PKEY_EC, 32},
                {"ES384", 384, JWT_PKEY_EC, 48}, {"ES512", 512, JWT_PKEY_EC, 66},
        };
        for (size_t i = 0; i < ARRAY_SIZE(algs); i++) {
                if (!streq_ptr(alg, algs[i].name))
                        continue;
                *md = algs[i].bits == 256   ? jwt_crypto.sha256()
                      : algs[i].bits == 384 ? jwt_crypto.sha384()
                                            : jwt_crypto.sha512();
                *key_type = algs[i].key_type;
                *half = algs[i].half;
                return true;
        }
        return false;
}

static bool jwt_verify_with(JWT_PKEY *key, const struct jwt *j, const char *text) {
        const JWT_MD *md;
        int key_type;
        size_t half, sig_len = secret_size(j->signature);
        const unsigned char *sig = secret_cdata(j->signature);
        unsigned char der[160];

        if (!jwt_alg(j->alg, &md, &key_type, &half) || jwt_crypto.pkey_base_id(key) != key_type)
                return false;
        if (half) {
                if (sig_len != 2 * half)
                        return false;
                sig_len = jwt_ecdsa_der(sig, half, der);
                sig = der;
        }
        JWT_MD_CTX *ctx = jwt_crypto.md_ctx_new();
        bool ok = ctx && jwt_crypto.verify_init(ctx, NULL, md, NULL, key) == 1 &&
                  jwt_crypto.verify(ctx, sig, sig_len, (const unsigned char *)text,
                                    j->signing_len) == 1;
        jwt_crypto.md_ctx_free(ctx);
        return ok;
}

int jwt_verify(const struct jwt *j, const char *text, const char *pem, size_t pem_len) {
        int r = jwt_crypto_load();
        if (r < 0)
                return r;
        if (pem_len > INT32_MAX)
                return -EFBIG;
        JWT_BIO *bio = jwt_crypto.bio_new_mem_buf(pem, (int)pem_len);
        if (!bio)
                return -ENOMEM;
        int verified = 0, keys = 0;
        JWT_PKEY *key;
        while (!verified && keys < JWT_KEYS_MAX &&
               (key = jwt_crypto.pem_read_bio_pubkey(bio, NULL, NULL, NULL))) {
                keys++;
                verified = jwt_verify_with(key, j, text);
                jwt_crypto.pkey_free(key);
        }
        jwt_crypto.bio_free(bio);
        /* The end of the PEM text and a failed verification leave errors queued in this thread,
         * where libcurl would later read them as its own. */
        jwt_crypto.err_clear();
        if (keys == 0)
                return log_error_errno(-EINVAL, "pem_keys_file: no public key (\"-----BEGIN "
                                                "PUBLIC KEY-----\") in it");
        return verified;
}
