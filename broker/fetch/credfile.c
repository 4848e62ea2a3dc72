/* SPDX-License-Identifier: Apache-2.0 */
#include "credfile.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define CREDFILE_MAX 64 /* far more than any configuration names */

static struct credfile {
        char *path;
        int fd; /* >= 0, or -errno of the open */
} credfiles[CREDFILE_MAX];
static size_t n_credfiles;

static const struct credfile *credfile_find(const char *path) {
        for (size_t i = 0; i < n_credfiles; i++)
                if (streq_ptr(credfiles[i].path, path))
                        return &credfiles[i];
        return NULL;
}

static int credfile_add(const char *path) {
        if (path[0] != '/' || credfile_find(path))
                return 0;
        if (n_credfiles >= CREDFILE_MAX)
                return -E2BIG;
        char *copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        credfiles[n_credfiles++] = (struct credfile){copy, fd >= 0 ? fd : negative_errno()};
        if (fd >= 0)
                log_debug("secret fetcher: opened %s", path);
        return 0;
}

/* Every string under a key ending in "_file", at any depth. */
static int credfile_walk(const json_t *v) {
        const char *key;
        json_t *child;
        size_t i;
        int r;

        if (json_is_array(v)) {
                json_array_foreach((json_t *)v, i,
                                   child) if ((r = credfile_walk(child)) < 0) return r;
                return 0;
        }
        if (!json_is_object(v))
                return 0;
        json_object_foreach((json_t *)v, key, child) {
                size_t len = strlen(key);
                if (json_is_string(child) && len > 5 && streq_ptr(key + len - 5, "_file"))
                        r = credfile_add(json_string_value(child));
                else
                        r = credfile_walk(child);
                if (r < 0)
                        return r;
        }
        return 0;
}

int credfile_preload(const struct broker_config *cfg) {
        int r;
        for (size_t i = 0; i < cfg->n_backends; i++) {
                /* The store is read before the drop (privsep.c): its key stays with root. */
                if (streq_ptr(cfg->backends[i].type, "store"))
                        continue;
                if ((r = credfile_walk(cfg->backends[i].raw)) < 0)
                        return r;
        }
        for (size_t i = 0; i < cfg->n_roles; i++)
                if ((r = credfile_walk(cfg->roles[i].auth)) < 0)
                        return r;
        return 0;
}

bool credfile_request_names(const struct request *req, const char *backend) {
        for (size_t i = 0; req && i < req->n_secrets; i++)
                if (streq_ptr(req->secrets[i].ref.backend, backend))
                        return true;
        return false;
}

int credfile_preload_request(const struct broker_config *cfg, const struct role *role,
                             const struct request *req) {
        int r;
        for (size_t i = 0; i < cfg->n_backends; i++) {
                const struct backend_config *b = &cfg->backends[i];
                if (streq_ptr(b->type, "store") || !credfile_request_names(req, b->name))
                        continue;
                if ((r = credfile_walk(b->raw)) < 0)
                        return r;
                if (role && role->auth &&
                    (r = credfile_walk(json_object_get(role->auth, b->name))) < 0)
                        return r;
        }
        return 0;
}

int credfile_open(const char *path) {
        const struct credfile *c = credfile_find(path);
        int fd;

        if (!c) {
                fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
                return fd >= 0 ? fd : negative_errno();
        }
        if (c->fd < 0)
                return c->fd;
        /* A duplicate shares the file offset: rewind it for this reader. */
        fd = fcntl(c->fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return negative_errno();
        if (lseek(fd, 0, SEEK_SET) < 0) {
                int r = negative_errno();
                close(fd);
                return r;
        }
        return fd;
}

int credfile_read(const char *path, size_t max, struct secret **ret) {
        struct stat st;
        _cleanup_close_ int fd = credfile_open(path);
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        return secret_read_fd(fd, max, ret);
}

int credfile_trimmed(const struct secret *raw, struct secret **ret) {
        const char *p = secret_cdata(raw);
        size_t a = 0, b = secret_size(raw);
        while (a < b && strchr(" \t\r\n", p[a]))
                a++;
        while (b > a && strchr(" \t\r\n", p[b - 1]))
                b--;
        return a == b ? -EINVAL : secret_new_copy(p + a, b - a, ret);
}
