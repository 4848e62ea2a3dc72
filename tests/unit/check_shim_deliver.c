/* SPDX-License-Identifier: Apache-2.0 */
#include "unit.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "deliver.h"
#include "fdutil.h"

static const char *const abc[] = {"a", "b", "c"};

/* ---- fd plan -------------------------------------------------------------------------- */

START_TEST(test_plan_default_order) {
        int t[3];
        ck_assert_int_eq(deliver_plan_fds(abc, 3, NULL, 0, NULL, t), 0);
        ck_assert_int_eq(t[0], 3);
        ck_assert_int_eq(t[1], 4);
        ck_assert_int_eq(t[2], 5);
}
END_TEST

START_TEST(test_plan_requests_skip_taken) {
        int t[3];
        struct shim_fd_request req[] = {{"b", 3}, {"c", 9}};
        ck_assert_int_eq(deliver_plan_fds(abc, 3, req, 2, NULL, t), 0);
        ck_assert_int_eq(t[0], 4);
        ck_assert_int_eq(t[1], 3);
        ck_assert_int_eq(t[2], 9);

        struct shim_fd_request req2[] = {{"c", 4}};
        ck_assert_int_eq(deliver_plan_fds(abc, 3, req2, 1, NULL, t), 0);
        ck_assert_int_eq(t[0], 3);
        ck_assert_int_eq(t[1], 5);
        ck_assert_int_eq(t[2], 4);
}
END_TEST

START_TEST(test_plan_stdin) {
        int t[3];
        /* On stdin only: no fd, and the others close up. */
        ck_assert_int_eq(deliver_plan_fds(abc, 3, NULL, 0, "a", t), 0);
        ck_assert_int_eq(t[0], -1);
        ck_assert_int_eq(t[1], 3);
        ck_assert_int_eq(t[2], 4);
        /* On stdin and, because --fd says so, at an fd too. */
        struct shim_fd_request req[] = {{"a", 7}};
        ck_assert_int_eq(deliver_plan_fds(abc, 3, req, 1, "a", t), 0);
        ck_assert_int_eq(t[0], 7);
        ck_assert_int_eq(t[1], 3);
}
END_TEST

START_TEST(test_plan_unknown_names) {
        int t[3];
        struct shim_fd_request req[] = {{"nope", 5}};
        capture_log();
        ck_assert_int_eq(deliver_plan_fds(abc, 3, req, 1, NULL, t), -ENOENT);
        ck_assert_str_eq(captured_log(), "unit: --fd nope=5: no secret 'nope' in the manifest\n");
        capture_log();
        ck_assert_int_eq(deliver_plan_fds(abc, 3, NULL, 0, "nope", t), -ENOENT);
        ck_assert_str_eq(captured_log(), "unit: --stdin nope: no secret 'nope' in the manifest\n");
}
END_TEST

START_TEST(test_fds_value) {
        int t[] = {3, -1, 10};
        char *v;
        ck_assert_int_eq(deliver_fds_value(abc, t, 3, &v), 0);
        ck_assert_str_eq(v, "a=3,c=10");
        free(v);
        ck_assert_int_eq(deliver_fds_value(abc, t, 0, &v), 0);
        ck_assert_str_eq(v, "");
        free(v);
}
END_TEST

/* ---- {secret:NAME} -------------------------------------------------------------------- */

static char *subst(const char *arg, int expect) {
        static const int t[] = {3, -1, 12};
        char *out = NULL;
        ck_assert_int_eq(deliver_substitute(arg, abc, t, 3, &out), expect);
        return out;
}

START_TEST(test_substitute) {
        char *s = subst("--password-file={secret:a}", 0);
        ck_assert_str_eq(s, "--password-file=/proc/self/fd/3");
        free(s);
        s = subst("{secret:c}:{secret:a}{secret:c}", 0);
        ck_assert_str_eq(s, "/proc/self/fd/12:/proc/self/fd/3/proc/self/fd/12");
        free(s);
        s = subst("plain {secret a} {secret:a", 0);
        ck_assert_str_eq(s, "plain {secret a} {secret:a");
        free(s);
        s = subst("", 0);
        ck_assert_str_eq(s, "");
        free(s);
}
END_TEST

