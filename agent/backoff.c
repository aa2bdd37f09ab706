/* backoff.c: reconnect delays: exponential from 0.5 s to 30 s, with full jitter. */
#include "backoff.h"

#include "random.h"

uint64_t backoff_ceiling_usec(unsigned attempt) {
        uint64_t c = BACKOFF_BASE_USEC;

        /* double until the cap; stops early, so a huge attempt count cannot overflow */
        for (unsigned i = 0; i < attempt && c < BACKOFF_CAP_USEC; i++)
                c *= 2;
        return c < BACKOFF_CAP_USEC ? c : BACKOFF_CAP_USEC;
}

int backoff_delay_usec(unsigned attempt, uint64_t *ret) {
        uint64_t d;
        int r;

        r = random_uniform(backoff_ceiling_usec(attempt) + 1, &d);
        if (r < 0)
                return r;
        *ret = d;
        return 0;
}
