/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "config_paths.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "fdutil.h"
#include "log.h"
#include "perm.h"
#include "config_parse.h"
#include "config_roles.h"
#include "manifest.h"
#include "secret.h"

#define CONFIG_TMPFS_MAX (64ULL * 1024 * 1024)
#define CONFIG_TIMEOUT_MAX 600000
#define CONFIG_NAME_MAX 64

_Static_assert(sizeof(((struct broker_config *)NULL)->digest) == SECRET_HASH_BYTES,
               "the digest is a hash_bytes()");

/* DESIGN §3: without a config file, the local store and a role "default" allowing it. It goes
 * through the same parser as a file, so that the defaults cannot drift from what a file
 * would give. */
static const char config_embedded[] = "{\"audit_log\":\"" CONFIG_DEFAULT_AUDIT_LOG "\","
                                      "\"backends\":{\"store\":{\"type\":\"store\"}},"
                                      "\"roles\":[{\"name\":\"default\",\"allow\":[\"store:*\"]}]}";

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

/* "audit_syslog": true for the system log's socket, a path for another (a collector's own),
 * false or null for none. */
static int config_parse_syslog(const struct config_ctx *x, const json_t *root,
                               struct broker_config *c) {
        const json_t *v = json_object_get(root, "audit_syslog");
        if (!v || json_is_false(v) || json_is_null(v))
                return 0;
        if (json_is_true(v))
                return (c->audit_syslog = strdup(CONFIG_DEFAULT_SYSLOG_SOCKET)) ? 0 : -ENOMEM;
        if (!json_is_string(v))
                return config_fail(x, "audit_syslog",
                                   "must be true, false or the path of a syslog socket");
        return config_get_path(x, root, "audit_syslog", "audit_syslog", &c->audit_syslog);
}

static int config_parse_top(const struct config_ctx *x, const json_t *root,
                            struct broker_config *c) {
        static const char *const keys[] = {"state_dir",  "audit_log", "audit_syslog", "defaults",
                                           "fetcher",    "agent",     "backends",     "roles",
                                           "kubernetes", NULL};
        int r = config_check_keys(x, root, NULL, keys);
        if (r < 0)
                return r;
        r = config_get_path(x, root, "state_dir", "state_dir", &c->state_dir);
        if (r < 0)
                return r;
        r = config_parse_syslog(x, root, c);
        if (r < 0)
                return r;
        /* null says "no audit log" explicitly; absent says the same. */
        if (json_is_null(json_object_get(root, "audit_log")))
                return 0;
        return config_get_path(x, root, "audit_log", "audit_log", &c->audit_log);
}

/* "kubernetes": {"runtime": "containerd" | "cri-o"}: whose annotations state a pod's identity
 * (request/pod.h). Required, not guessed from the keys a container carries: a pod can add the
 * other runtime's keys to its own containers. */
static int config_parse_kubernetes(const struct config_ctx *x, const json_t *root,
                                   struct broker_config *c) {
        static const char *const keys[] = {"runtime", NULL};
        const json_t *k = json_object_get(root, "kubernetes");
        if (!k)
                return 0;
        if (!json_is_object(k))
                return config_fail(x, "kubernetes", "must be an object");
        int r = config_check_keys(x, k, "kubernetes", keys);
        if (r < 0)
                return r;
        if (pod_runtime_from_name(json_get_string(k, "runtime"), &c->pod_runtime) < 0)
                return config_fail(x, "kubernetes.runtime", "must be \"containerd\" or \"cri-o\"");
        return 0;
}

/* "fetcher": {"uid": N, "gid": N}: whom the secret fetcher runs as. Not root (the point of
 * dropping), not -1 (setresuid's "unchanged"), within the kernel's 32 bits. "seccomp": false
 * runs it without its system call filter (where lockbox has none for the architecture). */
static int config_parse_fetcher(const struct config_ctx *x, const json_t *root,
                                struct broker_config *c) {
        static const char *const keys[] = {"uid", "gid", "seccomp", NULL};
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
        const json_t *v = json_object_get(f, "seccomp");
        if (v && !json_is_boolean(v))
                return config_fail(x, "fetcher.seccomp", "must be true or false");
        c->fetch_seccomp = !json_is_false(v);
        return 0;
}

/* "agent": {"enabled": true|false, "idle_s": N}: the warm fetch agent (fetch/agent.h), on unless
 * turned off; it exits after idle_s seconds without a request. */
static int config_parse_agent(const struct config_ctx *x, const json_t *root,
                              struct broker_config *c) {
        static const char *const keys[] = {"enabled", "idle_s", NULL};
        const json_t *a = json_object_get(root, "agent");
        if (!a)
                return 0;
        if (!json_is_object(a))
                return config_fail(x, "agent", "must be an object");
        int r = config_check_keys(x, a, "agent", keys);
        if (r < 0)
                return r;
        const json_t *v = json_object_get(a, "enabled");
        if (v && !json_is_boolean(v))
                return config_fail(x, "agent.enabled", "must be true or false");
        c->agent_enabled = !json_is_false(v);
        v = json_object_get(a, "idle_s");
        if (v && (!json_is_integer(v) || json_integer_value(v) < 1 ||
                  json_integer_value(v) > CONFIG_AGENT_IDLE_MAX))
                return config_fail(x, "agent.idle_s", "must be an integer from 1 to %d",
                                   CONFIG_AGENT_IDLE_MAX);
        if (v)
                c->agent_idle_s = (unsigned)json_integer_value(v);
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
        c->fetch_seccomp = true;
        c->agent_enabled = true;
        c->agent_idle_s = CONFIG_DEFAULT_AGENT_IDLE_S;
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
                r = config_parse_agent(&x, root, c);
        if (r >= 0)
                r = config_parse_backends(&x, root, c);
        if (r > 0)
                r = config_add_default_store(c);
        if (r >= 0)
                r = config_parse_kubernetes(&x, root, c);
        if (r >= 0)
                r = config_parse_roles(&x, root, c->pod_runtime != POD_RUNTIME_NONE, &c->roles,
                                       &c->n_roles);
        /* Content errors were logged where they were found; only allocation failures were not. */
        if (r == -ENOMEM)
                return log_error_errno(r, "config %s: cannot parse", x.origin);
        if (r < 0)
                return r;
        hash_bytes(buf, size, c->digest);
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

/* The one line for a refused file: what is wrong, what it is, what is expected (perm.h). */
static int config_refuse(const char *path, const char *why, const struct stat *st) {
        char found[64];
        if (S_ISLNK(st->st_mode) || !S_ISREG(st->st_mode) ||
            streq_ptr(why, "replaced while being opened"))
                log_error("config %s: refusing: %s; expected a regular file owned by root, not "
                          "writable by group or others",
                          path, why);
        else {
                perm_describe(st, found, sizeof found);
                log_error("config %s: refusing: %s (%s); expected owner root, not writable by "
                          "group or others (%s %s)",
                          path, why, found,
                          st->st_uid != 0 ? "chown root, chmod go-w" : "chmod go-w", path);
        }
        return -EPERM;
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
        if (why)
                return config_refuse(path, why, &st);
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
        if (why)
                return config_refuse(path, why, &fst);
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
        if (r >= 0)
                r = config_check_paths(c);
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

struct broker_config *config_free(struct broker_config *c) {
        if (!c)
                return NULL;
        free(c->path);
        free(c->state_dir);
        free(c->audit_log);
        free(c->audit_syslog);
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
