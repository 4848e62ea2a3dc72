/* SPDX-License-Identifier: Apache-2.0 */
/* The fetcher's seccomp filter (broker/fetch/syscall_filter.h), built for every architecture
 * lockbox supports on whatever machine runs the tests (libseccomp builds a filter for any):
 * its PFC text (libseccomp's readable export) must hold exactly the expected rules for exactly
 * the expected architecture, and its BPF, run here by a small interpreter on made-up calls, must
 * give each call the expected action, including the calls through another ABI that the PFC
 * does not show (x32 on x86_64). Nothing here needs the kernel to enforce anything. */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "fetch/syscall_filter.h"
#include "unit.h"

/* The policy, written again here so that a call dropped from (or added to) the broker's list
 * fails: allowed without condition, where the architecture has the call. */
static const char expected_allowed[] =
        " brk mmap munmap mremap mprotect madvise mlock munlock mlock2 membarrier"
        " read write readv writev pread64 pwrite64 openat close fstat newfstatat statx lseek fcntl"
        " dup dup3 flock fsync fdatasync fchmod ftruncate renameat renameat2 unlinkat getdents64"
        " faccessat faccessat2 readlinkat ioctl"
        " socket socketpair connect bind shutdown getsockname getpeername setsockopt getsockopt"
        " sendto recvfrom sendmsg recvmsg sendmmsg recvmmsg poll ppoll pselect6 pipe2 eventfd2"
        " epoll_create1 epoll_ctl epoll_wait epoll_pwait"
        " set_robust_list rseq futex sched_yield sched_getaffinity clock_gettime clock_getres"
        " gettimeofday nanosleep clock_nanosleep rt_sigaction rt_sigprocmask rt_sigreturn"
        " sigaltstack restart_syscall getpid gettid getuid geteuid getgid getegid uname sysinfo"
        " prlimit64 getrandom getrusage exit exit_group ";

/* The warm fetch agent's filter: the fetcher's, and these (its listening socket). */
static const char expected_agent_extra[] = " accept4 ";

/* Every architecture lockbox filters, with the ABIs its kernel also accepts from a 64-bit
 * process, which must kill it. */
static const struct {
        uint32_t arch;
        const char *name;
        uint32_t other_abi; /* AUDIT_ARCH of the compat ABI */
} expected_arches[] = {
        {SCMP_ARCH_X86_64, "x86_64", AUDIT_ARCH_I386},
        {SCMP_ARCH_AARCH64, "aarch64", AUDIT_ARCH_ARM},
};

#define SELF 4242 /* tgkill's one allowed target in these filters */

/* The filter for arch, exported by fn (seccomp_export_pfc or _bpf) into a memfd; returned as a
 * NUL-terminated buffer (the caller frees it) and its size. */
