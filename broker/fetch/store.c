/* SPDX-License-Identifier: Apache-2.0 */
#include "store.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "fdutil.h"
#include "log.h"
#include "perm.h"
#include "manifest.h"

#define STORE_MAGIC "LBXS"
#define STORE_MAGIC_LEN 4
#define STORE_FORMAT_VERSION 1
#define STORE_KEY_BYTES crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define STORE_NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define STORE_TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define STORE_HEADER_BYTES (STORE_MAGIC_LEN + 1 + STORE_NONCE_BYTES)
#define STORE_SUFFIX ".sealed"
#define STORE_AD_PREFIX "lockbox-store-v1:"

_Static_assert(STORE_KEY_BYTES == 32, "the key file format is 32 raw bytes");

/* NAME.sealed; the name was validated, so it fits and holds no '/'. */
static void store_file_name(const char *name, char out[static SECRET_NAME_MAX + 16]) {
        snprintf(out, SECRET_NAME_MAX + 16, "%s" STORE_SUFFIX, name);
}

/* The associated data binds a file to its name: a file copied or renamed over another
 * secret's name fails authentication instead of handing out the wrong value. */
static size_t store_ad(const char *name, unsigned char out[static SECRET_NAME_MAX + 32]) {
        size_t plen = strlen(STORE_AD_PREFIX), nlen = strlen(name);
        memcpy(out, STORE_AD_PREFIX, plen);
        memcpy(out + plen, name, nlen);
        return plen + nlen;
}

/* Open the store directory. Whoever can write it can swap sealed files between names (the AD
 * catches that) or delete them; whoever owns it can chmod it: both must be us; whoever can list
 * it learns every secret's name. */
static int store_open_dir(const struct store *s, int *ret_fd) {
        _cleanup_close_ int fd =
                open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        struct stat st;
        if (fd < 0) {
                int r = negative_errno();
                /* O_NOFOLLOW|O_DIRECTORY says ENOTDIR for a symlink: call it what it is. */
                if (r == -ENOTDIR && lstat(s->dir, &st) == 0 && S_ISLNK(st.st_mode))
                        return log_error("store %s: refusing: a symbolic link; expected the "
                                         "directory itself",
                                         s->dir),
                               -EPERM;
                return r;
        }
        if (fstat(fd, &st) < 0)
                return negative_errno();
        /* Not even readable by others: the file names are the secrets' names (store init
         * makes it 0700; the hook and store put apply the same rule). */
        if (!perm_ok(&st, geteuid(), 077))
                return perm_refuse("store", s->dir, &st, geteuid(), 077);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* The key file must be ours and private. Tests run as root too, so "ours" is the effective
 * uid rather than a literal 0. A missing key is -ENOKEY, not -ENOENT, which means "no such
 * secret" to callers. */
static int store_load_key(const struct store *s, struct secret **ret) {
        _cleanup_close_ int fd = open(s->key_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0 && errno == ELOOP)
                return log_error("store key %s: refusing: a symbolic link; expected the file "
                                 "itself",
                                 s->key_file),
                       -EPERM;
        if (fd < 0)
                return errno == ENOENT ? -ENOKEY : negative_errno();
        struct stat st;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return log_error("store key %s: refusing: not a regular file", s->key_file), -EPERM;
        if (!perm_ok(&st, geteuid(), 0077))
                return perm_refuse("store key", s->key_file, &st, geteuid(), 0077);
        if (st.st_size != STORE_KEY_BYTES)
                return -EKEYREJECTED;
        _cleanup_secret_ struct secret *key = NULL;
        int r = secret_new(STORE_KEY_BYTES, &key);
        if (r < 0)
                return r;
        /* One byte more, so that a key file that grew since fstat is noticed. */
        unsigned char extra;
        ssize_t n = read_full(fd, secret_data(key), STORE_KEY_BYTES);
        if (n >= 0 && n == STORE_KEY_BYTES && read_full(fd, &extra, 1) != 0)
                n = -EKEYREJECTED;
        if (n < 0)
                return (int)n;
        if (n != STORE_KEY_BYTES)
                return -EKEYREJECTED;
        *ret = TAKE_PTR(key);
        return 0;
}

/* Both the directory and the key, in this order, for every operation on values. */
static int store_open(const struct store *s, int *ret_dirfd, struct secret **ret_key) {
        _cleanup_close_ int dirfd = -1;
        int r = store_open_dir(s, &dirfd);
        if (r < 0)
                return r;
        r = store_load_key(s, ret_key);
        if (r < 0)
                return r;
        *ret_dirfd = TAKE_FD(dirfd);
        return 0;
}

int store_seal(const char *name, const struct secret *key, const struct secret *value,
               unsigned char **ret, size_t *ret_len) {
        if (!secret_name_is_valid(name))
                return -EINVAL;
        if (secret_size(key) != STORE_KEY_BYTES)
                return -EKEYREJECTED;
        if (secret_size(value) > STORE_VALUE_MAX)
                return -EFBIG;
        /* The ciphertext may sit in a plain buffer: it is what goes to disk anyway. */
        size_t len = STORE_HEADER_BYTES + secret_size(value) + STORE_TAG_BYTES;
        _cleanup_free_ unsigned char *buf = malloc(len);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, STORE_MAGIC, STORE_MAGIC_LEN);
        buf[STORE_MAGIC_LEN] = STORE_FORMAT_VERSION;
        unsigned char *nonce = buf + STORE_MAGIC_LEN + 1;
        /* 192-bit random nonces: no counter to keep, collisions negligible (XChaCha20). */
        randombytes_buf(nonce, STORE_NONCE_BYTES);
        unsigned char ad[SECRET_NAME_MAX + 32];
        size_t ad_len = store_ad(name, ad);
        unsigned long long clen;
        crypto_aead_xchacha20poly1305_ietf_encrypt(buf + STORE_HEADER_BYTES, &clen,
                                                   secret_cdata(value), secret_size(value), ad,
                                                   ad_len, NULL, nonce, secret_cdata(key));
        *ret = TAKE_PTR(buf);
        *ret_len = STORE_HEADER_BYTES + (size_t)clen;
        return 0;
}

