/* SPDX-License-Identifier: Apache-2.0 */
#include "token_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "fdutil.h"
#include "http.h"
#include "log.h"
#include "token_memory.h"
#include "perm.h"

#define TOKEN_CACHE_MAGIC "lockbox-token 1"
#define TOKEN_CACHE_VALUE_MAX 8192

void token_cache_entry_done(struct token_cache_entry *e) {
        e->token = secret_free(e->token);
        e->secret_id = secret_free(e->secret_id);
        e->expires = e->ttl = 0;
        e->wrapped[0] = '\0';
}

void token_cache_key(const char *const *parts, size_t n, char ret[TOKEN_CACHE_KEY_LEN + 1]) {
        crypto_generichash_state st;
        unsigned char h[TOKEN_CACHE_KEY_LEN / 2];

        crypto_generichash_init(&st, NULL, 0, sizeof h);
        for (size_t i = 0; i < n; i++) {
                const char *p = parts[i] ? parts[i] : "";
                /* With the NUL: ("ab","c") and ("a","bc") are different identities. */
                crypto_generichash_update(&st, (const unsigned char *)p, strlen(p) + 1);
        }
        crypto_generichash_final(&st, h, sizeof h);
        sodium_bin2hex(ret, TOKEN_CACHE_KEY_LEN + 1, h, sizeof h);
}

bool token_cache_is_fresh(const struct token_cache_entry *e, int64_t now) {
        if (!e->token)
                return false;
        if (e->expires == 0)
                return true;
        int64_t ttl = e->ttl > 0 ? e->ttl : 0;
        int64_t floor = ttl / 2 < TOKEN_CACHE_MARGIN_S ? ttl / 2 : TOKEN_CACHE_MARGIN_S;
        int64_t margin = ttl / 10 > floor ? ttl / 10 : floor;
        return now < e->expires - margin;
}

/* Tokens, secret ids and hashes are printable ASCII without spaces: anything else in the file
 * is corruption, and a value with a newline could forge a line. */
static bool token_cache_value_is_valid(const void *data, size_t size) {
        const unsigned char *p = data;
        if (size == 0 || size > TOKEN_CACHE_VALUE_MAX)
                return false;
        for (size_t i = 0; i < size; i++)
                if (p[i] <= ' ' || p[i] >= 0x7f)
                        return false;
        return true;
}

int token_cache_format(const struct token_cache_entry *e, struct secret **ret) {
        char head[128];
        const struct secret *sid = e->secret_id;

        if (!e->token || !token_cache_value_is_valid(secret_cdata(e->token), secret_size(e->token)))
                return -EINVAL;
        if (sid && !token_cache_value_is_valid(secret_cdata(sid), secret_size(sid)))
                return -EINVAL;
        int hlen = snprintf(head, sizeof head,
                            TOKEN_CACHE_MAGIC "\nexpires %" PRId64 "\nttl %" PRId64 "\ntoken ",
                            e->expires, e->ttl);
        size_t size = (size_t)hlen + secret_size(e->token) + 1;
        if (sid)
                size += strlen("secret_id ") + secret_size(sid) + 1;
        if (e->wrapped[0])
                size += strlen("wrapped ") + strlen(e->wrapped) + 1;
        struct secret *s;
        int r = secret_new(size, &s);
        if (r < 0)
                return r;
        char *p = secret_data(s);
        memcpy(p, head, (size_t)hlen);
        p += hlen;
        memcpy(p, secret_cdata(e->token), secret_size(e->token));
        p += secret_size(e->token);
        *p++ = '\n';
        if (sid) {
                memcpy(p, "secret_id ", 10);
                memcpy(p + 10, secret_cdata(sid), secret_size(sid));
                p += 10 + secret_size(sid);
                *p++ = '\n';
        }
        if (e->wrapped[0]) {
                /* Not sprintf: its NUL would land one byte past the buffer (on sodium's
                 * guard canary). */
                size_t n = strlen(e->wrapped);
                memcpy(p, "wrapped ", 8);
                memcpy(p + 8, e->wrapped, n);
                p[8 + n] = '\n';
        }
        *ret = s;
        return 0;
}

static int token_cache_parse_int(const char *v, size_t n, int64_t *ret) {
        char buf[24];
        uint64_t u;
        if (n == 0 || n >= sizeof buf)
                return -EBADMSG;
        memcpy(buf, v, n);
        buf[n] = '\0';
        if (parse_uint64(buf, &u) < 0 || u > INT64_MAX)
                return -EBADMSG;
        *ret = (int64_t)u;
        return 0;
}

