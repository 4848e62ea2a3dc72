/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secret.h"

/*
 * A Kubernetes service-account JWT (RFC 7519, JWS compact form): its claims, for the token
 * cache's key and for messages, and its signature, verified with the cluster's public keys
 * when the configuration names them (the kubernetes auth's pem_keys_file).
 *
 * Without a verified signature the claims are whatever the file says: a pod can mount a file
 * of its own at the token's path (a configMap in a projected volume). Vault verifies every
 * token it is sent, but a token cache hit sends nothing: so only verified claims may key the
 * cache by namespace and service account (one login per service account); otherwise the key
 * is the token itself (one login per token: a pod's containers and restarts share it).
 */

struct jwt {
        char alg[16]; /* the header's "alg" */
        /* From the claims, projected ("kubernetes.io": {...}) before legacy
         * ("kubernetes.io/serviceaccount/..."), as Vault reads them; NULL when absent or not a
         * valid Kubernetes name. */
        char *namespace, *service_account, *pod;
        char *issuer; /* NULL when absent */
        bool has_exp, has_nbf;
        int64_t exp, nbf;
        size_t signing_len; /* "header.payload": the first signing_len bytes of the text */
        struct secret *signature; /* decoded */
};

/* Parse the compact form (text need not be NUL-terminated). -EBADMSG when it is not a JWT
 * (three base64url parts, a JSON header with "alg" and a JSON object of claims). */
int jwt_parse(const char *text, size_t len, struct jwt *ret);
void jwt_done(struct jwt *j);

/*
 * Verify the signature over text with one of the PEM public keys ("-----BEGIN PUBLIC KEY-----",
 * one or more). RS256/384/512 with an RSA key, ES256/384/512 with an EC key; any other
 * algorithm never verifies. 1: verified; 0: not (a bad signature, no matching key, an unusable
 * algorithm); negative errno when the keys cannot be read or libcrypto cannot be loaded
 * (-ELIBACC), with one line logged.
 */
int jwt_verify(const struct jwt *j, const char *text, const char *pem, size_t pem_len);

/* exp in the future and nbf not (60 s of leeway), where present. */
bool jwt_times_valid(const struct jwt *j, int64_t now);
