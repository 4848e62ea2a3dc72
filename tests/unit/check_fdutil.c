/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "fdutil.h"
#include "unit.h"

static char tmpdir[64], root[128], outside[128];
static int rootfd = -1;

/* A container rootfs and, next to it, a directory that must never be touched through it. */
static void setup(void) {
        strcpy(tmpdir, "/tmp/lbx-fdutil-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
        snprintf(root, sizeof root, "%s/rootfs", tmpdir);
        snprintf(outside, sizeof outside, "%s/outside", tmpdir);
        ck_assert_int_eq(mkdir(root, 0755), 0);
        ck_assert_int_eq(mkdir(outside, 0755), 0);
        rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(rootfd, 0);
        umask(022);
}

static void teardown(void) {
        rootfd = safe_close(rootfd);
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        ck_assert_int_eq(system(cmd), 0);
}

static bool exists(const char *base, const char *rel) {
        char p[PATH_MAX];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", base, rel);
        return lstat(p, &st) == 0;
}

static size_t entries(const char *path) {
        char cmd[PATH_MAX + 32];
        snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", path);
        return system(cmd) == 0 ? 0 : 1;
}

START_TEST(test_mkdir_creates) {
        int fd = -1;
        ck_assert_int_eq(mkdir_in_root(rootfd, "/run/secrets/app", 0711, true, &fd), 0);
        ck_assert_int_ge(fd, 0);
        struct stat st, want;
        ck_assert_int_eq(fstat(fd, &st), 0);
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/run/secrets/app", root);
        ck_assert_int_eq(stat(p, &want), 0);
        ck_assert(st.st_ino == want.st_ino && st.st_dev == want.st_dev);
        ck_assert_uint_eq(want.st_mode & 07777, 0711);
        /* An O_PATH fd: usable as a directory fd, not for reading. */
        ck_assert_int_eq(fcntl(fd, F_GETFL) & O_PATH, O_PATH);
        ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
        close(fd);

        /* Existing, with "." and repeated slashes; "/" is the root itself. */
        ck_assert_int_eq(mkdir_in_root(rootfd, "//run/./secrets//app/", 0700, false, &fd), 0);
        close(fd);
        ck_assert_int_eq(mkdir_in_root(rootfd, "/", 0700, false, &fd), 0);
        ck_assert_int_eq(fstat(fd, &st), 0);
        ck_assert_int_eq(fstat(rootfd, &want), 0);
        ck_assert(st.st_ino == want.st_ino);
        close(fd);
}
END_TEST

START_TEST(test_mkdir_no_create) {
        int fd = -1;
        ck_assert_int_eq(mkdir_in_root(rootfd, "/run/secrets", 0700, false, &fd), -ENOENT);
        ck_assert_int_eq(fd, -1);
        ck_assert(!exists(root, "run"));
}
END_TEST

/* ".." is refused, not clamped; relative paths too. */
START_TEST(test_mkdir_refuses_dotdot) {
        int fd = -1;
        ck_assert_int_eq(mkdir_in_root(rootfd, "/a/../b", 0700, true, &fd), -EINVAL);
        ck_assert_int_eq(mkdir_in_root(rootfd, "/..", 0700, true, &fd), -EINVAL);
        ck_assert_int_eq(mkdir_in_root(rootfd, "/../outside/x", 0700, true, &fd), -EINVAL);
        ck_assert_int_eq(mkdir_in_root(rootfd, "run/secrets", 0700, true, &fd), -EINVAL);
        ck_assert_int_eq(mkdir_in_root(rootfd, "", 0700, true, &fd), -EINVAL);
        ck_assert_int_eq(fd, -1);
        ck_assert(!exists(root, "b"));
        ck_assert(!exists(outside, "x"));
}
END_TEST

/* A symlink anywhere in the path is refused, whether it points out of the rootfs, inside it,
 * or nowhere; nothing is created at its target. */
START_TEST(test_mkdir_refuses_symlinks) {
        char p[PATH_MAX];
        int fd = -1;
        snprintf(p, sizeof p, "%s/run", root);
        ck_assert_int_eq(symlink(outside, p), 0);
        ck_assert_int_eq(mkdir_in_root(rootfd, "/run/secrets", 0700, true, &fd), -ELOOP);
        ck_assert_int_eq(mkdir_in_root(rootfd, "/run", 0700, true, &fd), -ELOOP);
        ck_assert_int_eq(entries(outside), 0);

        ck_assert_int_eq(unlink(p), 0);
        ck_assert_int_eq(symlink("../outside", p), 0);
        ck_assert_int_eq(mkdir_in_root(rootfd, "/run/secrets", 0700, true, &fd), -ELOOP);
        ck_assert_int_eq(entries(outside), 0);

        ck_assert_int_eq(unlink(p), 0);
        ck_assert_int_eq(mkdir(p, 0755), 0);
        snprintf(p, sizeof p, "%s/run/secrets", root);
        ck_assert_int_eq(symlink("/tmp/lbx-no-such-dir-target", p), 0);
        ck_assert_int_eq(mkdir_in_root(rootfd, "/run/secrets", 0700, true, &fd), -ELOOP);
        ck_assert(access("/tmp/lbx-no-such-dir-target", F_OK) < 0);

        ck_assert_int_eq(unlink(p), 0);
        ck_assert_int_eq(mkdir(p, 0755), 0);
        snprintf(p, sizeof p, "%s/run/secrets/inner", root);
        ck_assert_int_eq(symlink(".", p), 0);
        ck_assert_int_eq(mkdir_in_root(rootfd, "/run/secrets/inner/x", 0700, true, &fd), -ELOOP);
        ck_assert_int_eq(fd, -1);
}
END_TEST

START_TEST(test_mkdir_other_errors) {
        char p[PATH_MAX];
        int fd = -1;
        snprintf(p, sizeof p, "%s/file", root);
        int f = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        close(f);
        ck_assert_int_eq(mkdir_in_root(rootfd, "/file/x", 0700, true, &fd), -ENOTDIR);
        char long_name[NAME_MAX + 3];
        long_name[0] = '/';
        memset(long_name + 1, 'a', NAME_MAX + 1);
        long_name[NAME_MAX + 2] = '\0';
        ck_assert_int_eq(mkdir_in_root(rootfd, long_name, 0700, true, &fd), -ENAMETOOLONG);
}
END_TEST

/* RESOLVE_IN_ROOT: ".." stops at the root, so the rootfs's file is opened, not the host's. */
START_TEST(test_open_in_root) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/x", root);
        int f = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        ck_assert_int_eq(write_full(f, "in", 2), 0);
        close(f);
        snprintf(p, sizeof p, "%s/x", tmpdir);
        f = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        ck_assert_int_eq(write_full(f, "out", 3), 0);
        close(f);

        int fd = open_in_root(rootfd, "../../x", O_RDONLY);
        ck_assert_int_ge(fd, 0);
        char buf[8] = {0};
        ck_assert_int_eq(read_full(fd, buf, sizeof buf), 2);
        ck_assert_str_eq(buf, "in");
        ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
        close(fd);

        snprintf(p, sizeof p, "%s/link", root);
        ck_assert_int_eq(symlink("x", p), 0);
        ck_assert_int_eq(open_in_root(rootfd, "/link", O_RDONLY), -ELOOP);
}
END_TEST

