/* SPDX-License-Identifier: Apache-2.0 */
#include "syscall_filter.h"

#include <errno.h>
#include <stdio.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "macro.h"

const uint32_t syscall_filter_arches[] = {SCMP_ARCH_X86_64, SCMP_ARCH_AARCH64};
const size_t syscall_filter_n_arches = ARRAY_SIZE(syscall_filter_arches);

/* What libcurl, OpenSSL, glibc's resolver (its thread, NSS modules), jansson, libsodium and the
 * token cache call, found by tracing the fetcher through the Vault and Keywhiz suites (and
 * their failure injection) on x86_64 and adding the neighbours glibc may pick instead (ppoll for
 * poll, clone3 for clone, ...). Everything else fails with EPERM: an allow-list, not a
 * deny-list. By name: libseccomp turns each into the number of the architecture at hand. */
const char *const syscall_filter_allowed[] = {
        /* memory */
        "brk",
        "mmap",
        "munmap",
        "mremap",
        "mprotect",
        "madvise",
        "mlock",
        "munlock",
        "mlock2",
        "membarrier",
        /* files, through fds (the token cache's atomic replace; NSS and OpenSSL's config) */
        "read",
        "write",
        "readv",
        "writev",
        "pread64",
        "pwrite64",
        "openat",
        "close",
        "fstat",
        "newfstatat",
        "statx",
        "lseek",
        "fcntl",
        "dup",
        "dup3",
        "flock",
        "fsync",
        "fdatasync",
        "fchmod",
        "ftruncate",
        "renameat",
        "renameat2",
        "unlinkat",
        "getdents64",
        "faccessat",
        "faccessat2",
        "readlinkat",
        "ioctl",
        /* network */
        "socket",
        "socketpair",
        "connect",
        "bind",
        "shutdown",
        "getsockname",
        "getpeername",
        "setsockopt",
        "getsockopt",
        "sendto",
        "recvfrom",
        "sendmsg",
        "recvmsg",
        "sendmmsg",
        "recvmmsg",
        "poll",
        "ppoll",
        "pselect6",
        "pipe2",
        "eventfd2",
        "epoll_create1",
        "epoll_ctl",
        "epoll_wait",
        "epoll_pwait",
        /* threads (the resolver's: clone below), time, signals, identity, the end */
        "set_robust_list",
        "rseq",
        "futex",
        "sched_yield",
        "sched_getaffinity",
        "clock_gettime",
        "clock_getres",
        "gettimeofday",
        "nanosleep",
        "clock_nanosleep",
        "rt_sigaction",
        "rt_sigprocmask",
        "rt_sigreturn",
        "sigaltstack",
        "restart_syscall",
        "getpid",
        "gettid",
        "getuid",
        "geteuid",
        "getgid",
        "getegid",
        "uname",
        "sysinfo",
        "prlimit64",
        "getrandom",
        "getrusage",
        "exit",
        "exit_group",
        NULL,
};

/* The agent takes each hook's connection from the listening socket root bound for it
 * (accept4, with SOCK_CLOEXEC); poll, recvmsg, sendmsg and getsockopt(SO_PEERCRED) are on the
 * list above already, for libcurl. Nothing else: the agent never opens a file, forks or execs. */
const char *const syscall_filter_agent_extra[] = {
        "accept4",
        NULL,
};

static uint32_t syscall_filter_pretended;

void syscall_filter_pretend_native(uint32_t arch) {
        syscall_filter_pretended = arch;
}

uint32_t syscall_filter_native(void) {
        return syscall_filter_pretended ? syscall_filter_pretended : seccomp_arch_native();
}

const char *syscall_filter_arch_name(uint32_t arch) {
        switch (arch) {
        case SCMP_ARCH_X86_64:
                return "x86_64";
        case SCMP_ARCH_AARCH64:
                return "aarch64";
        default:
                return NULL;
        }
}

