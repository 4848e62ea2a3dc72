/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "request/config.h"

/* The vault backend's configuration: the backend's JSON and a role's auth override. */

enum vault_auth_method {
        VAULT_AUTH_TOKEN,
        VAULT_AUTH_APPROLE,
        VAULT_AUTH_CERT,
        VAULT_AUTH_KUBERNETES,
};

struct vault_auth {
        enum vault_auth_method method;
        char *token_file; /* token */
        char *role_id_file, *secret_id_file; /* approle */
        bool secret_id_wrapped;
        char *name; /* cert: the role of the cert auth method (optional) */
        char *role, *jwt_file; /* kubernetes (jwt_file: NULL when every login is a pod's) */
        /* kubernetes: the cluster's service-account signing keys (PEM) and issuer, to trust a
         * pod token's claims as the token cache's key (fetch/jwt.h); both optional. */
        char *pem_keys_file, *issuer;
        char *mount; /* default: the method's name */
};

struct vault_config {
        const char *backend; /* the backend's name (borrowed) */
        const char *role; /* the lockbox role, for the token cache key ("" for none) */
        char *address, *ca_file, *cert_file, *key_file, *server_name, *pinned_pubkey;
        char *namespace; /* NULL: none */
        struct vault_auth auth;
        bool auth_from_role; /* role->auth overrides the backend's auth */
        int kv_version; /* 0: detect per mount; 1 or 2: every mount is taken to be that */
        unsigned timeout_ms;
};

/* Parse b->raw (and role->auth[b->name] when present, which replaces "auth"). Unknown keys,
 * wrong types, relative paths: -EINVAL with one line logged naming the key. role may be
 * NULL. */
int vault_config_parse(const struct broker_config *cfg, const struct backend_config *b,
                       const struct role *role, struct vault_config *ret);
void vault_config_done(struct vault_config *c);
const char *vault_auth_method_name(enum vault_auth_method m);
