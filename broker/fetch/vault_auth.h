/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>

#include "http.h"
#include "secret.h"
#include "vault_config.h"

/* The Vault client: requests with Vault's headers, and logins (token file, AppRole with a
 * wrapped secret id, cert, Kubernetes) through the token cache. */

struct vault_client {
        const struct vault_config *cfg;
        const char *state_dir;
        struct http_client *http;
        struct secret *token;
        bool token_from_cache; /* a 403 may then mean it was revoked: log in again, once */
        int64_t token_ttl;
        char cache_name[128];
        /* A kubernetes login for a pod (fetch/pod_token.h): the pod's token, and " as pod NS/NAME,
         * service account NS/SA" for messages ("" otherwise). */
        struct secret *jwt;
        char who[640];
};

int vault_client_init(struct vault_client *vc, const struct vault_config *cfg,
                      const char *state_dir, uint64_t deadline_ms, const char **ret_why);
void vault_client_done(struct vault_client *vc);

/* A request to /v1/API_PATH with X-Vault-Request, X-Vault-Namespace and, when with_token,
 * X-Vault-Token. api_path is escaped by the caller (vault_escape_path). */
int vault_request(struct vault_client *vc, struct http_request *r, const char *method,
                  const char *api_path, bool with_token);

/*
 * Get a token: the token file, or a cached login, or a new login (under the cache lock, the
 * cache read again once the lock is held). relogin: the current token was refused; a cached
 * token equal to it is not taken again. On failure returns a negative errno and writes a
 * message (no server text but known phrases) into why.
 *
 * A kubernetes login while a pod's token is in use (pod_token_active) presents that token, not
 * jwt_file, and is cached under the pod's service account when the token's signature verifies
 * with pem_keys_file (its claims are then the cluster's), else under the token itself.
 */
int vault_authenticate(struct vault_client *vc, bool relogin, char *why, size_t why_size);
