/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/*
 * Run fn(arg) in a child that shares this process's memory until it execs or exits, as
 * posix_spawn starts its children (clone with CLONE_VM | CLONE_VFORK): no copy of the address
 * space to make, and none to tear down when the child execs or exits, which is most of what a
 * fork costs (most of all in a virtual machine, where every page-table write traps). The
 * caller waits meanwhile; when spawn_shared returns, the child has exec'd or exited and is
 * waited for with waitpid as any child.
 *
 * The child has its own file descriptor table, credentials, namespaces, root and cwd (none of
 * CLONE_FILES, CLONE_FS, CLONE_SIGHAND), so setns, setsid, dup2 and close are its own. It
 * shares the caller's memory: what fn stores through arg is the caller's to read afterwards,
 * and fn must neither keep pointers into its own stack nor leave a lock held. It starts with
 * every signal blocked (no handler of the caller's can run on the shared memory; lockbox
 * installs none) and runs on a stack of its own, mapped here with a guard page below it.
 * fn's return value is the child's exit status: the way to report, since valgrind and
 * qemu-user run such a clone as a plain fork (no shared memory, the caller not held), and an
 * AddressSanitizer build forks (spawn_shares_memory() is false there).
 *
 * Returns the child's pid, or -errno (nothing was started).
 */
pid_t spawn_shared(int (*fn)(void *arg), void *arg);

/* Whether spawn_shared's children share the caller's memory in this build. */
bool spawn_shares_memory(void);
