/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>

#include "fdutil.h"

static const char *log_prog = "lockbox";
static enum log_level log_max = LOG_LEVEL_WARNING;
static int log_fd = STDERR_FILENO;

void log_open(const char *program) {
        const char *slash = strrchr(program, '/');
        log_prog = slash ? slash + 1 : program;
}

void log_set_level(enum log_level level) {
        log_max = level;
}

enum log_level log_get_level(void) {
        return log_max;
}

void log_set_fd(int fd) {
        log_fd = fd;
}

int log_get_fd(void) {
        return log_fd;
}

const char *log_program(void) {
        return log_prog;
}

static int log_saved_fd = -1;
static char log_last[512];

void log_last_error(char *buf, size_t size) {
        snprintf(buf, size, "%s", log_last);
}

void log_last_error_clear(void) {
        log_last[0] = '\0';
}

int log_capture_begin(void) {
        if (log_saved_fd >= 0)
                return -EBUSY;
        int fd = memfd_create("lockbox-log", MFD_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        log_saved_fd = log_fd;
        log_fd = fd;
        return fd;
}

char *log_capture_end(int handle) {
        if (handle < 0 || handle != log_fd)
                return NULL;
        log_fd = log_saved_fd;
        log_saved_fd = -1;
        off_t size = lseek(handle, 0, SEEK_END);
        char *text = size >= 0 ? malloc((size_t)size + 1) : NULL;
        ssize_t n = text ? pread(handle, text, (size_t)size, 0) : -1;
        close(handle);
        if (n < 0) {
                free(text);
                return NULL;
        }
        text[n] = '\0';
        return text;
}

void log_capture_last(const char *text, char *buf, size_t size) {
        const char *line = text ? text : "";
        size_t len = strlen(line);
        while (len > 0 && line[len - 1] == '\n')
                len--;
        const char *start = line + len;
        while (start > line && start[-1] != '\n')
                start--;
        len -= (size_t)(start - line);
        size_t plen = strlen(log_prog);
        if (len > plen + 2 && strncmp(start, log_prog, plen) == 0 &&
            strncmp(start + plen, ": ", 2) == 0) {
                start += plen + 2;
                len -= plen + 2;
        }
        snprintf(buf, size, "%.*s", (int)len, start);
}

void log_capture_replay(const char *text) {
        if (text && text[0])
                (void)write_full(log_fd, text, strlen(text));
}

int log_internal(enum log_level level, int err, const char *fmt, ...) {
        int saved = errno;
        int ret = err == 0 ? -EIO : (err > 0 ? -err : err);

        if (level > log_max) {
                errno = saved;
                return ret;
        }

        char line[2048];
        int n = snprintf(line, sizeof line, "%s: ", log_prog);
        va_list ap;
        va_start(ap, fmt);
        /* The format is checked by the compiler; the output is capped and sanitised below. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
#pragma GCC diagnostic pop
        va_end(ap);
        size_t len = strlen(line);
        if (err != 0)
                len += (size_t)snprintf(line + len, len < sizeof line ? sizeof line - len : 0,
                                        ": %s", strerror(-ret));
        if (len > sizeof line - 2)
                len = sizeof line - 2;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
                        line[i] = '?';
        if (level == LOG_LEVEL_ERROR)
                snprintf(log_last, sizeof log_last, "%.*s", (int)(len - (size_t)n), line + n);
        line[len++] = '\n';
        (void)write_full(log_fd, line, len);
        errno = saved;
        return ret;
}
