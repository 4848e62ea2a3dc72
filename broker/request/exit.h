/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The broker's exit status (DESIGN §3), which the layers that decide an outcome (policy, placement,
 * forgetting a container) return to the command that exits with it. */
enum {
        EXIT_DONE = 0,
        EXIT_FAILED = 1, /* fetch, auth, mount */
        EXIT_USAGE = 2, /* usage or invalid configuration */
        EXIT_DENIED = 3, /* denied by policy */
};
