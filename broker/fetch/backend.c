/* SPDX-License-Identifier: Apache-2.0 */
#include "backend.h"

#include <string.h>

#include "keywhiz.h"
#include "log.h"
#include "store.h"
#include "vault.h"

/* What store_get_batch said for one secret, in the words of its line. */
static int store_fetch_result(const struct secret_request *sr, int r) {
        if (r == -ENOENT && sr->optional) {
                log_info("secret '%s' (%s): not in the store; optional, skipped", sr->name,
                         sr->ref_text);
                return 0;
        }
        if (r == -ENOENT)
                return log_error_errno(r, "secret '%s' (%s): no such secret in the store", sr->name,
                                       sr->ref_text);
        if (r == -EBADMSG)
                return log_error_errno(r,
                                       "secret '%s' (%s): store file fails authentication "
                                       "(tampered, renamed or another key)",
                                       sr->name, sr->ref_text);
        if (r == -EPERM) /* the key or directory, refused in a line of its own (store.h) */
                return r;
        if (r < 0)
                return log_error_errno(r, "secret '%s' (%s): cannot read the store", sr->name,
                                       sr->ref_text);
        return 0;
}

/* The whole batch with one opening of the store's directory and key, into one arena; reported
 * secret by secret, in order, as far as the first failure. */
static int store_fetch_batch(const struct fetch_batch *batch) {
        struct store st = {.dir = batch->backend->store_dir,
                           .key_file = batch->backend->store_key_file};
        size_t n = batch->n;
        _cleanup_free_ const char **names = calloc(n + 1, sizeof *names);
        _cleanup_free_ struct secret **values = calloc(n + 1, sizeof *values);
        _cleanup_free_ int *errs = calloc(n + 1, sizeof *errs);
        if (!names || !values || !errs)
                return log_error_errno(-ENOMEM, "store %s", st.dir);
        for (size_t i = 0; i < n; i++) {
                const struct secret_request *sr = batch->secrets[i];
                if (sr->ref.field || sr->ref.version)
                        return log_error_errno(
                                -EINVAL, "secret '%s' (%s): the store has no fields or versions",
                                sr->name, sr->ref_text);
                names[i] = sr->ref.path;
        }
        /* A failure of the whole store (no directory, no key) is each secret's: an optional
         * one is skipped, a required one fails, as when each was read on its own. */
        int r = store_get_batch(&st, names, n, values, errs);
        for (size_t i = 0; i < n; i++) {
                if (r < 0)
                        errs[i] = r;
                batch->out[i]->value = values[i]; /* fetched_done frees them on a failure */
        }
        for (size_t i = 0; i < n; i++)
                if ((r = store_fetch_result(batch->secrets[i], errs[i])) < 0)
                        return r;
        return 0;
}

static const struct backend_type {
        const char *type;
        /* Reads only root's files, nothing from the network: fetched before the secret
         * fetcher drops root (privsep.c), since its files are root's alone. */
        bool local;
        int (*fetch_batch)(const struct fetch_batch *batch);
        /* Optional: a type without leases or without a check leaves them NULL. */
        int (*revoke)(const struct broker_config *cfg, const struct backend_config *b,
                      const struct role *role, const struct lease_ref *leases, size_t n);
        int (*check)(const struct broker_config *cfg, const struct backend_config *b);
} backend_types[] = {
        {"store", true, store_fetch_batch, NULL, NULL},
        {"vault", false, vault_fetch_batch, vault_revoke_leases, vault_check},
        {"keywhiz", false, keywhiz_fetch_batch, NULL, keywhiz_check},
};

static const struct backend_type *backend_type_find(const char *type) {
        for (size_t i = 0; i < ARRAY_SIZE(backend_types); i++)
                if (streq_ptr(backend_types[i].type, type))
                        return &backend_types[i];
        return NULL;
}

/* One batch a backend named in the request, in order of first use: of every secret it names,
 * or (hook not NULL) of one hook's only. hooks: an agent's batch (fetched.h), else NULL; a hook
 * that failed already is left out. */
static int fetch_backend(const struct broker_config *cfg, const struct role *role,
                         const struct request *req, const struct backend_config *b,
                         const unsigned *hook, struct fetch_outcome *hooks,
                         struct fetched_secret *out) {
        _cleanup_free_ const struct secret_request **secrets =
                calloc(req->n_secrets, sizeof *secrets);
        _cleanup_free_ struct fetched_secret **outs = calloc(req->n_secrets, sizeof *outs);
        struct fetch_batch batch = {cfg, b, role, NULL, NULL, 0, hooks};

        if (!secrets || !outs)
                return -ENOMEM;
        for (size_t i = 0; i < req->n_secrets; i++)
                if (streq_ptr(req->secrets[i].ref.backend, b->name) &&
                    (!hook || req->secrets[i].hook == *hook) &&
                    (!hooks || !hooks[req->secrets[i].hook].error)) {
                        secrets[batch.n] = &req->secrets[i];
                        outs[batch.n++] = &out[i];
                }
        if (batch.n == 0)
                return 0;
        batch.secrets = secrets;
        batch.out = outs;
        const struct backend_type *t = backend_type_find(b->type);
        if (!t)
                return log_error_errno(-EOPNOTSUPP,
                                       "secret '%s' (%s): backend type '%s' is not available in "
                                       "this build",
                                       secrets[0]->name, secrets[0]->ref_text, b->type);
        return t->fetch_batch(&batch);
}

