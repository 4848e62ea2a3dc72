/* SPDX-License-Identifier: Apache-2.0 */
#include "request.h"

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "fdutil.h"
#include "log.h"
#include "oci.h"
#include "manifest.h"
#include "pod.h"

/* Content errors are logged here, where the key is known, and returned as -EINVAL; the caller
 * only decides the exit status. */
#define log_invalid(...) (log_error(__VA_ARGS__), -EINVAL)

enum req_kind {
        REQ_SECRET,
        REQ_MODE,
        REQ_OPTIONAL,
        REQ_DIR,
        REQ_UID,
        REQ_GID,
        REQ_ROLE,
        REQ_SIGNAL,
        REQ_CONTAINERS,
        REQ_IGNORE,
};

struct req_key {
        const char *word; /* after "io.lockbox." or "LOCKBOX_" */
        bool per_secret; /* word is followed by NAME */
        enum req_kind kind;
};

static const struct req_key annotation_keys[] = {
        {"secret.", true, REQ_SECRET},
        {"mode.", true, REQ_MODE},
        {"optional.", true, REQ_OPTIONAL},
        {"dir", false, REQ_DIR},
        {"uid", false, REQ_UID},
        {"gid", false, REQ_GID},
        {"role", false, REQ_ROLE},
        {"rotate-signal", false, REQ_SIGNAL},
        /* A pod's annotation: env is per container already, so it has no LOCKBOX_ form. */
        {"containers", false, REQ_CONTAINERS},
};

static const struct req_key env_keys[] = {
        {"SECRET_", true, REQ_SECRET},
        {"MODE_", true, REQ_MODE},
        {"OPTIONAL_", true, REQ_OPTIONAL},
        {"DIR", false, REQ_DIR},
        {"UID", false, REQ_UID},
        {"GID", false, REQ_GID},
        {"ROLE", false, REQ_ROLE},
        {"ROTATE_SIGNAL", false, REQ_SIGNAL},
        /* Set by the shim for the application (DESIGN §7); a container started again from
         * a committed image may carry it. Not a request. */
        {"FDS", false, REQ_IGNORE},
        /* The shim's own options (lockbox-shim --help), given with docker run -e. */
        {"SHIM_", true, REQ_IGNORE},
};

#define ANNOTATION_PREFIX "io.lockbox."
#define ENV_PREFIX "LOCKBOX_"
/* Every valid key is one of these per secret, or one of the few global ones. */
#define REQ_ITEMS_MAX (3 * MANIFEST_MAX_SECRETS + ARRAY_SIZE(annotation_keys))

/* One key of the request, from either source, parsed and validated. */
struct req_item {
        enum req_kind kind;
        char *name; /* REQ_SECRET, REQ_MODE, REQ_OPTIONAL */
        char *text; /* secret: the ref as written; dir: normalised; role */
        struct ref ref; /* REQ_SECRET */
        uint32_t num; /* mode, optional, uid, gid, signal */
        char *origin; /* "annotation io.lockbox.mode.db", for messages */
};

struct req_builder {
        struct req_item *items;
        size_t n_items, n_alloc, n_secrets;
};

static void req_item_done(struct req_item *it) {
        free(it->name);
        free(it->text);
        ref_done(&it->ref);
        free(it->origin);
        *it = (struct req_item){0};
}

static void req_builder_done(struct req_builder *b) {
        for (size_t i = 0; i < b->n_items; i++)
                req_item_done(&b->items[i]);
        free(b->items);
}

/* NULL when dir is acceptable, else why not. The tmpfs is mounted there, so "/" would hide the
 * whole rootfs; "." and ".." are refused rather than cleaned because a request that needs them
 * is not one an operator meant (and mkdir_in_root refuses ".." too). */
static const char *dir_problem(const char *dir) {
        if (dir[0] != '/')
                return "absolute path expected";
        if (strlen(dir) >= PATH_MAX)
                return "path too long";
        if (oci_has_control(dir))
                return "control character in path";
        for (const char *p = dir; *p;) {
                while (*p == '/')
                        p++;
                size_t len = strcspn(p, "/");
                if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
                        return "'.' or '..' component in path";
                if (len > NAME_MAX)
                        return "path component too long";
                p += len;
        }
        if (dir[strspn(dir, "/")] == '\0')
                return "the container's root directory cannot be a target";
        return NULL;
}

/* "/run//secrets/" and "/run/secrets" are the same directory: keep one spelling, so that a
 * comparison between annotation and env, state files and messages all agree. */