START_TEST(test_substitute_errors) {
        capture_log();
        ck_assert_ptr_null(subst("x{secret:zz}y", -ENOENT));
        ck_assert_str_eq(captured_log(), "unit: {secret:zz}: no secret 'zz' in the manifest\n");
        capture_log();
        ck_assert_ptr_null(subst("{secret:}", -ENOENT));
        capture_log();
        /* A name the image author typed with a control character: sanitised by the logger. */
        ck_assert_ptr_null(subst("{secret:a\nb}", -ENOENT));
        ck_assert_str_eq(captured_log(), "unit: {secret:a?b}: no secret 'a?b' in the manifest\n");
        capture_log();
        ck_assert_ptr_null(subst("{secret:b}", -EBADF));
        ck_assert(strstr(captured_log(), "secret 'b' is only on stdin; add --fd b=N"));
}
END_TEST

/* ---- environment ---------------------------------------------------------------------- */

START_TEST(test_env) {
        char *env[] = {"PATH=/bin",
                       "LOCKBOX_SECRET_db=store:db",
                       "LOCKBOX_FDS=x=99",
                       "LOCKBOX_ROLE=web",
                       "LOCKBOXX=kept",
                       "lockbox_lower=kept",
                       "NOEQUALS",
                       "HOME=/",
                       NULL};
        char entry[] = "LOCKBOX_FDS=db=3";
        char **out;
        ck_assert_int_eq(deliver_build_env(env, entry, &out), 0);
        const char *want[] = {"PATH=/bin", "LOCKBOXX=kept", "lockbox_lower=kept",
                              "NOEQUALS",  "HOME=/",        "LOCKBOX_FDS=db=3"};
        size_t i = 0;
        for (; out[i]; i++) {
                ck_assert_uint_lt(i, ARRAY_SIZE(want));
                ck_assert_str_eq(out[i], want[i]);
        }
        ck_assert_uint_eq(i, ARRAY_SIZE(want));
        free(out);

        ck_assert_int_eq(deliver_build_env(NULL, entry, &out), 0);
        ck_assert_str_eq(out[0], "LOCKBOX_FDS=db=3");
        ck_assert_ptr_null(out[1]);
        free(out);
}
END_TEST

/* ---- fd layout (in a child: it closes every other fd) --------------------------------- */

static int memfd_with(const char *text) {
        int fd = memfd_create("t", MFD_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write_full(fd, text, strlen(text)), 0);
        return fd;
}

static bool fd_holds(int fd, const char *text) {
        char buf[64] = "";
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        return n == (ssize_t)strlen(text) && memcmp(buf, text, (size_t)n) == 0;
}

/* The open fds above 2, as "3,4," (the /proc/self/fd reader's own fd left out). */
static void open_fds(char *out, size_t size) {
        DIR *d = opendir("/proc/self/fd");
        out[0] = '\0';
        struct dirent *de;
        int all[64], n = 0;
        /* Under valgrind (make memcheck) its own fds sit above the soft limit it lowered. */
        struct rlimit rl;
        long limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (long)rl.rlim_cur : LONG_MAX;
        while (d && (de = readdir(d)))
                if (de->d_name[0] != '.' && atoi(de->d_name) > 2 && atoi(de->d_name) != dirfd(d) &&
                    atoi(de->d_name) < limit && n < 64)
                        all[n++] = atoi(de->d_name);
        closedir(d);
        for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++)
                        if (all[j] < all[i]) {
                                int t = all[i];
                                all[i] = all[j];
                                all[j] = t;
                        }
        for (int i = 0; i < n; i++)
                snprintf(out + strlen(out), size - strlen(out), "%d,", all[i]);
}

static int layout_child(void) {
        /* Sources sitting on each other's targets: 10 goes to 11 and 11 to 10. */
        int a = memfd_with("A"), b = memfd_with("B");
        if (dup2(a, 10) < 0 || dup2(b, 11) < 0)
                return 10;
        close(a);
        close(b);
        int stray = open("/dev/null", O_RDONLY); /* not close-on-exec: must be closed anyway */
        if (stray < 0)
                return 11;
        struct fd_move moves[] = {{10, 11}, {11, 10}, {10, 4}};
        if (deliver_apply_layout(moves, ARRAY_SIZE(moves)) < 0)
                return 12;
        if (!fd_holds(11, "A") || !fd_holds(10, "B") || !fd_holds(4, "A"))
                return 13;
        for (int fd = 4; fd <= 11; fd += fd == 4 ? 6 : 1)
                if (fcntl(fd, F_GETFD) != 0) /* close-on-exec cleared */
                        return 14;
        char fds[256];
        open_fds(fds, sizeof fds);
        return strcmp(fds, "4,10,11,") == 0 ? 0 : 15;
}

START_TEST(test_apply_layout) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(layout_child());
        int st;
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "layout child: status %d", st);
}
END_TEST

/* ---- prepare -------------------------------------------------------------------------- */

