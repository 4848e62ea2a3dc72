/* SPDX-License-Identifier: Apache-2.0 */
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include "log.h"
#include "vault_config.h"

#define VAULT_TIMEOUT_MAX 600000

/* Where a parse is, for messages: "backends.vault.auth.method". */
struct vault_cfg_ctx {
        const char *origin; /* the config file */
        char where[160]; /* JSON path of the object being parsed */
};

_printf_(3, 4) static int vault_cfg_fail(const struct vault_cfg_ctx *x, const char *key,
                                         const char *fmt, ...);

static int vault_cfg_fail(const struct vault_cfg_ctx *x, const char *key, const char *fmt, ...) {
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        vsnprintf(msg, sizeof msg, fmt, ap);
#pragma GCC diagnostic pop
        va_end(ap);
        log_error("config %s: %s%s%s: %s", x->origin, x->where, key ? "." : "", key ? key : "",
                  msg);
        return -EINVAL;
}

/* Only the key's name is printed: an unknown key could hold a misplaced token. */
static int vault_cfg_keys(const struct vault_cfg_ctx *x, const json_t *obj,
                          const char *const *allowed) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)obj, key, v) {
                bool known = false;
                for (const char *const *a = allowed; *a && !known; a++)
                        known = streq_ptr(*a, key);
                if (!known)
                        return vault_cfg_fail(x, key, "unknown key");
        }
        return 0;
}

