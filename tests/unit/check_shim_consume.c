/* SPDX-License-Identifier: Apache-2.0 */
#include "unit.h"

#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "consume.h"
#include "fdutil.h"

static int count_lines(const char *s) {
        int n = 0;
        for (; *s; s++)
                n += *s == '\n';
        return n;
}

/* ---- a directory laid out like the broker's tmpfs ---------------------------------------- */

static char dir[] = "/tmp/lbx-consume-XXXXXX";

static void make_dir(void) {
        strcpy(dir, "/tmp/lbx-consume-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(void) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        ck_assert_int_eq(system(cmd), 0);
}

static void put(const char *name, const char *data, size_t size) {
        int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(dfd, 0);
        (void)unlinkat(dfd, name, 0);
        int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write_full(fd, data, size), 0);
        close(fd);
        close(dfd);
}

static void put_str(const char *name, const char *data) {
        put(name, data, strlen(data));
}

/* The manifest for name=value pairs (hashes of the values), written last, as the broker does. */
static void put_manifest(size_t n, const char *const *names, const char *const *values) {
        struct manifest m = {.version = 1, .generation = 1, .n_entries = n};
        strcpy(m.container, "c1");
        m.entries = calloc(n + 1, sizeof *m.entries);
        for (size_t i = 0; i < n; i++) {
                strcpy(m.entries[i].name, names[i]);
                strcpy(m.entries[i].file, names[i]);
                m.entries[i].size = strlen(values[i]);
                m.entries[i].mode = 0400;
                hash_bytes(values[i], strlen(values[i]), m.entries[i].blake2b);
        }
        char *text;
        ck_assert_int_eq(manifest_format(&m, &text), 0);
        put_str(MANIFEST_FILE, text);
        free(text);
        free(m.entries);
}

static const char *const names2[] = {"db", "api"};
static const char *const values2[] = {"hunter2", "s3cr3t-token"};

static void lay_out_good(void) {
        put_str("db", values2[0]);
        put_str("api", values2[1]);
        put_manifest(2, names2, values2);
}

static int open_dir(void) {
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        return fd;
}

/* consume_read must fail with one line containing want, and no value in it. */
static void expect_read_error(const char *want) {
        int dfd = open_dir();
        struct secret_set *set = NULL;
        capture_log();
        ck_assert_int_lt(consume_read(dfd, dir, &set), 0);
        ck_assert_ptr_null(set);
        const char *log = captured_log();
        ck_assert_int_eq(count_lines(log), 1);
        ck_assert_msg(strstr(log, want), "log '%s' lacks '%s'", log, want);
        ck_assert(!strstr(log, "hunter") && !strstr(log, "s3cr3t"));
        close(dfd);
}

START_TEST(test_read_good) {
        make_dir();
        lay_out_good();
        int dfd = open_dir();
        _cleanup_(secret_set_freep) struct secret_set *set = NULL;
        ck_assert_int_eq(consume_read(dfd, dir, &set), 0);
        ck_assert_uint_eq(set->n, 2);
        ck_assert_str_eq(set->items[0].name, "db");
        ck_assert_str_eq(set->items[1].name, "api");
        ck_assert_uint_eq(secret_size(set->items[0].value), 7);
        ck_assert_mem_eq(secret_cdata(set->items[0].value), "hunter2", 7);
        ck_assert_mem_eq(secret_cdata(set->items[1].value), "s3cr3t-token", 12);
        ck_assert_int_eq(set->items[0].mode, 0400);
        ck_assert_int_eq(set->items[0].uid, geteuid());
        struct stat st;
        ck_assert_int_eq(stat(dir, &st), 0);
        ck_assert_int_eq(set->dev, st.st_dev);
        close(dfd);
        remove_dir();
}
END_TEST

START_TEST(test_read_tampered) {
        make_dir();
        lay_out_good();
        put_str("db", "hunter3"); /* same size, other bytes */
        expect_read_error("secret 'db' (");
        expect_read_error("/db): BLAKE2b hash does not match the manifest");
        remove_dir();
}
END_TEST

