/* test.h: a tiny unit-test harness. TEST(name) { ... } registers a case; main() runs them and prints TAP. */
#pragma once

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"

typedef void (*TestFunc)(void);

typedef struct TestCase {
        const char *name;
        TestFunc func;
} TestCase;

void test_register(const char *name, TestFunc func);
/* Marks the running case failed and prints the reason as a TAP diagnostic. */
void test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A test file may define this: when it returns a reason, main() prints "1..0 # SKIP <reason>" and
 * runs nothing (the gpu suite on a machine without a GPU). Files that do not define it run. */
const char *test_skip_all(void) __attribute__((weak));
/* Path of a scratch directory that is removed after the run. Owned by the harness. */
const char *test_tmpdir(void);

#define TEST(name)                                                                                     \
        static void test_##name(void);                                                                 \
        __attribute__((constructor)) static void test_register_##name(void) {                         \
                test_register(#name, test_##name);                                                     \
        }                                                                                              \
        static void test_##name(void)

#define ASSERT_TRUE(expr)                                                                              \
        do {                                                                                           \
                if (!(expr)) {                                                                         \
                        test_fail(__FILE__, __LINE__, "expected true: %s", #expr);                     \
                        return;                                                                        \
                }                                                                                      \
        } while (0)

#define ASSERT_FALSE(expr) ASSERT_TRUE(!(expr))

#define ASSERT_EQ(a, b)                                                                                \
        do {                                                                                           \
                intmax_t _a_ = (intmax_t) (a), _b_ = (intmax_t) (b);                                   \
                if (_a_ != _b_) {                                                                      \
                        test_fail(__FILE__, __LINE__, "%s == %s: %jd != %jd", #a, #b, _a_, _b_);       \
                        return;                                                                        \
                }                                                                                      \
        } while (0)

#define ASSERT_UEQ(a, b)                                                                               \
        do {                                                                                           \
                uintmax_t _a_ = (uintmax_t) (a), _b_ = (uintmax_t) (b);                                \
                if (_a_ != _b_) {                                                                      \
                        test_fail(__FILE__, __LINE__, "%s == %s: %ju != %ju", #a, #b, _a_, _b_);       \
                        return;                                                                        \
                }                                                                                      \
        } while (0)

/* expr returns 0 or a negative errno; asserts success. */
#define ASSERT_OK(expr)                                                                                \
        do {                                                                                           \
                intmax_t _r_ = (intmax_t) (expr);                                                      \
                if (_r_ < 0) {                                                                         \
                        test_fail(__FILE__, __LINE__, "%s failed: %s", #expr, strerror((int) -_r_));   \
                        return;                                                                        \
                }                                                                                      \
        } while (0)

/* expr returns a negative errno; asserts it equals err (e.g. -EINVAL). */
#define ASSERT_ERROR(expr, err)                                                                        \
        do {                                                                                           \
                intmax_t _r_ = (intmax_t) (expr);                                                      \
                if (_r_ != (intmax_t) (err)) {                                                         \
                        test_fail(__FILE__, __LINE__, "%s: expected %s, got %jd", #expr, #err, _r_);   \
                        return;                                                                        \
                }                                                                                      \
        } while (0)

#define ASSERT_STREQ(a, b)                                                                             \
        do {                                                                                           \
                const char *_a_ = (a), *_b_ = (b);                                                     \
                if (!_a_ || !_b_ || strcmp(_a_, _b_) != 0) {                                           \
                        test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,            \
                                  _a_ ? _a_ : "(null)", _b_ ? _b_ : "(null)");                         \
                        return;                                                                        \
                }                                                                                      \
        } while (0)

/* Asserts that string a contains string b. */
#define ASSERT_CONTAINS(a, b)                                                                          \
        do {                                                                                           \
                const char *_a_ = (a), *_b_ = (b);                                                     \
                if (!_a_ || !strstr(_a_, _b_)) {                                                       \
                        test_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"",                \
                                  _a_ ? _a_ : "(null)", _b_);                                          \
                        return;                                                                        \
                }                                                                                      \
        } while (0)

#define ASSERT_MEMEQ(a, b, n)                                                                          \
        do {                                                                                           \
                if (memcmp((a), (b), (n)) != 0) {                                                      \
                        test_fail(__FILE__, __LINE__, "%s and %s differ in their first %zu bytes", #a, \
                                  #b, (size_t) (n));                                                   \
                        return;                                                                        \
                }                                                                                      \
        } while (0)

#define ASSERT_NULL(p) ASSERT_TRUE((p) == NULL)
#define ASSERT_NOT_NULL(p) ASSERT_TRUE((p) != NULL)
