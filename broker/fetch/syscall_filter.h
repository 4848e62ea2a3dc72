/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <sched.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The secret fetcher's seccomp filter (privsep.h, SECURITY.md "The fetcher's seccomp filter"),
 * built with libseccomp for the architecture the broker runs as. One policy, written once by
 * system call name and translated by libseccomp to each architecture's numbers: everything
 * fails with EPERM but the allow-list below; clone only without namespace flags; clone3
 * answered ENOSYS (its flags sit behind a pointer, so glibc falls back to clone); tgkill only
 * to the fetcher's own thread group. Every other ABI the kernel would accept from the process
 * (i386 through int 0x80 and x32 on x86_64, AArch32 on aarch64) kills it: the fetcher is a
 * 64-bit program that never makes such a call, and an ABI left out of the filter would be a way
 * around it (other numbers for the same calls).
 */

/* The architectures the policy is written and tested for (libseccomp tokens, AUDIT_ARCH_*). An
 * architecture not listed gets no filter: the fetch is refused unless the configuration turns
 * the filter off ("fetcher": {"seccomp": false}). */
extern const uint32_t syscall_filter_arches[];
extern const size_t syscall_filter_n_arches;

/* The calls allowed without condition, by name, NULL-terminated. A name an architecture does
 * not have (poll, epoll_wait on aarch64) is left out of that architecture's filter. */
extern const char *const syscall_filter_allowed[];

/* The warm fetch agent's (agent.h) few calls beyond the fetcher's, NULL-terminated: it is the
 * same fetcher, living on and taking its requests from a listening socket. */
extern const char *const syscall_filter_agent_extra[];

/* Which process the filter is for: the fetch child (privsep.h) or the agent. */
enum syscall_filter_kind {
        SYSCALL_FILTER_FETCHER,
        SYSCALL_FILTER_AGENT,
};

/* The flags clone may not carry: each asks for a new namespace (a user namespace would give
 * capabilities back, inside it). CLONE_NEWTIME is clone3's and unshare's only (its bit is
 * CSIGNAL's in clone). */
#define SYSCALL_FILTER_CLONE_NAMESPACES                                                            \
        (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |             \
         CLONE_NEWPID | CLONE_NEWNET)

/* The architecture this process runs as (libseccomp's native token), and whether the policy
 * covers an architecture. */
uint32_t syscall_filter_native(void);
bool syscall_filter_arch_supported(uint32_t arch);
/* "x86_64", "aarch64", or NULL for an architecture the policy does not cover. */
const char *syscall_filter_arch_name(uint32_t arch);
/* The native architecture's name, or for one the policy does not cover, the machine's (uname)
 * and its audit arch number. A static buffer. */
const char *syscall_filter_native_name(void);

/* The filter of kind for arch (one of syscall_filter_arches, native or not: libseccomp builds
 * any), for the process self (tgkill's only target). -EAFNOSUPPORT for another architecture. */
int syscall_filter_build(uint32_t arch, pid_t self, enum syscall_filter_kind kind,
                         scmp_filter_ctx *ret);

/* Build it for this process and load it (no_new_privs must be set). -EAFNOSUPPORT where the
 * native architecture is not covered. */
int syscall_filter_load(enum syscall_filter_kind kind);

/* Tests only: make syscall_filter_native() answer arch (0: the truth again), to see what an
 * architecture without a filter does. */
void syscall_filter_pretend_native(uint32_t arch);
