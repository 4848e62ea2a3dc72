/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "credfile.h"
#include "jwt.h"
#include "log.h"
#include "pod_token.h"
#include "vault_auth.h"
#include "token_cache.h"
#include "vault_kv.h"

#define VAULT_CREDENTIAL_MAX 65536 /* a token, a role or secret id, a Kubernetes JWT */

/* ---- the client ------------------------------------------------------------------------------ */

/* The cache file's name: the backend's name (for an operator looking at the directory) and a
 * hash of who logs in where; for a pod's login also whose token (pod, two parts). */
static void vault_cache_name(const struct vault_config *c, const char *const pod[2], char *buf,
                             size_t size) {
        const struct vault_auth *a = &c->auth;
        const char *parts[] = {
                c->backend,        c->role,
                c->address,        c->server_name,
                c->namespace,      vault_auth_method_name(a->method),
                a->mount,          a->role_id_file,
                a->secret_id_file, a->name,
                a->role,           a->jwt_file,
                c->cert_file,      a->secret_id_wrapped ? "wrapped" : "",
                pod ? pod[0] : "", pod ? pod[1] : "",
        };
        char key[TOKEN_CACHE_KEY_LEN + 1];
        token_cache_key(parts, ARRAY_SIZE(parts), key);
        snprintf(buf, size, "%s.%s", c->backend, key);
}

int vault_client_init(struct vault_client *vc, const struct vault_config *cfg,
                      const char *state_dir, uint64_t deadline_ms, const char **ret_why) {
        struct http_tls tls = {
                .ca_file = cfg->ca_file,
                .cert_file = cfg->cert_file,
                .key_file = cfg->key_file,
                .server_name = cfg->server_name,
                .pinned_pubkey = cfg->pinned_pubkey,
        };
        *vc = (struct vault_client){.cfg = cfg, .state_dir = state_dir};
        vault_cache_name(cfg, NULL, vc->cache_name, sizeof vc->cache_name);
        return http_client_new(cfg->address, &tls, deadline_ms, &vc->http, ret_why);
}

void vault_client_done(struct vault_client *vc) {
        vc->http = http_client_free(vc->http);
        vc->token = secret_free(vc->token);
        vc->jwt = secret_free(vc->jwt);
}

int vault_request(struct vault_client *vc, struct http_request *r, const char *method,
                  const char *api_path, bool with_token) {
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "/v1/%s", api_path) < 0)
                return -ENOMEM;
        int e = http_request_init(r, method, path);
        if (e >= 0)
                e = http_request_header(r, "X-Vault-Request", "true", 4);
        if (e >= 0 && vc->cfg->namespace)
                e = http_request_header(r, "X-Vault-Namespace", vc->cfg->namespace,
                                        strlen(vc->cfg->namespace));
        if (e >= 0 && with_token && vc->token)
                e = http_request_header(r, "X-Vault-Token", secret_cdata(vc->token),
                                        secret_size(vc->token));
        if (e < 0)
                http_request_done(r);
        return e;
}

/* ---- credentials from files ------------------------------------------------------------------ */

/* A credential file: root's (or the broker's uid), not readable by others, its content without
 * surrounding whitespace, in sodium memory. */
static int vault_read_credential(const char *path, struct secret **ret, char *why,
                                 size_t why_size) {
        _cleanup_secret_ struct secret *raw = NULL;
        struct stat st;
        _cleanup_close_ int fd = credfile_open(path);
        if (fd < 0) {
                snprintf(why, why_size, "cannot open %s: %s", path, strerror(-fd));
                return fd;
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                snprintf(why, why_size, "%s is not a regular file", path);
                return -EINVAL;
        }
        if (st.st_mode & 0004) {
                snprintf(why, why_size, "%s is readable by others (chmod o-r)", path);
                return -EPERM;
        }
        int r = secret_read_fd(fd, VAULT_CREDENTIAL_MAX, &raw);
        if (r < 0) {
                snprintf(why, why_size, "cannot read %s: %s", path, strerror(-r));
                return r;
        }
        r = credfile_trimmed(raw, ret);
        if (r == -EINVAL)
                snprintf(why, why_size, "%s is empty", path);
        return r;
}

/* ---- logins ---------------------------------------------------------------------------------- */

