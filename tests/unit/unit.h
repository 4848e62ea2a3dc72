/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "secret.h"

/* Route log lines into a memfd so that a test can check what was said (and what was not):
 * capture_log() before, captured_log() after (the whole log so far, NUL-terminated). */
static int unit_log_fd = -1;

static inline void capture_log(void) {
        unit_log_fd = memfd_create("log", MFD_CLOEXEC);
        ck_assert_int_ge(unit_log_fd, 0);
        log_set_fd(unit_log_fd);
}

static inline char *captured_log(void) {
        static char buf[8192];
        ssize_t n = pread(unit_log_fd, buf, sizeof buf - 1, 0);
        ck_assert_int_ge(n, 0);
        buf[n] = '\0';
        return buf;
}

/* A test that cannot run here is not registered (Check has no "skipped"): it says so in one
 * line, "unit: skip NAME: WHY", which tests/unit/run.sh counts as a skip, never as a pass.
 * stderr, unbuffered: Check's forked tests would each flush a copy of a buffered stdout. */
#define unit_add_test_if(tc, test, runs_here, why)                                                 \
        do {                                                                                       \
                if (runs_here)                                                                     \
                        tcase_add_test((tc), test);                                                \
                else                                                                               \
                        fprintf(stderr, "unit: skip %s: %s\n", #test, (why));                      \
        } while (0)

/* Under qemu-user (make cross sets LOCKBOX_UNDER_QEMU=1) the system calls reach the host's
 * kernel through an emulator that refuses seccomp filters and does not pass every flag through:
 * what needs the target architecture's own kernel (seccomp enforcement, namespaces, mounts seen
 * by it) cannot be tested there. */
static inline bool unit_under_qemu(void) {
        const char *e = getenv("LOCKBOX_UNDER_QEMU");
        return e && *e && strcmp(e, "0") != 0;
}
#define unit_add_kernel_test(tc, test)                                                             \
        unit_add_test_if((tc), test, !unit_under_qemu(),                                           \
                         "needs a real kernel of this architecture (running under qemu-user)")
/* openat2 (Linux 5.6), which the broker requires and qemu-user 7.2 does not emulate (ENOSYS).
 * Probed, and only under qemu: on a real kernel a missing openat2 is a failure. */
static inline bool unit_has_openat2(void) {
        struct open_how how = {.flags = O_RDONLY | O_CLOEXEC};
        int fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof how);
        if (fd >= 0)
                close(fd);
        return fd >= 0 || errno != ENOSYS;
}
#define unit_add_openat2_test(tc, test)                                                            \
        unit_add_test_if((tc), test, !unit_under_qemu() || unit_has_openat2(),                     \
                         "needs openat2, which qemu-user does not emulate")
/* Root with CAP_SYS_ADMIN in its effective set (what unshare(CLONE_NEWNS) and mount need). */
static inline bool unit_can_mount(void) {
        FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        unsigned long long eff = 0;
        while (f && fgets(line, sizeof line, f))
                if (strncmp(line, "CapEff:", 7) == 0)
                        eff = strtoull(line + 7, NULL, 16);
        if (f)
                fclose(f);
        return geteuid() == 0 && (eff & (1ULL << 21)); /* CAP_SYS_ADMIN */
}
#define unit_add_root_test(tc, test) unit_add_test_if((tc), test, geteuid() == 0, "needs root")
#define unit_add_root_kernel_test(tc, test)                                                        \
        unit_add_test_if((tc), test, geteuid() == 0 && !unit_under_qemu(),                         \
                         geteuid() != 0 ? "needs root"                                             \
                                        : "needs a real kernel of this architecture (running "     \
                                          "under qemu-user)")

/* Each check_*.c defines make_suite(); this main runs it. */
Suite *make_suite(void);

int main(void) {
        log_open("unit");
        log_set_level(LOG_LEVEL_ERROR);
        if (secure_init() < 0)
                return 2;
        SRunner *sr = srunner_create(make_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
