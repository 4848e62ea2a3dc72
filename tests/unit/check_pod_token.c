/* SPDX-License-Identifier: Apache-2.0 */
/* A pod's projected service-account token (broker/fetch/pod_token.c): the kubelet's volume
 * layout is followed beneath the volume, nothing that leaves it, and only a regular file of
 * JWT size is read. */
#include "unit.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fdutil.h"
#include "fetch/pod_token.h"

static char dir[64];

static void setup(void) {
        strcpy(dir, "/tmp/lbx-pod-token-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
}

static void put(const char *name, const char *content) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write_full(fd, content, strlen(content)), 0);
        close(fd);
}

static void link_to(const char *target, const char *name) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        ck_assert_int_eq(symlink(target, path), 0);
}

static int read_token(struct secret **ret, char *why, size_t size) {
        static const struct pod_identity pod = {.namespace = "dev", .name = "web-1"};
        ck_assert_int_eq(pod_token_use(dir, &pod), 0);
        pod_token_preload();
        return pod_token_read(ret, why, size);
}

/* The kubelet's AtomicWriter: token -> ..data/token, ..data -> ..TIMESTAMP. */
START_TEST(test_kubelet_layout) {
        char sub[128], why[256];
        _cleanup_secret_ struct secret *s = NULL;
        snprintf(sub, sizeof sub, "%s/..2026_01_01", dir);
        ck_assert_int_eq(mkdir(sub, 0755), 0);
        put("..2026_01_01/token", "  eyJ.a.b\n");
        link_to("..2026_01_01", "..data");
        link_to("..data/token", "token");
        ck_assert_int_eq(read_token(&s, why, sizeof why), 0);
        ck_assert_uint_eq(secret_size(s), 7);
        ck_assert_int_eq(memcmp(secret_cdata(s), "eyJ.a.b", 7), 0);
        ck_assert(pod_token_active());
        ck_assert_str_eq(pod_token_pod(), "pod dev/web-1");
}
END_TEST

START_TEST(test_escapes_refused) {
        char why[512];
        struct secret *s = NULL;
        link_to("/etc/hostname", "token");
        ck_assert_int_eq(read_token(&s, why, sizeof why), -EPERM);
        ck_assert_ptr_nonnull(strstr(why, "/token: leaves its volume (refused)"));
        ck_assert_ptr_null(s);
        char path[256];
        snprintf(path, sizeof path, "%s/token", dir);
        unlink(path);
        link_to("../../etc/hostname", "token");
        ck_assert_int_eq(read_token(&s, why, sizeof why), -EPERM);
        unlink(path);
        link_to("/proc/self/root/etc/hostname", "token");
        ck_assert_int_lt(read_token(&s, why, sizeof why), 0);
}
END_TEST

/* A FIFO (which would block an open for reading) and a device (whose open can have effects)
 * are never opened for reading; an empty or an oversized file is not a JWT. */
START_TEST(test_not_a_jwt_file) {
        char path[256], why[512];
        struct secret *s = NULL;
        snprintf(path, sizeof path, "%s/token", dir);
        ck_assert_int_eq(mkfifo(path, 0644), 0);
        ck_assert_int_eq(read_token(&s, why, sizeof why), -EINVAL);
        ck_assert_ptr_nonnull(strstr(why, "/token: not a regular file"));
        unlink(path);
        ck_assert_int_eq(mknod(path, S_IFCHR | 0644, makedev(1, 3)), 0);
        ck_assert_int_eq(read_token(&s, why, sizeof why), -EINVAL);
        unlink(path);
        char big[POD_TOKEN_MAX + 2];
        memset(big, 'a', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        put("token", big);
        ck_assert_int_eq(read_token(&s, why, sizeof why), -EFBIG);
        ck_assert_ptr_nonnull(strstr(why, "larger than 16384 bytes (not a JWT)"));
        put("token", " \n");
        ck_assert_int_eq(read_token(&s, why, sizeof why), -EINVAL);
        ck_assert_ptr_nonnull(strstr(why, "/token: empty"));
        unlink(path);
        ck_assert_int_eq(read_token(&s, why, sizeof why), -ENOENT);
        ck_assert_ptr_null(s);
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("pod_token");
        TCase *tc = tcase_create("pod_token");
        tcase_add_checked_fixture(tc, setup, teardown);
        /* valgrind 3.19 does not know openat2 (ENOSYS): make memcheck leaves these to
         * make unit and unit-asan. */
        tcase_set_tags(tc, "openat2");
        unit_add_openat2_test(tc, test_kubelet_layout);
        unit_add_openat2_test(tc, test_escapes_refused);
        unit_add_openat2_test(tc, test_not_a_jwt_file);
        suite_add_tcase(s, tc);
        return s;
}
