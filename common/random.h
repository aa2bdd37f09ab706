/* random.h: cryptographically secure random bytes from the kernel (getrandom(2)). */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Fills buf with n secure random bytes; blocks only until the kernel pool is first seeded.
 * Returns 0 or a negative errno (-ENOSYS on kernels without getrandom). */
int random_bytes(void *buf, size_t n);
/* A uniformly distributed value in [0, bound) without modulo bias; bound must be > 0. */
int random_uniform(uint64_t bound, uint64_t *ret);
