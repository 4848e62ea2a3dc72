/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

/*
 * Skips. Check has no "skipped" outcome, and a test that returns early counts as passed, so a
 * test that cannot run here (not root, no CAP_SYS_ADMIN for a mount namespace, a host file in
 * the way) is not registered at all: unit_add_test_if() prints "skip: NAME: WHY" instead, and
 * main() prints "Skipped: N" after Check's summary, which tests/unit/run.sh adds up into its
 * "N skipped". A test that is registered never returns early: what it needs, it asserts.
 */
static int unit_skipped;

#define unit_add_test_if(tc, runnable, fn, why)                                                    \
        do {                                                                                       \
                if (runnable) {                                                                    \
                        tcase_add_test(tc, fn);                                                    \
                } else {                                                                           \
                        /* flushed now: Check's forked tests would each flush a copy */            \
                        printf("skip: %s: %s\n", #fn, why);                                        \
                        fflush(stdout);                                                            \
                        unit_skipped++;                                                            \
                }                                                                                  \
        } while (0)

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
        printf("Skipped: %d\n", unit_skipped);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
