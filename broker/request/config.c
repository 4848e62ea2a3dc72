/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "fdutil.h"
#include "log.h"
#include "manifest.h"

#define CONFIG_TMPFS_MAX (64ULL * 1024 * 1024)
#define CONFIG_TIMEOUT_MAX 600000
#define CONFIG_NAME_MAX 64

/* DESIGN §3: without a config file, the local store and a role "default" allowing it. It goes
 * through the same parser as a file, so that the defaults cannot drift from what a file
 * would give. */
static const char config_embedded[] = "{\"backends\":{\"store\":{\"type\":\"store\"}},"
                                      "\"roles\":[{\"name\":\"default\",\"allow\":[\"store:*\"]}]}";

/* Where a parse is, for messages: the file and the JSON path of the key. */
struct config_ctx {
        const char *origin;
        uint64_t regex_cost; /* config_regex_cost() of every pattern so far */
};

_printf_(3, 4) static int config_fail(const struct config_ctx *x, const char *jpath,
                                      const char *fmt, ...);

static int config_fail(const struct config_ctx *x, const char *jpath, const char *fmt, ...) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        vsnprintf(msg, sizeof msg, fmt, ap);
#pragma GCC diagnostic pop
        va_end(ap);
        if (jpath)
                log_error("config %s: %s: %s", x->origin, jpath, msg);
        else
                log_error("config %s: %s", x->origin, msg);
        return -EINVAL;
}

static bool config_name_is_valid(const char *s) {
        size_t len = strlen(s);
        if (len == 0 || len > CONFIG_NAME_MAX)
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == len;
}

/* Absolute, no control characters, no ".." component: these paths are opened by root (and
 * defaults.dir is resolved in a container's rootfs), so a path that needs ".." is a mistake. */
static bool config_path_is_valid(const char *p) {
        size_t len = strlen(p);
        if (p[0] != '/' || len >= PATH_MAX)
                return false;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
                        return false;
        for (const char *c = p; (c = strstr(c, "..")); c += 2)
                if (c[-1] == '/' && (c[2] == '/' || c[2] == '\0'))
                        return false;
        return true;
}

/* Every key of obj must be in allowed (NULL-terminated). Only the key's name is printed: an
 * unknown key could be a misplaced token. */
static int config_check_keys(const struct config_ctx *x, const json_t *obj, const char *jpath,
                             const char *const *allowed) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)obj, key, v) {
                bool known = false;
                for (const char *const *a = allowed; *a && !known; a++)
                        known = streq_ptr(*a, key);
                if (!known) {
                        if (jpath)
                                return config_fail(x, NULL, "%s.%s: unknown key", jpath, key);
                        return config_fail(x, key, "unknown key");
                }
        }
        return 0;
}

static int config_get_path(const struct config_ctx *x, const json_t *obj, const char *key,
                           const char *jpath, char **field) {
        json_t *v = json_object_get(obj, key);
        if (!v)
                return 0;
        if (!json_is_string(v) || !config_path_is_valid(json_string_value(v)))
                return config_fail(x, jpath, "must be an absolute path");
        char *copy = strdup(json_string_value(v));
        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

static int config_parse_top(const struct config_ctx *x, const json_t *root,
                            struct broker_config *c) {
        static const char *const keys[] = {"state_dir", "audit_log", "defaults", "fetcher",
                                           "backends",  "roles",     NULL};
        int r = config_check_keys(x, root, NULL, keys);
        if (r < 0)
                return r;
        r = config_get_path(x, root, "state_dir", "state_dir", &c->state_dir);
        if (r < 0)
                return r;
        /* null says "no audit log" explicitly; absent says the same. */
        if (json_is_null(json_object_get(root, "audit_log")))
                return 0;
        return config_get_path(x, root, "audit_log", "audit_log", &c->audit_log);
}

/* "fetcher": {"uid": N, "gid": N}: whom the secret fetcher runs as. Not root (the point of
 * dropping), not -1 (setresuid's "unchanged"), within the kernel's 32 bits. */
static int config_parse_fetcher(const struct config_ctx *x, const json_t *root,
                                struct broker_config *c) {
        static const char *const keys[] = {"uid", "gid", NULL};
        const json_t *f = json_object_get(root, "fetcher");
        if (!f)
                return 0;
        if (!json_is_object(f))
                return config_fail(x, "fetcher", "must be an object");
        int r = config_check_keys(x, f, "fetcher", keys);
        if (r < 0)
                return r;
        for (size_t i = 0; i < 2; i++) {
                const json_t *v = json_object_get(f, keys[i]);
                if (!v)
                        continue;
                if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                    json_integer_value(v) >= UINT32_MAX)
                        return config_fail(x, i ? "fetcher.gid" : "fetcher.uid",
                                           "must be an integer from 1 to 4294967294 (not root)");
                if (i)
                        c->fetch_gid = (gid_t)json_integer_value(v);
                else
                        c->fetch_uid = (uid_t)json_integer_value(v);
        }
        return 0;
}

