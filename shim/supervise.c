/* SPDX-License-Identifier: Apache-2.0 */
#include "supervise.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

#include "fdutil.h"
#include "log.h"
#include "spawn.h"

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

/* What the supervisor holds while the command runs. */
struct supervisor {
        struct delivery *d;
        const struct supervise_params *p;
        sigset_t set; /* every signal we take, blocked */
        const sigset_t *child_mask; /* the mask the command starts with */
        pid_t pid; /* the command */
        bool rotation_pending; /* a rotate signal came while we were busy */
};

static uint64_t supervise_now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
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

static void supervise_forward(pid_t pid, int sig) {
        if (kill(pid, sig) < 0 && errno != ESRCH)
                log_warning_errno(errno, "cannot forward signal %d to process %d", sig, (int)pid);
}

static bool supervise_is_stop_signal(int sig) {
        return sig == SIGTERM || sig == SIGINT || sig == SIGQUIT;
}

static int supervise_child_main(void *p) {
        const struct supervisor *s = p;
        supervise_child(s->d, s->child_mask);
}

/* Start the command with s->d: a child that sets up its fds and execs, in our memory until
 * then (spawn.h: no copy of the shim's address space is made for a process that execs at once;
 * the values' pages are never in a second one). */
static int supervise_start(struct supervisor *s) {
        pid_t pid = spawn_shared(supervise_child_main, s);
        if (pid < 0)
                return log_error_errno(pid, "cannot start '%s'", s->d->argv[0]);
        /* The child holds its copies now; the shim keeps only the memfds (for a rotation). */
        deliver_close_fds(s->d);
        s->pid = pid;
        log_debug("started '%s' as process %d", s->d->argv[0], (int)pid);
        return 0;
}

/* Stop the command for a restart or an exit on rotation: SIGTERM, then SIGKILL after
 * SUPERVISE_STOP_TIMEOUT_MS. Returns its exit status. A stop signal that comes meanwhile is
 * passed on and sets *ret_stop: then the command is not started again. */
static int supervise_stop(struct supervisor *s, bool *ret_stop) {
        uint64_t deadline = supervise_now_ms() + SUPERVISE_STOP_TIMEOUT_MS;
        bool killed = false;
        int status;

        supervise_forward(s->pid, SIGTERM);
        for (;;) {
                if (supervise_reap(s->pid, &status))
                        return status;
                uint64_t now = supervise_now_ms();
                if (now >= deadline && !killed) {
                        log_warning("'%s' did not exit within %d s of SIGTERM; sending SIGKILL",
                                    s->d->argv[0], SUPERVISE_STOP_TIMEOUT_MS / 1000);
                        supervise_forward(s->pid, SIGKILL);
                        killed = true;
                }
                uint64_t left = killed ? 1000 : deadline - now;
                struct timespec ts = {.tv_sec = (time_t)(left / 1000),
                                      .tv_nsec = (long)(left % 1000) * 1000000};
                siginfo_t si;
                if (sigtimedwait(&s->set, &si, &ts) < 0 || si.si_signo == SIGCHLD)
                        continue;
                if (si.si_signo == s->p->rotate_signal) {
                        s->rotation_pending = true;
                        continue;
                }
                if (supervise_is_stop_signal(si.si_signo))
                        *ret_stop = true;
                supervise_forward(s->pid, si.si_signo);
        }
}

/* The rotate signal. Returns -1 to go on supervising, or the shim's exit status. */
static int supervise_rotate(struct supervisor *s) {
        const struct shim_options *o = s->p->rotation ? s->p->rotation->o : NULL;
        struct delivery next = {};
        bool stop = false;

        if (!o) {
                log_warning("rotation signal SIG%s received; this shim takes no rotation, "
                            "ignored",
                            signal_name(s->p->rotate_signal));
                return -1;
        }
        if (shim_rotation_receive(s->p->rotation, s->d, &next) < 0)
                return -1;
        switch (o->on_rotate) {
        case SHIM_ROTATE_SIGNAL:
                log_info("secrets rotated; sending SIG%s to '%s'", signal_name(o->on_rotate_signal),
                         s->d->argv[0]);
                supervise_forward(s->pid, o->on_rotate_signal);
                return -1;
        case SHIM_ROTATE_EXIT:
                /* Said at the default level: the container stops, and this is why. */
                log_warning("secrets rotated; stopping '%s' and exiting (--on-rotate exit)",
                            s->d->argv[0]);
                (void)supervise_stop(s, &stop);
                return SHIM_EXIT_ROTATED;
        case SHIM_ROTATE_RESTART:
                break;
        }
        log_warning("secrets rotated; restarting '%s' (--on-rotate restart)", s->d->argv[0]);
        int status = supervise_stop(s, &stop);
        if (stop) {
                /* Asked to stop while restarting: stop, as without the rotation. */
                deliver_done(&next);
                return status;
        }
        deliver_done(s->d);
        *s->d = next;
        return supervise_start(s) < 0 ? SHIM_EXIT_FAILURE : -1;
}

static int supervise_loop(struct supervisor *s) {
        for (;;) {
                if (s->rotation_pending) {
                        s->rotation_pending = false;
                        int r = supervise_rotate(s);
                        if (r >= 0)
                                return r;
                }
                siginfo_t si;
                if (sigwaitinfo(&s->set, &si) < 0) {
                        if (errno == EINTR)
                                continue;
                        log_error_errno(errno, "cannot wait for signals");
                        return SHIM_EXIT_FAILURE;
                }
                if (si.si_signo == s->p->rotate_signal) {
                        s->rotation_pending = true;
                        continue;
                }
                if (si.si_signo != SIGCHLD) {
                        supervise_forward(s->pid, si.si_signo);
                        continue;
                }
                int status;
                if (supervise_reap(s->pid, &status)) {
                        int ignored;
                        (void)supervise_reap(-1, &ignored);
                        return status;
                }
        }
}

int supervise_run(struct delivery *d, const struct supervise_params *p) {
        struct supervisor s = {.d = d, .p = p};
        sigset_t orig_mask;

        /* Outside a PID namespace's init, orphans of the command would otherwise go to the
         * real init: as a subreaper we reap them like PID 1 does (tini -s). */
        if (getpid() != 1)
                (void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        /* An inherited SIG_IGN for SIGCHLD would make the kernel reap the command for us and
         * lose its exit status. */
        signal(SIGCHLD, SIG_DFL);
        /* Blocked before fork: a signal that arrives before the loop waits stays pending. As
         * PID 1, a blocked signal is also never dropped as "default action on init". */
        supervise_signal_set(&s.set);
        if (sigprocmask(SIG_BLOCK, &s.set, &orig_mask) < 0) {
                log_error_errno(errno, "cannot block signals");
                return SHIM_EXIT_FAILURE;
        }
        /* main() blocks the rotate signal from the start (a rotation may come before we are
         * here) and hands the mask it had before that for the command. */
        s.child_mask = p->child_mask ? p->child_mask : &orig_mask;
        if (supervise_start(&s) < 0) {
                sigprocmask(SIG_SETMASK, &orig_mask, NULL);
                return SHIM_EXIT_FAILURE;
        }
        return supervise_loop(&s);
}