const char *syscall_filter_native_name(void) {
        static char buf[sizeof(((struct utsname *)NULL)->machine) + 32];
        uint32_t arch = syscall_filter_native();
        if (syscall_filter_arch_name(arch))
                return syscall_filter_arch_name(arch);
        struct utsname u;
        if (uname(&u) < 0)
                snprintf(u.machine, sizeof u.machine, "unknown");
        snprintf(buf, sizeof buf, "%s, audit arch %#x", u.machine, arch);
        return buf;
}

bool syscall_filter_arch_supported(uint32_t arch) {
        for (size_t i = 0; i < syscall_filter_n_arches; i++)
                if (syscall_filter_arches[i] == arch)
                        return syscall_filter_arch_name(arch) != NULL;
        return false;
}

static void seccomp_releasep(scmp_filter_ctx *ctx) {
        int saved = errno;
        if (*ctx)
                seccomp_release(*ctx);
        errno = saved;
}

/* name allowed on arch. Rules take the native number (a pseudo number where the native
 * architecture lacks the call), which libseccomp translates to arch's by name. A name no
 * architecture knows is a typo in the list: an error, not a call silently left out. */
static int syscall_filter_allow(scmp_filter_ctx ctx, uint32_t arch, const char *name) {
        int nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR)
                return -EINVAL;
        if (seccomp_syscall_resolve_name_arch(arch, name) < 0)
                return 0; /* not a call of this architecture's */
        return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
}

/* The calls with a condition on their first argument, an int to glibc and the kernel (clone's
 * flags, tgkill's tgid): the datum is 32 bits. libseccomp compares all 64 bits of the register,
 * so tgkill's upper half must be 0, as glibc's sign extension of a positive pid leaves it; the
 * clone mask has no bit there. */
static int syscall_filter_conditions(scmp_filter_ctx ctx, pid_t self) {
        int r = seccomp_rule_add(
                ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                SCMP_A0_32(SCMP_CMP_MASKED_EQ, SYSCALL_FILTER_CLONE_NAMESPACES, 0));
        if (r < 0)
                return r;
        /* clone3's flags are in a struct behind a pointer, out of a filter's reach: ENOSYS makes
         * glibc fall back to clone, whose flags it can see. */
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
        if (r < 0)
                return r;
        /* abort() and raise() signal their own thread group; no other process, no other signal
         * call (kill, tkill, rt_sigqueueinfo are not on the list). */
        return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
                                SCMP_A0_32(SCMP_CMP_EQ, (uint32_t)self));
}

int syscall_filter_build(uint32_t arch, pid_t self, enum syscall_filter_kind kind,
                         scmp_filter_ctx *ret) {
        if (!syscall_filter_arch_supported(arch))
                return -EAFNOSUPPORT;
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
        if (!ctx)
                return -ENOMEM;
        /* Only arch is in the filter: a call through any other ABI (i386's int 0x80 and x32 on
         * x86_64, AArch32 on aarch64) is "a bad architecture" to libseccomp, and that kills the
         * process. libseccomp checks x32's bit on x86_64 itself. */
        int r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
        if (r >= 0 && arch != seccomp_arch_native()) {
                r = seccomp_arch_add(ctx, arch);
                if (r >= 0)
                        r = seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE);
        }
        for (size_t i = 0; r >= 0 && syscall_filter_allowed[i]; i++)
                r = syscall_filter_allow(ctx, arch, syscall_filter_allowed[i]);
        for (size_t i = 0; r >= 0 && kind == SYSCALL_FILTER_AGENT && syscall_filter_agent_extra[i];
             i++)
                r = syscall_filter_allow(ctx, arch, syscall_filter_agent_extra[i]);
        if (r >= 0)
                r = syscall_filter_conditions(ctx, self);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(ctx);
        return 0;
}

int syscall_filter_load(enum syscall_filter_kind kind) {
        if (!syscall_filter_arch_supported(syscall_filter_native()))
                return -EAFNOSUPPORT;
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        int r = syscall_filter_build(seccomp_arch_native(), getpid(), kind, &ctx);
        if (r < 0)
                return r;
        return seccomp_load(ctx);
}