/* Whether secret i is the first of the request to name its backend. */
static bool backend_first_use(const struct request *req, size_t i) {
        for (size_t j = 0; j < i; j++)
                if (streq_ptr(req->secrets[j].ref.backend, req->secrets[i].ref.backend))
                        return false;
        return true;
}

int backend_fetch_some(const struct broker_config *cfg, const struct role *role,
                       const struct request *req, struct fetched_secret *out,
                       enum backend_where where) {
        for (size_t i = 0; i < req->n_secrets; i++) {
                const struct secret_request *sr = &req->secrets[i];
                const struct backend_config *b = config_find_backend(cfg, sr->ref.backend);
                int r = 0;

                if (!b)
                        r = log_error_errno(-EINVAL,
                                            "secret '%s' (%s): no backend '%s' in the "
                                            "configuration",
                                            sr->name, sr->ref_text, sr->ref.backend);
                else {
                        /* First secret of this backend: fetch the whole batch now. */
                        const struct backend_type *t = backend_type_find(b->type);
                        bool local = t && t->local;
                        if (backend_first_use(req, i) &&
                            (where & (local ? BACKEND_LOCAL : BACKEND_REMOTE)))
                                r = fetch_backend(cfg, role, req, b, NULL, NULL, out);
                }
                if (r < 0) {
                        (void)backend_revoke_fetched(cfg, role, req, out, NULL);
                        fetched_done(out, req->n_secrets);
                        return r;
                }
        }
        for (size_t i = 0; i < req->n_secrets; i++)
                if (out[i].value)
                        (void)secret_seal(out[i].value);
        return 0;
}

/* Whether hook k asks the backend of this name for anything. */
static bool backend_hook_uses(const struct request *req, const char *backend, unsigned k) {
        for (size_t i = 0; i < req->n_secrets; i++)
                if (req->secrets[i].hook == k && streq_ptr(req->secrets[i].ref.backend, backend))
                        return true;
        return false;
}

int backend_fetch_hooks(const struct broker_config *cfg, const struct role *role,
                        const struct request *req, struct fetched_secret *out, unsigned n_hooks,
                        struct fetch_outcome *hooks) {
        for (size_t i = 0; i < req->n_secrets; i++) {
                const struct secret_request *sr = &req->secrets[i];
                const struct backend_config *b = config_find_backend(cfg, sr->ref.backend);
                if (!backend_first_use(req, i))
                        continue;
                log_last_error_clear();
                if (!b || backend_is_local(b)) { /* the agent refuses such a request first */
                        for (size_t j = i; j < req->n_secrets; j++) {
                                const struct secret_request *o = &req->secrets[j];
                                if (!streq_ptr(o->ref.backend, sr->ref.backend) ||
                                    hooks[o->hook].error)
                                        continue;
                                log_error("secret '%s' (%s): no network backend '%s' here", o->name,
                                          o->ref_text, o->ref.backend);
                                fetch_outcome_fail(&hooks[o->hook], -EINVAL);
                        }
                        continue;
                }
                unsigned users = 0, user = 0;
                for (unsigned k = 0; k < n_hooks; k++)
                        if (!hooks[k].error && backend_hook_uses(req, b->name, k))
                                users++, user = k;
                int r = fetch_backend(cfg, role, req, b, NULL, hooks, out);
                if (r >= 0 || users == 0)
                        continue;
                if (users == 1) { /* its line names its own secret */
                        fetch_outcome_fail(&hooks[user], r);
                        continue;
                }
                /* Failed as a whole (its configuration, the client, the login, memory): that is
                 * before any read but for a transport failure, so each hook's secrets of it are
                 * fetched again on their own, and a failure is its hook's alone. */
                for (size_t j = i; j < req->n_secrets; j++)
                        if (streq_ptr(req->secrets[j].ref.backend, b->name))
                                fetched_done(&out[j], 1);
                for (unsigned k = 0; k < n_hooks; k++) {
                        if (hooks[k].error || !backend_hook_uses(req, b->name, k))
                                continue;
                        log_last_error_clear();
                        r = fetch_backend(cfg, role, req, b, &k, hooks, out);
                        if (r < 0)
                                fetch_outcome_fail(&hooks[k], r);
                }
        }
        for (size_t i = 0; i < req->n_secrets; i++)
                if (out[i].value)
                        (void)secret_seal(out[i].value);
        return 0;
}