static char *export(uint32_t arch, enum syscall_filter_kind kind,
                    int (*fn)(const scmp_filter_ctx, int), size_t *ret_size) {
        scmp_filter_ctx ctx = NULL;
        ck_assert_int_eq(syscall_filter_build(arch, SELF, kind, &ctx), 0);
        int fd = memfd_create("filter", MFD_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(fn(ctx, fd), 0);
        seccomp_release(ctx);
        off_t size = lseek(fd, 0, SEEK_END);
        ck_assert_int_gt(size, 0);
        char *buf = calloc(1, (size_t)size + 1);
        ck_assert_ptr_nonnull(buf);
        ck_assert_int_eq(pread(fd, buf, (size_t)size, 0), size);
        close(fd);
        if (ret_size)
                *ret_size = (size_t)size;
        return buf;
}

static int count(const char *text, const char *needle) {
        int n = 0;
        for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
                n++;
        return n;
}

/* The PFC rule of syscall name: the lines after its "# filter for syscall" comment, up to the
 * next rule or the default action, into buf ("" when there is none). */
static void pfc_rule(const char *pfc, const char *name, int nr, char *buf, size_t size) {
        char head[128];
        snprintf(head, sizeof head, "# filter for syscall \"%s\" (%d) ", name, nr);
        buf[0] = '\0';
        const char *p = strstr(pfc, head);
        if (!p || !(p = strchr(p, '\n')))
                return;
        p++;
        const char *end = strstr(p, "  # filter for syscall");
        const char *def = strstr(p, "  # default action");
        if (!end || (def && def < end))
                end = def;
        ck_assert_ptr_nonnull(end);
        snprintf(buf, size, "%.*s", (int)(end - p), p);
}

static void assert_rule(const char *pfc, uint32_t arch, const char *name, const char *fmt, ...)
        _printf_(4, 5);
static void assert_rule(const char *pfc, uint32_t arch, const char *name, const char *fmt, ...) {
        int nr = seccomp_syscall_resolve_name_arch(arch, name);
        ck_assert_int_ge(nr, 0);
        char want[512], got[512], body[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(body, sizeof body, fmt, ap);
        va_end(ap);
        snprintf(want, sizeof want, "  if ($syscall == %d)\n%s", nr, body);
        pfc_rule(pfc, name, nr, got, sizeof got);
        ck_assert_msg(strcmp(got, want) == 0, "arch %#x, %s: rule\n%s\nexpected\n%s", arch, name,
                      got, want);
}

/* Each call of list allowed without a condition in pfc; returns how many rules that is. */
static int assert_allowed(const char *pfc, uint32_t arch, const char *list) {
        int rules = 0, used = 0;
        char name[32];
        for (const char *p = list; sscanf(p, " %31s%n", name, &used) == 1; p += used) {
                if (seccomp_syscall_resolve_name_arch(arch, name) < 0)
                        continue; /* not a call of this architecture's (poll on aarch64) */
                assert_rule(pfc, arch, name, "    action ALLOW;\n");
                rules++;
        }
        return rules;
}

/* The fetcher's filter (_i even) and the agent's (odd), for each architecture. */
START_TEST(test_pfc_rules) {
        const size_t a = (size_t)_i / 2;
        const bool agent = _i % 2;
        const uint32_t arch = expected_arches[a].arch;
        ck_assert_msg(syscall_filter_arch_supported(arch), "%s not supported",
                      expected_arches[a].name);
        ck_assert_str_eq(syscall_filter_arch_name(arch), expected_arches[a].name);
        _cleanup_free_ char *pfc =
                export(arch, agent ? SYSCALL_FILTER_AGENT : SYSCALL_FILTER_FETCHER,
                       seccomp_export_pfc, NULL);
        /* Exactly one architecture: this one. Any other ABI is "invalid", and that kills. */
        char line[128];
        snprintf(line, sizeof line, "\nif ($arch == %u)\n", arch);
        ck_assert_msg(strstr(pfc, line), "no rules for %s", expected_arches[a].name);
        ck_assert_int_eq(count(pfc, "if ($arch =="), 1);
        /* The end: what every other call gets, and what another ABI gets. */
        const char *tail = strstr(pfc, "  # default action\n");
        ck_assert_ptr_nonnull(tail);
        ck_assert_str_eq(tail, "  # default action\n"
                               "  action ERRNO(1);\n"
                               "# invalid architecture action\n"
                               "action KILL_PROCESS;\n"
                               "#\n"
                               "# pseudo filter code end\n"
                               "#\n");
        /* Each expected call, allowed without a condition; nothing else without one: the
         * agent's calls in its own filter only. */
        int rules = assert_allowed(pfc, arch, expected_allowed);
        if (agent)
                rules += assert_allowed(pfc, arch, expected_agent_extra);
        /* clone: no namespace flag in the low half (the high half is not the kernel's). */
        assert_rule(pfc, arch, "clone",
                    "    if ($a0.hi32 & 0x00000000 == 0)\n"
                    "      if ($a0.lo32 & 0x%08x == 0)\n"
                    "        action ALLOW;\n",
                    (unsigned)(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
                               CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET));
        assert_rule(pfc, arch, "clone3", "    action ERRNO(%d);\n", ENOSYS);
        assert_rule(pfc, arch, "tgkill",
                    "    if ($a0.hi32 == 0)\n"
                    "      if ($a0.lo32 == %d)\n"
                    "        action ALLOW;\n",
                    SELF);
        ck_assert_int_eq(count(pfc, "# filter for syscall \""), rules + 3);
}
END_TEST

/* ---- the BPF, run ------------------------------------------------------------------------ */

/* Classic BPF as seccomp runs it, the instructions libseccomp emits: loads of seccomp_data
 * words, AND, conditional and unconditional jumps, returns. Anything else fails the test. */
static uint32_t bpf_run(const struct sock_filter *f, size_t n, const struct seccomp_data *d) {
        uint32_t a = 0;
        for (size_t pc = 0; pc < n; pc++) {
                const struct sock_filter *i = &f[pc];
                uint32_t cond;
                switch (i->code) {
                case BPF_LD | BPF_W | BPF_ABS:
                        ck_assert_uint_le(i->k + 4, sizeof *d);
                        memcpy(&a, (const char *)d + i->k, 4);
                        continue;
                case BPF_ALU | BPF_AND | BPF_K:
                        a &= i->k;
                        continue;
                case BPF_JMP | BPF_JA:
                        pc += i->k;
                        continue;
                case BPF_JMP | BPF_JEQ | BPF_K:
                        cond = a == i->k;
                        break;
                case BPF_JMP | BPF_JGT | BPF_K:
                        cond = a > i->k;
                        break;
                case BPF_JMP | BPF_JGE | BPF_K:
                        cond = a >= i->k;
                        break;
                case BPF_JMP | BPF_JSET | BPF_K:
                        cond = (a & i->k) != 0;
                        break;
                case BPF_RET | BPF_K:
                        return i->k;
                default:
                        ck_abort_msg("instruction %zu: code %#x not interpreted", pc, i->code);
                }
                pc += cond ? i->jt : i->jf;
        }
        ck_abort_msg("ran off the end of the filter");
        return 0;
}

/* What the filter for arch does with call name on ABI abi (AUDIT_ARCH_*; 0: one unknown to the
 * kernel) and first argument a0; nr_bits or'd into the call's number (x32's). */
static uint32_t verdict_of(enum syscall_filter_kind kind, uint32_t arch, uint32_t abi,
                           const char *name, uint32_t nr_bits, uint64_t a0) {
        size_t size;
        _cleanup_free_ char *bpf = export(arch, kind, seccomp_export_bpf, &size);
        ck_assert_uint_eq(size % sizeof(struct sock_filter), 0);
        /* The call's number on that ABI (libseccomp's tokens are AUDIT_ARCH values). */
        int nr = seccomp_syscall_resolve_name_arch(abi ? abi : arch, name);
        ck_assert_int_ge(nr, 0);
        struct seccomp_data d = {.nr = (int)((uint32_t)nr | nr_bits), .arch = abi, .args = {a0}};
        return bpf_run((const struct sock_filter *)bpf, size / sizeof(struct sock_filter), &d);
}

static uint32_t verdict(uint32_t arch, uint32_t abi, const char *name, uint32_t nr_bits,
                        uint64_t a0) {
        return verdict_of(SYSCALL_FILTER_FETCHER, arch, abi, name, nr_bits, a0);
}

#define ALLOW SECCOMP_RET_ALLOW
#define DENY (SECCOMP_RET_ERRNO | EPERM)
#define KILL SECCOMP_RET_KILL_PROCESS

START_TEST(test_bpf_verdicts) {
        const uint32_t arch = expected_arches[_i].arch, other = expected_arches[_i].other_abi;
        const uint64_t thread = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                                CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID |
                                CLONE_CHILD_CLEARTID;
        ck_assert_uint_eq(verdict(arch, arch, "read", 0, 0), ALLOW);
        ck_assert_uint_eq(verdict(arch, arch, "connect", 0, 0), ALLOW);
        ck_assert_uint_eq(verdict(arch, arch, "mount", 0, 0), DENY);
        ck_assert_uint_eq(verdict(arch, arch, "execve", 0, 0), DENY);
        ck_assert_uint_eq(verdict(arch, arch, "ptrace", 0, 0), DENY);
        ck_assert_uint_eq(verdict(arch, arch, "unshare", 0, 0), DENY);
        ck_assert_uint_eq(verdict(arch, arch, "clone", 0, thread), ALLOW);
        ck_assert_uint_eq(verdict(arch, arch, "clone", 0, thread | CLONE_NEWUSER), DENY);
        ck_assert_uint_eq(verdict(arch, arch, "clone", 0, CLONE_NEWNET | SIGCHLD), DENY);
        ck_assert_uint_eq(verdict(arch, arch, "clone3", 0, 0), SECCOMP_RET_ERRNO | ENOSYS);
        ck_assert_uint_eq(verdict(arch, arch, "tgkill", 0, SELF), ALLOW);
        ck_assert_uint_eq(verdict(arch, arch, "tgkill", 0, 1), DENY);
        ck_assert_uint_eq(verdict(arch, arch, "tgkill", 0, UINT64_C(1) << 32 | SELF), DENY);
        /* Another ABI, even for a call this one allows: killed (i386's int 0x80, AArch32). */
        ck_assert_uint_eq(verdict(arch, other, "read", 0, 0), KILL);
        ck_assert_uint_eq(verdict(arch, 0, "read", 0, 0), KILL);
        /* x32 shares x86_64's AUDIT_ARCH; its calls carry bit 30 in the number. */
        if (arch == SCMP_ARCH_X86_64)
                ck_assert_uint_eq(verdict(arch, arch, "read", 0x40000000, 0), KILL);
        /* The agent: accept4 as well, where the fetch child may not; the rest as strict. */
        const enum syscall_filter_kind ag = SYSCALL_FILTER_AGENT;
        ck_assert_uint_eq(verdict(arch, arch, "accept4", 0, 0), DENY);
        ck_assert_uint_eq(verdict_of(ag, arch, arch, "accept4", 0, 0), ALLOW);
        ck_assert_uint_eq(verdict_of(ag, arch, arch, "read", 0, 0), ALLOW);
        ck_assert_uint_eq(verdict_of(ag, arch, arch, "execve", 0, 0), DENY);
        ck_assert_uint_eq(verdict_of(ag, arch, arch, "openat2", 0, 0), DENY);
        ck_assert_uint_eq(verdict_of(ag, arch, arch, "clone", 0, thread | CLONE_NEWUSER), DENY);
}
END_TEST

/* ---- what the broker makes of the architecture it runs on -------------------------------- */

START_TEST(test_supported_arches) {
        /* The list is exactly the expected one: no architecture without its test above. */
        ck_assert_uint_eq(syscall_filter_n_arches, ARRAY_SIZE(expected_arches));
        for (size_t i = 0; i < ARRAY_SIZE(expected_arches); i++)
                ck_assert_uint_eq(syscall_filter_arches[i], expected_arches[i].arch);
        /* This machine's (the tests run on x86_64, or aarch64 under qemu) is one of them. */
        ck_assert(syscall_filter_arch_supported(syscall_filter_native()));
        ck_assert(!syscall_filter_arch_supported(SCMP_ARCH_PPC64LE));
        scmp_filter_ctx ctx = NULL;
        ck_assert_int_eq(
                syscall_filter_build(SCMP_ARCH_PPC64LE, SELF, SYSCALL_FILTER_FETCHER, &ctx),
                -EAFNOSUPPORT);
        ck_assert_ptr_null(ctx);
        /* Pretending makes the native one unsupported: loading refuses, names the machine. */
        syscall_filter_pretend_native(SCMP_ARCH_PPC64LE);
        ck_assert_int_eq(syscall_filter_load(SYSCALL_FILTER_FETCHER), -EAFNOSUPPORT);
        ck_assert_int_eq(syscall_filter_load(SYSCALL_FILTER_AGENT), -EAFNOSUPPORT);
        ck_assert_ptr_nonnull(strstr(syscall_filter_native_name(), "audit arch 0xc0000015"));
        syscall_filter_pretend_native(0);
        ck_assert_str_eq(syscall_filter_native_name(),
                         syscall_filter_arch_name(seccomp_arch_native()));
}
END_TEST

Suite *make_suite(void) {
        /* These filters are exported, never loaded. libseccomp asks the running kernel which
         * actions it has; under qemu-user, whose seccomp() answers ENOSYS, it would believe
         * there is no SECCOMP_RET_KILL_PROCESS (API level 3) and refuse the filter. */
        if (seccomp_api_get() < 3 && seccomp_api_set(3) != 0)
                fprintf(stderr, "libseccomp: API level %u, cannot set 3\n", seccomp_api_get());
        Suite *s = suite_create("syscall_filter");
        TCase *tc = tcase_create("filter");
        tcase_add_loop_test(tc, test_pfc_rules, 0, 2 * ARRAY_SIZE(expected_arches));
        tcase_add_loop_test(tc, test_bpf_verdicts, 0, ARRAY_SIZE(expected_arches));
        tcase_add_test(tc, test_supported_arches);
        suite_add_tcase(s, tc);
        return s;
}
