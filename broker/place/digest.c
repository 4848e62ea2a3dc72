/* SPDX-License-Identifier: Apache-2.0 */
#include "digest.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "fdutil.h"
#include "state.h"

static int digest_key_create(int dir_fd) {
        char tmp[64];
        uint8_t key[DIGEST_KEY_BYTES];

        snprintf(tmp, sizeof tmp, ".#%s.%ld.%08x", DIGEST_KEY_FILE, (long)getpid(),
                 randombytes_random());
        _cleanup_close_ int fd =
                openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return negative_errno();
        randombytes_buf(key, sizeof key);
        int r = write_full(fd, key, sizeof key);
        sodium_memzero(key, sizeof key);
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        /* link(2), not rename(2): when another broker made the key meanwhile, theirs stays
         * (EEXIST) and both use it; a rename would replace it under digests already recorded. */
        if (r >= 0 && linkat(dir_fd, tmp, dir_fd, DIGEST_KEY_FILE, 0) < 0 && errno != EEXIST)
                r = negative_errno();
        (void)unlinkat(dir_fd, tmp, 0);
        return r;
}

static int digest_key_read(int dir_fd, struct secret **ret_key) {
        struct stat st;
        _cleanup_close_ int fd =
                openat(dir_fd, DIGEST_KEY_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0077) ||
            st.st_size != DIGEST_KEY_BYTES)
                return -EPERM;
        _cleanup_secret_ struct secret *key = NULL;
        int r = secret_new(DIGEST_KEY_BYTES, &key);
        if (r < 0)
                return r;
        ssize_t n = read_full(fd, secret_data(key), DIGEST_KEY_BYTES);
        if (n != DIGEST_KEY_BYTES)
                return n < 0 ? (int)n : -EIO;
        (void)secret_seal(key);
        *ret_key = TAKE_PTR(key);
        return 0;
}

int digest_key_load(const char *state_dir, struct secret **ret_key) {
        _cleanup_close_ int dir_fd = -1;
        int r = state_private_dir(state_dir, NULL, &dir_fd);
        if (r < 0)
                return r;
        r = digest_key_read(dir_fd, ret_key);
        if (r != -ENOENT)
                return r;
        r = digest_key_create(dir_fd);
        if (r < 0)
                return r;
        return digest_key_read(dir_fd, ret_key);
}

void digest_value(const struct secret *key, const struct secret *value,
                  char hex[DIGEST_HEX_BYTES]) {
        uint8_t mac[32];
        crypto_generichash(mac, sizeof mac, secret_cdata(value), secret_size(value),
                           secret_cdata(key), secret_size(key));
        sodium_bin2hex(hex, DIGEST_HEX_BYTES, mac, sizeof mac);
}