int store_put(const struct store *s, const char *name, const struct secret *value) {
        if (!secret_name_is_valid(name))
                return -EINVAL;
        if (secret_size(value) > STORE_VALUE_MAX)
                return -EFBIG;
        _cleanup_close_ int dirfd = -1;
        _cleanup_secret_ struct secret *key = NULL;
        int r = store_open(s, &dirfd, &key);
        if (r < 0)
                return r;
        _cleanup_free_ unsigned char *buf = NULL;
        size_t len = 0;
        r = store_seal(name, key, value, &buf, &len);
        if (r < 0)
                return r;
        char file[SECRET_NAME_MAX + 16];
        store_file_name(name, file);
        return write_file_atomic_at(dirfd, file, buf, len, 0600);
}

/* Read NAME.sealed into a plain buffer (ciphertext only). Anything that is not a regular file
 * of a plausible size is tampering. */
static int store_read_sealed(int dirfd, const char *name, unsigned char **ret, size_t *ret_len) {
        char file[SECRET_NAME_MAX + 16];
        store_file_name(name, file);
        _cleanup_close_ int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return errno == ELOOP ? -EBADMSG : negative_errno();
        struct stat st;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        size_t min = STORE_HEADER_BYTES + STORE_TAG_BYTES;
        if (!S_ISREG(st.st_mode) || (size_t)st.st_size < min ||
            (size_t)st.st_size > min + STORE_VALUE_MAX)
                return -EBADMSG;
        size_t len = (size_t)st.st_size;
        _cleanup_free_ unsigned char *buf = malloc(len + 1);
        if (!buf)
                return -ENOMEM;
        ssize_t n = read_full(fd, buf, len + 1);
        if (n < 0)
                return (int)n;
        if ((size_t)n != len)
                return -EBADMSG;
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

/* The checks of a sealed file's bytes that need no key: its value's size, or -EBADMSG. */
static ssize_t store_sealed_value_size(const unsigned char *buf, size_t len) {
        if (len < STORE_HEADER_BYTES + STORE_TAG_BYTES ||
            len > STORE_HEADER_BYTES + STORE_TAG_BYTES + STORE_VALUE_MAX)
                return -EBADMSG;
        if (memcmp(buf, STORE_MAGIC, STORE_MAGIC_LEN) != 0 ||
            buf[STORE_MAGIC_LEN] != STORE_FORMAT_VERSION)
                return -EBADMSG;
        return (ssize_t)(len - STORE_HEADER_BYTES - STORE_TAG_BYTES);
}

/* Decrypt straight into value (locked memory, of store_sealed_value_size's size), then make it
 * read-only: the plaintext never touches the heap. */
static int store_decrypt(const char *name, const struct secret *key, const unsigned char *buf,
                         size_t len, struct secret *value) {
        unsigned char ad[SECRET_NAME_MAX + 32];
        size_t ad_len = store_ad(name, ad);
        unsigned long long mlen;
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(
                    secret_data(value), &mlen, NULL, buf + STORE_HEADER_BYTES,
                    len - STORE_HEADER_BYTES, ad, ad_len, buf + STORE_MAGIC_LEN + 1,
                    secret_cdata(key)) != 0)
                return -EBADMSG;
        return secret_seal(value);
}