START_TEST(test_read_wrong_size) {
        make_dir();
        lay_out_good();
        put_str("api", "s3cr3t-token-longer");
        expect_read_error("secret 'api' (");
        expect_read_error("/api): 19 bytes, the manifest says 12");
        remove_dir();
}
END_TEST

/* A size no tmpfs of the broker's holds is refused before memory is set aside for it. */
START_TEST(test_read_huge_size) {
        make_dir();
        lay_out_good();
        struct manifest m = {.version = 1, .generation = 1, .n_entries = 1};
        strcpy(m.container, "c1");
        m.entries = calloc(2, sizeof *m.entries);
        strcpy(m.entries[0].name, "db");
        strcpy(m.entries[0].file, "db");
        m.entries[0].size = 1ULL << 40;
        m.entries[0].mode = 0400;
        char *text;
        ck_assert_int_eq(manifest_format(&m, &text), 0);
        put_str(MANIFEST_FILE, text);
        free(text);
        free(m.entries);
        expect_read_error("/db): the manifest says 1099511627776 bytes, more than any tmpfs");
        remove_dir();
}
END_TEST

START_TEST(test_read_symlink) {
        make_dir();
        lay_out_good();
        char target[128];
        snprintf(target, sizeof target, "%s/api", dir);
        int dfd = open_dir();
        ck_assert_int_eq(unlinkat(dfd, "db", 0), 0);
        ck_assert_int_eq(symlinkat(target, dfd, "db"), 0);
        close(dfd);
        expect_read_error("/db): is a symbolic link");
        remove_dir();
}
END_TEST

/* A FIFO must be refused, not block PID 1 in open(). */
START_TEST(test_read_fifo) {
        make_dir();
        lay_out_good();
        int dfd = open_dir();
        ck_assert_int_eq(unlinkat(dfd, "db", 0), 0);
        ck_assert_int_eq(mkfifoat(dfd, "db", 0600), 0);
        close(dfd);
        alarm(5);
        expect_read_error("/db): not a regular file");
        alarm(0);
        remove_dir();
}
END_TEST

START_TEST(test_read_missing_file) {
        make_dir();
        lay_out_good();
        int dfd = open_dir();
        ck_assert_int_eq(unlinkat(dfd, "api", 0), 0);
        close(dfd);
        expect_read_error("secret 'api' (");
        expect_read_error("/api): cannot open: No such file or directory");
        remove_dir();
}
END_TEST

START_TEST(test_read_bad_manifest) {
        make_dir();
        put_str(MANIFEST_FILE, "{\"version\":1,");
        expect_read_error("/" MANIFEST_FILE ": invalid manifest: truncated JSON");
        put_str(MANIFEST_FILE,
                "{\"version\":2,\"container\":\"c\",\"generation\":1,\"secrets\":[]}");
        expect_read_error("/" MANIFEST_FILE ": invalid manifest: not version 1");
        put_str(MANIFEST_FILE, "{\"a\":1,\"a\":2}");
        expect_read_error("invalid manifest: duplicate key");
        int dfd = open_dir();
        ck_assert_int_eq(unlinkat(dfd, MANIFEST_FILE, 0), 0);
        ck_assert_int_eq(mkdirat(dfd, MANIFEST_FILE, 0700), 0);
        close(dfd);
        expect_read_error(MANIFEST_FILE ": not a regular file");
        remove_dir();
}
END_TEST

START_TEST(test_read_empty_manifest) {
        make_dir();
        put_manifest(0, NULL, NULL);
        int dfd = open_dir();
        _cleanup_(secret_set_freep) struct secret_set *set = NULL;
        ck_assert_int_eq(consume_read(dfd, dir, &set), 0);
        ck_assert_uint_eq(set->n, 0);
        close(dfd);
        remove_dir();
}
END_TEST

