/* SPDX-License-Identifier: Apache-2.0 */
#include "oci.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>

#include "fdutil.h"
#include "log.h"
#include "pod.h"

#define OCI_ID_MAX 1024
#define OCI_STATUS_MAX 64
/* The kernel accepts at most 340 lines in uid_map/gid_map (since 4.15). */
#define OCI_MAPPINGS_MAX 340

/* Content errors are logged here, where the field is known, and returned as -EINVAL; the
 * caller only decides the exit status. */
#define log_invalid(...) (log_error(__VA_ARGS__), -EINVAL)

static bool is_control(unsigned char c) {
        return c < 0x20 || c == 0x7f;
}

bool oci_has_control(const char *s) {
        for (; *s; s++)
                if (is_control((unsigned char)*s))
                        return true;
        return false;
}

/* Annotations are an object of strings (runtime spec); absent or null means none. A
 * non-string value is refused rather than skipped: request_build would otherwise silently
 * drop an io.lockbox key that the user did write. */
static int annotations_take(json_t *v, const char *what, json_t **ret) {
        const char *key;
        json_t *x;

        if (!v || json_is_null(v)) {
                *ret = json_object();
                return *ret ? 0 : -ENOMEM;
        }
        if (!json_is_object(v))
                return log_invalid("%s: annotations: not an object", what);
        json_object_foreach(v, key, x) {
                if (!json_is_string(x))
                        return log_invalid("%s: annotation %.200s: not a string", what, key);
        }
        *ret = json_incref(v);
        return 0;
}

/* ---- State ------------------------------------------------------------------------------ */

/* The id names files in the state directory and appears in logs: "." and ".." would escape
 * that directory, and no runtime makes ids with spaces or control characters (runc allows
 * [A-Za-z0-9_+.-]). */
static bool oci_id_is_valid(const char *id, size_t len) {
        if (len == 0 || len > OCI_ID_MAX || strlen(id) != len)
                return false;
        if (streq_ptr(id, ".") || streq_ptr(id, ".."))
                return false;
        for (size_t i = 0; i < len; i++)
                if (id[i] <= 0x20 || id[i] >= 0x7f || id[i] == '/')
                        return false;
        return true;
}

static int state_pid(json_t *v, pid_t *ret) {
        /* crun writes "pid": 0 in the poststop state where runc omits the key: both mean
         * "no process". */
        if (!v || json_is_null(v)) {
                *ret = 0;
                return 0;
        }
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT_MAX)
                return log_invalid("state JSON: pid: not a process id");
        *ret = (pid_t)json_integer_value(v);
        return 0;
}

static int state_strings(json_t *root, struct oci_state *s) {
        json_t *v = json_object_get(root, "ociVersion");
        if (v && !json_is_string(v))
                return log_invalid("state JSON: ociVersion: not a string");

        v = json_object_get(root, "id");
        if (!json_is_string(v))
                return log_invalid("state JSON: id: missing or not a string");
        if (!oci_id_is_valid(json_string_value(v), json_string_length(v)))
                return log_invalid("state JSON: id: 1 to %d printable characters without '/' "
                                   "expected",
                                   OCI_ID_MAX);
        s->id = strdup(json_string_value(v));

        v = json_object_get(root, "status");
        if (!json_is_string(v))
                return log_invalid("state JSON: status: missing or not a string");
        if (json_string_length(v) == 0 || json_string_length(v) > OCI_STATUS_MAX ||
            oci_has_control(json_string_value(v)))
                return log_invalid("state JSON: status: invalid");
        s->status = strdup(json_string_value(v));

        v = json_object_get(root, "bundle");
        if (!json_is_string(v))
                return log_invalid("state JSON: bundle: missing or not a string");
        const char *bundle = json_string_value(v);
        if (bundle[0] != '/' || json_string_length(v) >= PATH_MAX || oci_has_control(bundle))
                return log_invalid("state JSON: bundle: absolute path expected");
        s->bundle = strdup(bundle);

        if (!s->id || !s->status || !s->bundle)
                return -ENOMEM;
        return 0;
}

int oci_state_parse(const char *buf, size_t size, struct oci_state *ret) {
        _cleanup_json_ json_t *root = NULL;
        _cleanup_(oci_state_done) struct oci_state s = {0};
        char err[128];

        *ret = (struct oci_state){0};
        int r = json_parse_strict(buf, size, OCI_STATE_MAX, &root, err, sizeof err);
        if (r < 0)
                return log_invalid("state JSON: %s", err);
        if (!json_is_object(root))
                return log_invalid("state JSON: not an object");

        r = state_strings(root, &s);
        if (r < 0)
                return r;
        r = state_pid(json_object_get(root, "pid"), &s.pid);
        if (r < 0)
                return r;
        r = annotations_take(json_object_get(root, "annotations"), "state JSON", &s.annotations);
        if (r < 0)
                return r;

        *ret = s;
        s = (struct oci_state){0};
        return 0;
}