static char *dir_normalise(const char *dir) {
        char *out = malloc(strlen(dir) + 1);
        if (!out)
                return NULL;
        size_t n = 0;
        for (const char *p = dir; *p; p++)
                if (!(*p == '/' && (p[1] == '/' || p[1] == '\0')))
                        out[n++] = *p;
        out[n] = '\0';
        return out;
}

#define REQ_CONTAINERS_MAX 64

/* io.lockbox.containers: container names (DNS labels) separated by commas. */
static const char *containers_problem(const char *list) {
        size_t n = 0;
        for (const char *p = list;; p++) {
                size_t len = strcspn(p, ",");
                char name[64];
                if (len == 0 || len >= sizeof name)
                        return "a container name is empty or too long";
                memcpy(name, p, len);
                name[len] = '\0';
                if (!pod_name_is_label(name))
                        return "not a container name (lower-case letters, digits, '-')";
                if (++n > REQ_CONTAINERS_MAX)
                        return "too many container names";
                p += len;
                if (*p == '\0')
                        return NULL;
        }
}

/* Parse value for kind into it; on failure return the reason (never quoting the value). */
static const char *req_parse_value(enum req_kind kind, const char *value, struct req_item *it) {
        mode_t mode;
        int sig, r;
        const char *why;

        switch (kind) {
        case REQ_SECRET:
                /* Out of memory leaves text NULL, which the caller reports as such. */
                if ((r = ref_parse(value, &it->ref)) == -ENOMEM)
                        return NULL;
                if (r < 0)
                        return "invalid reference (BACKEND:LOCATOR expected)";
                it->text = strdup(value);
                return NULL;
        case REQ_MODE:
                if (parse_mode(value, &mode) < 0)
                        return "invalid mode (octal permission bits expected)";
                it->num = mode;
                return NULL;
        case REQ_OPTIONAL:
                if (!streq_ptr(value, "true") && !streq_ptr(value, "false"))
                        return "invalid value (true or false expected)";
                it->num = streq_ptr(value, "true");
                return NULL;
        case REQ_DIR:
                if ((why = dir_problem(value)))
                        return why;
                it->text = dir_normalise(value);
                return NULL;
        case REQ_UID:
        case REQ_GID:
                if (parse_uid(value, &it->num) < 0)
                        return "invalid id (a number from 0 to 4294967294 expected)";
                return NULL;
        case REQ_ROLE:
                if (!secret_name_is_valid(value))
                        return "invalid role name";
                it->text = strdup(value);
                return NULL;
        case REQ_SIGNAL:
                /* The shim must catch it to re-read its secrets: KILL and STOP cannot be. */
                if (parse_signal(value, &sig) < 0 || sig == SIGKILL || sig == SIGSTOP)
                        return "invalid signal (a catchable signal name or number expected)";
                it->num = (uint32_t)sig;
                return NULL;
        case REQ_CONTAINERS:
                if ((why = containers_problem(value)))
                        return why;
                it->text = strdup(value);
                return NULL;
        case REQ_IGNORE:
                break;
        }
        return NULL;
}

static struct req_item *req_find(struct req_builder *b, enum req_kind kind, const char *name) {
        for (size_t i = 0; i < b->n_items; i++)
                if (b->items[i].kind == kind && streq_ptr(b->items[i].name, name))
                        return &b->items[i];
        return NULL;
}

static bool req_item_same(const struct req_item *a, const struct req_item *b) {
        if (a->text || b->text)
                return streq_ptr(a->text, b->text);
        return a->num == b->num;
}

/* Add a parsed item: the same key from the other source (or twice in env) must agree. */
static int req_add(struct req_builder *b, struct req_item *it) {
        struct req_item *old = req_find(b, it->kind, it->name);
        if (old) {
                if (!req_item_same(old, it))
                        return log_invalid("request: %s and %s differ", old->origin, it->origin);
                req_item_done(it);
                return 0;
        }
        if (it->kind == REQ_SECRET && b->n_secrets >= MANIFEST_MAX_SECRETS)
                return log_invalid("request: %s: more than %d secrets requested", it->origin,
                                   MANIFEST_MAX_SECRETS);
        if (b->n_items >= REQ_ITEMS_MAX)
                return log_invalid("request: %s: too many lockbox keys", it->origin);
        if (b->n_items == b->n_alloc) {
                /* Items hold names and refs, never values: realloc is fine here. */
                size_t n = b->n_alloc ? 2 * b->n_alloc : 16;
                struct req_item *items = reallocarray(b->items, n, sizeof *items);
                if (!items)
                        return -ENOMEM;
                b->items = items;
                b->n_alloc = n;
        }
        b->items[b->n_items++] = *it;
        if (it->kind == REQ_SECRET)
                b->n_secrets++;
        *it = (struct req_item){0};
        return 0;
}

