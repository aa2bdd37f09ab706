/* test-errorf.c: errorf() writes the message, truncated, and returns the code it was given. */
#include "errorf.h"
#include "test.h"

TEST(writes_and_returns_r) {
        char err[64] = "";

        ASSERT_ERROR(errorf(err, sizeof err, -EINVAL, "limit: %d, over %s", 7, "five"), -EINVAL);
        ASSERT_STREQ(err, "limit: 7, over five");
        ASSERT_OK(errorf(err, sizeof err, 0, "plain"));
        ASSERT_STREQ(err, "plain");
}

TEST(truncates_to_errsz) {
        char err[8];

        memset(err, 'x', sizeof err);
        ASSERT_ERROR(errorf(err, 5, -E2BIG, "%s", "abcdefgh"), -E2BIG);
        ASSERT_STREQ(err, "abcd");
        ASSERT_TRUE(err[5] == 'x'); /* nothing past errsz */
}

TEST(no_buffer) {
        char err[4] = "old";

        ASSERT_ERROR(errorf(NULL, 0, -ENOMEM, "out of memory"), -ENOMEM);
        ASSERT_ERROR(errorf(NULL, 16, -ENOMEM, "out of memory"), -ENOMEM);
        ASSERT_ERROR(errorf(err, 0, -ENOMEM, "out of memory"), -ENOMEM);
        ASSERT_STREQ(err, "old");
}
