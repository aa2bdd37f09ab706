/* argmax.cu: one block per row; each thread keeps the best (value, index) of its stride, then a
 * warp-shuffle and a shared-memory round reduce them. */
#include "argmax.h"

#include <errno.h>
#include <math.h>

#include "cuda-check.h"
#include "reduce.cuh"

#define ARGMAX_THREADS 1024

/* (v, i) beats (bv, bi): larger, or equal and earlier. NaN never beats anything. */
__device__ __forceinline__ bool argmax_better(float v, uint32_t i, float bv, uint32_t bi) {
        return v > bv || (v == bv && i < bi);
}

__device__ __forceinline__ void argmax_warp(float *v, uint32_t *i) {
        for (int o = KERNELS_WARP / 2; o > 0; o /= 2) {
                float ov = __shfl_xor_sync(0xffffffffu, *v, o);
                uint32_t oi = __shfl_xor_sync(0xffffffffu, *i, o);
                if (argmax_better(ov, oi, *v, *i))
                        *v = ov, *i = oi;
        }
}

__global__ void __launch_bounds__(ARGMAX_THREADS) argmax_kernel(const float *__restrict__ x, uint32_t n, int32_t *out) {
        __shared__ float sv[KERNELS_WARP];
        __shared__ uint32_t si[KERNELS_WARP];
        const float *row = x + (size_t) blockIdx.x * n;
        unsigned lane = threadIdx.x % KERNELS_WARP, warp = threadIdx.x / KERNELS_WARP;
        float bv = -INFINITY;
        uint32_t bi = UINT32_MAX;

        for (uint32_t i = threadIdx.x; i < n; i += blockDim.x) {
                float v = row[i];
                if (argmax_better(v, i, bv, bi))
                        bv = v, bi = i;
        }
        argmax_warp(&bv, &bi);
        if (lane == 0)
                sv[warp] = bv, si[warp] = bi;
        __syncthreads();
        if (warp == 0) {
                unsigned n_warps = blockDim.x / KERNELS_WARP;
                bv = lane < n_warps ? sv[lane] : -INFINITY;
                bi = lane < n_warps ? si[lane] : UINT32_MAX;
                argmax_warp(&bv, &bi);
                if (lane == 0)
                        out[blockIdx.x] = bi < n ? (int32_t) bi : 0;
        }
}

int kernels_argmax(const float *x, uint32_t n_rows, uint32_t n, int32_t *out, KernelsStream stream) {
        if (!x || !out)
                return kernels_fail(-EINVAL, "argmax: missing input or output");
        if (n == 0 || n > INT32_MAX)
                return kernels_fail(-EINVAL, "argmax: rows of %u values (1 to %d)", n, INT32_MAX);
        if (n_rows == 0)
                return 0;
        argmax_kernel<<<n_rows, ARGMAX_THREADS, 0, stream>>>(x, n, out);
        CUDA_CHECK_LAUNCH();
        return 0;
}
