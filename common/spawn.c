/* SPDX-License-Identifier: Apache-2.0 */
#include "spawn.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "macro.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#endif

/* Mapped, not touched: only the pages a child uses cost anything. Enough for the helpers (path
 * walks, setns, a mount move, the watcher's loop) and for the shim's execvpe, which copies the
 * argument vector onto the stack for a script without "#!" (ARG_MAX is a quarter of the stack
 * limit, 2 MiB by default). A deeper child faults on the guard page below. */
#define SPAWN_STACK_SIZE (4 * 1024 * 1024)

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
        /* The child is past exec or exit: its stack is ours to unmap. Under AddressSanitizer its
         * frames' redzones, never popped, would otherwise poison whatever is mapped there next. */
#ifdef __SANITIZE_ADDRESS__
        __asan_unpoison_memory_region(stack + page, SPAWN_STACK_SIZE);
#endif
        munmap(stack, size);
        return r;
}