/* One POST with a JSON body in sodium memory; the reply's body stays in r. */
static int vault_post(struct vault_client *vc, struct http_request *r, const char *api_path,
                      const struct secret *body, const struct secret *as_token, char *why,
                      size_t why_size) {
        int e = vault_request(vc, r, "POST", api_path, false);
        if (e >= 0 && as_token)
                e = http_request_header(r, "X-Vault-Token", secret_cdata(as_token),
                                        secret_size(as_token));
        if (e < 0)
                return snprintf(why, why_size, "cannot build the request"), e;
        r->body = body ? secret_cdata(body) : "{}";
        r->body_size = body ? secret_size(body) : 2;
        struct http_request *one = r;
        e = http_perform(vc->http, &one, 1);
        if (e < 0)
                return snprintf(why, why_size, "request failed"), e;
        if (r->error || r->status != 200)
                return vault_request_error(r, why, why_size);
        return 0;
}

/* A response-wrapped secret id (the file holds the wrapping token): unwrapped once; the result
 * is kept in the cache entry with the hash of the wrapping token it came from, because the
 * wrapping token works only once and later logins need the secret id again. */
static int vault_unwrap_secret_id(struct vault_client *vc, struct token_cache_entry *cached,
                                  struct secret **ret, char *why, size_t why_size) {
        _cleanup_secret_ struct secret *wrapping = NULL;
        _cleanup_(http_request_done) struct http_request r = {0};
        uint8_t h[SECRET_HASH_BYTES];
        char hex[2 * SECRET_HASH_BYTES + 1];

        int e = vault_read_credential(vc->cfg->auth.secret_id_file, &wrapping, why, why_size);
        if (e < 0)
                return e;
        secret_hash(wrapping, h);
        hash_to_hex(h, hex);
        if (cached->secret_id && streq_ptr(cached->wrapped, hex))
                return secret_new_copy(secret_cdata(cached->secret_id),
                                       secret_size(cached->secret_id), ret);
        e = vault_post(vc, &r, "sys/wrapping/unwrap", NULL, wrapping, why, why_size);
        if (e < 0) {
                char inner[128];
                snprintf(inner, sizeof inner, "%s", why);
                snprintf(why, why_size, "unwrapping the secret id: %s", inner);
                return e;
        }
        e = vault_parse_unwrap(r.response.data, r.response.size, ret);
        if (e < 0)
                return snprintf(why, why_size, "unwrapping the secret id: malformed response"), e;
        /* Remembered for the cache entry written after the login. */
        cached->secret_id = secret_free(cached->secret_id);
        e = secret_new_copy(secret_cdata(*ret), secret_size(*ret), &cached->secret_id);
        memcpy(cached->wrapped, hex, sizeof hex);
        return e;
}

static int vault_login_body(struct vault_client *vc, struct token_cache_entry *cached,
                            struct secret **ret, char *why, size_t why_size) {
        const struct vault_auth *a = &vc->cfg->auth;
        _cleanup_secret_ struct secret *s1 = NULL, *s2 = NULL;
        int e;
        switch (a->method) {
        case VAULT_AUTH_APPROLE: {
                if ((e = vault_read_credential(a->role_id_file, &s1, why, why_size)) < 0)
                        return e;
                if (a->secret_id_wrapped)
                        e = vault_unwrap_secret_id(vc, cached, &s2, why, why_size);
                else
                        e = vault_read_credential(a->secret_id_file, &s2, why, why_size);
                if (e < 0)
                        return e;
                const char *keys[] = {"role_id", "secret_id"};
                const void *values[] = {secret_cdata(s1), secret_cdata(s2)};
                size_t sizes[] = {secret_size(s1), secret_size(s2)};
                return vault_json_body(ret, 2, keys, values, sizes);
        }
        case VAULT_AUTH_CERT: {
                const char *keys[] = {"name"};
                const void *values[] = {a->name};
                size_t sizes[] = {a->name ? strlen(a->name) : 0};
                return vault_json_body(ret, a->name ? 1 : 0, keys, values, sizes);
        }
        case VAULT_AUTH_KUBERNETES: {
                if (vc->jwt)
                        e = secret_new_copy(secret_cdata(vc->jwt), secret_size(vc->jwt), &s1);
                else if (a->jwt_file)
                        e = vault_read_credential(a->jwt_file, &s1, why, why_size);
                else {
                        snprintf(why, why_size,
                                 "no jwt_file, and the container has no service-account token "
                                 "mount (%s): only a pod's own token logs in",
                                 POD_SA_MOUNT);
                        e = -EACCES;
                }
                if (e < 0)
                        return e;
                const char *keys[] = {"role", "jwt"};
                const void *values[] = {a->role, secret_cdata(s1)};
                size_t sizes[] = {strlen(a->role), secret_size(s1)};
                return vault_json_body(ret, 2, keys, values, sizes);
        }
        case VAULT_AUTH_TOKEN:
                break;
        }
        return -EINVAL;
}

