/* residual.cu: element-wise, a grid-stride loop. */
#include "residual.h"

#include <errno.h>

#include "cuda-check.h"
#include "elementwise.cuh"

__global__ void residual_add_kernel(float *x, const float *y, size_t n) {
        for (size_t i = (size_t) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t) gridDim.x * blockDim.x)
                x[i] += y[i];
}

int kernels_residual_add(float *x, const float *y, size_t n, KernelsStream stream) {
        if (!x || !y)
                return kernels_fail(-EINVAL, "residual_add: missing x or y");
        if (n == 0)
                return 0;
        residual_add_kernel<<<kernels_elementwise_blocks(n), KERNELS_ELEMENTWISE_THREADS, 0, stream>>>(x, y, n);
        CUDA_CHECK_LAUNCH();
        return 0;
}