static const struct req_key *req_match(const struct req_key *keys, size_t n, const char *word,
                                       size_t len, const char **ret_name, size_t *ret_name_len) {
        for (size_t i = 0; i < n; i++) {
                size_t wl = strlen(keys[i].word);
                if (keys[i].per_secret ? len < wl : len != wl)
                        continue;
                if (memcmp(word, keys[i].word, wl) != 0)
                        continue;
                *ret_name = word + wl;
                *ret_name_len = len - wl;
                return &keys[i];
        }
        return NULL;
}

/*
 * One key=value from a source. key is the whole key (len bytes; env keys are not
 * NUL-terminated) and begins with the source's prefix. Every io.lockbox.* or LOCKBOX_* key
 * must be known: a typo (io.lockbox.secrets.db) must not quietly deliver nothing.
 */
static int req_key_value(struct req_builder *b, bool env, const char *key, size_t len,
                         const char *value) {
        const char *prefix = env ? ENV_PREFIX : ANNOTATION_PREFIX;
        size_t plen = strlen(prefix), name_len = 0;
        const char *name = NULL, *why;
        _cleanup_(req_item_done) struct req_item it = {0};

        if (asprintf(&it.origin, "%s %.*s", env ? "env" : "annotation",
                     (int)(len > 200 ? 200 : len), key) < 0) {
                it.origin = NULL;
                return -ENOMEM;
        }
        const struct req_key *k = env ? req_match(env_keys, ARRAY_SIZE(env_keys), key + plen,
                                                  len - plen, &name, &name_len)
                                      : req_match(annotation_keys, ARRAY_SIZE(annotation_keys),
                                                  key + plen, len - plen, &name, &name_len);
        if (!k)
                return log_invalid("request: %s: unknown key", it.origin);
        if (k->kind == REQ_IGNORE)
                return 0;
        it.kind = k->kind;
        if (k->per_secret) {
                it.name = strndup(name, name_len);
                if (!it.name)
                        return -ENOMEM;
                if (!secret_name_is_valid(it.name))
                        return log_invalid("request: %s: invalid secret name", it.origin);
        }
        if (!value)
                return log_invalid("request: %s: not a string", it.origin);
        if ((why = req_parse_value(k->kind, value, &it)))
                return log_invalid("request: %s: %s", it.origin, why);
        if ((k->kind == REQ_SECRET || k->kind == REQ_DIR || k->kind == REQ_ROLE ||
             k->kind == REQ_CONTAINERS) &&
            !it.text)
                return -ENOMEM;
        return req_add(b, &it);
}

