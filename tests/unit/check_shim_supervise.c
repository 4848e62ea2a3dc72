/* SPDX-License-Identifier: Apache-2.0 */
#include "unit.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fdutil.h"
#include "supervise.h"

static char *env_none[] = {"PATH=/usr/bin:/bin", NULL};

/* Run /bin/sh -c script under the supervisor, with the given fd moves. */
static int run_sh(const char *script, struct fd_move *moves, size_t n_moves) {
        char *argv[] = {"sh", "-c", (char *)script, NULL};
        struct delivery d = {.argv = argv, .envp = env_none, .moves = moves, .n_moves = n_moves};
        struct supervise_params p = {.rotate_signal = SIGUSR1};
        return supervise_run(&d, &p);
}

START_TEST(test_exit_status) {
        ck_assert_int_eq(run_sh("exit 0", NULL, 0), 0);
        ck_assert_int_eq(run_sh("exit 3", NULL, 0), 3);
        ck_assert_int_eq(run_sh("exit 255", NULL, 0), 255);
}
END_TEST

START_TEST(test_killed_by_signal) {
        ck_assert_int_eq(run_sh("kill -TERM $$; sleep 5", NULL, 0), 128 + SIGTERM);
        ck_assert_int_eq(run_sh("kill -KILL $$", NULL, 0), 128 + SIGKILL);
}
END_TEST

START_TEST(test_exit_status_conversion) {
        ck_assert_int_eq(supervise_exit_status(7 << 8), 7);
        ck_assert_int_eq(supervise_exit_status(SIGSEGV), 128 + SIGSEGV);
}
END_TEST

static int run_argv(char *cmd) {
        char *argv[] = {cmd, NULL};
        struct delivery d = {.argv = argv, .envp = env_none};
        struct supervise_params p = {.rotate_signal = SIGUSR1};
        return supervise_run(&d, &p);
}

/* The command's process closes every fd but stdio before exec: its one line goes to stderr. */
static void capture_stderr(void) {
        capture_log();
        ck_assert_int_eq(dup2(unit_log_fd, STDERR_FILENO), STDERR_FILENO);
        log_set_fd(STDERR_FILENO);
}

START_TEST(test_not_found_not_executable) {
        capture_stderr();
        ck_assert_int_eq(run_argv("/nonexistent/app"), 127);
        ck_assert_str_eq(captured_log(),
                         "unit: cannot run '/nonexistent/app': No such file or directory\n");
        ck_assert_int_eq(run_argv("no-such-command-in-path-lbx"), 127);

        char path[] = "/tmp/lbx-noexec-XXXXXX";
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        close(fd);
        ck_assert_int_eq(chmod(path, 0644), 0);
        capture_stderr();
        ck_assert_int_eq(run_argv(path), 126);
        ck_assert(strstr(captured_log(), "Permission denied"));
        unlink(path);
}
END_TEST

/* The child gets the memfd at its target and no other fd above 2. */
START_TEST(test_fds_in_child) {
        int mfd = memfd_create("s", MFD_CLOEXEC);
        ck_assert_int_eq(write_full(mfd, "hello", 5), 0);
        ck_assert_int_eq(lseek(mfd, 0, SEEK_SET), 0);
        /* An fd the supervisor has without close-on-exec: it must not reach the command. */
        int stray = open("/dev/null", O_RDONLY);
        ck_assert_int_ge(stray, 0);
        ck_assert_int_lt(stray, 9);
        struct fd_move moves[] = {{mfd, 9}};
        char script[256];
        snprintf(script, sizeof script,
                 "read -r v <&9; [ \"$v\" = hello ] || exit 10; "
                 "[ -e /proc/$$/fd/%d ] && exit 11; [ -e /proc/$$/fd/%d ] && exit 12; exit 0",
                 stray, mfd);
        ck_assert_int_eq(run_sh(script, moves, 1), 0);
        /* The supervisor let go of the memfd once the child had it. */
        ck_assert_int_eq(moves[0].src, -1);
        ck_assert_int_lt(fcntl(mfd, F_GETFD), 0);
        close(stray);
}
END_TEST

static pid_t signal_later(int sig, int delay_ms) {
        pid_t parent = getpid();
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                usleep((useconds_t)delay_ms * 1000);
                kill(parent, sig);
                _exit(0);
        }
        return pid;
}

/* The child is alive when the signal comes (its trap is set up first). */
START_TEST(test_forwards_signals) {
        signal_later(SIGUSR2, 300);
        ck_assert_int_eq(run_sh("trap 'exit 7' USR2; i=0; while [ $i -lt 100 ]; do sleep 0.05; "
                                "i=$((i+1)); done; exit 1",
                                NULL, 0),
                         7);
        signal_later(SIGTERM, 300);
        ck_assert_int_eq(run_sh("sleep 10", NULL, 0), 128 + SIGTERM);
}
END_TEST

/* The rotation signal is the shim's, not the command's. */
START_TEST(test_rotate_signal_not_forwarded) {
        signal_later(SIGUSR1, 200);
        capture_log();
        log_set_level(LOG_LEVEL_WARNING);
        ck_assert_int_eq(run_sh("trap 'exit 9' USR1; sleep 0.6; exit 0", NULL, 0), 0);
        ck_assert(strstr(captured_log(), "rotation signal SIGUSR1 received"));
}
END_TEST

/* Orphans reparented to the supervisor are reaped while the command runs (no zombie stays
 * in /proc), and nothing is left behind. */
START_TEST(test_reaps_orphans) {
        ck_assert_int_eq(run_sh("p=$(sleep 0.1 >/dev/null 2>&1 & echo $!); sleep 0.5; "
                                "[ -e /proc/$p ] && exit 20; exit 4",
                                NULL, 0),
                         4);
        int st;
        errno = 0;
        ck_assert_int_eq(waitpid(-1, &st, WNOHANG), -1);
        ck_assert_int_eq(errno, ECHILD);
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("shim_supervise");
        TCase *tc = tcase_create("supervise");
        tcase_set_timeout(tc, 20);
        tcase_add_test(tc, test_exit_status);
        tcase_add_test(tc, test_killed_by_signal);
        tcase_add_test(tc, test_exit_status_conversion);
        tcase_add_test(tc, test_not_found_not_executable);
        tcase_add_test(tc, test_fds_in_child);
        tcase_add_test(tc, test_forwards_signals);
        tcase_add_test(tc, test_rotate_signal_not_forwarded);
        /* qemu-user refuses PR_SET_CHILD_SUBREAPER (EINVAL): no orphan comes to the shim. */
        unit_add_test_if(tc, test_reaps_orphans, !unit_under_qemu(),
                         "needs PR_SET_CHILD_SUBREAPER, which qemu-user refuses");
        suite_add_tcase(s, tc);
        return s;
}