START_TEST(test_probe) {
        int dfd = -1;
        const char *why = NULL;
        ck_assert_int_eq(consume_probe("/nonexistent/lbx", true, &dfd, &why), 0);
        ck_assert_str_eq(why, "not mounted");
        make_dir();
        /* A directory, even on a tmpfs, is not a mount of its own. */
        ck_assert_int_eq(consume_probe(dir, true, &dfd, &why), 0);
        ck_assert_str_eq(why, "not mounted");
        ck_assert_int_eq(consume_probe(dir, false, &dfd, &why), 0);
        ck_assert_str_eq(why, "no " MANIFEST_FILE);
        lay_out_good();
        ck_assert_int_eq(consume_probe(dir, false, &dfd, &why), 1);
        ck_assert_int_ge(dfd, 0);
        ck_assert_int_eq(fcntl(dfd, F_GETFD), FD_CLOEXEC);
        close(dfd);
        /* A symlink at dir is not followed. */
        char link[64];
        snprintf(link, sizeof link, "%s-link", dir);
        ck_assert_int_eq(symlink(dir, link), 0);
        dfd = -1;
        ck_assert_int_eq(consume_probe(link, false, &dfd, &why), 0);
        ck_assert_int_eq(dfd, -1);
        unlink(link);
        remove_dir();
}
END_TEST

/* A name the manifest does not have (a file of the container's, a hard link under another
 * name) is refused, and so is a second link to a secret file: either would outlive the
 * consumption. */
START_TEST(test_read_extra_entry) {
        make_dir();
        lay_out_good();
        put_str("unrelated", "x");
        expect_read_error(": 1 entry not in the manifest (a hard link or a file put there by a "
                          "process in the container); refusing");
        remove_dir();
}
END_TEST

START_TEST(test_read_hard_link) {
        make_dir();
        lay_out_good();
        int dfd = open_dir();
        ck_assert_int_eq(linkat(dfd, "db", dfd, "keep", 0), 0);
        close(dfd);
        expect_read_error("secret 'db' (");
        expect_read_error("/db): has another hard link (refused)");
        /* A link to the manifest, likewise. */
        dfd = open_dir();
        ck_assert_int_eq(unlinkat(dfd, "keep", 0), 0);
        ck_assert_int_eq(linkat(dfd, MANIFEST_FILE, dfd, "m", 0), 0);
        close(dfd);
        expect_read_error(MANIFEST_FILE ": has another hard link (refused)");
        remove_dir();
}
END_TEST

/* A mode the manifest does not say (chmod by the file's owner in the container). */
START_TEST(test_read_mode_changed) {
        make_dir();
        lay_out_good();
        char path[128];
        snprintf(path, sizeof path, "%s/api", dir);
        ck_assert_int_eq(chmod(path, 0444), 0);
        expect_read_error("/api): mode 0444, the manifest says 0400 (changed)");
        remove_dir();
}
END_TEST

START_TEST(test_remove) {
        make_dir();
        lay_out_good();
        put_str(MANIFEST_CONSUMED_FILE, "");
        int dfd = open_dir();
        _cleanup_(secret_set_freep) struct secret_set *set = NULL;
        ck_assert_int_eq(consume_read(dfd, dir, &set), 0);
        ck_assert_int_eq(unlinkat(dfd, "api", 0), 0); /* already gone is fine */
        ck_assert_int_eq(consume_remove(dfd, dir, set), 0);
        struct stat st;
        ck_assert_int_lt(fstatat(dfd, "db", &st, 0), 0);
        ck_assert_int_lt(fstatat(dfd, MANIFEST_FILE, &st, 0), 0);
        ck_assert_int_lt(fstatat(dfd, MANIFEST_CONSUMED_FILE, &st, 0), 0);
        close(dfd);
        remove_dir();
}
END_TEST

/* The consumption signal comes first: one byte written to the marker, before anything is
 * removed (a shim that may not remove anything has only that to wake the watcher with). */