static int req_collect(struct req_builder *b, const json_t *annotations, char *const *env,
                       size_t n_env) {
        const char *key;
        json_t *v;
        int r;

        if (annotations && !json_is_object(annotations))
                return log_invalid("request: annotations: not an object");
        json_object_foreach((json_t *)annotations, key, v) {
                if (strncmp(key, ANNOTATION_PREFIX, strlen(ANNOTATION_PREFIX)) != 0)
                        continue;
                r = req_key_value(b, false, key, strlen(key), json_string_value(v));
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; env && i < n_env; i++) {
                const char *eq = env[i] ? strchr(env[i], '=') : NULL;
                if (!eq || strncmp(env[i], ENV_PREFIX, strlen(ENV_PREFIX)) != 0)
                        continue;
                r = req_key_value(b, true, env[i], (size_t)(eq - env[i]), eq + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int secret_request_cmp(const void *a, const void *b) {
        return strcmp(((const struct secret_request *)a)->name,
                      ((const struct secret_request *)b)->name);
}

/* Move every secret into r, sorted by name, then apply modes and optional flags. */
static int req_secrets(struct req_builder *b, mode_t default_mode, struct request *r) {
        r->secrets = calloc(b->n_secrets ? b->n_secrets : 1, sizeof *r->secrets);
        if (!r->secrets)
                return -ENOMEM;
        for (size_t i = 0; i < b->n_items; i++) {
                struct req_item *it = &b->items[i];
                if (it->kind != REQ_SECRET)
                        continue;
                r->secrets[r->n_secrets++] = (struct secret_request){
                        .name = TAKE_PTR(it->name),
                        .ref_text = TAKE_PTR(it->text),
                        .ref = it->ref,
                        .mode = default_mode,
                };
                it->ref = (struct ref){0};
        }
        qsort(r->secrets, r->n_secrets, sizeof *r->secrets, secret_request_cmp);

        for (size_t i = 0; i < b->n_items; i++) {
                struct req_item *it = &b->items[i];
                if (it->kind != REQ_MODE && it->kind != REQ_OPTIONAL)
                        continue;
                struct secret_request key = {.name = it->name};
                struct secret_request *s = bsearch(&key, r->secrets, r->n_secrets,
                                                   sizeof *r->secrets, secret_request_cmp);
                if (!s)
                        return log_invalid("request: %s: no secret '%s' is requested", it->origin,
                                           it->name);
                if (it->kind == REQ_MODE) {
                        s->mode = (mode_t)it->num;
                        s->mode_set = true;
                } else
                        s->optional = it->num != 0;
        }
        return 0;
}

/* The checked list, split (containers_problem() accepted it). */
static int req_containers(const char *list, struct request *r) {
        r->containers = calloc(REQ_CONTAINERS_MAX + 1, sizeof *r->containers);
        if (!r->containers)
                return -ENOMEM;
        for (const char *p = list; *p;) {
                size_t len = strcspn(p, ",");
                if (!(r->containers[r->n_containers++] = strndup(p, len)))
                        return -ENOMEM;
                p += len + (p[len] == ',');
        }
        return 0;
}

static int req_globals(struct req_builder *b, const struct broker_config *cfg, struct request *r) {
        const struct req_item *it;

        it = req_find(b, REQ_DIR, NULL);
        r->dir = strdup(it                        ? it->text
                        : cfg && cfg->default_dir ? cfg->default_dir
                                                  : CONFIG_DEFAULT_DIR);
        it = req_find(b, REQ_ROLE, NULL);
        r->role = strdup(it ? it->text : "default");
        if (!r->dir || !r->role)
                return -ENOMEM;
        if ((it = req_find(b, REQ_UID, NULL))) {
                r->uid_set = true;
                r->uid = it->num;
        }
        if ((it = req_find(b, REQ_GID, NULL))) {
                r->gid_set = true;
                r->gid = it->num;
        }
        it = req_find(b, REQ_SIGNAL, NULL);
        r->rotate_signal = it ? (int)it->num : SIGUSR1;
        it = req_find(b, REQ_CONTAINERS, NULL);
        return it ? req_containers(it->text, r) : 0;
}

/* A ref whose BACKEND the configuration does not have is a mistake in the request (a typo,
 * "stor:db"), not a denial: exit 2, naming the backends there are. */
static int req_backends(const struct broker_config *cfg, const struct request *r) {
        for (size_t i = 0; cfg && i < r->n_secrets; i++) {
                const struct secret_request *sr = &r->secrets[i];
                if (config_find_backend(cfg, sr->ref.backend))
                        continue;
                char names[512] = "";
                size_t len = 0;
                for (size_t k = 0; k < cfg->n_backends && len < sizeof names; k++)
                        len += (size_t)snprintf(names + len, sizeof names - len, "%s%s",
                                                k ? ", " : "", cfg->backends[k].name);
                return log_invalid("secret '%s' (%s): unknown backend '%s' (configured: %s)",
                                   sr->name, sr->ref_text, sr->ref.backend,
                                   cfg->n_backends ? names : "none");
        }
        return 0;
}

int request_build(const json_t *annotations, char *const *env, size_t n_env,
                  const struct broker_config *cfg, struct request *ret) {
        _cleanup_(req_builder_done) struct req_builder b = {0};
        _cleanup_(request_done) struct request r = {0};

        *ret = (struct request){0};
        int k = req_collect(&b, annotations, env, n_env);
        if (k >= 0)
                k = req_secrets(&b, cfg ? cfg->default_mode : 0400, &r);
        if (k >= 0)
                k = req_globals(&b, cfg, &r);
        if (k >= 0)
                k = req_backends(cfg, &r);
        if (k < 0)
                return k;

        *ret = r;
        r = (struct request){0};
        return 0;
}

void request_done(struct request *r) {
        for (size_t i = 0; i < r->n_secrets; i++) {
                free(r->secrets[i].name);
                free(r->secrets[i].ref_text);
                ref_done(&r->secrets[i].ref);
        }
        free(r->secrets);
        free(r->dir);
        free(r->role);
        for (size_t i = 0; i < r->n_containers; i++)
                free(r->containers[i]);
        free(r->containers);
        *r = (struct request){0};
}
