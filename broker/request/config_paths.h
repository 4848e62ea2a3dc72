/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "config.h"

/*
 * The directories above every file the broker trusts, checked as ssh checks authorized_keys'
 * parents (path_check_parents, fdutil.h): the configuration file's, the store's directory and
 * every credential file's (each "*_file" of a backend and of a role's auth). Whoever can write
 * one of them can replace what it holds: grant themselves every secret, or hand the broker
 * their own CA or key. One line names the file, the directory, its mode and owner, and the fix;
 * -EPERM. A directory that does not exist is left to the open that needs it.
 */
int config_check_paths(const struct broker_config *c);