static int vault_login(struct vault_client *vc, struct token_cache_entry *entry, char *why,
                       size_t why_size) {
        const struct vault_auth *a = &vc->cfg->auth;
        _cleanup_secret_ struct secret *body = NULL;
        _cleanup_(http_request_done) struct http_request r = {0};
        _cleanup_free_ char *path = NULL;
        int64_t num_uses = 0;

        int e = vault_login_body(vc, entry, &body, why, why_size);
        if (e < 0)
                return e;
        if (asprintf(&path, "auth/%s/login", a->mount) < 0)
                return -ENOMEM;
        e = vault_post(vc, &r, path, body, NULL, why, why_size);
        if (e < 0)
                return e;
        entry->token = secret_free(entry->token);
        e = vault_parse_login(r.response.data, r.response.size, &entry->token, &entry->ttl,
                              &num_uses);
        if (e < 0)
                return snprintf(why, why_size, "malformed login response"), e;
        entry->expires = entry->ttl ? (int64_t)time(NULL) + entry->ttl : 0;
        log_info("vault %s: logged in (%s at auth/%s), token valid for %lld s", vc->cfg->backend,
                 vault_auth_method_name(a->method), a->mount, (long long)entry->ttl);
        /* A token good for N uses would be spent by the hooks that share it. */
        return num_uses > 0 ? 1 : 0;
}

/* ---- a pod's own token ------------------------------------------------------------------------
 */

/* The cluster's public keys: whoever can change them can mint tokens that the cache trusts,
 * so they must be root's and writable by root alone (readable by anyone: they are public). */
