/* elementwise.cuh: the launch shape of the element-wise ops (grid-stride loops). */
#pragma once

#include <stddef.h>

#define KERNELS_ELEMENTWISE_THREADS 256
#define KERNELS_ELEMENTWISE_MAX_BLOCKS 65536

static inline unsigned kernels_elementwise_blocks(size_t n) {
        size_t b = (n + KERNELS_ELEMENTWISE_THREADS - 1) / KERNELS_ELEMENTWISE_THREADS;
        return (unsigned) (b < KERNELS_ELEMENTWISE_MAX_BLOCKS ? b : KERNELS_ELEMENTWISE_MAX_BLOCKS);
}
