/* SPDX-License-Identifier: Apache-2.0 */
#include "state.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "fdutil.h"
#include "log.h"
#include "perm.h"

#define STATE_FILE_MAX (1024 * 1024)

bool state_id_is_valid(const char *id) {
        size_t n = id ? strlen(id) : 0;
        if (n == 0 || n > 256 || id[0] == '.')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = id[i];
                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '.' || c == '-'))
                        return false;
        }
        return true;
}

static int ensure_private_dir(int parent_fd, const char *name, const char *path, int *ret_fd) {
        if (mkdirat(parent_fd, name, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        _cleanup_close_ int fd =
                openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        /* Leases and tokens are recorded here: a directory others could write to would let
         * them forge a container's record, one they can list shows which containers hold
         * what. Ours and merely too open (mkdir by hand, a umask): made right, and said so. */
        int r = perm_fix_private_dir(fd, "state directory", path);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int state_private_dir(const char *state_dir, const char *sub, int *ret_fd) {
        _cleanup_close_ int top = -1;
        int r;

        if (state_dir[0] != '/')
                return -EINVAL;
        if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        r = ensure_private_dir(AT_FDCWD, state_dir, state_dir, &top);
        if (r < 0 || !sub) {
                if (r >= 0)
                        *ret_fd = TAKE_FD(top);
                return r;
        }
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", state_dir, sub);
        return ensure_private_dir(top, sub, path, ret_fd);
}

int state_dir_open(const char *state_dir, int *ret_fd) {
        return state_private_dir(state_dir, "containers", ret_fd);
}

/* Lock the file at dir/name, retrying when it was removed and made again while we waited: a
 * lock on an unlinked inode would exclude nobody. */
static int lock_file_at(int dir_fd, const char *name, int *ret_fd) {
        for (int attempt = 0; attempt < 100; attempt++) {
                struct stat held, now;
                _cleanup_close_ int fd =
                        openat(dir_fd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0)
                        return negative_errno();
                while (flock(fd, LOCK_EX) < 0)
                        if (errno != EINTR)
                                return negative_errno();
                if (fstat(fd, &held) < 0)
                        return negative_errno();
                if (fstatat(dir_fd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
                    held.st_ino == now.st_ino && held.st_dev == now.st_dev) {
                        *ret_fd = TAKE_FD(fd);
                        return 0;
                }
        }
        return -EDEADLK;
}

int state_lock(const char *state_dir, const char *id, int *ret_fd) {
        _cleanup_close_ int dir_fd = -1, fd = -1;
        char lock[300], record[300];
        struct stat st;

        if (!state_id_is_valid(id))
                return -EINVAL;
        int r = state_dir_open(state_dir, &dir_fd);
        if (r < 0)
                return r;
        snprintf(lock, sizeof lock, "%s.lock", id);
        snprintf(record, sizeof record, "%s.json", id);
        r = lock_file_at(dir_fd, lock, &fd);
        if (r < 0)
                return r;
        if (fstatat(dir_fd, record, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                r = negative_errno();
                (void)unlinkat(dir_fd, lock, 0);
                return r;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int state_unlock(int fd, const char *state_dir, const char *id, bool forget) {
        if (fd < 0)
                return -1;
        if (forget) {
                _cleanup_close_ int dir_fd = -1;
                char lock[300];
                snprintf(lock, sizeof lock, "%s.lock", id);
                if (state_dir_open(state_dir, &dir_fd) >= 0)
                        (void)unlinkat(dir_fd, lock, 0);
        }
        return safe_close(fd);
}

int state_save(const char *state_dir, const json_t *state) {
        _cleanup_close_ int dir_fd = -1;
        _cleanup_free_ char *text = NULL;
        char name[300];
        const char *id = json_get_string(state, "id");
        int r;

        if (!state_id_is_valid(id))
                return -EINVAL;
        r = state_dir_open(state_dir, &dir_fd);
        if (r < 0)
                return r;
        r = json_dump_compact(state, &text);
        if (r < 0)
                return r;
        snprintf(name, sizeof name, "%s.json", id);
        return write_file_atomic_at(dir_fd, name, text, strlen(text), 0600);
}

int state_load(const char *state_dir, const char *id, json_t **ret) {
        _cleanup_close_ int dir_fd = -1;
        _cleanup_free_ char *text = NULL;
        char name[300], err[128];
        size_t size;
        int r;

        if (!state_id_is_valid(id))
                return -EINVAL;
        r = state_dir_open(state_dir, &dir_fd);
        if (r < 0)
                return r;
        snprintf(name, sizeof name, "%s.json", id);
        r = read_file_at(dir_fd, name, STATE_FILE_MAX, &text, &size);
        if (r < 0)
                return r;
        r = json_parse_strict(text, size, STATE_FILE_MAX, ret, err, sizeof err);
        if (r < 0)
                return log_error_errno(r, "state of %s: %s", id, err);
        if (!json_is_object(*ret) || !streq_ptr(json_get_string(*ret, "id"), id)) {
                json_decref(*ret);
                *ret = NULL;
                return log_error_errno(-EINVAL, "state of %s: not a container record", id);
        }
        return 0;
}

int state_remove(const char *state_dir, const char *id) {
        _cleanup_close_ int dir_fd = -1;
        char name[300];
        int r;

        if (!state_id_is_valid(id))
                return -EINVAL;
        r = state_dir_open(state_dir, &dir_fd);
        if (r < 0)
                return r;
        snprintf(name, sizeof name, "%s.json", id);
        if (unlinkat(dir_fd, name, 0) < 0)
                return negative_errno();
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int state_load_all(const char *state_dir, json_t **ret_array) {
        _cleanup_close_ int dir_fd = -1;
        int r = state_dir_open(state_dir, &dir_fd);
        if (r < 0)
                return r;
        /* F_DUPFD_CLOEXEC, not dup(): every fd the broker holds is close-on-exec (DESIGN
         * §10.4), and status may run while a hook forks. */
        DIR *d = fdopendir(fcntl(dir_fd, F_DUPFD_CLOEXEC, 3));
        if (!d)
                return negative_errno();
        char **ids = NULL;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json"))
                        continue;
                char **grown = realloc(ids, (n + 1) * sizeof *ids);
                if (!grown)
                        break;
                ids = grown;
                ids[n] = strndup(de->d_name, len - 5);
                if (ids[n])
                        n++;
        }
        closedir(d);
        if (n)
                qsort(ids, n, sizeof *ids, cmp_str);
        json_t *all = json_array();
        for (size_t i = 0; i < n; i++) {
                json_t *s;
                if (all && state_load(state_dir, ids[i], &s) >= 0)
                        json_array_append_new(all, s);
                free(ids[i]);
        }
        free(ids);
        if (!all)
                return -ENOMEM;
        *ret_array = all;
        return 0;
}

/* Every record for which match() holds. */
static json_t *state_filter(const json_t *all, const char *what,
                            bool (*match)(const json_t *s, const char *what)) {
        json_t *out = json_array();
        size_t i;
        json_t *s;
        json_array_foreach(all, i, s) {
                if (out && match(s, what) && json_array_append(out, s) < 0)
                        out = (json_decref(out), NULL);
        }
        return out;
}

static bool match_name(const json_t *s, const char *what) {
        return streq_ptr(json_get_string(s, "name"), what);
}

static bool match_prefix(const json_t *s, const char *what) {
        const char *id = json_get_string(s, "id");
        return id && strncmp(id, what, strlen(what)) == 0;
}

int state_find(const char *state_dir, const char *what, char **ret_id, json_t **ret_matches) {
        _cleanup_json_ json_t *all = NULL, *one = NULL;
        int r;

        if (!what || !*what)
                return -EINVAL;
        if (state_id_is_valid(what) && state_load(state_dir, what, &one) >= 0) {
                *ret_id = strdup(what);
                return *ret_id ? 0 : -ENOMEM;
        }
        r = state_load_all(state_dir, &all);
        if (r < 0)
                return r;
        bool (*const rules[])(const json_t *, const char *) = {match_name, match_prefix};
        for (size_t k = 0; k < ARRAY_SIZE(rules); k++) {
                _cleanup_json_ json_t *m = state_filter(all, what, rules[k]);
                if (!m)
                        return -ENOMEM;
                if (json_array_size(m) == 0)
                        continue;
                if (json_array_size(m) > 1) {
                        *ret_matches = TAKE_PTR(m);
                        return -ENOTUNIQ;
                }
                *ret_id = strdup(json_get_string(json_array_get(m, 0), "id"));
                return *ret_id ? 0 : -ENOMEM;
        }
        return -ENOENT;
}

int proc_start_time(pid_t pid, unsigned long long *ret) {
        char path[64];
        _cleanup_free_ char *text = NULL;
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        int r = read_file_at(AT_FDCWD, path, 4096, &text, NULL);
        if (r < 0)
                return r;
        /* comm (field 2) may hold spaces and parentheses: count fields after the last ')'. */
        char *p = strrchr(text, ')');
        if (!p)
                return -EINVAL;
        p++;
        for (int field = 3; field < 22 && p; field++)
                p = strchr(p + 1, ' ');
        if (!p || sscanf(p, " %llu", ret) != 1)
                return -EINVAL;
        return 0;
}

bool state_is_stale(const struct stat *st, bool owner_alive) {
        time_t age = time(NULL) - st->st_mtime;
        return age > STATE_STALE_MAX_S || (!owner_alive && age > STATE_STALE_AFTER_S);
}

/* ".#NAME.PID" or ".#digest.key.PID.RAND": the writer's pid, or 0 when the name is not one of
 * ours. The digest key's form is told by its prefix: its random part may be all digits. */
static pid_t temp_owner(const char *name) {
        static const char digest_prefix[] = ".#digest.key.";
        const char *p;
        if (strncmp(name, ".#", 2) != 0)
                return 0;
        if (strncmp(name, digest_prefix, sizeof digest_prefix - 1) == 0)
                p = name + sizeof digest_prefix - 1;
        else if (!(p = strrchr(name, '.')) || p == name + 1)
                return 0;
        else
                p++;
        char *end;
        long pid = strtol(p, &end, 10);
        if (end == p || pid <= 0 || pid > INT32_MAX || (*end && *end != '.'))
                return 0;
        return (pid_t)pid;
}

static void sweep_dir(int dir_fd) {
        DIR *d = fdopendir(dir_fd);
        struct dirent *de;
        if (!d) {
                safe_close(dir_fd);
                return;
        }
        while ((de = readdir(d))) {
                struct stat st;
                pid_t owner = temp_owner(de->d_name);
                if (owner <= 0 || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISREG(st.st_mode))
                        continue;
                bool alive = kill(owner, 0) == 0 || errno != ESRCH;
                if (state_is_stale(&st, alive) && unlinkat(dirfd(d), de->d_name, 0) == 0)
                        log_debug("state: removed %s, left by process %d", de->d_name, (int)owner);
        }
        closedir(d);
}

void state_sweep_temps(const char *state_dir) {
        static const char *const subs[] = {".", "containers", "tokens"};
        _cleanup_close_ int top = -1;
        struct stat st;
        /* Nothing is created: a state directory that is not there has nothing to sweep. */
        if (lstat(state_dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
            state_private_dir(state_dir, NULL, &top) < 0)
                return;
        /* tokens/ belongs to the fetcher's uid, inside our private directory. */
        for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
                int fd = openat(top, subs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd >= 0)
                        sweep_dir(fd);
        }
}