static int vault_read_keys(const char *path, struct secret **ret, char *why, size_t why_size) {
        struct stat st;
        _cleanup_close_ int fd = credfile_open(path);
        const char *problem = NULL;
        if (fd < 0) {
                snprintf(why, why_size, "pem_keys_file %s: cannot open: %s", path, strerror(-fd));
                return fd;
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                problem = "not a regular file";
        else if (st.st_uid != 0)
                problem = "not owned by root";
        else if (st.st_mode & 0022)
                problem = "writable by group or others";
        if (problem) {
                snprintf(why, why_size, "pem_keys_file %s: %s (refused)", path, problem);
                return -EPERM;
        }
        int r = secret_read_fd(fd, 65536, ret);
        if (r < 0)
                snprintf(why, why_size, "pem_keys_file %s: cannot read: %s", path, strerror(-r));
        return r;
}

/* Whether the token's claims are the cluster's: its signature verifies with pem_keys_file, it
 * is within its lifetime and, where configured, from the issuer. 1 yes, 0 no, < 0 failed. */
static int vault_jwt_trusted(const struct vault_auth *a, const struct jwt *j, const char *text,
                             char *why, size_t why_size) {
        _cleanup_secret_ struct secret *keys = NULL;
        if (!a->pem_keys_file)
                return 0;
        int r = vault_read_keys(a->pem_keys_file, &keys, why, why_size);
        if (r < 0)
                return r;
        r = jwt_verify(j, text, secret_cdata(keys), secret_size(keys));
        if (r < 0) {
                snprintf(why, why_size, "pem_keys_file %s: cannot verify tokens with it: %s",
                         a->pem_keys_file, strerror(-r));
                return r;
        }
        if (r == 0)
                log_info("service-account token: signature not verified by %s; cached as that "
                         "token only",
                         a->pem_keys_file);
        return r == 1 && jwt_times_valid(j, (int64_t)time(NULL)) &&
               (!a->issuer || streq_ptr(a->issuer, j->issuer));
}

/* A pod's login: its token, who it says it is (for messages), and the cache entry it goes to:
 * its service account when the claims are trusted, else the token itself (a hash of it), so
 * that a token the pod made up never finds another pod's cached login. */
static int vault_pod_identity(struct vault_client *vc, char *why, size_t why_size) {
        _cleanup_(jwt_done) struct jwt j = {0};
        const struct vault_auth *a = &vc->cfg->auth;
        snprintf(vc->who, sizeof vc->who, " as %s, service account ?", pod_token_pod());
        int r = pod_token_read(&vc->jwt, why, why_size);
        if (r < 0)
                return r;
        const char *text = secret_cdata(vc->jwt);
        /* Not a JWT at all: Vault says so at the login (the cache key is the text's hash). */
        bool parsed = jwt_parse(text, secret_size(vc->jwt), &j) >= 0;
        if (parsed && j.namespace && j.service_account)
                snprintf(vc->who, sizeof vc->who, " as %s, service account %s/%s", pod_token_pod(),
                         j.namespace, j.service_account);
        int trusted = parsed ? vault_jwt_trusted(a, &j, text, why, why_size) : 0;
        if (trusted < 0)
                return trusted;
        char sa[2 * 256 + 2], hex[2 * SECRET_HASH_BYTES + 1];
        uint8_t h[SECRET_HASH_BYTES];
        if (trusted) {
                snprintf(sa, sizeof sa, "%s/%s", j.namespace ? j.namespace : "",
                         j.service_account ? j.service_account : "");
                const char *pod[2] = {"service-account", sa};
                vault_cache_name(vc->cfg, pod, vc->cache_name, sizeof vc->cache_name);
        } else {
                secret_hash(vc->jwt, h);
                hash_to_hex(h, hex);
                const char *pod[2] = {"token", hex};
                vault_cache_name(vc->cfg, pod, vc->cache_name, sizeof vc->cache_name);
        }
        return 0;
}

/* ---- the token ------------------------------------------------------------------------------- */

static int vault_take_token(struct vault_client *vc, const struct token_cache_entry *e,
                            bool from_cache) {
        vc->token = secret_free(vc->token);
        vc->token_from_cache = from_cache;
        vc->token_ttl = e->ttl;
        return secret_new_copy(secret_cdata(e->token), secret_size(e->token), &vc->token);
}

/* A cached token that is fresh and, after a refusal, not the refused one. */
static bool vault_cache_usable(const struct vault_client *vc, const struct token_cache_entry *e,
                               bool relogin) {
        if (!token_cache_is_fresh(e, (int64_t)time(NULL)))
                return false;
        return !relogin || !vc->token || !secret_equal(e->token, vc->token);
}

static int vault_login_locked(struct vault_client *vc, int dirfd, bool relogin, char *why,
                              size_t why_size) {
        _cleanup_(token_cache_entry_done) struct token_cache_entry e = {0};
        _cleanup_close_ int lock = -1;
        int r = token_cache_lock(dirfd, vc->cache_name, http_client_deadline(vc->http), &lock);
        if (r < 0)
                return snprintf(why, why_size, "waiting for another hook's login: %s",
                                strerror(-r)),
                       r;
        /* Another hook may have logged in while we waited. */
        r = token_cache_load(dirfd, vc->cache_name, &e);
        if (r >= 0 && vault_cache_usable(vc, &e, relogin)) {
                log_debug("vault %s: token from the cache (after waiting)", vc->cfg->backend);
                return vault_take_token(vc, &e, true);
        }
        r = vault_login(vc, &e, why, why_size);
        if (r < 0)
                return r;
        if (r == 0) {
                int s = token_cache_store(dirfd, vc->cache_name, &e);
                if (s < 0)
                        log_warning_errno(s, "vault %s: cannot cache the token", vc->cfg->backend);
                /* A login is rare; it is when what the cache no longer needs goes. */
                (void)token_cache_prune(dirfd, (int64_t)time(NULL));
        } else
                (void)token_cache_remove(dirfd, vc->cache_name);
        return vault_take_token(vc, &e, false);
}

int vault_authenticate(struct vault_client *vc, bool relogin, char *why, size_t why_size) {
        _cleanup_close_ int dirfd = -1;
        const struct vault_auth *a = &vc->cfg->auth;
        int r;

        why[0] = '\0';
        if (a->method == VAULT_AUTH_TOKEN) {
                if (relogin)
                        return snprintf(why, why_size, "the token in %s was refused",
                                        a->token_file),
                               -EACCES;
                vc->token = secret_free(vc->token);
                vc->token_from_cache = false;
                return vault_read_credential(a->token_file, &vc->token, why, why_size);
        }
        if (a->method == VAULT_AUTH_KUBERNETES && pod_token_active() && !vc->jwt) {
                r = vault_pod_identity(vc, why, why_size);
                if (r < 0)
                        return r;
        }
        r = token_cache_open(vc->state_dir, &dirfd);
        if (r < 0)
                return snprintf(why, why_size, "token cache in %s/tokens: %s", vc->state_dir,
                                strerror(-r)),
                       r;
        if (!relogin) {
                _cleanup_(token_cache_entry_done) struct token_cache_entry e = {0};
                if (token_cache_load(dirfd, vc->cache_name, &e) >= 0 &&
                    vault_cache_usable(vc, &e, false)) {
                        log_debug("vault %s: token from the cache", vc->cfg->backend);
                        return vault_take_token(vc, &e, true);
                }
        }
        r = vault_login_locked(vc, dirfd, relogin, why, why_size);
        if (r < 0 && !why[0])
                snprintf(why, why_size, "%s", strerror(-r));
        return r;
}
