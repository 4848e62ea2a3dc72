/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))
#define _noreturn_ __attribute__((noreturn))
#define _warn_unused_result_ __attribute__((warn_unused_result))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Hand ownership on: the variable is cleared so its cleanup does nothing. */
#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) _tp_ = (p);                                                          \
                (p) = NULL;                                                                        \
                _tp_;                                                                              \
        })
#define TAKE_FD(fd)                                                                                \
        ({                                                                                         \
                int _tf_ = (fd);                                                                   \
                (fd) = -1;                                                                         \
                _tf_;                                                                              \
        })

/* Cleanup helpers preserve errno so that a failing path can still report it. */
static inline void freep(void *p) {
        int saved = errno;
        free(*(void **)p);
        errno = saved;
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
        if (*f) {
                int saved = errno;
                fclose(*f);
                errno = saved;
        }
}
#define _cleanup_fclose_ _cleanup_(fclosep)

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                    \
        static inline void func##p(type *p) {                                                      \
                if (*p) {                                                                          \
                        int _saved_ = errno;                                                       \
                        func(*p);                                                                  \
                        errno = _saved_;                                                           \
                }                                                                                  \
        }

/* Close an fd and return -1, for "fd = safe_close(fd);". */
static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                close(fd);
                errno = saved;
        }
        return -1;
}

static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        while (*a && *a == *b)
                a++, b++;
        return *a == *b;
}
