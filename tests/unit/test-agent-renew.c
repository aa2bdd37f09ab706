/* test-agent-renew.c: when renewal happens: always inside 70-90 % of the lifetime. */
#include "renew.h"
#include "test.h"
#include "timeutil.h"

TEST(renewal_lands_between_70_and_90_percent) {
        int64_t nb = 1000, na = 1000 + 86400;

        for (uint64_t rnd = 0; rnd < 200000; rnd += 997) {
                uint64_t d = renew_delay_usec(nb, na, nb, rnd * 2654435761u);
                ASSERT_TRUE(d >= (uint64_t) (86400 * 7 / 10) * USEC_PER_SEC);
                ASSERT_TRUE(d <= (uint64_t) (86400 * 9 / 10 + 1) * USEC_PER_SEC);
        }
        ASSERT_UEQ(renew_delay_usec(nb, na, na, 5), 0);      /* past due: now */
        ASSERT_UEQ(renew_delay_usec(na, nb, nb, 5), 0);      /* nonsense validity: now */
        ASSERT_TRUE(renew_delay_usec(nb, na, nb + 86400 / 2, 0) > 0);
}