START_TEST(test_write_and_read_file) {
        int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(dfd, 0);
        ck_assert_int_eq(write_file_atomic_at(dfd, "f", "one", 3, 0640), 0);
        ck_assert_int_eq(write_file_atomic_at(dfd, "f", "second", 6, 0600), 0);
        char *buf = NULL;
        size_t size = 0;
        ck_assert_int_eq(read_file_at(dfd, "f", 100, &buf, &size), 0);
        ck_assert_uint_eq(size, 6);
        ck_assert_str_eq(buf, "second");
        free(buf);
        struct stat st;
        ck_assert_int_eq(fstatat(dfd, "f", &st, 0), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        /* No temporary file left behind. */
        char cmd[128];
        snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | grep -c '^\\.#') -eq 0", tmpdir);
        ck_assert_int_eq(system(cmd), 0);

        ck_assert_int_eq(read_file_at(dfd, "f", 5, &buf, &size), -EFBIG);
        ck_assert_int_eq(read_file_at(dfd, "f", 6, &buf, &size), 0);
        free(buf);
        ck_assert_int_eq(symlinkat("f", dfd, "l"), 0);
        ck_assert_int_eq(read_file_at(dfd, "l", 100, &buf, &size), -ELOOP);
        ck_assert_int_eq(read_file_at(dfd, "rootfs", 100, &buf, &size), -EBADFD);
        ck_assert_int_eq(read_file_at(dfd, "nosuch", 100, &buf, &size), -ENOENT);
        close(dfd);
}
END_TEST

