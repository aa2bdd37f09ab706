/* test-random.c: secure random bytes and unbiased bounded draws. */
#include "random.h"
#include "test.h"

TEST(bytes_are_filled_and_differ) {
        uint8_t a[32] = { 0 }, b[32] = { 0 }, zero[32] = { 0 };

        ASSERT_OK(random_bytes(a, sizeof a));
        ASSERT_OK(random_bytes(b, sizeof b));
        /* 2^-256 chance of a false failure */
        ASSERT_TRUE(memcmp(a, b, sizeof a) != 0);
        ASSERT_TRUE(memcmp(a, zero, sizeof a) != 0);
        ASSERT_OK(random_bytes(a, 0));
}

TEST(large_requests) {
        static uint8_t big[1 << 20];
        size_t nonzero = 0;

        ASSERT_OK(random_bytes(big, sizeof big)); /* more than one getrandom() call returns */
        for (size_t i = 0; i < sizeof big; i++)
                nonzero += big[i] != 0;
        ASSERT_TRUE(nonzero > sizeof big / 2); /* expect ~255/256 of them */
}

TEST(uniform_bounds) {
        unsigned counts[10] = { 0 };
        uint64_t v;

        ASSERT_ERROR(random_uniform(0, &v), -EINVAL);
        ASSERT_OK(random_uniform(1, &v));
        ASSERT_UEQ(v, 0);
        for (int i = 0; i < 10000; i++) {
                ASSERT_OK(random_uniform(10, &v));
                ASSERT_TRUE(v < 10);
                counts[v]++;
        }
        /* each value expected 1000 times; below 800 has probability < 1e-10 */
        for (int i = 0; i < 10; i++)
                ASSERT_TRUE(counts[i] > 800);
        ASSERT_OK(random_uniform(UINT64_MAX, &v));
}
