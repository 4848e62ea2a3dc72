/* SPDX-License-Identifier: Apache-2.0 */
/* `lockbox-broker check` for a vault backend: log in as the backend (and as each role that
 * overrides its auth), then look up the type of every mount the roles' allow-lists reach. No
 * value is read. */
#include <string.h>

#include "log.h"
#include "vault.h"
#include "vault_auth.h"
#include "vault_kv.h"

#define VAULT_CHECK_LINE 1024

/* The fixed part of an allow glob of this backend: "vault:secret/web/STAR" -> "secret/web/";
 * "" for a glob that reaches every mount. NULL for another backend's glob. */
static char *vault_check_prefix(const char *glob, const char *backend) {
        size_t n = strlen(backend);
        if (strncmp(glob, backend, n) != 0 || glob[n] != ':')
                return NULL;
        const char *path = glob + n + 1;
        size_t fixed = strcspn(path, "*?[");
        if (path[fixed]) {
                /* Up to the last '/' before the first wildcard: a whole component. */
                while (fixed > 0 && path[fixed - 1] != '/')
                        fixed--;
        }
        return strndup(path, fixed);
}

static bool vault_check_role_overrides(const struct role *role, const char *backend) {
        return role->auth && json_object_get(role->auth, backend);
}

/* Every distinct prefix of the roles that log in as `as` (NULL: the roles that use the
 * backend's own auth), NULL-terminated. */
static char **vault_check_prefixes(const struct broker_config *cfg, const char *backend,
                                   const struct role *as) {
        size_t cap = 1, n = 0;
        for (size_t i = 0; i < cfg->n_roles; i++)
                cap += cfg->roles[i].n_allow;
        char **out = calloc(cap, sizeof *out);
        for (size_t i = 0; out && i < cfg->n_roles; i++) {
                const struct role *role = &cfg->roles[i];
                if (as ? role != as : vault_check_role_overrides(role, backend))
                        continue;
                for (size_t j = 0; j < role->n_allow; j++) {
                        char *p = vault_check_prefix(role->allow[j], backend);
                        if (!p)
                                continue; /* another backend's glob */
                        bool seen = false;
                        for (size_t k = 0; k < n && !seen; k++)
                                seen = strcmp(out[k], p) == 0;
                        if (seen)
                                free(p);
                        else
                                out[n++] = p;
                }
        }
        return out;
}

/* Append (sep and) text to line, cut at size: a line too long for the terminal is cut, not
 * refused. */
static void vault_check_append(char *line, size_t size, const char *sep, const char *text) {
        size_t len = strlen(line);
        const char *parts[2] = {len ? sep : "", text};
        for (size_t i = 0; i < 2; i++) {
                size_t n = strlen(parts[i]);
                if (n > size - 1 - len)
                        n = size - 1 - len;
                memcpy(line + len, parts[i], n);
                len += n;
        }
        line[len] = '\0';
}

/* One mount lookup's outcome into the ok list or the problems. */
static void vault_check_mount(const char *prefix, const struct http_request *r, char *ok,
                              char *bad) {
        char text[VAULT_CHECK_LINE / 2];
        if (r->error || r->status != 200) {
                char why[160];
                (void)vault_request_error(r, why, sizeof why);
                snprintf(text, sizeof text, "%s: %s", *prefix ? prefix : "(all mounts)", why);
                vault_check_append(bad, VAULT_CHECK_LINE, "; ", text);
                return;
        }
        if (!*prefix) {
                _cleanup_free_ char *list = NULL;
                if (vault_parse_mount_list(r->response.data, r->response.size, &list) < 0)
                        vault_check_append(bad, VAULT_CHECK_LINE, "; ",
                                           "(all mounts): malformed response");
                else
                        vault_check_append(ok, VAULT_CHECK_LINE, ", ", list);
                return;
        }
        struct vault_mount m = {0};
        if (vault_parse_mount(r->response.data, r->response.size, &m) < 0)
                snprintf(text, sizeof text, "%s: malformed response", prefix);
        else if (streq_ptr(m.type, "kv") || streq_ptr(m.type, "generic"))
                snprintf(text, sizeof text, "%s (kv v%d)", m.path, m.kv_version);
        else
                snprintf(text, sizeof text, "%s (%s)", m.path, m.type);
        /* Several prefixes in one mount: name it once. */
        if (!m.path || !strstr(ok, text))
                vault_check_append(m.path ? ok : bad, VAULT_CHECK_LINE, m.path ? ", " : "; ", text);
        vault_mount_done(&m);
}

