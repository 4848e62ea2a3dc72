/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "spawn.h"
#include "unit.h"

static int wait_exit(pid_t pid) {
        int status;
        ck_assert_int_gt(pid, 0);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        return WEXITSTATUS(status);
}

struct late {
        int value;
};

/* Sets the value only after a pause: the caller sees it at once only if it shares our memory
 * and was held until we exited. */
static int child_late_write(void *p) {
        struct late *l = p;
        struct timespec ts = {0, 30 * 1000 * 1000};
        nanosleep(&ts, NULL);
        l->value = 42;
        return 7;
}

START_TEST(test_shares_memory_and_holds_the_caller) {
        struct late l = {0};
        pid_t pid = spawn_shared(child_late_write, &l);
        ck_assert_int_eq(l.value, 42);
        ck_assert_int_eq(wait_exit(pid), 7);
}
END_TEST

struct own {
        int fd;
};

/* Closes an fd and leaves the cwd: neither is the caller's (no CLONE_FILES, no CLONE_FS). */
static int child_close_and_chdir(void *p) {
        const struct own *o = p;
        if (close(o->fd) < 0)
                return 1;
        return chdir("/") < 0 ? 2 : 0;
}

START_TEST(test_own_fds_and_cwd) {
        char dir[] = "/tmp/lbx-spawn-XXXXXX", before[PATH_MAX], after[PATH_MAX];
        int pfd[2];
        ck_assert_ptr_nonnull(mkdtemp(dir));
        ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
        int old_cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(old_cwd, 0);
        ck_assert_int_eq(chdir(dir), 0);
        ck_assert_ptr_nonnull(getcwd(before, sizeof before));

        struct own o = {pfd[0]};
        ck_assert_int_eq(wait_exit(spawn_shared(child_close_and_chdir, &o)), 0);
        ck_assert_int_ge(fcntl(pfd[0], F_GETFD), 0);
        ck_assert_ptr_nonnull(getcwd(after, sizeof after));
        ck_assert_str_eq(after, before);

        ck_assert_int_eq(fchdir(old_cwd), 0);
        close(old_cwd);
        close(pfd[0]);
        close(pfd[1]);
        ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* Every signal blocked in the child (no handler can run on the shared memory); the caller's
 * own mask as it was. */
static int child_check_mask(void *p) {
        sigset_t seen;
        (void)p;
        if (sigprocmask(SIG_SETMASK, NULL, &seen) < 0)
                return 2;
        return sigismember(&seen, SIGTERM) && sigismember(&seen, SIGUSR1) &&
                               sigismember(&seen, SIGCHLD)
                       ? 0
                       : 1;
}

START_TEST(test_signals_blocked_in_child_only) {
        sigset_t none, mine;
        sigemptyset(&none);
        ck_assert_int_eq(sigprocmask(SIG_SETMASK, &none, NULL), 0);
        ck_assert_int_eq(wait_exit(spawn_shared(child_check_mask, NULL)), 0);
        ck_assert_int_eq(sigprocmask(SIG_SETMASK, NULL, &mine), 0);
        ck_assert(!sigismember(&mine, SIGTERM));
        ck_assert(!sigismember(&mine, SIGCHLD));
}
END_TEST

/* 64 KiB a frame, 32 deep: 2 MiB of stack, what execvpe may copy for a script's argv. */
static int deep(int n) {
        volatile char frame[64 * 1024];
        memset((char *)frame, n, sizeof frame);
        return n == 0 ? frame[100] : deep(n - 1) + frame[200] - n;
}

static int child_deep(void *p) {
        (void)p;
        return deep(32) == 0 ? 0 : 1;
}

START_TEST(test_stack_is_deep_enough) {
        ck_assert_int_eq(wait_exit(spawn_shared(child_deep, NULL)), 0);
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("spawn");
        TCase *tc = tcase_create("shared");
        /* valgrind and qemu-user turn CLONE_VM|CLONE_VFORK into a plain fork, and an
         * AddressSanitizer build forks: the sharing is not there to see (make memcheck
         * excludes the tag). */
        tcase_set_tags(tc, "spawn");
        unit_add_test_if(tc, test_shares_memory_and_holds_the_caller,
                         spawn_shares_memory() && !unit_under_qemu(),
                         "needs CLONE_VM|CLONE_VFORK as the kernel runs it (not ASan, not qemu)");
        suite_add_tcase(s, tc);
        tc = tcase_create("child");
        tcase_add_test(tc, test_own_fds_and_cwd);
        tcase_add_test(tc, test_signals_blocked_in_child_only);
        tcase_add_test(tc, test_stack_is_deep_enough);
        suite_add_tcase(s, tc);
        return s;
}
