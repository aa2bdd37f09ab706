/* macro.h: scope cleanup, ownership transfer and small helpers shared by every layer (after systemd). */
#pragma once

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _sentinel_ __attribute__((sentinel))
#define _noreturn_ __attribute__((noreturn))
#define _pure_ __attribute__((pure))
#define _warn_unused_result_ __attribute__((warn_unused_result))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)

#define ELEMENTSOF(a)                                                                                  \
        __builtin_choose_expr(                                                                         \
                !__builtin_types_compatible_p(typeof(a), typeof(&*(a))), sizeof(a) / sizeof((a)[0]),   \
                (void) 0)

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Returns the value of *p and sets *p to NULL: hands ownership to the caller. */
#define TAKE_PTR(p)                                                                                    \
        ({                                                                                             \
                typeof(p) *_pp_ = &(p);                                                                \
                typeof(p) _p_ = *_pp_;                                                                 \
                *_pp_ = NULL;                                                                          \
                _p_;                                                                                   \
        })

/* Returns the fd and sets the variable to -EBADF: hands ownership of a file descriptor over. */
#define TAKE_FD(fd)                                                                                    \
        ({                                                                                             \
                int *_fdp_ = &(fd);                                                                    \
                int _fd_ = *_fdp_;                                                                     \
                *_fdp_ = -EBADF;                                                                       \
                _fd_;                                                                                  \
        })

/* Defines name##p(type *p): calls func(*p) when *p is not NULL. For use with _cleanup_. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                        \
        static inline void func##p(type *p) {                                                          \
                if (*p)                                                                                \
                        func(*p);                                                                      \
        }

/* free() that returns NULL, for `p = mfree(p);`. */
static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

/* Closes fd if it is valid and returns -EBADF, so that `fd = safe_close(fd);` works. */
static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}
static inline void closep(int *fd) {
        (void) safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline FILE *safe_fclose(FILE *f) {
        if (f)
                (void) fclose(f);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(FILE *, fclose);
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Returns -errno of the last failed libc call, never 0 (falls back to -EIO when errno is unset). */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

/* Overflow-checked size arithmetic: return false on overflow. */
static inline _warn_unused_result_ int size_mul(size_t a, size_t b, size_t *ret) {
        return !__builtin_mul_overflow(a, b, ret);
}
static inline _warn_unused_result_ int size_add(size_t a, size_t b, size_t *ret) {
        return !__builtin_add_overflow(a, b, ret);
}

#define streq(a, b) (strcmp((a), (b)) == 0)
#define strneq(a, b, n) (strncmp((a), (b), (n)) == 0)
static inline int isempty(const char *s) {
        return !s || !s[0];
}

/* The index of s in table[0..n) (entries may be NULL), or -EINVAL when s is NULL or not there: the
 * "from_string" half of an enum's name table. */
static inline int string_table_lookup(const char *const *table, size_t n, const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (table[i] && streq(table[i], s))
                        return (int) i;
        return -EINVAL;
}