/* A set as consume_read would return it: names db, api, big (big is size bytes of 'x'). */
static struct secret_set *make_set(size_t big_size) {
        struct secret_set *set = calloc(1, sizeof *set);
        set->manifest = calloc(1, sizeof *set->manifest);
        set->manifest->entries = calloc(3, sizeof *set->manifest->entries);
        set->items = calloc(3, sizeof *set->items);
        const char *names[] = {"db", "api", "big"};
        for (size_t i = 0; i < 3; i++) {
                strcpy(set->manifest->entries[i].name, names[i]);
                set->items[i].name = set->manifest->entries[i].name;
                set->items[i].uid = getuid();
                set->items[i].gid = getgid();
                set->items[i].mode = i == 0 ? 0400 : 0440;
        }
        ck_assert_int_eq(secret_new_copy("hunter2", 7, &set->items[0].value), 0);
        ck_assert_int_eq(secret_new_copy("tok", 3, &set->items[1].value), 0);
        ck_assert_int_eq(secret_new(big_size, &set->items[2].value), 0);
        memset(secret_data(set->items[2].value), 'x', big_size);
        set->n = set->manifest->n_entries = 3;
        return set;
}

static const struct fd_move *find_move(const struct delivery *d, int target) {
        for (size_t i = 0; i < d->n_moves; i++)
                if (d->moves[i].target == target)
                        return &d->moves[i];
        return NULL;
}

