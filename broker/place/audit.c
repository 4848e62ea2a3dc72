/* SPDX-License-Identifier: Apache-2.0 */
#include "audit.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fdutil.h"
#include "log.h"

static int audit_open(const char *path) {
        _cleanup_free_ char *dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                        return negative_errno();
        }
        int fd =
                open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        return fd < 0 ? negative_errno() : fd;
}

/* The secrets as the audit log may show them: a copy without the keyed "digest" of each value,
 * which the state keeps for rotation. A digest is derived from the value: a reader of the log
 * would learn when two containers got the same value, or when one changed. */
static json_t *audit_public_secrets(const json_t *secrets) {
        json_t *copy = json_deep_copy(secrets), *e;
        size_t i;
        json_array_foreach(copy, i, e) {
                json_object_del(e, "digest");
        }
        return copy;
}

int audit_write(const char *path, const char *event, const char *container, const char *role,
                const json_t *secrets, const char *result, const char *reason) {
        char when[64];
        struct timespec ts;
        struct tm tm;
        _cleanup_free_ char *line = NULL;

        if (!path)
                return 0;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

        json_t *pub = secrets ? audit_public_secrets(secrets) : NULL;
        if (secrets && !pub)
                return -ENOMEM;
        _cleanup_json_ json_t *o =
                json_pack("{s:s, s:s, s:s?, s:s?, s:o?, s:s, s:s?}", "time", when, "event", event,
                          "container", container, "role", role, "secrets", pub, "result", result,
                          "reason", reason);
        if (!o)
                return -ENOMEM;
        int r = json_dump_compact(o, &line);
        if (r < 0)
                return r;
        size_t n = strlen(line);
        line[n] = '\n';
        _cleanup_close_ int fd = audit_open(path);
        if (fd < 0)
                return log_warning_errno(fd, "audit log %s: cannot open", path);
        r = write_full(fd, line, n + 1);
        line[n] = '\0';
        if (r < 0)
                return log_warning_errno(r, "audit log %s: cannot write", path);
        return 0;
}