START_TEST(test_fd_move_above_stdio) {
        int p[2];
        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        int saved = dup(0);
        ck_assert_int_eq(dup2(p[0], 0), 0);
        int fd = fd_move_above_stdio(0);
        ck_assert_int_gt(fd, 2);
        ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
        ck_assert_int_eq(fd_move_above_stdio(fd), fd);
        ck_assert_int_eq(write_full(p[1], "ab", 2), 0);
        char buf[2];
        ck_assert_int_eq(read_full(fd, buf, 2), 2);
        dup2(saved, 0);
}
END_TEST

START_TEST(test_check_parents) {
        char a[160], b[192], file[256];
        char *bad = NULL;
        struct stat st;
        snprintf(a, sizeof a, "%s/a", tmpdir);
        snprintf(b, sizeof b, "%s/b", a);
        snprintf(file, sizeof file, "%s/f", b);
        ck_assert_int_eq(mkdir(a, 0755), 0);
        ck_assert_int_eq(mkdir(b, 0755), 0);
        ck_assert_int_eq(path_check_parents(file, 0, &bad, &st), 0);
        /* The nearest offending directory is named, with its stat. */
        ck_assert_int_eq(chmod(a, 0777), 0);
        ck_assert_int_eq(chmod(b, 0775), 0);
        ck_assert_int_eq(path_check_parents(file, 0, &bad, &st), -EPERM);
        ck_assert_str_eq(bad, b);
        ck_assert_str_eq(path_parent_problem(&st, 0), "writable by group or others");
        free(bad);
        bad = NULL;
        ck_assert_int_eq(chmod(b, 0755), 0);
        ck_assert_int_eq(path_check_parents(file, 0, &bad, &st), -EPERM);
        ck_assert_str_eq(bad, a);
        free(bad);
        bad = NULL;
        ck_assert_int_eq(chmod(a, 01777), 0); /* sticky, as /tmp */
        ck_assert_int_eq(path_check_parents(file, 0, &bad, &st), 0);
        /* Another owner: refused, unless it is the file's owner we were given. */
        ck_assert_int_eq(chown(b, 1000, 1000), 0);
        ck_assert_int_eq(path_check_parents(file, 0, &bad, &st), -EPERM);
        ck_assert_str_eq(path_parent_problem(&st, 0), "not owned by root");
        free(bad);
        bad = NULL;
        ck_assert_int_eq(path_check_parents(file, 1000, &bad, &st), 0);
        /* Through a symlink: the real directories are checked. */
        char link[200];
        snprintf(link, sizeof link, "%s/l", tmpdir);
        ck_assert_int_eq(symlink(b, link), 0);
        snprintf(file, sizeof file, "%s/f", link);
        ck_assert_int_eq(path_check_parents(file, 0, &bad, &st), -EPERM);
        ck_assert_str_eq(bad, b);
        free(bad);
        /* A parent that does not exist is the open's business. */
        ck_assert_int_eq(path_check_parents("/nonexistent/lbx/f", 0, &bad, &st), 0);
}
END_TEST

START_TEST(test_parse_mode) {
        static const struct {
                const char *s;
                mode_t mode;
        } good[] = {{"0400", 0400}, {"400", 0400},  {"0", 0},  {"0777", 0777},
                    {"777", 0777},  {"0640", 0640}, {"7", 07}, {"00", 0}};
        for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
                mode_t m = 01;
                ck_assert_msg(parse_mode(good[i].s, &m) == 0, "refused %s", good[i].s);
                ck_assert_uint_eq(m, good[i].mode);
        }
        /* No setuid, setgid or sticky bit; octal digits only; at most four of them. */
        static const char *const bad[] = {"",     "0800", "04000", "4000", "1777",
                                          "2755", "-400", "+400",  " 400", "400 ",
                                          "0o40", "0x1",  "rw",    "9",    "00400"};
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                mode_t m = 01;
                ck_assert_msg(parse_mode(bad[i], &m) == -EINVAL, "accepted '%s'", bad[i]);
                ck_assert_uint_eq(m, 01);
        }
        mode_t m;
        ck_assert_int_eq(parse_mode(NULL, &m), -EINVAL);
}
END_TEST

START_TEST(test_parse_size) {
        static const struct {
                const char *s;
                uint64_t v;
        } good[] = {{"1M", 1048576},      {"1m", 1048576},
                    {"512K", 524288},     {"512k", 524288},
                    {"1048576", 1048576}, {"0", 0},
                    {"1G", 1ULL << 30},   {"17179869183G", 17179869183ULL << 30}};
        for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
                uint64_t v = 1;
                ck_assert_msg(parse_size(good[i].s, &v) == 0, "refused %s", good[i].s);
                ck_assert_uint_eq(v, good[i].v);
        }
        static const char *const bad[] = {"",
                                          "-1",
                                          "1MB",
                                          "1 M",
                                          " 1",
                                          "M",
                                          "1.5M",
                                          "1T",
                                          "+1",
                                          "18446744073709551615K",
                                          "17179869184G",
                                          "99999999999999999999"};
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                uint64_t v = 1;
                ck_assert_msg(parse_size(bad[i], &v) == -EINVAL, "accepted '%s'", bad[i]);
                ck_assert_uint_eq(v, 1);
        }
        uint64_t v;
        ck_assert_int_eq(parse_size(NULL, &v), -EINVAL);
}
END_TEST

