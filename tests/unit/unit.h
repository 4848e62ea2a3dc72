/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <check.h>
#include <stdlib.h>
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
