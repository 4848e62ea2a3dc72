/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <check.h>
#include <stdlib.h>

#include "log.h"
#include "secret.h"

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