void oci_state_done(struct oci_state *s) {
        free(s->id);
        free(s->status);
        free(s->bundle);
        json_decref(s->annotations);
        *s = (struct oci_state){0};
}

/* ---- config.json ------------------------------------------------------------------------ */

/*
 * Join path onto the absolute base (unless path is absolute) and clean it lexically, as Go's
 * filepath.Join does for runc: "." and empty components go, ".." removes the previous one and
 * stops at "/". Nothing is looked up: the rootfs is opened later, relative to an fd, and a
 * lookup here would only open a window between check and use.
 */
static int path_join_clean(const char *base, const char *path, char **ret) {
        size_t blen = path[0] == '/' ? 0 : strlen(base);
        size_t plen = strlen(path);
        if (blen + plen + 2 > PATH_MAX)
                return -ENAMETOOLONG;

        _cleanup_free_ char *out = malloc(blen + plen + 3);
        if (!out)
                return -ENOMEM;
        size_t n = 0;
        for (int part = 0; part < 2; part++) {
                const char *p = part == 0 ? (blen ? base : "") : path;
                while (*p) {
                        size_t len = strcspn(p, "/");
                        if (len == 2 && p[0] == '.' && p[1] == '.') {
                                while (n > 0 && out[n - 1] != '/')
                                        n--;
                                if (n > 0)
                                        n--;
                        } else if (len > 0 && !(len == 1 && p[0] == '.')) {
                                out[n++] = '/';
                                memcpy(out + n, p, len);
                                n += len;
                        }
                        p += len;
                        while (*p == '/')
                                p++;
                }
        }
        if (n == 0)
                out[n++] = '/';
        out[n] = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}

static int config_root(json_t *root, const char *bundle, struct oci_config *c) {
        json_t *r = json_object_get(root, "root");
        if (!json_is_object(r))
                return log_invalid("%s/config.json: root: missing or not an object", bundle);
        json_t *path = json_object_get(r, "path");
        if (!json_is_string(path) || json_string_length(path) == 0 ||
            oci_has_control(json_string_value(path)))
                return log_invalid("%s/config.json: root.path: missing or invalid", bundle);
        json_t *ro = json_object_get(r, "readonly");
        if (ro && !json_is_boolean(ro))
                return log_invalid("%s/config.json: root.readonly: not a boolean", bundle);
        c->rootfs_readonly = json_is_true(ro);

        int k = path_join_clean(bundle, json_string_value(path), &c->rootfs);
        if (k == -ENAMETOOLONG)
                return log_invalid("%s/config.json: root.path: too long", bundle);
        return k;
}

static int config_id(json_t *obj, const char *key, const char *bundle, uint32_t *ret) {
        json_t *v = json_object_get(obj, key);
        if (!v) {
                *ret = 0;
                return 0;
        }
        /* (uint32_t)-1 is "no id" to the kernel, never an owner. */
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) >= (json_int_t)UINT32_MAX)
                return log_invalid("%s/config.json: process.user.%s: not a valid id", bundle, key);
        *ret = (uint32_t)json_integer_value(v);
        return 0;
}

static int config_env(json_t *env, const char *bundle, struct oci_config *c) {
        size_t i, n = json_array_size(env);
        json_t *v;

        if (env && !json_is_array(env))
                return log_invalid("%s/config.json: process.env: not an array", bundle);
        c->env = calloc(n + 1, sizeof *c->env);
        if (!c->env)
                return -ENOMEM;
        json_array_foreach(env, i, v) {
                if (!json_is_string(v))
                        return log_invalid("%s/config.json: process.env[%zu]: not a string", bundle,
                                           i);
                /* "NAME" without '=' is meaningless to execve's consumers: skip it. */
                if (!strchr(json_string_value(v), '='))
                        continue;
                c->env[c->n_env] = strdup(json_string_value(v));
                if (!c->env[c->n_env])
                        return -ENOMEM;
                c->n_env++;
        }
        return 0;
}

