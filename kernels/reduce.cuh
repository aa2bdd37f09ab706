/* reduce.cuh: warp and block reductions shared by the ops (sums for matvec and rmsnorm, the
 * (value, index) maximum for argmax). */
#pragma once

#include <stdint.h>

#define KERNELS_WARP 32

template <typename V>
__device__ __forceinline__ V kernels_warp_sum(V v) {
        for (int o = KERNELS_WARP / 2; o > 0; o /= 2)
                v += __shfl_xor_sync(0xffffffffu, v, o);
        return v;
}

/* Sum over the block (blockDim.x a multiple of 32, at most 1024), returned to every thread. scratch
 * holds 32 values; the block must not use it in between. */
template <typename V>
__device__ V kernels_block_sum(V v, V *scratch) {
        unsigned lane = threadIdx.x % KERNELS_WARP, warp = threadIdx.x / KERNELS_WARP;
        unsigned n_warps = blockDim.x / KERNELS_WARP;

        v = kernels_warp_sum(v);
        if (lane == 0)
                scratch[warp] = v;
        __syncthreads();
        v = lane < n_warps ? scratch[lane] : (V) 0;
        v = kernels_warp_sum(v);
        __syncthreads(); /* scratch may be reused after return */
        return v;
}