static int config_parse_tmpfs_size(const struct config_ctx *x, const json_t *v,
                                   struct broker_config *c) {
        uint64_t size;
        if (json_is_integer(v) && json_integer_value(v) >= 0)
                size = (uint64_t)json_integer_value(v);
        else if (!json_is_string(v) || parse_size(json_string_value(v), &size) < 0)
                return config_fail(x, "defaults.tmpfs_size", "invalid size (e.g. \"1M\")");
        /* size=0 would make the tmpfs unlimited, the opposite of what a small number asks. */
        if (size == 0 || size > CONFIG_TMPFS_MAX)
                return config_fail(x, "defaults.tmpfs_size", "must be between 1 and 64M");
        c->tmpfs_size = size;
        return 0;
}

static int config_parse_defaults(const struct config_ctx *x, const json_t *root,
                                 struct broker_config *c) {
        static const char *const keys[] = {"dir", "mode", "tmpfs_size", "timeout_ms", NULL};
        const json_t *d = json_object_get(root, "defaults");
        if (!d)
                return 0;
        if (!json_is_object(d))
                return config_fail(x, "defaults", "must be an object");
        int r = config_check_keys(x, d, "defaults", keys);
        if (r < 0)
                return r;
        r = config_get_path(x, d, "dir", "defaults.dir", &c->default_dir);
        if (r < 0)
                return r;

        json_t *v = json_object_get(d, "mode");
        if (v && (!json_is_string(v) || parse_mode(json_string_value(v), &c->default_mode) < 0))
                return config_fail(x, "defaults.mode",
                                   "invalid file mode (octal string, e.g. "
                                   "\"0400\", permission bits only)");
        v = json_object_get(d, "tmpfs_size");
        if (v && (r = config_parse_tmpfs_size(x, v, c)) < 0)
                return r;
        v = json_object_get(d, "timeout_ms");
        if (v) {
                if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                    json_integer_value(v) > CONFIG_TIMEOUT_MAX)
                        return config_fail(x, "defaults.timeout_ms",
                                           "must be an integer from 1 to %d", CONFIG_TIMEOUT_MAX);
                c->timeout_ms = (unsigned)json_integer_value(v);
        }
        return 0;
}

/* Only the store is parsed here: vault and keywhiz read their own keys from raw. */
static int config_parse_store_backend(const struct config_ctx *x, const json_t *obj,
                                      const char *jpath, struct backend_config *b) {
        static const char *const keys[] = {"type", "dir", "key_file", NULL};
        char sub[256];
        int r = config_check_keys(x, obj, jpath, keys);
        if (r < 0)
                return r;
        b->store_dir = strdup(CONFIG_DEFAULT_STORE_DIR);
        b->store_key_file = strdup(CONFIG_DEFAULT_STORE_KEY);
        if (!b->store_dir || !b->store_key_file)
                return -ENOMEM;
        snprintf(sub, sizeof sub, "%s.dir", jpath);
        r = config_get_path(x, obj, "dir", sub, &b->store_dir);
        if (r < 0)
                return r;
        snprintf(sub, sizeof sub, "%s.key_file", jpath);
        return config_get_path(x, obj, "key_file", sub, &b->store_key_file);
}