START_TEST(test_prepare) {
        _cleanup_(secret_set_freep) struct secret_set *set = make_set(5);
        struct shim_fd_request req[] = {{"api", 8}};
        char *cmd[] = {"/app{secret:db}", "--db={secret:db}", "{secret:api}", NULL};
        struct shim_options o = {.fds = req, .n_fds = 1, .command = cmd, .n_command = 3};
        char *env[] = {"A=1", "LOCKBOX_SECRET_db=store:db", NULL};
        struct delivery d = {};
        ck_assert_int_eq(deliver_prepare(&o, set, env, &d), 0);

        ck_assert_str_eq(d.argv[0], "/app{secret:db}"); /* COMMAND itself is left alone */
        ck_assert_str_eq(d.argv[1], "--db=/proc/self/fd/3");
        ck_assert_str_eq(d.argv[2], "/proc/self/fd/8");
        ck_assert_ptr_null(d.argv[3]);
        ck_assert_str_eq(d.envp[0], "A=1");
        ck_assert_str_eq(d.envp[1], "LOCKBOX_FDS=db=3,api=8,big=4");
        ck_assert_ptr_null(d.envp[2]);

        ck_assert_uint_eq(d.n_moves, 3);
        const struct fd_move *m = find_move(&d, 3);
        ck_assert_ptr_nonnull(m);
        ck_assert_int_gt(m->src, 2);
        ck_assert(fd_holds(m->src, "hunter2"));
        ck_assert_int_eq(lseek(m->src, 0, SEEK_CUR), 0);
        ck_assert_int_eq(fcntl(m->src, F_GET_SEALS),
                         F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
        ck_assert_int_eq(fcntl(m->src, F_GETFD), FD_CLOEXEC);
        struct stat st;
        ck_assert_int_eq(fstat(m->src, &st), 0);
        ck_assert_int_eq(st.st_mode & 07777, 0400);
        /* Sealed: neither write nor grow nor shrink. */
        ck_assert_int_lt(pwrite(m->src, "X", 1, 0), 0);
        ck_assert_int_lt(ftruncate(m->src, 1), 0);
        m = find_move(&d, 8);
        ck_assert_ptr_nonnull(m);
        ck_assert(fd_holds(m->src, "tok"));
        ck_assert_ptr_nonnull(find_move(&d, 4));
        ck_assert_int_eq(d.stdin_writer, 0);
        deliver_done(&d);
}
END_TEST

static void check_stdin(size_t big_size, bool helper_expected) {
        _cleanup_(secret_set_freep) struct secret_set *set = make_set(big_size);
        char *cmd[] = {"app", NULL};
        struct shim_options o = {.stdin_name = "big", .command = cmd, .n_command = 1};
        struct delivery d = {};
        ck_assert_int_eq(deliver_prepare(&o, set, NULL, &d), 0);
        ck_assert_str_eq(d.envp[0], "LOCKBOX_FDS=db=3,api=4");
        const struct fd_move *m = find_move(&d, STDIN_FILENO);
        ck_assert_ptr_nonnull(m);
        ck_assert_uint_eq(d.n_moves, 3);
        /* Small values go through the pipe's buffer; large ones through a helper where the
         * pipe may not grow that far (without CAP_SYS_RESOURCE, as here). */
        if (big_size <= 65536)
                ck_assert_int_eq(d.stdin_writer, 0);
        if (helper_expected)
                ck_assert_int_gt(d.stdin_writer, 0);
        secret_set_drop_values(set); /* the pipe must not depend on them */

        size_t total = 0;
        char buf[65536];
        bool all_x = true;
        for (;;) {
                ssize_t n = read(m->src, buf, sizeof buf);
                ck_assert_int_ge(n, 0);
                if (n == 0)
                        break;
                for (ssize_t i = 0; i < n; i++)
                        all_x = all_x && buf[i] == 'x';
                total += (size_t)n;
        }
        ck_assert_uint_eq(total, big_size);
        ck_assert(all_x);
        if (d.stdin_writer > 0) {
                int st;
                ck_assert_int_eq(waitpid(d.stdin_writer, &st, 0), d.stdin_writer);
                ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        }
        deliver_done(&d);
}

static bool has_cap_sys_resource(void) {
        FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        unsigned long long eff = 0;
        while (f && fgets(line, sizeof line, f))
                if (sscanf(line, "CapEff: %llx", &eff) == 1)
                        break;
        if (f)
                fclose(f);
        return eff & (1ULL << 24); /* CAP_SYS_RESOURCE */
}

START_TEST(test_stdin_small) {
        check_stdin(1000, false);
}
END_TEST

/* Larger than any pipe may grow without CAP_SYS_RESOURCE: a helper writes it. */
START_TEST(test_stdin_large) {
        /* 3 MiB is beyond fs.pipe-max-size (1 MiB by default), which only CAP_SYS_RESOURCE may
         * exceed: then the pipe grows instead and no helper is needed. */
        check_stdin(3 * 1024 * 1024 + 17, !has_cap_sys_resource());
}
END_TEST

START_TEST(test_prepare_without_secrets) {
        struct shim_fd_request req[] = {{"db", 8}};
        char *cmd[] = {"app", "{secret:db}", NULL};
        struct shim_options o = {
                .fds = req, .n_fds = 1, .stdin_name = "db", .command = cmd, .n_command = 2};
        char *env[] = {"LOCKBOX_DIR=/x", NULL};
        struct delivery d = {};
        ck_assert_int_eq(deliver_prepare(&o, NULL, env, &d), 0);
        ck_assert_str_eq(d.argv[1], "{secret:db}");
        ck_assert_str_eq(d.envp[0], "LOCKBOX_FDS=");
        ck_assert_ptr_null(d.envp[1]);
        ck_assert_uint_eq(d.n_moves, 0);
        deliver_done(&d);
}
END_TEST

START_TEST(test_prepare_errors) {
        _cleanup_(secret_set_freep) struct secret_set *set = make_set(1);
        char *cmd[] = {"app", "{secret:nope}", NULL};
        struct shim_options o = {.command = cmd, .n_command = 2};
        struct delivery d = {};
        capture_log();
        ck_assert_int_lt(deliver_prepare(&o, set, NULL, &d), 0);
        ck_assert_str_eq(captured_log(), "unit: {secret:nope}: no secret 'nope' in the manifest\n");
        deliver_done(&d);

        struct shim_fd_request req[] = {{"db", 1000000}};
        struct shim_options o2 = {.fds = req, .n_fds = 1, .command = cmd, .n_command = 1};
        capture_log();
        ck_assert_int_eq(deliver_prepare(&o2, set, NULL, &d), -EMFILE);
        ck_assert(strstr(captured_log(), "secret 'db': fd 1000000 is beyond the open file limit"));
        deliver_done(&d);
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("shim_deliver");
        TCase *tc = tcase_create("pure");
        tcase_add_test(tc, test_plan_default_order);
        tcase_add_test(tc, test_plan_requests_skip_taken);
        tcase_add_test(tc, test_plan_stdin);
        tcase_add_test(tc, test_plan_unknown_names);
        tcase_add_test(tc, test_fds_value);
        tcase_add_test(tc, test_substitute);
        tcase_add_test(tc, test_substitute_errors);
        tcase_add_test(tc, test_env);
        suite_add_tcase(s, tc);
        tc = tcase_create("fds");
        tcase_set_timeout(tc, 20);
        tcase_add_test(tc, test_apply_layout);
        tcase_add_test(tc, test_prepare);
        tcase_add_test(tc, test_stdin_small);
        tcase_add_test(tc, test_stdin_large);
        tcase_add_test(tc, test_prepare_without_secrets);
        tcase_add_test(tc, test_prepare_errors);
        suite_add_tcase(s, tc);
        return s;
}