START_TEST(test_parse_signal) {
        static const struct {
                const char *s;
                int sig;
        } good[] = {{"SIGUSR1", SIGUSR1},   {"USR1", SIGUSR1}, {"10", 10},
                    {"SIGTERM", SIGTERM},   {"HUP", SIGHUP},   {"9", SIGKILL},
                    {"SIGWINCH", SIGWINCH}, {"64", 64}};
        for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
                int sig = -1;
                ck_assert_msg(parse_signal(good[i].s, &sig) == 0, "refused %s", good[i].s);
                ck_assert_int_eq(sig, good[i].sig);
        }
        static const char *const bad[] = {
                "",    "SIG", "0",     "65",    "sigusr1", "usr1",       "SIGFOO",
                "10x", "-1",  "SIG10", " USR1", "USR1 ",   "SIGSIGUSR1", "99999999999999999999"};
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                int sig = -1;
                ck_assert_msg(parse_signal(bad[i], &sig) == -EINVAL, "accepted '%s'", bad[i]);
                ck_assert_int_eq(sig, -1);
        }
        int sig;
        ck_assert_int_eq(parse_signal(NULL, &sig), -EINVAL);
        ck_assert_str_eq(signal_name(SIGUSR1), "USR1");
        ck_assert_str_eq(signal_name(SIGTERM), "TERM");
        ck_assert_str_eq(signal_name(63), "?");
}
END_TEST

START_TEST(test_parse_uid) {
        uint32_t u = 1;
        ck_assert_int_eq(parse_uid("0", &u), 0);
        ck_assert_uint_eq(u, 0);
        ck_assert_int_eq(parse_uid("4294967294", &u), 0);
        ck_assert_uint_eq(u, 4294967294U);
        /* (uid_t)-1 means "unchanged" to chown(2). */
        ck_assert_int_eq(parse_uid("4294967295", &u), -EINVAL);
        ck_assert_int_eq(parse_uid("4294967296", &u), -EINVAL);
        ck_assert_int_eq(parse_uid("-1", &u), -EINVAL);
        ck_assert_int_eq(parse_uid("", &u), -EINVAL);
        ck_assert_int_eq(parse_uid("1e3", &u), -EINVAL);
        uint64_t v;
        ck_assert_int_eq(parse_uint64("18446744073709551615", &v), 0);
        ck_assert_uint_eq(v, UINT64_MAX);
        ck_assert_int_eq(parse_uint64("18446744073709551616", &v), -EINVAL);
        ck_assert_int_eq(parse_uint64(" 1", &v), -EINVAL);
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("fdutil");
        TCase *tc = tcase_create("paths");
        /* valgrind 3.19 does not know openat2 (ENOSYS): make memcheck leaves these to
         * unit-asan. Nor does qemu-user 7.2: make cross skips those that need it. */
        tcase_set_tags(tc, "openat2");
        tcase_add_checked_fixture(tc, setup, teardown);
        unit_add_openat2_test(tc, test_mkdir_creates);
        unit_add_openat2_test(tc, test_mkdir_no_create);
        unit_add_openat2_test(tc, test_mkdir_refuses_dotdot);
        unit_add_openat2_test(tc, test_mkdir_refuses_symlinks);
        unit_add_openat2_test(tc, test_mkdir_other_errors);
        unit_add_openat2_test(tc, test_open_in_root);
        tcase_add_test(tc, test_write_and_read_file);
        tcase_add_test(tc, test_fd_move_above_stdio);
        suite_add_tcase(s, tc);
        tc = tcase_create("parents");
        tcase_add_checked_fixture(tc, setup, teardown);
        unit_add_test_if(tc, test_check_parents, geteuid() == 0, "needs root (chown)");
        suite_add_tcase(s, tc);
        tc = tcase_create("parse");
        tcase_add_test(tc, test_parse_mode);
        tcase_add_test(tc, test_parse_size);
        tcase_add_test(tc, test_parse_signal);
        tcase_add_test(tc, test_parse_uid);
        suite_add_tcase(s, tc);
        return s;
}