static int config_parse_backend(const struct config_ctx *x, const char *name, const json_t *obj,
                                struct backend_config *b) {
        char jpath[128];
        snprintf(jpath, sizeof jpath, "backends.%s", name);
        /* The name is the BACKEND of refs and appears in allow globs (ref.c, same rule). */
        if (!config_name_is_valid(name))
                return config_fail(x, "backends",
                                   "invalid backend name (letters, digits, '_', "
                                   "'-', at most 64)");
        if (!json_is_object(obj))
                return config_fail(x, jpath, "must be an object");
        const char *type = json_get_string(obj, "type");
        if (!type)
                return config_fail(x, jpath, "\"type\" missing (store, vault or keywhiz)");
        if (!streq_ptr(type, "store") && !streq_ptr(type, "vault") && !streq_ptr(type, "keywhiz"))
                return config_fail(x, NULL,
                                   "%s.type: unknown backend type (store, vault or "
                                   "keywhiz)",
                                   jpath);
        b->name = strdup(name);
        b->type = strdup(type);
        b->raw = json_incref((json_t *)obj);
        if (!b->name || !b->type)
                return -ENOMEM;
        if (streq_ptr(type, "store"))
                return config_parse_store_backend(x, obj, jpath, b);
        return 0;
}

static int config_parse_backends(const struct config_ctx *x, const json_t *root,
                                 struct broker_config *c) {
        const json_t *bs = json_object_get(root, "backends");
        if (!bs)
                return 1; /* absent: the caller installs the default store */
        if (!json_is_object(bs))
                return config_fail(x, "backends", "must be an object");
        c->backends = calloc(json_object_size(bs) + 1, sizeof *c->backends);
        if (!c->backends)
                return -ENOMEM;
        const char *name;
        json_t *obj;
        json_object_foreach((json_t *)bs, name, obj) {
                int r = config_parse_backend(x, name, obj, &c->backends[c->n_backends++]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/*
 * glibc's regcomp expands a repetition into copies of its operand ("a+" is "aa*", "a{3,5}" five
 * copies), so nested or stacked repetitions grow exponentially: "a++++...", "((a+)+)+..." or
 * "(a{99}){99}" take gigabytes and minutes in every hook run (found by fuzz_config). Its
 * epsilon closures then cost about the square of that size, more where a star is repeated
 * (a{1,1000}: 10 MB, 5 ms; a{1,4000}: 128 MB, 60 ms; ".*" and ten '+': 64 MB, 320 ms).
 * Estimate the expanded size, counting a star or '?' as a doubling, and refuse a pattern, or a
 * config's patterns together, far beyond what role matches need.
 */
#define CONFIG_REGEX_MAX_LEN 1024
#define CONFIG_REGEX_MAX_COST 1024
#define CONFIG_REGEX_MAX_TOTAL (16 * CONFIG_REGEX_MAX_COST)
#define CONFIG_REGEX_MAX_DEPTH 32

static uint64_t config_cost_mul(uint64_t a, uint64_t b) {
        return b && a > (CONFIG_REGEX_MAX_COST + 1) / b ? CONFIG_REGEX_MAX_COST + 1 : a * b;
}

/* The largest count of a "{m}", "{m,}" or "{m,n}" at p (after the '{'); 0 when it is not one. */
static uint64_t config_regex_bound(const char *p, const char **ret_end) {
        uint64_t m = 0, n = 0;
        bool comma = false, digits = false;
        for (; *p && *p != '}'; p++) {
                if (*p == ',' && !comma)
                        comma = true;
                else if (*p >= '0' && *p <= '9') {
                        uint64_t *v = comma ? &n : &m;
                        *v = *v > CONFIG_REGEX_MAX_COST ? *v : *v * 10 + (uint64_t)(*p - '0');
                        digits = true;
                } else
                        return 0;
        }
        if (*p != '}' || !digits)
                return 0;
        *ret_end = p;
        return (n > m ? n : m) + 1;
}

/* After a '[': the end of the bracket expression ("[]a]", "[^]a]", "[[:alpha:]]"). */
static const char *config_regex_bracket_end(const char *p) {
        if (*p == '^')
                p++;
        if (*p == ']')
                p++;
        for (; *p && *p != ']'; p++)
                if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
                        const char *close = strchr(p + 2, p[1]);
                        if (!close || close[1] != ']')
                                return NULL;
                        p = close + 1;
                }
        return *p ? p : NULL;
}

/* The estimated size of re once glibc expanded it; more than CONFIG_REGEX_MAX_COST means too
 * much (the sum saturates there). A malformed pattern costs little: regcomp then refuses it. */
static uint64_t config_regex_cost(const char *re) {
        uint64_t sum[CONFIG_REGEX_MAX_DEPTH + 1] = {0}, last = 0;
        size_t depth = 0;
        if (strlen(re) > CONFIG_REGEX_MAX_LEN)
                return CONFIG_REGEX_MAX_COST + 1;
        for (const char *p = re; *p; p++) {
                uint64_t mult = 0;
                const char *end = p;
                if (*p == '+' || *p == '*' || *p == '?')
                        mult = 2;
                else if (*p == '{')
                        mult = config_regex_bound(p + 1, &end);
                if (mult) {
                        /* The last atom (or group) is there once already: add the copies. */
                        sum[depth] += config_cost_mul(last, mult - 1);
                        last = config_cost_mul(last, mult);
                        p = end;
                } else if (*p == '(') {
                        if (++depth > CONFIG_REGEX_MAX_DEPTH)
                                return CONFIG_REGEX_MAX_COST + 1;
                        sum[depth] = 0;
                        last = 0;
                } else if (*p == ')' && depth > 0) {
                        last = sum[depth--] + 1;
                        sum[depth] += last;
                } else if (*p != '|') {
                        if (*p == '\\' && p[1])
                                p++;
                        else if (*p == '[' && !(p = config_regex_bracket_end(p + 1)))
                                break;
                        last = 1;
                        sum[depth] += 1;
                }
                if (sum[depth] > CONFIG_REGEX_MAX_COST)
                        return CONFIG_REGEX_MAX_COST + 1;
        }
        /* Unclosed groups: what they hold counts too. */
        uint64_t total = 0;
        for (size_t i = 0; i <= depth; i++)
                total += sum[i];
        return total;
}

static int config_parse_when_map(struct config_ctx *x, const json_t *m, const char *jpath,
                                 bool is_env, struct role *role) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)m, key, v) {
                char sub[512];
                snprintf(sub, sizeof sub, "%s.%s", jpath, key);
                if (!*key || (is_env && strchr(key, '=')))
                        return config_fail(x, jpath, "invalid %s name",
                                           is_env ? "environment variable" : "annotation");
                if (!json_is_string(v))
                        return config_fail(x, sub, "must be a regular expression string");
                uint64_t cost = config_regex_cost(json_string_value(v));
                if (cost > CONFIG_REGEX_MAX_COST)
                        return config_fail(x, sub,
                                           "regular expression too long or too complex "
                                           "(nested or stacked repetitions)");
                x->regex_cost += cost;
                if (x->regex_cost > CONFIG_REGEX_MAX_TOTAL)
                        return config_fail(x, sub,
                                           "the role patterns together are too complex to "
                                           "compile at every hook run");
                struct role_match *rm = &role->when[role->n_when];
                *rm = (struct role_match){.is_env = is_env};
                rm->key = strdup(key);
                rm->pattern = strdup(json_string_value(v));
                if (!rm->key || !rm->pattern) {
                        free(rm->key);
                        free(rm->pattern);
                        return -ENOMEM;
                }
                if (regcomp(&rm->re, rm->pattern, REG_EXTENDED | REG_NOSUB) != 0) {
                        free(rm->key);
                        free(rm->pattern);
                        return config_fail(x, sub, "invalid regular expression");
                }
                role->n_when++; /* only now does config_free own a compiled regex */
        }
        return 0;
}

