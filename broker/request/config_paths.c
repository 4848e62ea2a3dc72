/* SPDX-License-Identifier: Apache-2.0 */
#include "config_paths.h"

#include <string.h>
#include <unistd.h>

#include "fdutil.h"
#include "log.h"

/* One file (what names it, for the message): its parents, or one line and -EPERM. */
static int check_one(const char *origin, const char *what, const char *path) {
        _cleanup_free_ char *dir = NULL;
        struct stat st;
        if (!path || path[0] != '/')
                return 0;
        int r = path_check_parents(path, geteuid(), &dir, &st);
        if (r == -EPERM)
                return log_error("config %s: %s%s%s: refusing: directory %s is %s (mode %04o, "
                                 "owner %u); make it root's and not writable by group or others",
                                 origin, what, what[0] ? " " : "", path, dir,
                                 path_parent_problem(&st, geteuid()),
                                 (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid),
                       -EPERM;
        if (r < 0)
                return log_error_errno(r, "config %s: %s %s: cannot check its directories", origin,
                                       what, path);
        return 0;
}

/* Every string under a key ending in "_file", at any depth (as credfile.c opens them). */
static int check_files(const char *origin, const char *where, const json_t *v) {
        const char *key;
        json_t *child;
        size_t i;
        int r;

        if (json_is_array(v)) {
                json_array_foreach((json_t *)v, i, child) {
                        if ((r = check_files(origin, where, child)) < 0)
                                return r;
                }
                return 0;
        }
        json_object_foreach((json_t *)v, key, child) {
                size_t len = strlen(key);
                char what[256];
                snprintf(what, sizeof what, "%s %s", where, key);
                if (json_is_string(child) && len > 5 && streq_ptr(key + len - 5, "_file"))
                        r = check_one(origin, what, json_string_value(child));
                else
                        r = check_files(origin, where, child);
                if (r < 0)
                        return r;
        }
        return 0;
}

int config_check_paths(const struct broker_config *c) {
        const char *origin = c->path ? c->path : "(embedded default)";
        char where[256];
        int r;

        if (c->path && (r = check_one(c->path, "", c->path)) < 0)
                return r;
        for (size_t i = 0; i < c->n_backends; i++) {
                const struct backend_config *b = &c->backends[i];
                snprintf(where, sizeof where, "backend '%s'", b->name);
                if (b->store_dir) {
                        char what[300];
                        snprintf(what, sizeof what, "%s dir", where);
                        if ((r = check_one(origin, what, b->store_dir)) < 0)
                                return r;
                }
                if (b->raw && (r = check_files(origin, where, b->raw)) < 0)
                        return r;
        }
        for (size_t i = 0; i < c->n_roles; i++) {
                snprintf(where, sizeof where, "role '%s' auth", c->roles[i].name);
                if (c->roles[i].auth && (r = check_files(origin, where, c->roles[i].auth)) < 0)
                        return r;
        }
        return 0;
}
