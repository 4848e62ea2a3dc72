/* SPDX-License-Identifier: Apache-2.0 */
#include "supervise.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>

#include "fdutil.h"
#include "log.h"

int supervise_exit_status(int wstatus) {
        if (WIFEXITED(wstatus))
                return WEXITSTATUS(wstatus);
        if (WIFSIGNALED(wstatus))
                return 128 + WTERMSIG(wstatus);
        return SHIM_EXIT_FAILURE;
}

/* Every signal the shim can take, except those the kernel raises for a fault of our own
 * (blocking them would turn a crash into a hang, then a kill) and the job-control ones a
 * terminal sends to a background process group (as tini does). */
static void supervise_signal_set(sigset_t *set) {
        static const int keep_default[] = {SIGFPE,  SIGILL, SIGSEGV, SIGBUS, SIGABRT,
                                           SIGTRAP, SIGSYS, SIGTTIN, SIGTTOU};
        sigfillset(set);
        for (size_t i = 0; i < ARRAY_SIZE(keep_default); i++)
                sigdelset(set, keep_default[i]);
}

/* In the child: own process group, in the terminal's foreground when there is one, so that
 * ^C from a terminal reaches the command once (not once directly and once forwarded). */
static void supervise_isolate_child(void) {
        if (setpgid(0, 0) < 0)
                return;
        if (isatty(STDIN_FILENO)) {
                sigset_t ttou, old;
                sigemptyset(&ttou);
                sigaddset(&ttou, SIGTTOU);
                /* tcsetpgrp from a background group raises SIGTTOU unless it is blocked. */
                sigprocmask(SIG_BLOCK, &ttou, &old);
                (void)tcsetpgrp(STDIN_FILENO, getpgrp());
                sigprocmask(SIG_SETMASK, &old, NULL);
        }
}

static _noreturn_ void supervise_child(const struct delivery *d, const sigset_t *orig_mask) {
        supervise_isolate_child();
        int r = deliver_apply_layout(d->moves, d->n_moves);
        if (r < 0) {
                log_error_errno(r, "cannot set up the command's file descriptors");
                _exit(SHIM_EXIT_FAILURE);
        }
        /* The command gets the signal mask the shim was started with, not ours. */
        sigprocmask(SIG_SETMASK, orig_mask, NULL);
        _exit(deliver_exec(d));
}

/* Reap every exited child (orphans reparented to us included). Returns true once the main
 * child is among them, its status in *ret_status. */
static bool supervise_reap(pid_t main_pid, int *ret_status) {
        bool main_done = false;
        for (;;) {
                int wstatus;
                pid_t pid = waitpid(-1, &wstatus, WNOHANG);
                if (pid <= 0)
                        return main_done;
                if (pid == main_pid) {
                        *ret_status = supervise_exit_status(wstatus);
                        main_done = true;
                } else
                        log_debug("reaped process %d", (int)pid);
        }
}

static void supervise_forward(pid_t pid, const siginfo_t *si, const struct supervise_params *p) {
        if (si->si_signo == p->rotate_signal) {
                /* Rotation (DESIGN §8) comes later; until then the signal is consumed here,
                 * so that the broker's signal does not kill the command by default action. */
                log_warning("rotation signal SIG%s received; rotation is not supported by this "
                            "shim yet, ignored",
                            signal_name(si->si_signo));
                return;
        }
        if (kill(pid, si->si_signo) < 0 && errno != ESRCH)
                log_warning_errno(errno, "cannot forward signal %d to process %d", si->si_signo,
                                  (int)pid);
}

static int supervise_loop(pid_t pid, const sigset_t *set, const struct supervise_params *p) {
        for (;;) {
                siginfo_t si;
                if (sigwaitinfo(set, &si) < 0) {
                        if (errno == EINTR)
                                continue;
                        log_error_errno(errno, "cannot wait for signals");
                        return SHIM_EXIT_FAILURE;
                }
                if (si.si_signo != SIGCHLD) {
                        supervise_forward(pid, &si, p);
                        continue;
                }
                int status;
                if (supervise_reap(pid, &status)) {
                        int ignored;
                        (void)supervise_reap(-1, &ignored);
                        return status;
                }
        }
}

int supervise_run(struct delivery *d, const struct supervise_params *p) {
        sigset_t set, orig_mask;

        /* Outside a PID namespace's init, orphans of the command would otherwise go to the
         * real init: as a subreaper we reap them like PID 1 does (tini -s). */
        if (getpid() != 1)
                (void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        /* An inherited SIG_IGN for SIGCHLD would make the kernel reap the command for us and
         * lose its exit status. */
        signal(SIGCHLD, SIG_DFL);
        /* Blocked before fork: a signal that arrives before the loop waits stays pending. As
         * PID 1, a blocked signal is also never dropped as "default action on init". */
        supervise_signal_set(&set);
        if (sigprocmask(SIG_BLOCK, &set, &orig_mask) < 0) {
                log_error_errno(errno, "cannot block signals");
                return SHIM_EXIT_FAILURE;
        }

        pid_t pid = fork();
        if (pid < 0) {
                log_error_errno(errno, "cannot start '%s'", d->argv[0]);
                sigprocmask(SIG_SETMASK, &orig_mask, NULL);
                return SHIM_EXIT_FAILURE;
        }
        if (pid == 0)
                supervise_child(d, &orig_mask);

        /* The child holds the secrets now; the shim keeps none. */
        deliver_close_fds(d);
        log_debug("started '%s' as process %d", d->argv[0], (int)pid);
        return supervise_loop(pid, &set, p);
}