static int config_parse_when(struct config_ctx *x, const json_t *w, const char *jpath,
                             struct role *role) {
        static const char *const keys[] = {"annotations", "env", NULL};
        static const char *const maps[] = {"annotations", "env"};
        if (!json_is_object(w))
                return config_fail(x, jpath, "must be an object");
        int r = config_check_keys(x, w, jpath, keys);
        if (r < 0)
                return r;
        size_t n = 0;
        for (size_t i = 0; i < ARRAY_SIZE(maps); i++) {
                const json_t *m = json_object_get(w, maps[i]);
                if (m && !json_is_object(m))
                        return config_fail(x, NULL, "%s.%s: must be an object", jpath, maps[i]);
                n += json_object_size(m);
        }
        role->when = calloc(n + 1, sizeof *role->when);
        if (!role->when)
                return -ENOMEM;
        for (size_t i = 0; i < ARRAY_SIZE(maps); i++) {
                const json_t *m = json_object_get(w, maps[i]);
                char sub[256];
                snprintf(sub, sizeof sub, "%s.%s", jpath, maps[i]);
                if (m && (r = config_parse_when_map(x, m, sub, i == 1, role)) < 0)
                        return r;
        }
        return 0;
}

static int config_parse_allow(const struct config_ctx *x, const json_t *a, const char *jpath,
                              struct role *role) {
        if (!json_is_array(a))
                return config_fail(x, jpath, "must be an array of globs");
        role->allow = calloc(json_array_size(a) + 1, sizeof *role->allow);
        if (!role->allow)
                return -ENOMEM;
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v) {
                const char *g = json_string_value(v);
                if (!g || !*g || strlen(g) > 1024 || strpbrk(g, "\t\n\r "))
                        return config_fail(x, NULL, "%s[%zu]: must be a glob over BACKEND:PATH",
                                           jpath, i);
                if (!(role->allow[role->n_allow] = strdup(g)))
                        return -ENOMEM;
                role->n_allow++;
        }
        return 0;
}