static int vault_check_mounts(struct vault_client *vc, char **prefixes, char *ok, char *bad) {
        size_t n = 0;
        while (prefixes[n])
                n++;
        struct http_request *reqs = calloc(n + 1, sizeof *reqs);
        _cleanup_free_ struct http_request **ptrs = calloc(n + 1, sizeof *ptrs);
        int r = reqs && ptrs ? 0 : -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *escaped = NULL, *api = NULL;
                r = vault_escape_path(prefixes[i], &escaped);
                if (r >= 0 &&
                    asprintf(&api, "sys/internal/ui/mounts%s%s", *escaped ? "/" : "", escaped) < 0)
                        r = -ENOMEM, api = NULL;
                if (r >= 0)
                        r = vault_request(vc, &reqs[i], "GET", api, true);
                ptrs[i] = &reqs[i];
        }
        if (r >= 0)
                r = http_perform(vc->http, ptrs, n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                vault_check_mount(prefixes[i], &reqs[i], ok, bad);
        for (size_t i = 0; reqs && i < n; i++)
                http_request_done(&reqs[i]);
        free(reqs);
        return r;
}

static void vault_check_free_prefixes(char **p) {
        for (size_t i = 0; p && p[i]; i++)
                free(p[i]);
        free(p);
}

/* Log in as the backend (role NULL) or as a role with its own auth, then look up the mounts
 * that this identity's roles allow. One part of the line into ok or bad. */
static void vault_check_as(const struct broker_config *bcfg, const struct backend_config *b,
                           const struct role *role, char *ok, char *bad) {
        _cleanup_(vault_config_done) struct vault_config cfg = {0};
        _cleanup_(vault_client_done) struct vault_client vc = {0};
        char who[96], msg[160], text[2 * VAULT_CHECK_LINE], mounts[VAULT_CHECK_LINE] = "";
        char problems[VAULT_CHECK_LINE] = "";
        const char *why = NULL;

        snprintf(who, sizeof who, "%s%s", role ? "role " : "", role ? role->name : "");
        if (vault_config_parse(bcfg, b, role, &cfg) < 0) {
                snprintf(text, sizeof text, "%s%sinvalid configuration", who, *who ? ": " : "");
                vault_check_append(bad, VAULT_CHECK_LINE, "; ", text);
                return;
        }
        if (cfg.auth.method == VAULT_AUTH_KUBERNETES && !cfg.auth.jwt_file) {
                /* Nothing of the node's to log in with: each pod presents its own token. */
                snprintf(text, sizeof text, "%s%skubernetes: pods' own tokens only (no jwt_file)",
                         who, *who ? ": " : "");
                vault_check_append(ok, VAULT_CHECK_LINE, "; ", text);
                return;
        }
        int r = vault_client_init(&vc, &cfg, bcfg->state_dir, http_now_ms() + cfg.timeout_ms, &why);
        if (r >= 0 && (r = vault_authenticate(&vc, false, msg, sizeof msg)) < 0)
                why = msg;
        if (r < 0) {
                snprintf(text, sizeof text, "%s%slogin (%s): %s", who, *who ? ": " : "",
                         vault_auth_method_name(cfg.auth.method), why ? why : "failed");
                vault_check_append(bad, VAULT_CHECK_LINE, "; ", text);
                return;
        }
        char **prefixes = vault_check_prefixes(bcfg, b->name, role);
        r = prefixes ? vault_check_mounts(&vc, prefixes, mounts, problems) : -ENOMEM;
        vault_check_free_prefixes(prefixes);
        if (r < 0)
                snprintf(problems, sizeof problems, "mount lookup failed");
        snprintf(text, sizeof text, "%s%s%s login%s, mounts: %s", who, *who ? ": " : "",
                 vault_auth_method_name(cfg.auth.method),
                 vc.token_from_cache ? " (cached token)" : "", *mounts ? mounts : "(none)");
        vault_check_append(ok, VAULT_CHECK_LINE, "; ", text);
        if (*problems) {
                snprintf(text, sizeof text, "%s%s%s", who, *who ? ": " : "", problems);
                vault_check_append(bad, VAULT_CHECK_LINE, "; ", text);
        }
}

int vault_check(const struct broker_config *bcfg, const struct backend_config *b) {
        _cleanup_(vault_config_done) struct vault_config cfg = {0};
        char ok[VAULT_CHECK_LINE] = "", bad[VAULT_CHECK_LINE] = "";

        int r = vault_config_parse(bcfg, b, NULL, &cfg);
        if (r < 0)
                return r;
        vault_check_as(bcfg, b, NULL, ok, bad);
        for (size_t i = 0; i < bcfg->n_roles; i++)
                if (vault_check_role_overrides(&bcfg->roles[i], b->name))
                        vault_check_as(bcfg, b, &bcfg->roles[i], ok, bad);
        if (*bad)
                return vault_fail(-EACCES, "backend %s (vault %s): %s", b->name, cfg.address, bad);
        printf("backend %s (vault %s): ok, %s\n", b->name, cfg.address, ok);
        return 0;
}