/* process.args[0]: whether the container runs lockbox-shim (request/pod.h). */
static int config_args0(json_t *p, const char *bundle, struct oci_config *c) {
        json_t *args = json_object_get(p, "args");
        if (!args || json_is_null(args))
                return 0;
        if (!json_is_array(args))
                return log_invalid("%s/config.json: process.args: not an array", bundle);
        json_t *a0 = json_array_get(args, 0);
        if (!a0)
                return 0;
        if (!json_is_string(a0))
                return log_invalid("%s/config.json: process.args[0]: not a string", bundle);
        c->args0 = strdup(json_string_value(a0));
        return c->args0 ? 0 : -ENOMEM;
}

static int config_process(json_t *root, const char *bundle, struct oci_config *c) {
        json_t *p = json_object_get(root, "process");
        if (p && !json_is_object(p))
                return log_invalid("%s/config.json: process: not an object", bundle);
        int k = config_args0(p, bundle, c);
        if (k < 0)
                return k;
        json_t *user = json_object_get(p, "user");
        if (user && !json_is_object(user))
                return log_invalid("%s/config.json: process.user: not an object", bundle);
        int r = config_id(user, "uid", bundle, &c->uid);
        if (r < 0)
                return r;
        r = config_id(user, "gid", bundle, &c->gid);
        if (r < 0)
                return r;
        return config_env(json_object_get(p, "env"), bundle, c);
}

/* "/var/run/secrets/kubernetes.io/serviceaccount/" and the plain spelling are one place. */
static bool mount_is_sa(const char *dest) {
        size_t n = strlen(POD_SA_MOUNT);
        return strncmp(dest, POD_SA_MOUNT, n) == 0 && dest[n + strspn(dest + n, "/")] == '\0';
}

/* The source of the kubelet's service-account volume (the last mount at POD_SA_MOUNT: the one
 * the container sees). Only a bind mount has a source on the host; anything else (a tmpfs the
 * pod asked for) leaves none. Other mounts are the runtime's business, not read here. */
static int config_mounts(json_t *root, const char *bundle, struct oci_config *c) {
        json_t *mounts = json_object_get(root, "mounts"), *m;
        size_t i;

        if (!mounts || json_is_null(mounts))
                return 0;
        if (!json_is_array(mounts))
                return log_invalid("%s/config.json: mounts: not an array", bundle);
        json_array_foreach(mounts, i, m) {
                const char *dest = json_get_string(m, "destination");
                if (!dest || !mount_is_sa(dest))
                        continue;
                const char *type = json_get_string(m, "type");
                const char *src = json_get_string(m, "source");
                free(c->sa_token_dir);
                c->sa_token_dir = NULL;
                /* runc binds with type "bind", or "none" (or none given) and a bind option. */
                if (type && !streq_ptr(type, "bind") && !streq_ptr(type, "none"))
                        continue;
                if (!src || src[0] != '/' || strlen(src) >= PATH_MAX - 16 || oci_has_control(src))
                        return log_invalid("%s/config.json: mounts[%zu].source: absolute path "
                                           "expected",
                                           bundle, i);
                c->sa_token_dir = strdup(src);
                if (!c->sa_token_dir)
                        return -ENOMEM;
        }
        return 0;
}

static bool mapping_field(json_t *m, const char *key, uint32_t *ret) {
        json_t *v = json_object_get(m, key);
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > (json_int_t)UINT32_MAX)
                return false;
        *ret = (uint32_t)json_integer_value(v);
        return true;
}

static int config_mappings(json_t *linux_obj, const char *key, const char *bundle,
                           struct id_mapping **ret, size_t *ret_n) {
        json_t *a = json_object_get(linux_obj, key), *m;
        size_t i;

        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a) || json_array_size(a) > OCI_MAPPINGS_MAX)
                return log_invalid("%s/config.json: linux.%s: not an array of at most %d "
                                   "mappings",
                                   bundle, key, OCI_MAPPINGS_MAX);
        *ret = calloc(json_array_size(a) + 1, sizeof **ret);
        if (!*ret)
                return -ENOMEM;
        json_array_foreach(a, i, m) {
                struct id_mapping *e = &(*ret)[i];
                /* The kernel refuses an empty or wrapping range; so do we, so that
                 * id_map_to_host never computes past 2^32. */
                if (!mapping_field(m, "containerID", &e->container_id) ||
                    !mapping_field(m, "hostID", &e->host_id) ||
                    !mapping_field(m, "size", &e->size) || e->size == 0 ||
                    (uint64_t)e->container_id + e->size > (uint64_t)UINT32_MAX + 1 ||
                    (uint64_t)e->host_id + e->size > (uint64_t)UINT32_MAX + 1)
                        return log_invalid("%s/config.json: linux.%s[%zu]: invalid mapping", bundle,
                                           key, i);
        }
        *ret_n = json_array_size(a);
        return 0;
}

