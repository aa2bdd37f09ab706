/* test-agent-backoff.c: reconnect delays: the exponential ceiling, its cap, and full-jitter bounds. */
#include <limits.h>

#include "backoff.h"
#include "test.h"

TEST(ceiling_doubles_from_half_a_second_to_thirty) {
        ASSERT_UEQ(backoff_ceiling_usec(0), 500000);
        ASSERT_UEQ(backoff_ceiling_usec(1), 1000000);
        ASSERT_UEQ(backoff_ceiling_usec(2), 2000000);
        ASSERT_UEQ(backoff_ceiling_usec(5), 16000000);
        ASSERT_UEQ(backoff_ceiling_usec(6), 30000000); /* 32 s, capped */
        ASSERT_UEQ(backoff_ceiling_usec(7), 30000000);
        ASSERT_UEQ(backoff_ceiling_usec(64), 30000000); /* no shift overflow */
        ASSERT_UEQ(backoff_ceiling_usec(UINT_MAX), 30000000);
}

TEST(ceiling_never_decreases) {
        for (unsigned a = 0; a < 100; a++)
                ASSERT_TRUE(backoff_ceiling_usec(a) <= backoff_ceiling_usec(a + 1));
}

/* Full jitter: every delay in [0, ceiling], and the samples spread over the whole range. */
static void check_jitter(unsigned attempt) {
        uint64_t ceiling = backoff_ceiling_usec(attempt), lo = UINT64_MAX, hi = 0;
        double sum = 0;
        const unsigned n = 10000;

        for (unsigned i = 0; i < n; i++) {
                uint64_t d = UINT64_MAX;

                ASSERT_OK(backoff_delay_usec(attempt, &d));
                ASSERT_TRUE(d <= ceiling);
                lo = d < lo ? d : lo;
                hi = d > hi ? d : hi;
                sum += (double) d;
        }
        /* P(all 10000 samples above 10% of the range) = 0.9^10000: never */
        ASSERT_TRUE(lo < ceiling / 10);
        ASSERT_TRUE(hi > ceiling / 10 * 9);
        /* the mean of a uniform [0, c] is c/2; 10000 samples put it within 5% (17 standard deviations) */
        ASSERT_TRUE(sum / n > (double) ceiling * 0.45 && sum / n < (double) ceiling * 0.55);
}

TEST(delay_is_uniform_within_the_ceiling) {
        check_jitter(0);
        check_jitter(3);
        check_jitter(10);
}
