/* SPDX-License-Identifier: Apache-2.0 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "config_roles.h"

#include "config_parse.h"
#include "log.h"
#include "manifest.h"

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

/* NULL when key may be matched as kind, else why not. */
static const char *config_when_key_problem(enum role_match_kind kind, const char *key) {
        switch (kind) {
        case ROLE_MATCH_ENV:
                return !*key || strchr(key, '=') ? "invalid environment variable name" : NULL;
        case ROLE_MATCH_ANNOTATION:
                if (!*key)
                        return "invalid annotation name";
                /* containerd passes a pod's own annotations through (pod_annotations, "*" at
                 * worst) and CRI-O copies all of them: a pod can write io.kubernetes.* keys that
                 * look like its runtime's. Only when.kubernetes knows whose keys to trust. */
                if (strncmp(key, "io.kubernetes.", 14) == 0)
                        return "io.kubernetes.* annotations can be set by the pod itself under "
                               "some runtimes; bind the role with \"when\": {\"kubernetes\": "
                               "{\"namespace\": ...}} instead";
                return NULL;
        case ROLE_MATCH_POD:
                if (streq_ptr(key, ROLE_POD_NAMESPACE) || streq_ptr(key, ROLE_POD_NAME) ||
                    streq_ptr(key, ROLE_POD_CONTAINER))
                        return NULL;
                return "unknown key (namespace, pod or container)";
        }
        return "unknown";
}

static int config_parse_when_map(struct config_ctx *x, const json_t *m, const char *jpath,
                                 enum role_match_kind kind, struct role *role) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)m, key, v) {
                char sub[512];
                snprintf(sub, sizeof sub, "%s.%s", jpath, key);
                const char *why = config_when_key_problem(kind, key);
                if (why)
                        return config_fail(x, kind == ROLE_MATCH_POD ? sub : jpath, "%s", why);
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
                *rm = (struct role_match){.kind = kind};
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

static int config_parse_when(struct config_ctx *x, const json_t *w, const char *jpath, bool pods,
                             struct role *role) {
        static const char *const keys[] = {"annotations", "env", "kubernetes", NULL};
        static const char *const maps[] = {"annotations", "env", "kubernetes"};
        static const enum role_match_kind kinds[] = {ROLE_MATCH_ANNOTATION, ROLE_MATCH_ENV,
                                                     ROLE_MATCH_POD};
        if (!json_is_object(w))
                return config_fail(x, jpath, "must be an object");
        int r = config_check_keys(x, w, jpath, keys);
        if (r < 0)
                return r;
        if (json_object_get(w, "kubernetes") && !pods)
                return config_fail(x, NULL,
                                   "%s.kubernetes: needs \"kubernetes\": {\"runtime\": "
                                   "\"containerd\" or \"cri-o\"} at the top (whose keys to trust)",
                                   jpath);
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
                if (m && (r = config_parse_when_map(x, m, sub, kinds[i], role)) < 0)
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

static int config_parse_role(struct config_ctx *x, const json_t *obj, const char *jpath, bool pods,
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
        if (when && (r = config_parse_when(x, when, sub, pods, role)) < 0)
                return r;
        const json_t *auth = json_object_get(obj, "auth");
        snprintf(sub, sizeof sub, "%s.auth", jpath);
        if (auth && !json_is_object(auth))
                return config_fail(x, sub, "must be an object");
        role->auth = auth ? json_incref((json_t *)auth) : NULL;
        return 0;
}

int config_parse_roles(struct config_ctx *x, const json_t *root, bool pods, struct role **ret,
                       size_t *ret_n) {
        const json_t *roles = json_object_get(root, "roles");
        if (!roles)
                return 0; /* deny by default: no role, nothing allowed */
        if (!json_is_array(roles))
                return config_fail(x, "roles", "must be an array");
        (*ret) = calloc(json_array_size(roles) + 1, sizeof *(*ret));
        if (!(*ret))
                return -ENOMEM;
        size_t i;
        json_t *obj;
        json_array_foreach(roles, i, obj) {
                char jpath[64];
                snprintf(jpath, sizeof jpath, "roles[%zu]", i);
                int r = config_parse_role(x, obj, jpath, pods, &(*ret)[(*ret_n)++]);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < i; j++)
                        if (streq_ptr((*ret)[j].name, (*ret)[i].name))
                                return config_fail(x, NULL, "%s.name: duplicate role name '%s'",
                                                   jpath, (*ret)[i].name);
        }
        return 0;
}

void role_done(struct role *r) {
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
