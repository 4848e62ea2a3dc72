/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "json.h"
#include "macro.h"

/*
 * The Docker runtime wrapper's change to a bundle (DESIGN §9, cmd/runtime.c): lockbox's
 * createRuntime and poststop hooks added to <bundle>/config.json of a container that asks for
 * secrets, everything else preserved.
 */

/* The hook entries to add: the broker's absolute path and the options it passes on. */
struct runtime_hook {
        const char *path;
        const char *config; /* may be NULL */
        const char *state_dir; /* may be NULL */
};

/* Does this config.json (the root object) ask lockbox for anything: an io.lockbox.*
 * annotation or a LOCKBOX_* variable (but LOCKBOX_FDS) in process.env? The same test the hook
 * makes, so that a misspelt key reaches the hook and fails there, loudly. A Kubernetes pod's
 * sandbox (pause) container never does (pod_is_sandbox). */
bool runtime_config_wants_secrets(const json_t *config);

/* Add lockbox's createRuntime and poststop hooks unless there already is one at each stage
 * (a prestart one counts for createRuntime). 1 when config changed, 0 when not; -EINVAL (one
 * line logged, naming the file what, NULL: "config.json") when hooks or a stage is not of the
 * type the runtime spec says. */
int runtime_config_add_hooks(json_t *config, const struct runtime_hook *hook, const char *what);

/* The whole step on a bundle: read config.json; when it asks for secrets and lacks the hooks,
 * replace it atomically (same directory, mode and owner) with the hooks added. 1 rewritten,
 * 0 left untouched (not even rewritten); negative errno with one line logged. */
int runtime_prepare_bundle(const char *bundle, const struct runtime_hook *hook);
