/* SPDX-License-Identifier: Apache-2.0 */
#include "filemeta.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "fdutil.h"
#include "idmap.h"
#include "log.h"

/* A file the container controls: no symlink, no FIFO to block on, a bounded size. */
static int userdb_read(int rootfd, const char *path, char **ret) {
        *ret = NULL;
        _cleanup_close_ int fd = open_in_root(rootfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return fd;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if (st.st_size > USERDB_FILE_MAX)
                return -EFBIG;
        /* One byte more than fstat said, so that a file that grew is noticed. */
        size_t size = (size_t)st.st_size;
        _cleanup_free_ char *buf = malloc(size + 2);
        if (!buf)
                return -ENOMEM;
        ssize_t n = read_full(fd, buf, size + 1);
        if (n < 0)
                return (int)n;
        if ((size_t)n > size)
                return -EFBIG;
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

static int userdb_read_one(int rootfd, const char *path, char **ret) {
        int r = userdb_read(rootfd, path, ret);
        if (r == -ENOMEM)
                return r;
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "container's /%s: unusable (names in it are taken as unknown)",
                                  path);
        return 0;
}

int userdb_load(int rootfd, struct userdb *ret) {
        struct userdb db = {0};
        int r = userdb_read_one(rootfd, "etc/passwd", &db.passwd);
        if (r >= 0)
                r = userdb_read_one(rootfd, "etc/group", &db.group);
        if (r < 0) {
                userdb_done(&db);
                return r;
        }
        *ret = db;
        return 0;
}

void userdb_done(struct userdb *db) {
        free(db->passwd);
        free(db->group);
        *db = (struct userdb){0};
}

int userdb_find(const char *text, const char *name, uint32_t *ret) {
        size_t n = strlen(name);
        if (!text || n == 0 || strpbrk(name, ":\n"))
                return -ENOENT;
        /* "name:password:ID:..." in both files; the first entry with the name counts, as for
         * the C library's files backend. */
        for (const char *line = text; *line;) {
                const char *end = strchrnul(line, '\n');
                if ((size_t)(end - line) > n && strncmp(line, name, n) == 0 && line[n] == ':') {
                        const char *pw = line + n + 1;
                        const char *id = memchr(pw, ':', (size_t)(end - pw));
                        if (!id)
                                return -EINVAL;
                        id++;
                        size_t len = strcspn(id, ":\n");
                        char buf[16];
                        if (len == 0 || len >= sizeof buf)
                                return -EINVAL;
                        memcpy(buf, id, len);
                        buf[len] = '\0';
                        return parse_uid(buf, ret) < 0 ? -EINVAL : 0;
                }
                line = *end ? end + 1 : end;
        }
        return -ENOENT;
}

void filemeta_decide(const struct secret_request *sr, const struct fetched_secret *f, bool uid_set,
                     bool gid_set, uint32_t uid, uint32_t gid, const struct userdb *db,
                     struct filemeta *ret) {
        *ret = (struct filemeta){.file = f->file ? f->file : sr->name,
                                 .mode = sr->mode_set || !f->has_mode ? sr->mode : f->mode,
                                 .uid = uid,
                                 .gid = gid};
        if (!uid_set && f->owner && userdb_find(db ? db->passwd : NULL, f->owner, &ret->uid) < 0) {
                ret->uid = uid;
                ret->owner_unknown = true;
        }
        if (!gid_set && f->group && userdb_find(db ? db->group : NULL, f->group, &ret->gid) < 0) {
                ret->gid = gid;
                ret->group_unknown = true;
        }
}

/* The container's root as the host sees it: through /proc/PID/root, whose lookups stay in the
 * process's mount namespace, then rootfs (a path in that namespace, from the runtime). */
static int filemeta_open_root(const struct placement *p, int *ret) {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/%d/root", (int)p->pid);
        _cleanup_close_ int fd = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        const char *rel = p->rootfs + strspn(p->rootfs, "/");
        if (!*rel) {
                *ret = TAKE_FD(fd);
                return 0;
        }
        int root = openat(fd, rel, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return negative_errno();
        *ret = root;
        return 0;
}

static bool filemeta_needs_db(const struct request *req, const struct fetched_secret *f) {
        for (size_t i = 0; i < req->n_secrets; i++)
                if (f[i].value && ((f[i].owner && !req->uid_set) || (f[i].group && !req->gid_set)))
                        return true;
        return false;
}

static int filemeta_load_db(const struct placement *p, const struct request *req,
                            const struct fetched_secret *f, struct userdb *db) {
        _cleanup_close_ int root = -1;
        if (!filemeta_needs_db(req, f))
                return 0;
        int r = filemeta_open_root(p, &root);
        if (r < 0) {
                log_warning_errno(r, "container %s: cannot open its root to look up owners",
                                  p->container_id);
                return 0;
        }
        r = userdb_load(root, db);
        return r < 0 ? log_error_errno(r, "container %s", p->container_id) : 0;
}

static void filemeta_log_unknown(const struct secret_request *sr, const struct fetched_secret *f,
                                 const struct filemeta *m) {
        if (m->owner_unknown)
                log_info("secret '%s' (%s): owner '%s' is not in the container's /etc/passwd; "
                         "uid %u",
                         sr->name, sr->ref_text, f->owner, m->uid);
        if (m->group_unknown)
                log_info("secret '%s' (%s): group '%s' is not in the container's /etc/group; "
                         "gid %u",
                         sr->name, sr->ref_text, f->group, m->gid);
}

/* -EEXIST (logged) when a file name repeats: keysync refused such a set too. */
static int filemeta_unique(const struct tmpfs_file *files, size_t n) {
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < i; j++)
                        if (streq_ptr(files[i].file, files[j].file))
                                return log_error_errno(-EEXIST,
                                                       "secrets '%s' and '%s' would both be the "
                                                       "file '%s' (Keywhiz 'filename' metadata?)",
                                                       files[j].name, files[i].name, files[i].file);
        return 0;
}

int filemeta_files(const struct placement *p, const struct request *req,
                   const struct fetched_secret *f, struct tmpfs_file *files, size_t *ret_n) {
        struct userdb db = {0};
        size_t n = 0;
        int r = filemeta_load_db(p, req, f, &db);

        for (size_t i = 0; r >= 0 && i < req->n_secrets; i++) {
                const struct secret_request *sr = &req->secrets[i];
                struct filemeta m;
                if (!f[i].value)
                        continue;
                filemeta_decide(sr, &f[i], req->uid_set, req->gid_set, p->uid, p->gid, &db, &m);
                filemeta_log_unknown(sr, &f[i], &m);
                struct tmpfs_file *t = &files[n++];
                *t = (struct tmpfs_file){
                        .name = sr->name, .value = f[i].value, .mode = m.mode, .file = m.file};
                if (m.uid == p->uid && m.gid == p->gid)
                        continue;
                t->has_owner = true;
                r = idmap_pid_to_host(p->pid, m.uid, m.gid, &t->host_uid, &t->host_gid);
                if (r < 0)
                        r = log_error_errno(r,
                                            "secret '%s' (%s): owner %u:%u is not mapped to the "
                                            "host",
                                            sr->name, sr->ref_text, m.uid, m.gid);
        }
        userdb_done(&db);
        if (r >= 0)
                r = filemeta_unique(files, n);
        if (r >= 0)
                *ret_n = n;
        return r;
}