/* One "key value" line into e. */
static int token_cache_parse_line(const char *line, size_t len, struct token_cache_entry *e,
                                  unsigned *seen) {
        const char *sp = memchr(line, ' ', len);
        if (!sp)
                return -EBADMSG;
        size_t klen = (size_t)(sp - line), vlen = len - klen - 1;
        const char *v = sp + 1;
        static const char *const keys[] = {"expires", "ttl", "token", "secret_id", "wrapped"};
        for (unsigned k = 0; k < ARRAY_SIZE(keys); k++) {
                if (strlen(keys[k]) != klen || memcmp(keys[k], line, klen) != 0)
                        continue;
                if (*seen & (1u << k))
                        return -EBADMSG;
                *seen |= 1u << k;
                if (k == 0)
                        return token_cache_parse_int(v, vlen, &e->expires);
                if (k == 1)
                        return token_cache_parse_int(v, vlen, &e->ttl);
                if (!token_cache_value_is_valid(v, vlen))
                        return -EBADMSG;
                if (k == 2)
                        return secret_new_copy(v, vlen, &e->token);
                if (k == 3)
                        return secret_new_copy(v, vlen, &e->secret_id);
                if (vlen != sizeof e->wrapped - 1 || strspn(v, "0123456789abcdef") < vlen)
                        return -EBADMSG;
                memcpy(e->wrapped, v, vlen);
                e->wrapped[vlen] = '\0';
                return 0;
        }
        return -EBADMSG;
}

int token_cache_parse(const void *data, size_t size, struct token_cache_entry *ret) {
        struct token_cache_entry e = {0};
        const char *p = data, *end = p + size;
        size_t mlen = strlen(TOKEN_CACHE_MAGIC);
        unsigned seen = 0;
        int r = 0;

        if (size < mlen + 1 || memcmp(p, TOKEN_CACHE_MAGIC "\n", mlen + 1) != 0)
                return -EBADMSG;
        p += mlen + 1;
        while (p < end && r >= 0) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                if (!nl) {
                        r = -EBADMSG;
                        break;
                }
                r = token_cache_parse_line(p, (size_t)(nl - p), &e, &seen);
                p = nl + 1;
        }
        /* expires, ttl and token are required. */
        if (r >= 0 && (seen & 7u) != 7u)
                r = -EBADMSG;
        if (r < 0) {
                token_cache_entry_done(&e);
                return r == -ENOMEM ? r : -EBADMSG;
        }
        *ret = e;
        return 0;
}

/* ---- files -------------------------------------------------------------------------------- */

/* Set by token_cache_preopen, in the secret fetcher: the directory, or why it failed. */
static int token_cache_preopened = -1, token_cache_preopen_error;
static bool token_cache_in_memory;

void token_cache_keep_in_memory(void) {
        token_cache_in_memory = true;
}

/* parent/name (path, for messages), created 0700 if missing, private, and owned by us (or by
 * anyone, any_owner). Too open but not writable by others: made 0700, and said so (perm.h). */