static int config_linux(json_t *root, const char *bundle, struct oci_config *c) {
        json_t *l = json_object_get(root, "linux"), *ns, *v;
        size_t i;

        if (!l)
                return 0;
        if (!json_is_object(l))
                return log_invalid("%s/config.json: linux: not an object", bundle);
        int r = config_mappings(l, "uidMappings", bundle, &c->uid_map, &c->n_uid_map);
        if (r < 0)
                return r;
        r = config_mappings(l, "gidMappings", bundle, &c->gid_map, &c->n_gid_map);
        if (r < 0)
                return r;

        ns = json_object_get(l, "namespaces");
        if (ns && !json_is_array(ns))
                return log_invalid("%s/config.json: linux.namespaces: not an array", bundle);
        json_array_foreach(ns, i, v) {
                const char *type = json_get_string(v, "type");
                if (!type)
                        return log_invalid("%s/config.json: linux.namespaces[%zu]: no type", bundle,
                                           i);
                if (streq_ptr(type, "user"))
                        c->has_userns = true;
        }
        return 0;
}

int oci_config_parse(const char *buf, size_t size, const char *bundle, struct oci_config *ret) {
        _cleanup_json_ json_t *root = NULL;
        _cleanup_(oci_config_done) struct oci_config c = {0};
        char err[128], what[PATH_MAX + 16];

        *ret = (struct oci_config){0};
        if (!bundle || bundle[0] != '/')
                return log_invalid("config.json: bundle %.200s: absolute path expected",
                                   bundle ? bundle : "(none)");
        snprintf(what, sizeof what, "%s/config.json", bundle);
        int r = json_parse_strict(buf, size, OCI_CONFIG_MAX, &root, err, sizeof err);
        if (r < 0)
                return log_invalid("%s/config.json: %s", bundle, err);
        if (!json_is_object(root))
                return log_invalid("%s/config.json: not an object", bundle);

        r = config_root(root, bundle, &c);
        if (r >= 0)
                r = config_process(root, bundle, &c);
        if (r >= 0)
                r = annotations_take(json_object_get(root, "annotations"), what, &c.annotations);
        if (r >= 0)
                r = config_linux(root, bundle, &c);
        if (r >= 0)
                r = config_mounts(root, bundle, &c);
        if (r < 0)
                return r;

        *ret = c;
        c = (struct oci_config){0};
        return 0;
}

int oci_config_load(const char *bundle, struct oci_config *ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;

        *ret = (struct oci_config){0};
        if (!bundle || bundle[0] != '/')
                return log_invalid("config.json: bundle %.200s: absolute path expected",
                                   bundle ? bundle : "(none)");
        _cleanup_close_ int dfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return log_error_errno(errno, "bundle %s: cannot open", bundle);
        int r = read_file_at(dfd, "config.json", OCI_CONFIG_MAX, &buf, &size);
        if (r == -EBADFD)
                return log_invalid("%s/config.json: not a regular file", bundle);
        if (r == -EFBIG)
                return log_invalid("%s/config.json: larger than %d bytes", bundle, OCI_CONFIG_MAX);
        if (r < 0)
                return log_error_errno(r, "%s/config.json: cannot read", bundle);

        r = oci_config_parse(buf, size, bundle, ret);
        /* process.env is the user's: it may hold a password they put there themselves. */
        explicit_bzero(buf, size);
        return r;
}

void oci_config_done(struct oci_config *c) {
        free(c->rootfs);
        for (size_t i = 0; c->env && c->env[i]; i++) {
                explicit_bzero(c->env[i], strlen(c->env[i]));
                free(c->env[i]);
        }
        free(c->env);
        json_decref(c->annotations);
        free(c->args0);
        free(c->sa_token_dir);
        free(c->uid_map);
        free(c->gid_map);
        *c = (struct oci_config){0};
}

int id_map_to_host(const struct id_mapping *map, size_t n, uint32_t id, uint32_t *ret) {
        if (n == 0) {
                *ret = id;
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                uint64_t start = map[i].container_id, end = start + map[i].size;
                if (id < start || id >= end)
                        continue;
                uint64_t host = (uint64_t)map[i].host_id + (id - start);
                if (host >= UINT32_MAX)
                        return -ERANGE;
                *ret = (uint32_t)host;
                return 0;
        }
        return -ERANGE;
}
