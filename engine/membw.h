/* membw.h: measures the machine's memory read bandwidth, the limit a CPU decode step runs into. */
#pragma once

#include <stddef.h>

#include "threadpool.h"

/* Reads a buffer of size bytes (larger than the caches: 256 MiB or more) with all threads of pool,
 * repeats times, and returns the best rate in bytes per second in *ret. 0 or -ENOMEM. */
int membw_measure(ThreadPool *pool, size_t size, int repeats, double *ret);