static int token_cache_private_dir(int parent, const char *name, const char *path, bool any_owner,
                                   int *ret_fd) {
        struct stat st;
        if (mkdirat(parent, name, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        _cleanup_close_ int fd =
                openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        /* Tokens grant what the broker's Vault role grants: only root (and the fetcher's uid)
         * may see or plant them. */
        if (fstat(fd, &st) < 0)
                return negative_errno();
        uid_t owner = any_owner ? st.st_uid : geteuid();
        if (st.st_uid != owner || (st.st_mode & 0022))
                return perm_refuse("token cache", path, &st, owner, 0077);
        if ((st.st_mode & 0077) && (owner != geteuid() || fchmod(fd, 0700) < 0))
                return perm_refuse("token cache", path, &st, owner, 0077);
        if (st.st_mode & 0077)
                log_warning("token cache %s: was mode %04o, now 0700 (fixed: lockbox's own "
                            "directory, no access for group or others)",
                            path, (unsigned)(st.st_mode & 07777));
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int token_cache_open(const char *state_dir, int *ret_dirfd) {
        _cleanup_close_ int top = -1;
        if (token_cache_in_memory) {
                *ret_dirfd = -1;
                return 0;
        }
        if (token_cache_preopen_error < 0)
                return token_cache_preopen_error;
        if (token_cache_preopened >= 0) {
                int fd = fcntl(token_cache_preopened, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return negative_errno();
                *ret_dirfd = fd;
                return 0;
        }
        if (state_dir[0] != '/')
                return -EINVAL;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/tokens", state_dir);
        int r = token_cache_private_dir(AT_FDCWD, state_dir, state_dir, false, &top);
        if (r < 0)
                return r;
        return token_cache_private_dir(top, "tokens", path, false, ret_dirfd);
}

static int token_cache_preopen_one(const char *state_dir, uid_t uid, gid_t gid) {
        _cleanup_close_ int top = -1, fd = -1;
        if (state_dir[0] != '/')
                return -EINVAL;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/tokens", state_dir);
        int r = token_cache_private_dir(AT_FDCWD, state_dir, state_dir, false, &top);
        if (r < 0)
                return r;
        /* Whoever owns it, root gave it to them: only root reaches into STATE_DIR (0700, ours,
         * checked above). A fetcher uid changed in the configuration takes it over. */
        r = token_cache_private_dir(top, "tokens", path, true, &fd);
        if (r < 0)
                return r;
        if (fchown(fd, uid, gid) < 0)
                return negative_errno();
        /* Entries from a broker that kept them root's (before the fetcher dropped its uid):
         * handed over, else the fetcher could neither read nor replace them. */
        _cleanup_close_ int scan = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = scan >= 0 ? fdopendir(scan) : NULL;
        if (!d)
                return negative_errno();
        TAKE_FD(scan);
        for (struct dirent *de; (de = readdir(d));) {
                struct stat st;
                if (de->d_name[0] == '.' || fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISREG(st.st_mode) || st.st_uid == uid)
                        continue;
                if (fchownat(fd, de->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                        (void)unlinkat(fd, de->d_name, 0);
        }
        closedir(d);
        token_cache_preopened = TAKE_FD(fd);
        return 0;
}

int token_cache_preopen(const char *state_dir, uid_t uid, gid_t gid) {
        int r = token_cache_preopen_one(state_dir, uid, gid);
        token_cache_preopen_error = r < 0 ? r : 0;
        return r;
}

int token_cache_load(int dirfd, const char *name, struct token_cache_entry *ret) {
        _cleanup_secret_ struct secret *text = NULL;
        struct stat st;
        if (token_cache_in_memory)
                return token_memory_load(name, ret);

        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0077))
                return -EPERM;
        int r = secret_read_fd(fd, TOKEN_CACHE_FILE_MAX, &text);
        if (r < 0)
                return r;
        r = token_cache_parse(secret_cdata(text), secret_size(text), ret);
        if (r == -EBADMSG) {
                log_warning("token cache %s: corrupt, removed", name);
                (void)unlinkat(dirfd, name, 0);
        }
        return r;
}

int token_cache_store(int dirfd, const char *name, const struct token_cache_entry *e) {
        _cleanup_secret_ struct secret *text = NULL;
        if (token_cache_in_memory)
                return token_memory_store(name, e);
        int r = token_cache_format(e, &text);
        if (r < 0)
                return r;
        return write_file_atomic_at(dirfd, name, secret_cdata(text), secret_size(text), 0600);
}

/* An entry's expiry from its text (its second line), without reading the token into memory. */
static bool token_cache_expired_long_ago(int dirfd, const char *name, int64_t now) {
        char head[64];
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return false;
        ssize_t n = read(fd, head, sizeof head - 1);
        if (n <= 0)
                return false;
        head[n] = '\0';
        const char *e = strstr(head, "\nexpires ");
        int64_t expires = 0;
        if (!e || token_cache_parse_int(e + 9, strcspn(e + 9, "\n"), &expires) < 0)
                return false;
        return expires != 0 && expires + TOKEN_CACHE_PRUNE_AFTER_S < now;
}

int token_cache_prune(int dirfd, int64_t now) {
        _cleanup_close_ int scan = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = scan >= 0 ? fdopendir(scan) : NULL;
        if (!d)
                return negative_errno();
        TAKE_FD(scan);
        int removed = 0;
        for (struct dirent *de; (de = readdir(d));) {
                char lock[NAME_MAX + 1];
                size_t len = strlen(de->d_name);
                if (de->d_name[0] == '.' || (len > 5 && streq_ptr(de->d_name + len - 5, ".lock")))
                        continue;
                if (!token_cache_expired_long_ago(dirfd, de->d_name, now))
                        continue;
                /* A hook waiting on the lock file then logs in once more: harmless. */
                if ((size_t)snprintf(lock, sizeof lock, "%s.lock", de->d_name) < sizeof lock)
                        (void)unlinkat(dirfd, lock, 0);
                if (unlinkat(dirfd, de->d_name, 0) == 0)
                        removed++;
        }
        closedir(d);
        return removed;
}

int token_cache_remove(int dirfd, const char *name) {
        if (token_cache_in_memory) {
                token_memory_remove(name);
                return 0;
        }
        if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

int token_cache_lock(int dirfd, const char *name, uint64_t deadline_ms, int *ret_fd) {
        char lock[NAME_MAX + 1];
        if (token_cache_in_memory) { /* the agent: one batch at a time, one thread */
                *ret_fd = -1;
                return 0;
        }
        if ((size_t)snprintf(lock, sizeof lock, "%s.lock", name) >= sizeof lock)
                return -ENAMETOOLONG;
        _cleanup_close_ int fd =
                openat(dirfd, lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return negative_errno();
        /* Polled rather than blocking, so that the hook's deadline holds while another hook
         * is logging in. */
        for (;;) {
                if (flock(fd, LOCK_EX | LOCK_NB) == 0)
                        break;
                if (errno != EWOULDBLOCK && errno != EINTR)
                        return negative_errno();
                if (http_now_ms() >= deadline_ms)
                        return -ETIMEDOUT;
                struct timespec ts = {0, 5 * 1000 * 1000};
                nanosleep(&ts, NULL);
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}
