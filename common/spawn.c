/* SPDX-License-Identifier: Apache-2.0 */
#include "spawn.h"

#include <errno.h>
#include <stdbool.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "macro.h"

/* Mapped, not touched: only the pages a child uses cost anything. Enough for the helpers (path
 * walks, setns, a mount move, the watcher's loop) and for the shim's execvpe, which copies the
 * argument vector onto the stack for a script without "#!" (ARG_MAX is a quarter of the stack
 * limit, 2 MiB by default). A deeper child faults on the guard page below. */
#define SPAWN_STACK_SIZE (4 * 1024 * 1024)

bool spawn_shares_memory(void) {
#ifdef __SANITIZE_ADDRESS__
        return false;
#else
        return true;
#endif
}

#ifdef __SANITIZE_ADDRESS__
/* AddressSanitizer cannot follow a stack it did not make (every noreturn call on it warns, and
 * false reports may follow): its builds fork, which the callers already allow for. */
pid_t spawn_shared(int (*fn)(void *arg), void *arg) {
        sigset_t all, old;
        sigfillset(&all);
        (void)sigprocmask(SIG_SETMASK, &all, &old);
        pid_t pid = fork();
        if (pid == 0)
                _exit(fn(arg));
        int r = pid < 0 ? -errno : pid;
        (void)sigprocmask(SIG_SETMASK, &old, NULL);
        return r;
}
#else
pid_t spawn_shared(int (*fn)(void *arg), void *arg) {
        long page = sysconf(_SC_PAGESIZE);
        size_t size = SPAWN_STACK_SIZE + (size_t)page;
        sigset_t all, old;

        char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (stack == MAP_FAILED)
                return -errno;
        /* The guard: an overflow faults rather than writing over whatever is mapped below. */
        if (mprotect(stack, (size_t)page, PROT_NONE) < 0) {
                int r = -errno;
                munmap(stack, size);
                return r;
        }
        sigfillset(&all);
        (void)sigprocmask(SIG_SETMASK, &all, &old);
        pid_t pid = clone(fn, stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, arg);
        int r = pid < 0 ? -errno : pid;
        (void)sigprocmask(SIG_SETMASK, &old, NULL);
        /* The child is past exec or exit: its stack is ours to unmap. */
        munmap(stack, size);
        return r;
}
#endif