int store_unseal(const char *name, const struct secret *key, const unsigned char *buf, size_t len,
                 struct secret **ret) {
        if (!secret_name_is_valid(name))
                return -EINVAL;
        if (secret_size(key) != STORE_KEY_BYTES)
                return -EKEYREJECTED;
        ssize_t size = store_sealed_value_size(buf, len);
        if (size < 0)
                return (int)size;
        _cleanup_secret_ struct secret *value = NULL;
        int r = secret_new((size_t)size, &value);
        if (r < 0)
                return r;
        r = store_decrypt(name, key, buf, len, value);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(value);
        return 0;
}

int store_get(const struct store *s, const char *name, struct secret **ret) {
        if (!secret_name_is_valid(name))
                return -EINVAL;
        _cleanup_close_ int dirfd = -1;
        _cleanup_secret_ struct secret *key = NULL;
        int r = store_open(s, &dirfd, &key);
        if (r < 0)
                return r;
        _cleanup_free_ unsigned char *buf = NULL;
        size_t len = 0;
        r = store_read_sealed(dirfd, name, &buf, &len);
        if (r < 0)
                return r;
        return store_unseal(name, key, buf, len, ret);
}

/* The sealed files of a batch, read and checked: sizes[i] their values' sizes (0 where errs[i]
 * says why not). */
static void store_read_batch(int dirfd, const char *const *names, size_t n, unsigned char **bufs,
                             size_t *lens, size_t *sizes, int *errs) {
        for (size_t i = 0; i < n; i++) {
                ssize_t size = -EINVAL;
                if (secret_name_is_valid(names[i]) &&
                    (size = store_read_sealed(dirfd, names[i], &bufs[i], &lens[i])) >= 0)
                        size = store_sealed_value_size(bufs[i], lens[i]);
                errs[i] = size < 0 ? (int)size : 0;
                sizes[i] = size < 0 ? 0 : (size_t)size;
        }
}

static int store_unseal_batch(const char *const *names, size_t n, const struct secret *key,
                              unsigned char **bufs, const size_t *lens, const size_t *sizes,
                              struct secret **ret, int *errs) {
        _cleanup_free_ struct secret **values = calloc(n, sizeof *values);
        if (!values)
                return -ENOMEM;
        int r = secret_new_batch(sizes, n, values);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (errs[i] == 0)
                        errs[i] = store_decrypt(names[i], key, bufs[i], lens[i], values[i]);
                if (errs[i] == 0)
                        ret[i] = TAKE_PTR(values[i]);
                values[i] = secret_free(values[i]);
        }
        return 0;
}

int store_get_batch(const struct store *s, const char *const *names, size_t n, struct secret **ret,
                    int *errs) {
        _cleanup_close_ int dirfd = -1;
        _cleanup_secret_ struct secret *key = NULL;
        for (size_t i = 0; i < n; i++)
                ret[i] = NULL;
        int r = store_open(s, &dirfd, &key);
        if (r < 0 || n == 0)
                return r;
        unsigned char **bufs = calloc(n, sizeof *bufs);
        size_t *lens = calloc(n, sizeof *lens), *sizes = calloc(n, sizeof *sizes);
        if (bufs && lens && sizes) {
                store_read_batch(dirfd, names, n, bufs, lens, sizes, errs);
                r = store_unseal_batch(names, n, key, bufs, lens, sizes, ret, errs);
        } else
                r = -ENOMEM;
        for (size_t i = 0; bufs && i < n; i++)
                free(bufs[i]); /* ciphertext */
        free(bufs);
        free(lens);
        free(sizes);
        return r;
}

static int store_name_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The secret name of a directory entry, or false: only "NAME.sealed" regular files count;
 * temporary files of write_file_atomic_at (".#...") fail secret_name_is_valid. */
