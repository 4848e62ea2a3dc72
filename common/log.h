/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "macro.h"

/*
 * Logging. Messages go to stderr (or the fd set with log_set_fd) as one line each:
 * "PROGRAM: message[: strerror]". Control characters from untrusted input (annotations,
 * paths in images) are replaced so that a line can never be split or forged.
 *
 * No function here takes a secret: secret values live in struct secret (secret.h), whose
 * accessors return void pointers, which -Wformat refuses for %s.
 */
enum log_level {
        LOG_LEVEL_ERROR = 0,
        LOG_LEVEL_WARNING = 1,
        LOG_LEVEL_INFO = 2,
        LOG_LEVEL_DEBUG = 3,
};

void log_open(const char *program);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_set_fd(int fd);
/* Where lines go now: stderr, an fd of log_set_fd, or a capture's memfd. */
int log_get_fd(void);
const char *log_program(void);

/*
 * Capture: until log_capture_end, lines go to a private memfd instead. For a caller that turns
 * a failure deep down into one line of its own (rotation reports "c1 db: failed: WHY"); what
 * was captured is returned and the caller re-emits what it does not use. begin returns a
 * handle (the memfd) or a negative errno; end restores the previous fd and returns the text
 * (malloc'd, NUL-terminated, "" when nothing was logged; NULL on allocation failure).
 */
int log_capture_begin(void);
char *log_capture_end(int handle);
/* The last line of captured text without its "PROGRAM: " prefix, into buf ("" for none). */
void log_capture_last(const char *text, char *buf, size_t size);
/* Write captured text (already formatted lines) to the log as it is now. */
void log_capture_replay(const char *text);

/* The last error line logged since log_last_error_clear, without "PROGRAM: ", into buf ("" for
 * none). The warm fetch agent sends a failed fetch's one line to the hook that asked for it. */
void log_last_error(char *buf, size_t size);
void log_last_error_clear(void);

/* Returns -abs(err) (or -EIO when err is 0) so callers can "return log_error_errno(r, ...)". */
int log_internal(enum log_level level, int err, const char *fmt, ...) _printf_(3, 4);

/* The same value log_internal returns, computed where the caller's compiler can see it: a
 * "return log_error(...)" is then known to be negative, to the optimiser and to gcc's
 * -fanalyzer (make analyze), which otherwise follows a "success" path out of every failure. */
static inline int log_ret(int err) {
        return err == 0 ? -EIO : (err > 0 ? -err : err);
}
#define log_full(level, e, ...)                                                                    \
        ({                                                                                         \
                int _log_e_ = (e);                                                                 \
                (void)log_internal((level), _log_e_, __VA_ARGS__);                                 \
                log_ret(_log_e_);                                                                  \
        })

#define log_error(...) log_full(LOG_LEVEL_ERROR, 0, __VA_ARGS__)
#define log_error_errno(e, ...) log_full(LOG_LEVEL_ERROR, (e), __VA_ARGS__)
#define log_warning(...) log_full(LOG_LEVEL_WARNING, 0, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full(LOG_LEVEL_WARNING, (e), __VA_ARGS__)
#define log_info(...) log_full(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...) log_full(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_full(LOG_LEVEL_DEBUG, (e), __VA_ARGS__)