START_TEST(test_remove_signals_first) {
        make_dir();
        lay_out_good();
        int dfd = open_dir();
        ck_assert_int_eq(fchmod(dfd, 0755), 0);
        int mfd =
                openat(dfd, MANIFEST_CONSUMED_FILE, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0220);
        ck_assert_int_ge(mfd, 0);
        close(mfd);
        _cleanup_(secret_set_freep) struct secret_set *set = NULL;
        ck_assert_int_eq(consume_read(dfd, dir, &set), 0);
        int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        ck_assert_int_ge(in, 0);
        ck_assert_int_ge(inotify_add_watch(in, dir, IN_CLOSE_WRITE | IN_DELETE), 0);
        ck_assert_int_eq(consume_remove(dfd, dir, set), 0);
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n = read(in, buf, sizeof buf);
        ck_assert_int_gt(n, 0);
        struct inotify_event *ev = (struct inotify_event *)buf;
        ck_assert(ev->mask & IN_CLOSE_WRITE);
        ck_assert_str_eq(ev->name, MANIFEST_CONSUMED_FILE);
        close(in);
        close(dfd);
        remove_dir();
}
END_TEST

/* The broker's watcher unmounts when the manifest is deleted: it must go after every file. */
START_TEST(test_remove_manifest_last) {
        make_dir();
        lay_out_good();
        int dfd = open_dir();
        _cleanup_(secret_set_freep) struct secret_set *set = NULL;
        ck_assert_int_eq(consume_read(dfd, dir, &set), 0);
        int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        ck_assert_int_ge(in, 0);
        ck_assert_int_ge(inotify_add_watch(in, dir, IN_DELETE), 0);
        ck_assert_int_eq(consume_remove(dfd, dir, set), 0);
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n = read(in, buf, sizeof buf);
        ck_assert_int_gt(n, 0);
        char order[256] = "";
        for (char *p = buf; p < buf + n;) {
                struct inotify_event *ev = (struct inotify_event *)p;
                snprintf(order + strlen(order), sizeof order - strlen(order), "%s,", ev->name);
                p += sizeof *ev + ev->len;
        }
        ck_assert_str_eq(order, "db,api," MANIFEST_FILE ",");
        close(in);
        close(dfd);
        remove_dir();
}
END_TEST

static uint64_t mono_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Still on the same filesystem after the timeout: refuse, with one line. */
START_TEST(test_unmount_refuses_while_mounted) {
        make_dir();
        struct stat st;
        ck_assert_int_eq(stat(dir, &st), 0);
        capture_log();
        int dfd = open_dir();
        /* It waited the timeout (a lower bound, which load cannot break; how long beyond is
         * the machine's business, not this test's). */
        uint64_t t0 = mono_ms();
        ck_assert_int_lt(consume_unmount(dir, dfd, st.st_dev, 200, -1), 0);
        ck_assert_uint_ge(mono_ms() - t0, 200);
        const char *log = captured_log();
        ck_assert_int_eq(count_lines(log), 1);
        ck_assert(strstr(log, "still mounted after 0.2 s"));
        ck_assert(strstr(log, "refusing to start the command"));
        remove_dir();
        /* A directory that is gone is not mounted, and holds nothing. */
        ck_assert_int_eq(consume_unmount(dir, dfd, st.st_dev, 200, -1), 0);
        close(dfd);
}
END_TEST

