/* test-macro.c: cleanup macros and ownership helpers of common/macro.h. */
#include <fcntl.h>
#include <string.h>

#include "macro.h"
#include "test.h"

static int counter_freed;
static void counter_free(int *p) {
        counter_freed += *p;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(int *, counter_free);

TEST(cleanup_runs_at_scope_end) {
        int value = 5;
        counter_freed = 0;
        {
                _cleanup_(counter_freep) int *p = &value;
                (void) p;
        }
        ASSERT_EQ(counter_freed, 5);
        {
                _cleanup_(counter_freep) int *p = NULL; /* NULL: the function is not called */
                (void) p;
        }
        ASSERT_EQ(counter_freed, 5);
}

static char *make_string(void) {
        _cleanup_free_ char *s = strdup("owned");
        return TAKE_PTR(s); /* without TAKE_PTR, ASan would report a use after free in the caller */
}

TEST(take_ptr_hands_ownership_over) {
        _cleanup_free_ char *s = make_string();
        char *p = strdup("x"), *q;

        ASSERT_STREQ(s, "owned");
        q = TAKE_PTR(p);
        ASSERT_NULL(p);
        ASSERT_STREQ(q, "x");
        free(q);
}

TEST(close_and_take_fd) {
        int kept;
        {
                _cleanup_close_ int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                ASSERT_TRUE(fd >= 0);
                kept = TAKE_FD(fd);
                ASSERT_EQ(fd, -EBADF);
        }
        ASSERT_TRUE(fcntl(kept, F_GETFD) >= 0); /* still open: ownership was taken */
        ASSERT_EQ(safe_close(kept), -EBADF);
        ASSERT_TRUE(fcntl(kept, F_GETFD) < 0);
        ASSERT_EQ(safe_close(-1), -EBADF); /* invalid fds are accepted */
}

TEST(fclose_cleanup) {
        int fd;
        {
                _cleanup_fclose_ FILE *f = fopen("/dev/null", "re");
                ASSERT_NOT_NULL(f);
                fd = fileno(f);
        }
        ASSERT_TRUE(fcntl(fd, F_GETFD) < 0);
        ASSERT_NULL(safe_fclose(NULL));
}

TEST(mfree_and_errno) {
        char *p = malloc(3);
        p = mfree(p);
        ASSERT_NULL(p);
        errno = ENOENT;
        ASSERT_EQ(negative_errno(), -ENOENT);
        errno = 0;
        ASSERT_EQ(negative_errno(), -EIO);
}

TEST(size_arithmetic_detects_overflow) {
        size_t r;
        ASSERT_TRUE(size_mul(1000, 1000, &r));
        ASSERT_UEQ(r, 1000000);
        ASSERT_FALSE(size_mul(SIZE_MAX / 2 + 1, 2, &r));
        ASSERT_TRUE(size_add(1, 2, &r));
        ASSERT_FALSE(size_add(SIZE_MAX, 1, &r));
}

TEST(elementsof_and_helpers) {
        int a[7];
        (void) a;
        ASSERT_EQ(ELEMENTSOF(a), 7);
        ASSERT_TRUE(isempty(""));
        ASSERT_TRUE(isempty(NULL));
        ASSERT_FALSE(isempty("a"));
        ASSERT_TRUE(streq("ab", "ab"));
        ASSERT_EQ(MIN(3, 4), 3);
        ASSERT_EQ(MAX(3, 4), 4);
}

TEST(string_table_lookup_finds_names) {
        static const char *const names[] = { "a", NULL, "c" };

        ASSERT_EQ(string_table_lookup(names, ELEMENTSOF(names), "a"), 0);
        ASSERT_EQ(string_table_lookup(names, ELEMENTSOF(names), "c"), 2);
        ASSERT_ERROR(string_table_lookup(names, ELEMENTSOF(names), "b"), -EINVAL);
        ASSERT_ERROR(string_table_lookup(names, ELEMENTSOF(names), NULL), -EINVAL);
}
