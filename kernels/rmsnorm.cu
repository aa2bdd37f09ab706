/* rmsnorm.cu: one block per row; the sum of squares is a block reduction in double (a row is a few
 * thousand values: the cost is nothing next to reading them, and the scale then matches the CPU's). */
#include "rmsnorm.h"

#include <errno.h>

#include "cuda-check.h"
#include "reduce.cuh"

#define RMSNORM_THREADS 256

__global__ void rmsnorm_kernel(float *out, const float *x, const float *__restrict__ weight, uint32_t n, float eps) {
        __shared__ double scratch[KERNELS_WARP];
        const float *xr = x + (size_t) blockIdx.x * n;
        float *o = out + (size_t) blockIdx.x * n;
        double ss = 0;

        for (uint32_t i = threadIdx.x; i < n; i += blockDim.x)
                ss += (double) xr[i] * xr[i];
        ss = kernels_block_sum(ss, scratch);
        float scale = (float) (1.0 / sqrt(ss / n + eps));
        /* each thread reads and writes only its own elements: out may be x */
        for (uint32_t i = threadIdx.x; i < n; i += blockDim.x)
                o[i] = xr[i] * scale * weight[i];
}

int kernels_rmsnorm(float *out, const float *x, const float *weight, uint32_t n_rows, uint32_t n, float eps,
                    KernelsStream stream) {
        if (!out || !x || !weight)
                return kernels_fail(-EINVAL, "rmsnorm: missing input, weight or output");
        if (n == 0)
                return kernels_fail(-EINVAL, "rmsnorm: rows of 0 values");
        if (n_rows == 0)
                return 0;
        rmsnorm_kernel<<<n_rows, RMSNORM_THREADS, 0, stream>>>(out, x, weight, n, eps);
        CUDA_CHECK_LAUNCH();
        return 0;
}