static int config_parse_role(struct config_ctx *x, const json_t *obj, const char *jpath,
                             struct role *role) {
        static const char *const keys[] = {"name", "when", "allow", "auth", NULL};
        char sub[128];
        if (!json_is_object(obj))
                return config_fail(x, jpath, "must be an object");
        int r = config_check_keys(x, obj, jpath, keys);
        if (r < 0)
                return r;
        const char *name = json_get_string(obj, "name");
        snprintf(sub, sizeof sub, "%s.name", jpath);
        /* Requests name the role in an annotation: the same rule as a secret name. */
        if (!name || !secret_name_is_valid(name))
                return config_fail(x, sub, "missing or invalid role name");
        if (!(role->name = strdup(name)))
                return -ENOMEM;
        const json_t *allow = json_object_get(obj, "allow");
        snprintf(sub, sizeof sub, "%s.allow", jpath);
        /* Required: a role that allows nothing must say so with []. */
        if (!allow)
                return config_fail(x, sub, "missing");
        if ((r = config_parse_allow(x, allow, sub, role)) < 0)
                return r;
        const json_t *when = json_object_get(obj, "when");
        snprintf(sub, sizeof sub, "%s.when", jpath);
        if (when && (r = config_parse_when(x, when, sub, role)) < 0)
                return r;
        const json_t *auth = json_object_get(obj, "auth");
        snprintf(sub, sizeof sub, "%s.auth", jpath);
        if (auth && !json_is_object(auth))
                return config_fail(x, sub, "must be an object");
        role->auth = auth ? json_incref((json_t *)auth) : NULL;
        return 0;
}

static int config_parse_roles(struct config_ctx *x, const json_t *root, struct broker_config *c) {
        const json_t *roles = json_object_get(root, "roles");
        if (!roles)
                return 0; /* deny by default: no role, nothing allowed */
        if (!json_is_array(roles))
                return config_fail(x, "roles", "must be an array");
        c->roles = calloc(json_array_size(roles) + 1, sizeof *c->roles);
        if (!c->roles)
                return -ENOMEM;
        size_t i;
        json_t *obj;
        json_array_foreach(roles, i, obj) {
                char jpath[64];
                snprintf(jpath, sizeof jpath, "roles[%zu]", i);
                int r = config_parse_role(x, obj, jpath, &c->roles[c->n_roles++]);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < i; j++)
                        if (streq_ptr(c->roles[j].name, c->roles[i].name))
                                return config_fail(x, NULL, "%s.name: duplicate role name '%s'",
                                                   jpath, c->roles[i].name);
        }
        return 0;
}

