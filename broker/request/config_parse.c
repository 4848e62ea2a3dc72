/* SPDX-License-Identifier: Apache-2.0 */
#include "config_parse.h"

#include <stdarg.h>
#include <stdio.h>

#include "log.h"

int config_fail(const struct config_ctx *x, const char *jpath, const char *fmt, ...) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        vsnprintf(msg, sizeof msg, fmt, ap);
#pragma GCC diagnostic pop
        va_end(ap);
        if (jpath)
                log_error("config %s: %s: %s", x->origin, jpath, msg);
        else
                log_error("config %s: %s", x->origin, msg);
        return -EINVAL;
}

/* Every key of obj must be in allowed (NULL-terminated). Only the key's name is printed: an
 * unknown key could be a misplaced token. */
int config_check_keys(const struct config_ctx *x, const json_t *obj, const char *jpath,
                      const char *const *allowed) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)obj, key, v) {
                bool known = false;
                for (const char *const *a = allowed; *a && !known; a++)
                        known = streq_ptr(*a, key);
                if (!known) {
                        if (jpath)
                                return config_fail(x, NULL, "%s.%s: unknown key", jpath, key);
                        return config_fail(x, key, "unknown key");
                }
        }
        return 0;
}