START_TEST(test_nothing_mounted) {
        struct secret_set *set = (void *)1;
        struct consume_params p = {.dir = "/nonexistent/lbx", .require_mount = true};
        capture_log();
        ck_assert_int_lt(consume_secrets(&p, &set), 0);
        ck_assert_str_eq(captured_log(), "unit: no secrets at /nonexistent/lbx (not mounted): use "
                                         "--optional or --wait\n");
        /* The hint the shim gives names the likely cause (issue 14). */
        p.none_hint = "the broker placed none";
        capture_log();
        ck_assert_int_lt(consume_secrets(&p, &set), 0);
        ck_assert_str_eq(captured_log(), "unit: no secrets at /nonexistent/lbx (not mounted): the "
                                         "broker placed none\n");
        p.none_hint = NULL;
        p.optional = true;
        capture_log();
        ck_assert_int_eq(consume_secrets(&p, &set), 0);
        ck_assert_ptr_null(set);
        ck_assert_str_eq(captured_log(), "");
        p.optional = false;
        p.wait = true;
        p.wait_ms = 150;
        capture_log();
        uint64_t t0 = mono_ms();
        ck_assert_int_lt(consume_secrets(&p, &set), 0);
        ck_assert_uint_ge(mono_ms() - t0, 140);
        ck_assert_str_eq(
                captured_log(),
                "unit: no secrets at /nonexistent/lbx after waiting 0.15 s (not mounted)\n");
}
END_TEST

/* ---- with a real tmpfs, in a mount namespace of the test's own (root only) ----------------- */

/* Registered only where unit_can_mount(): each test runs in a forked process of its own
 * (CK_FORK), so its namespace goes with it. */
static void private_mount_ns(void) {
        ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
        ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
}

static void mount_tmpfs(void) {
        ck_assert_int_eq(mount("lbx-test", dir, "tmpfs", 0, "size=1m,mode=0700"), 0);
}

static bool is_mount_point(const char *path) {
        FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[4096], want[256];
        snprintf(want, sizeof want, " %s ", path);
        bool found = false;
        while (f && fgets(line, sizeof line, f))
                found = found || strstr(line, want);
        if (f)
                fclose(f);
        return found;
}

START_TEST(test_consume_tmpfs) {
        private_mount_ns();
        make_dir();
        mount_tmpfs();
        lay_out_good();
        struct consume_params p = {.dir = dir, .require_mount = true, .unmount_timeout_ms = 1000};
        _cleanup_(secret_set_freep) struct secret_set *set = NULL;
        ck_assert_int_eq(consume_secrets(&p, &set), 0);
        ck_assert_ptr_nonnull(set);
        ck_assert_uint_eq(set->n, 2);
        ck_assert(!is_mount_point(dir));
        remove_dir();
}
END_TEST

/* Unmounted, but a file is still on the tmpfs (reachable through a held directory fd, as a
 * process in the container that kept its cwd there would reach it): not done, refused. */
START_TEST(test_unmounted_not_empty_refused) {
        private_mount_ns();
        make_dir();
        mount_tmpfs();
        put_str("db", "hunter2");
        int dfd = open_dir();
        struct stat st;
        ck_assert_int_eq(fstat(dfd, &st), 0);
        capture_log();
        ck_assert_int_lt(consume_unmount(dir, dfd, st.st_dev, 100, -1), 0);
        ck_assert(!is_mount_point(dir));
        const char *log = captured_log();
        ck_assert_int_eq(count_lines(log), 1);
        ck_assert(strstr(log, "unmounted but its files were not removed after 0.1 s"));
        /* Once it is empty, done. */
        ck_assert_int_eq(unlinkat(dfd, "db", 0), 0);
        ck_assert_int_eq(consume_unmount(dir, dfd, st.st_dev, 100, -1), 0);
        close(dfd);
        remove_dir();
}
END_TEST

/* --wait: the tmpfs (files and manifest complete) appears while the shim waits. */
START_TEST(test_wait_for_late_mount) {
        private_mount_ns();
        make_dir();
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                usleep(100 * 1000);
                if (mount("lbx-test", dir, "tmpfs", 0, "size=1m") < 0)
                        _exit(1);
                lay_out_good();
                _exit(0);
        }
        struct consume_params p = {.dir = dir,
                                   .wait = true,
                                   .wait_ms = 5000,
                                   .require_mount = true,
                                   .unmount_timeout_ms = 1000};
        _cleanup_(secret_set_freep) struct secret_set *set = NULL;
        ck_assert_int_eq(consume_secrets(&p, &set), 0);
        ck_assert_ptr_nonnull(set);
        ck_assert_uint_eq(set->n, 2);
        int st;
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert(!is_mount_point(dir));
        remove_dir();
}
END_TEST