int backend_fetch_all(const struct broker_config *cfg, const struct role *role,
                      const struct request *req, struct fetched_secret *out) {
        return backend_fetch_some(cfg, role, req, out, BACKEND_LOCAL | BACKEND_REMOTE);
}

/* The backend name of a recorded ref ("vault:secret/x" -> "vault"), into buf. */
static const char *ref_backend_name(const char *ref, char *buf, size_t size) {
        const char *colon = ref ? strchr(ref, ':') : NULL;
        if (!colon || (size_t)(colon - ref) >= size)
                return NULL;
        memcpy(buf, ref, (size_t)(colon - ref));
        buf[colon - ref] = '\0';
        return buf;
}

/* The leases of one backend, revoked together (one login, one connection). */
static int revoke_backend(const struct broker_config *cfg, const struct role *role,
                          const json_t *secrets, const char *backend, size_t first) {
        size_t i, n = 0;
        json_t *s;
        char name[80];
        _cleanup_free_ struct lease_ref *leases = calloc(json_array_size(secrets), sizeof *leases);
        if (!leases)
                return -ENOMEM;
        json_array_foreach(secrets, i, s) {
                const char *lease = json_get_string(s, "lease_id");
                const char *ref = json_get_string(s, "ref");
                bool seen = false;
                /* Two fields of one dynamic secret share its lease: revoke it once. */
                for (size_t k = 0; k < n && !seen; k++)
                        seen = streq_ptr(leases[k].lease_id, lease);
                if (i >= first && lease && !seen &&
                    streq_ptr(ref_backend_name(ref, name, sizeof name), backend))
                        leases[n++] = (struct lease_ref){lease, ref, json_get_string(s, "name")};
        }
        const struct backend_config *b = config_find_backend(cfg, backend);
        const struct backend_type *t = b ? backend_type_find(b->type) : NULL;
        if (!t || !t->revoke)
                return log_error_errno(-EOPNOTSUPP, "lease %s (%s): no backend '%s' to revoke it",
                                       leases[0].lease_id, leases[0].ref, backend);
        return t->revoke(cfg, b, role, leases, n);
}

int backend_revoke_here(const struct broker_config *cfg, const char *role_name,
                        const json_t *secrets) {
        const struct role *role = role_name ? config_find_role(cfg, role_name) : NULL;
        size_t i;
        json_t *s;
        int ret = 0;

        json_array_foreach(secrets, i, s) {
                char name[80];
                const char *lease = json_get_string(s, "lease_id");
                const char *backend =
                        ref_backend_name(json_get_string(s, "ref"), name, sizeof name);
                if (!lease)
                        continue;
                if (!backend) {
                        ret = ret ?: log_error_errno(-EINVAL, "lease %s: no ref recorded", lease);
                        continue;
                }
                /* First lease of this backend: revoke all of its leases now. */
                bool first = true;
                for (size_t j = 0; j < i && first; j++) {
                        char other[80];
                        const json_t *o = json_array_get(secrets, j);
                        first = !json_get_string(o, "lease_id") ||
                                !streq_ptr(ref_backend_name(json_get_string(o, "ref"), other,
                                                            sizeof other),
                                           backend);
                }
                if (first) {
                        int r = revoke_backend(cfg, role, secrets, backend, i);
                        ret = ret ?: r;
                }
        }
        return ret;
}

int backend_revoke_fetched(const struct broker_config *cfg, const struct role *role,
                           const struct request *req, const struct fetched_secret *out,
                           const unsigned *hook) {
        _cleanup_json_ json_t *leases = fetched_leases(req, out, hook);
        if (!leases)
                return log_error_errno(-ENOMEM, "cannot revoke the leases of a failed fetch");
        if (json_array_size(leases) == 0)
                return 0;
        log_info("%zu lease(s) taken for secrets that will not be placed: revoking them",
                 json_array_size(leases));
        return backend_revoke_here(cfg, role ? role->name : NULL, leases);
}

bool backend_is_local(const struct backend_config *b) {
        const struct backend_type *t = backend_type_find(b->type);
        return t && t->local;
}

bool backend_can_check(const struct backend_config *b) {
        const struct backend_type *t = backend_type_find(b->type);
        return t && t->check;
}

int backend_check_here(const struct broker_config *cfg, const struct backend_config *b) {
        const struct backend_type *t = backend_type_find(b->type);
        if (!t || !t->check)
                return log_error_errno(-EOPNOTSUPP, "backend %s (%s): not available in this build",
                                       b->name, b->type);
        return t->check(cfg, b);
}