static bool vault_cfg_text_is_clean(const char *s) {
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

static int vault_cfg_string(const struct vault_cfg_ctx *x, const json_t *obj, const char *key,
                            bool required, char **ret) {
        const json_t *v = json_object_get(obj, key);
        if (!v)
                return required ? vault_cfg_fail(x, key, "missing") : 0;
        const char *s = json_string_value(v);
        if (!s || !*s || strlen(s) > 4096 || !vault_cfg_text_is_clean(s))
                return vault_cfg_fail(x, key, "must be a non-empty string");
        free(*ret);
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* Files are opened by root: absolute, no ".." component. */
static int vault_cfg_path(const struct vault_cfg_ctx *x, const json_t *obj, const char *key,
                          bool required, char **ret) {
        int r = vault_cfg_string(x, obj, key, required, ret);
        if (r < 0 || !*ret)
                return r;
        const char *p = *ret;
        bool dotdot = false;
        for (const char *c = p; (c = strstr(c, "..")); c += 2)
                if (c[-1] == '/' && (c[2] == '/' || c[2] == '\0'))
                        dotdot = true;
        if (p[0] != '/' || dotdot || strlen(p) >= PATH_MAX)
                return vault_cfg_fail(x, key, "must be an absolute path");
        return 0;
}

/* A Vault path segment list: letters, digits, "_-." and '/' (auth mounts, namespaces). */
static int vault_cfg_vault_path(const struct vault_cfg_ctx *x, const json_t *obj, const char *key,
                                char **ret) {
        int r = vault_cfg_string(x, obj, key, false, ret);
        if (r < 0 || !*ret)
                return r;
        char *p = *ret;
        size_t n = strlen(p);
        while (n > 0 && p[n - 1] == '/')
                p[--n] = '\0';
        if (n == 0 || p[0] == '/' || strstr(p, "//") || strstr(p, "..") ||
            strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./") != n)
                return vault_cfg_fail(x, key, "must be a Vault path (letters, digits, \"_-./\")");
        return 0;
}

static const char *const vault_methods[] = {
        [VAULT_AUTH_TOKEN] = "token",
        [VAULT_AUTH_APPROLE] = "approle",
        [VAULT_AUTH_CERT] = "cert",
        [VAULT_AUTH_KUBERNETES] = "kubernetes",
};

const char *vault_auth_method_name(enum vault_auth_method m) {
        return (size_t)m < ARRAY_SIZE(vault_methods) ? vault_methods[m] : "?";
}

static int vault_cfg_method(struct vault_cfg_ctx *x, const json_t *auth, struct vault_auth *a) {
        const char *m = json_get_string(auth, "method");
        for (size_t i = 0; m && i < ARRAY_SIZE(vault_methods); i++)
                if (streq_ptr(m, vault_methods[i])) {
                        a->method = (enum vault_auth_method)i;
                        return 0;
                }
        return vault_cfg_fail(x, "method", "must be token, approle, cert or kubernetes");
}

/* Each method's required keys; the others' keys are refused, so that a typo cannot leave a
 * method half-configured. */
static int vault_cfg_method_keys(struct vault_cfg_ctx *x, const json_t *auth,
                                 struct vault_auth *a) {
        static const char *const token[] = {"method", "token_file", NULL};
        static const char *const approle[] = {
                "method", "role_id_file", "secret_id_file", "secret_id_wrapped", "mount", NULL};
        static const char *const cert[] = {"method", "name", "mount", NULL};
        static const char *const k8s[] = {"method",        "role",   "jwt_file", "mount",
                                          "pem_keys_file", "issuer", NULL};
        static const char *const *const keys[] = {token, approle, cert, k8s};
        int r = vault_cfg_keys(x, auth, keys[a->method]);
        if (r < 0)
                return r;
        switch (a->method) {
        case VAULT_AUTH_TOKEN:
                return vault_cfg_path(x, auth, "token_file", true, &a->token_file);
        case VAULT_AUTH_APPROLE:
                if ((r = vault_cfg_path(x, auth, "role_id_file", true, &a->role_id_file)) < 0 ||
                    (r = vault_cfg_path(x, auth, "secret_id_file", true, &a->secret_id_file)) < 0)
                        return r;
                break;
        case VAULT_AUTH_CERT:
                if ((r = vault_cfg_string(x, auth, "name", false, &a->name)) < 0)
                        return r;
                break;
        case VAULT_AUTH_KUBERNETES:
                /* Without jwt_file only a pod's container (with its projected token) can log
                 * in: a pod that leaves out its token cannot fall back to another identity. */
                if ((r = vault_cfg_string(x, auth, "role", true, &a->role)) < 0 ||
                    (r = vault_cfg_path(x, auth, "jwt_file", false, &a->jwt_file)) < 0 ||
                    (r = vault_cfg_path(x, auth, "pem_keys_file", false, &a->pem_keys_file)) < 0 ||
                    (r = vault_cfg_string(x, auth, "issuer", false, &a->issuer)) < 0)
                        return r;
                break;
        }
        const json_t *w = json_object_get(auth, "secret_id_wrapped");
        if (w && !json_is_boolean(w))
                return vault_cfg_fail(x, "secret_id_wrapped", "must be true or false");
        a->secret_id_wrapped = json_is_true(w);
        return 0;
}

static int vault_cfg_auth(struct vault_cfg_ctx *x, const json_t *auth, struct vault_auth *a) {
        if (!json_is_object(auth))
                return vault_cfg_fail(x, NULL, "must be an object");
        int r = vault_cfg_method(x, auth, a);
        if (r < 0)
                return r;
        r = vault_cfg_method_keys(x, auth, a);
        if (r < 0)
                return r;
        r = vault_cfg_vault_path(x, auth, "mount", &a->mount);
        if (r < 0)
                return r;
        if (!a->mount && a->method != VAULT_AUTH_TOKEN &&
            !(a->mount = strdup(vault_auth_method_name(a->method))))
                return -ENOMEM;
        return 0;
}

static int vault_cfg_numbers(struct vault_cfg_ctx *x, const json_t *raw, struct vault_config *c) {
        const json_t *v = json_object_get(raw, "kv_version");
        if (v) {
                if (!json_is_integer(v) ||
                    (json_integer_value(v) != 1 && json_integer_value(v) != 2))
                        return vault_cfg_fail(x, "kv_version", "must be 1 or 2");
                c->kv_version = (int)json_integer_value(v);
        }
        v = json_object_get(raw, "timeout_ms");
        if (v) {
                if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                    json_integer_value(v) > VAULT_TIMEOUT_MAX)
                        return vault_cfg_fail(x, "timeout_ms", "must be an integer from 1 to %d",
                                              VAULT_TIMEOUT_MAX);
                c->timeout_ms = (unsigned)json_integer_value(v);
        }
        return 0;
}

static int vault_cfg_tls(struct vault_cfg_ctx *x, const json_t *raw, struct vault_config *c) {
        int r;
        if ((r = vault_cfg_string(x, raw, "address", true, &c->address)) < 0 ||
            (r = vault_cfg_path(x, raw, "ca_file", false, &c->ca_file)) < 0 ||
            (r = vault_cfg_path(x, raw, "cert_file", false, &c->cert_file)) < 0 ||
            (r = vault_cfg_path(x, raw, "key_file", false, &c->key_file)) < 0 ||
            (r = vault_cfg_string(x, raw, "server_name", false, &c->server_name)) < 0 ||
            (r = vault_cfg_string(x, raw, "pinned_pubkey", false, &c->pinned_pubkey)) < 0)
                return r;
        if (strncmp(c->address, "https://", 8) != 0)
                return vault_cfg_fail(x, "address", "must be an https:// URL");
        if (!c->cert_file != !c->key_file)
                return vault_cfg_fail(x, c->cert_file ? "key_file" : "cert_file",
                                      "cert_file and key_file go together");
        if (c->pinned_pubkey && strncmp(c->pinned_pubkey, "sha256//", 8) != 0)
                return vault_cfg_fail(x, "pinned_pubkey", "must be \"sha256//BASE64\"");
        /* "" says "no namespace" explicitly. */
        const json_t *ns = json_object_get(raw, "namespace");
        if (json_is_string(ns) && !*json_string_value(ns))
                return 0;
        return vault_cfg_vault_path(x, raw, "namespace", &c->namespace);
}

int vault_config_parse(const struct broker_config *cfg, const struct backend_config *b,
                       const struct role *role, struct vault_config *ret) {
        static const char *const keys[] = {"type",     "address",     "ca_file",       "cert_file",
                                           "key_file", "server_name", "pinned_pubkey", "namespace",
                                           "auth",     "kv_version",  "timeout_ms",    NULL};
        struct vault_cfg_ctx x = {.origin = cfg->path ? cfg->path : "(embedded default)"};
        struct vault_config c = {.backend = b->name,
                                 .role = role ? role->name : "",
                                 .timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 10000};
        int r;

        snprintf(x.where, sizeof x.where, "backends.%s", b->name);
        r = vault_cfg_keys(&x, b->raw, keys);
        if (r >= 0)
                r = vault_cfg_tls(&x, b->raw, &c);
        if (r >= 0)
                r = vault_cfg_numbers(&x, b->raw, &c);
        const json_t *auth = json_object_get(b->raw, "auth");
        const json_t *over = role && role->auth ? json_object_get(role->auth, b->name) : NULL;
        if (r >= 0 && over) {
                snprintf(x.where, sizeof x.where, "roles[%s].auth.%s", role->name, b->name);
                auth = over;
                c.auth_from_role = true;
        } else
                snprintf(x.where, sizeof x.where, "backends.%s.auth", b->name);
        if (r >= 0 && !auth)
                r = vault_cfg_fail(&x, NULL, "missing");
        if (r >= 0)
                r = vault_cfg_auth(&x, auth, &c.auth);
        if (r >= 0 && c.auth.method == VAULT_AUTH_CERT && !c.cert_file)
                r = vault_cfg_fail(&x, "method", "cert needs the backend's cert_file and key_file");
        if (r < 0) {
                vault_config_done(&c);
                return r;
        }
        *ret = c;
        return 0;
}

void vault_config_done(struct vault_config *c) {
        free(c->address);
        free(c->ca_file);
        free(c->cert_file);
        free(c->key_file);
        free(c->server_name);
        free(c->pinned_pubkey);
        free(c->namespace);
        free(c->auth.token_file);
        free(c->auth.role_id_file);
        free(c->auth.secret_id_file);
        free(c->auth.name);
        free(c->auth.role);
        free(c->auth.jwt_file);
        free(c->auth.pem_keys_file);
        free(c->auth.issuer);
        free(c->auth.mount);
        *c = (struct vault_config){0};
}