static bool store_entry_name(int dirfd, const struct dirent *de, char *out, size_t out_size) {
        size_t len = strlen(de->d_name), slen = strlen(STORE_SUFFIX);
        if (len <= slen || len - slen >= out_size ||
            strcmp(de->d_name + len - slen, STORE_SUFFIX) != 0)
                return false;
        memcpy(out, de->d_name, len - slen);
        out[len - slen] = '\0';
        struct stat st;
        return secret_name_is_valid(out) &&
               fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

static int store_collect(DIR *d, char ***ret, size_t *ret_n) {
        char **v = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        char name[SECRET_NAME_MAX + 1];
        int r = 0;
        errno = 0;
        while ((de = readdir(d))) {
                if (!store_entry_name(dirfd(d), de, name, sizeof name))
                        continue;
                if (n + 2 > cap) {
                        cap = cap ? cap * 2 : 16;
                        char **nv = realloc(v, cap * sizeof *v);
                        if (!nv) {
                                r = -ENOMEM;
                                break;
                        }
                        v = nv;
                }
                if (!(v[n] = strdup(name))) {
                        r = -ENOMEM;
                        break;
                }
                v[++n] = NULL;
                errno = 0;
        }
        if (r == 0 && errno != 0)
                r = negative_errno();
        if (r == 0 && !v && !(v = calloc(1, sizeof *v)))
                r = -ENOMEM;
        if (r < 0) {
                strv_free(v);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int store_check(const struct store *s) {
        _cleanup_close_ int dirfd = -1;
        _cleanup_secret_ struct secret *key = NULL;
        return store_open(s, &dirfd, &key);
}

int store_list(const struct store *s, char ***ret) {
        int dirfd;
        int r = store_open_dir(s, &dirfd);
        if (r < 0)
                return r;
        DIR *d = fdopendir(dirfd);
        if (!d) {
                r = negative_errno();
                close(dirfd);
                return r;
        }
        char **v;
        size_t n;
        r = store_collect(d, &v, &n);
        closedir(d);
        if (r < 0)
                return r;
        qsort(v, n, sizeof *v, store_name_cmp);
        *ret = v;
        return 0;
}

int store_remove(const struct store *s, const char *name) {
        if (!secret_name_is_valid(name))
                return -EINVAL;
        _cleanup_close_ int dirfd = -1;
        int r = store_open_dir(s, &dirfd);
        if (r < 0)
                return r;
        char file[SECRET_NAME_MAX + 16];
        store_file_name(name, file);
        if (unlinkat(dirfd, file, 0) < 0)
                return negative_errno();
        (void)fsync(dirfd);
        return 0;
}

/* mkdir -p of path's parent directories with 0755 (for /var/lib/lockbox and /etc/lockbox on a
 * fresh host); the last component is not created here. */
static int store_mkdir_parents(const char *path) {
        char buf[PATH_MAX];
        if (strlen(path) >= sizeof buf)
                return -ENAMETOOLONG;
        strcpy(buf, path);
        for (char *p = strchr(buf + 1, '/'); p; p = strchr(p + 1, '/')) {
                *p = '\0';
                if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
                *p = '/';
        }
        return 0;
}

static int store_has_sealed(const struct store *s) {
        char **names;
        int r = store_list(s, &names);
        if (r < 0)
                return r;
        r = names[0] != NULL;
        strv_free(names);
        return r;
}

/* 32 random bytes, created O_EXCL with 0400: never visible with a wider mode, and a key that
 * appeared meanwhile is never overwritten. */
static int store_create_key(const struct store *s) {
        int r = store_mkdir_parents(s->key_file);
        if (r < 0)
                return r;
        _cleanup_close_ int fd =
                open(s->key_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400);
        if (fd < 0)
                return negative_errno();
        _cleanup_secret_ struct secret *key = NULL;
        r = secret_new(STORE_KEY_BYTES, &key);
        if (r >= 0) {
                randombytes_buf(secret_data(key), STORE_KEY_BYTES);
                r = write_full(fd, secret_cdata(key), STORE_KEY_BYTES);
        }
        /* The umask cannot widen 0400, but fchmod makes the mode exact whatever it is. */
        if (r >= 0 && fchmod(fd, 0400) < 0)
                r = negative_errno();
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        if (r < 0) {
                (void)unlink(s->key_file); /* a partial key would be rejected forever after */
                return r;
        }
        return 0;
}

int store_init(const struct store *s) {
        int r = store_mkdir_parents(s->dir);
        if (r < 0)
                return r;
        if (mkdir(s->dir, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        _cleanup_close_ int dirfd = -1;
        r = store_open_dir(s, &dirfd);
        if (r < 0)
                return r;

        _cleanup_secret_ struct secret *key = NULL;
        r = store_load_key(s, &key);
        if (r != -ENOKEY)
                return r; /* kept (0), or an existing key that is unsafe or malformed */
        /* Sealed files without their key: a new key would not open them, and would hide the
         * loss until the next container asks for one. Make the operator decide. */
        r = store_has_sealed(s);
        if (r < 0)
                return r;
        if (r > 0)
                return -EEXIST;
        return store_create_key(s);
}

void strv_free(char **v) {
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}