/* Without the manifest (not written yet, or not lockbox's tmpfs) nothing is consumed. */
START_TEST(test_tmpfs_without_manifest) {
        private_mount_ns();
        make_dir();
        mount_tmpfs();
        put_str("db", "hunter2");
        struct consume_params p = {.dir = dir, .require_mount = true};
        struct secret_set *set = NULL;
        capture_log();
        ck_assert_int_lt(consume_secrets(&p, &set), 0);
        ck_assert(strstr(captured_log(), "(no .lockbox.json)"));
        ck_assert(is_mount_point(dir));
        umount2(dir, MNT_DETACH);
        remove_dir();
}
END_TEST

/* Podman mounts /run as a tmpfs: /run/secrets on it, manifest or not, is not a lockbox mount. */
START_TEST(test_dir_on_tmpfs_is_not_a_mount) {
        private_mount_ns();
        make_dir();
        mount_tmpfs();
        char sub[128];
        snprintf(sub, sizeof sub, "%s/secrets", dir);
        ck_assert_int_eq(mkdir(sub, 0700), 0);
        char manifest[160];
        snprintf(manifest, sizeof manifest, "%s/%s", sub, MANIFEST_FILE);
        int fd = open(manifest, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        close(fd);
        int dfd = -1;
        const char *why = NULL;
        ck_assert_int_eq(consume_probe(sub, true, &dfd, &why), 0);
        ck_assert_str_eq(why, "not mounted");
        ck_assert_int_eq(consume_probe(dir, true, &dfd, &why), 0);
        ck_assert_str_eq(why, "no " MANIFEST_FILE);
        umount2(dir, MNT_DETACH);
        remove_dir();
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("shim_consume");
        TCase *tc = tcase_create("read");
        tcase_add_test(tc, test_read_good);
        tcase_add_test(tc, test_read_tampered);
        tcase_add_test(tc, test_read_wrong_size);
        tcase_add_test(tc, test_read_huge_size);
        tcase_add_test(tc, test_read_symlink);
        tcase_add_test(tc, test_read_fifo);
        tcase_add_test(tc, test_read_missing_file);
        tcase_add_test(tc, test_read_bad_manifest);
        tcase_add_test(tc, test_read_empty_manifest);
        tcase_add_test(tc, test_probe);
        tcase_add_test(tc, test_read_extra_entry);
        tcase_add_test(tc, test_read_hard_link);
        tcase_add_test(tc, test_read_mode_changed);
        tcase_add_test(tc, test_remove);
        tcase_add_test(tc, test_remove_signals_first);
        tcase_add_test(tc, test_remove_manifest_last);
        suite_add_tcase(s, tc);
        tc = tcase_create("mount");
        tcase_set_timeout(tc, 20);
        tcase_add_test(tc, test_unmount_refuses_while_mounted);
        tcase_add_test(tc, test_nothing_mounted);
        const char *why = "needs root with CAP_SYS_ADMIN (a mount namespace and a tmpfs); "
                          "tests/integration covers it";
        unit_add_test_if(tc, test_consume_tmpfs, unit_can_mount() && !unit_under_qemu(), why);
        unit_add_test_if(tc, test_unmounted_not_empty_refused,
                         unit_can_mount() && !unit_under_qemu(), why);
        unit_add_test_if(tc, test_wait_for_late_mount, unit_can_mount() && !unit_under_qemu(), why);
        unit_add_test_if(tc, test_tmpfs_without_manifest, unit_can_mount() && !unit_under_qemu(),
                         why);
        unit_add_test_if(tc, test_dir_on_tmpfs_is_not_a_mount,
                         unit_can_mount() && !unit_under_qemu(), why);
        suite_add_tcase(s, tc);
        return s;
}