static int config_new_default(struct broker_config **ret) {
        struct broker_config *c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->state_dir = strdup(CONFIG_DEFAULT_STATE_DIR);
        c->default_dir = strdup(CONFIG_DEFAULT_DIR);
        c->default_mode = 0400;
        c->tmpfs_size = 1024 * 1024;
        c->timeout_ms = 10000;
        c->fetch_uid = CONFIG_DEFAULT_FETCH_ID;
        c->fetch_gid = CONFIG_DEFAULT_FETCH_ID;
        if (!c->state_dir || !c->default_dir) {
                config_free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

/* "backends" absent: the local store at its default paths, as in the embedded default. */
static int config_add_default_store(struct broker_config *c) {
        struct backend_config *b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        c->backends = b;
        c->n_backends = 1;
        b->name = strdup("store");
        b->type = strdup("store");
        b->raw = json_pack("{s:s}", "type", "store");
        b->store_dir = strdup(CONFIG_DEFAULT_STORE_DIR);
        b->store_key_file = strdup(CONFIG_DEFAULT_STORE_KEY);
        if (!b->name || !b->type || !b->raw || !b->store_dir || !b->store_key_file)
                return -ENOMEM;
        return 0;
}

int config_parse(const char *buf, size_t size, const char *origin, struct broker_config **ret) {
        struct config_ctx x = {.origin = origin ? origin : "(embedded default)"};
        _cleanup_config_ struct broker_config *c = NULL;
        _cleanup_json_ json_t *root = NULL;
        char err[128];

        if (json_parse_strict(buf, size, CONFIG_MAX_BYTES, &root, err, sizeof err) < 0)
                return config_fail(&x, NULL, "%s", err);
        if (!json_is_object(root))
                return config_fail(&x, NULL, "not a JSON object");
        int r = config_new_default(&c);
        if (r >= 0 && origin && !(c->path = strdup(origin)))
                r = -ENOMEM;
        if (r >= 0)
                r = config_parse_top(&x, root, c);
        if (r >= 0)
                r = config_parse_defaults(&x, root, c);
        if (r >= 0)
                r = config_parse_fetcher(&x, root, c);
        if (r >= 0)
                r = config_parse_backends(&x, root, c);
        if (r > 0)
                r = config_add_default_store(c);
        if (r >= 0)
                r = config_parse_roles(&x, root, c);
        /* Content errors were logged where they were found; only allocation failures were not. */
        if (r == -ENOMEM)
                return log_error_errno(r, "config %s: cannot parse", x.origin);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

/* Same rules for the path (lstat) and the opened file (fstat): a regular file that only root
 * can change. Anyone who can write the config can grant themselves every secret. */
static const char *config_file_problem(const struct stat *st) {
        if (S_ISLNK(st->st_mode))
                return "is a symbolic link";
        if (!S_ISREG(st->st_mode))
                return "not a regular file";
        if (st->st_uid != 0)
                return "not owned by root";
        if (st->st_mode & (S_IWGRP | S_IWOTH))
                return "writable by group or others";
        return NULL;
}

/* missing_ok: a missing file is -ENOENT, not logged (the default path may be absent). */
static int config_read_file(const char *path, bool missing_ok, char **ret, size_t *ret_size) {
        struct stat st, fst;
        if (lstat(path, &st) < 0) {
                if (errno == ENOENT && missing_ok)
                        return -ENOENT;
                return log_error_errno(errno, "config %s: cannot read", path);
        }
        const char *why = config_file_problem(&st);
        if (why) {
                log_error("config %s: refusing: %s", path, why);
                return -EPERM;
        }
        /* Checked again on the fd: the path may have been swapped between lstat and open.
         * O_NONBLOCK so that a FIFO swapped in cannot make the open hang. */
        _cleanup_close_ int fd =
                open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return log_error_errno(errno, "config %s: cannot open", path);
        if (fstat(fd, &fst) < 0)
                return log_error_errno(errno, "config %s: cannot stat", path);
        why = config_file_problem(&fst);
        if (!why && (fst.st_dev != st.st_dev || fst.st_ino != st.st_ino))
                why = "replaced while being opened";
        if (why) {
                log_error("config %s: refusing: %s", path, why);
                return -EPERM;
        }
        if (fst.st_size > CONFIG_MAX_BYTES) {
                log_error("config %s: larger than %d bytes", path, CONFIG_MAX_BYTES);
                return -EINVAL;
        }
        _cleanup_free_ char *buf = malloc((size_t)fst.st_size + 2);
        if (!buf)
                return log_error_errno(ENOMEM, "config %s: cannot read", path);
        /* One byte more than fstat said, so that a file that grew is noticed. */
        ssize_t n = read_full(fd, buf, (size_t)fst.st_size + 1);
        if (n < 0)
                return log_error_errno((int)n, "config %s: cannot read", path);
        if (n > fst.st_size) {
                log_error("config %s: refusing: changed while being read", path);
                return -EPERM;
        }
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_size = (size_t)n;
        return 0;
}

int config_load(const char *path, const char *state_dir_override, struct broker_config **ret) {
        _cleanup_config_ struct broker_config *c = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        int r;

        /* Only the default path may be absent: a file named on the command line that does
         * not exist is a mistake, not a request for the defaults. */
        const char *p = path ? path : CONFIG_DEFAULT_PATH;
        r = config_read_file(p, !path, &buf, &size);
        if (r == -ENOENT && !path) {
                log_debug("config %s: not found, using the embedded default", p);
                r = config_parse(config_embedded, sizeof config_embedded - 1, NULL, &c);
        } else if (r >= 0) {
                r = config_parse(buf, size, p, &c);
        }
        if (r < 0)
                return r;
        if (state_dir_override) {
                if (!config_path_is_valid(state_dir_override)) {
                        log_error("state directory: must be an absolute path");
                        return -EINVAL;
                }
                free(c->state_dir);
                if (!(c->state_dir = strdup(state_dir_override)))
                        return log_error_errno(ENOMEM, "config: cannot load");
        }
        *ret = TAKE_PTR(c);
        return 0;
}

static void role_done(struct role *r) {
        free(r->name);
        for (size_t i = 0; i < r->n_when; i++) {
                free(r->when[i].key);
                free(r->when[i].pattern);
                regfree(&r->when[i].re);
        }
        free(r->when);
        for (size_t i = 0; i < r->n_allow; i++)
                free(r->allow[i]);
        free(r->allow);
        json_decref(r->auth);
}

struct broker_config *config_free(struct broker_config *c) {
        if (!c)
                return NULL;
        free(c->path);
        free(c->state_dir);
        free(c->audit_log);
        free(c->default_dir);
        for (size_t i = 0; i < c->n_backends; i++) {
                struct backend_config *b = &c->backends[i];
                free(b->name);
                free(b->type);
                json_decref(b->raw);
                free(b->store_dir);
                free(b->store_key_file);
        }
        free(c->backends);
        for (size_t i = 0; i < c->n_roles; i++)
                role_done(&c->roles[i]);
        free(c->roles);
        free(c);
        return NULL;
}

const struct backend_config *config_find_backend(const struct broker_config *c, const char *name) {
        for (size_t i = 0; c && name && i < c->n_backends; i++)
                if (streq_ptr(c->backends[i].name, name))
                        return &c->backends[i];
        return NULL;
}

const struct role *config_find_role(const struct broker_config *c, const char *name) {
        for (size_t i = 0; c && name && i < c->n_roles; i++)
                if (streq_ptr(c->roles[i].name, name))
                        return &c->roles[i];
        return NULL;
}
