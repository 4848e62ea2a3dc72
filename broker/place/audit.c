/* SPDX-License-Identifier: Apache-2.0 */
#include "audit.h"

#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

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

static json_t *string_or_null(const json_t *o, const char *key) {
        const char *s = json_string_value(json_object_get(o, key));
        return s ? json_string(s) : json_null();
}

/* inject: placed or skipped (optional and missing); rotate: its own outcome; else null. */
static json_t *outcome_of(const char *event, const json_t *s) {
        if (json_is_string(json_object_get(s, "outcome")))
                return string_or_null(s, "outcome");
        if (streq_ptr(event, "inject"))
                return json_string(json_is_false(json_object_get(s, "placed")) ? "skipped"
                                                                               : "placed");
        return json_null();
}

/* The schema's fields of each secret, and nothing else (a record's digest never leaves it). */
static json_t *audit_secrets(const char *event, const json_t *in) {
        json_t *a = json_array(), *s;
        size_t i;
        json_array_foreach((json_t *)in, i, s) {
                json_t *o = json_pack(
                        "{s:o, s:o, s:o, s:o, s:o}", "name", string_or_null(s, "name"), "ref",
                        string_or_null(s, "ref"), "version", string_or_null(s, "version"),
                        "lease_id", string_or_null(s, "lease_id"), "outcome", outcome_of(event, s));
                if (!a || !o || json_array_append_new(a, o) < 0) {
                        json_decref(o);
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

static json_t *nullable(const char *s) {
        return s ? json_string(s) : json_null();
}

char *audit_format(const struct audit_record *rec) {
        char when[64];
        struct timespec ts;
        struct tm tm;
        char *line = NULL;

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
        _cleanup_json_ json_t *o = json_pack(
                "{s:s, s:s, s:o, s:o, s:o, s:s, s:o, s:o}", "time", when, "event", rec->event,
                "container", nullable(rec->container), "name", nullable(rec->name), "role",
                nullable(rec->role), "result", rec->result, "reason", nullable(rec->reason),
                "secrets", audit_secrets(rec->event, rec->secrets));
        if (!o || json_dump_compact(o, &line) < 0)
                return NULL;
        return line;
}

/* RFC 3164, as glibc's syslog(3) sends it, to a socket of our choosing (/dev/log by default;
 * glibc's is fixed): "<PRI>Mmm dd hh:mm:ss lockbox-broker[PID]: LINE". A datagram socket, or
 * a stream one (rsyslog may offer that) with the message ended by NUL. */
static int audit_syslog(const char *socket_path, const char *line, bool ok) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        char head[96];
        time_t now = time(NULL);
        struct tm tm;

        if (strlen(socket_path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
        localtime_r(&now, &tm);
        int n = snprintf(head, sizeof head, "<%d>", LOG_AUTHPRIV | (ok ? LOG_INFO : LOG_WARNING));
        n += (int)strftime(head + n, sizeof head - (size_t)n, "%b %e %H:%M:%S ", &tm);
        snprintf(head + n, sizeof head - (size_t)n, "lockbox-broker[%d]: ", (int)getpid());
        size_t hlen = strlen(head), llen = strlen(line);
        _cleanup_free_ char *msg = malloc(hlen + llen + 1);
        if (!msg)
                return -ENOMEM;
        memcpy(msg, head, hlen);
        memcpy(msg + hlen, line, llen + 1);
        int types[] = {SOCK_DGRAM, SOCK_STREAM};
        int r = -ENOENT;
        for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
                _cleanup_close_ int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return negative_errno();
                if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
                        r = negative_errno();
                        if (r == -EPROTOTYPE)
                                continue;
                        return r;
                }
                size_t len = hlen + llen + (types[i] == SOCK_STREAM);
                if (send(fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len)
                        return negative_errno();
                return 0;
        }
        return r;
}

int audit_write(const struct broker_config *cfg, const struct audit_record *rec) {
        int ret = 0, r;

        if (!cfg->audit_log && !cfg->audit_syslog)
                return 0;
        _cleanup_free_ char *line = audit_format(rec);
        if (!line)
                return log_warning_errno(-ENOMEM, "audit: cannot format the %s event", rec->event);
        if (cfg->audit_syslog &&
            (r = audit_syslog(cfg->audit_syslog, line, streq_ptr(rec->result, "ok"))) < 0)
                ret = log_warning_errno(r, "audit: syslog socket %s: cannot send",
                                        cfg->audit_syslog);
        if (!cfg->audit_log)
                return ret;
        size_t n = strlen(line);
        _cleanup_free_ char *text = malloc(n + 2);
        if (!text)
                return -ENOMEM;
        memcpy(text, line, n);
        memcpy(text + n, "\n", 2);
        _cleanup_close_ int fd = audit_open(cfg->audit_log);
        if (fd < 0)
                return log_warning_errno(fd, "audit log %s: cannot open", cfg->audit_log);
        r = write_full(fd, text, n + 1);
        if (r < 0)
                return log_warning_errno(r, "audit log %s: cannot write", cfg->audit_log);
        return ret;
}
