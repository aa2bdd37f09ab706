/* backoff.h: reconnect delays: exponential from 0.5 s to 30 s, with full jitter. */
#pragma once

#include <stdint.h>

#define BACKOFF_BASE_USEC UINT64_C(500000)  /* ceiling of the first attempt */
#define BACKOFF_CAP_USEC UINT64_C(30000000) /* no ceiling is ever larger */

/* The ceiling for the given attempt (0 for the first retry): min(cap, base * 2^attempt). Never
 * overflows, whatever attempt is. */
uint64_t backoff_ceiling_usec(unsigned attempt);

/* "Full jitter": a delay drawn uniformly from [0, backoff_ceiling_usec(attempt)] with the kernel's
 * random numbers, so that agents cut off together do not all come back at once. Returns 0 or a
 * negative errno from random_uniform(); *ret is written only on success. */
int backoff_delay_usec(unsigned attempt, uint64_t *ret);
