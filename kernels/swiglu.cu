/* swiglu.cu: element-wise, a grid-stride loop; expf and the division are the accurate ones. */
#include "swiglu.h"

#include <errno.h>

#include "cuda-check.h"
#include "elementwise.cuh"

__global__ void swiglu_kernel(float *out, const float *gate, const float *up, size_t n) {
        for (size_t i = (size_t) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t) gridDim.x * blockDim.x) {
                float g = gate[i];
                out[i] = g / (1.0f + expf(-g)) * up[i];
        }
}

int kernels_swiglu(float *out, const float *gate, const float *up, size_t n, KernelsStream stream) {
        if (!out || !gate || !up)
                return kernels_fail(-EINVAL, "swiglu: missing gate, up or output");
        if (n == 0)
                return 0;
        swiglu_kernel<<<kernels_elementwise_blocks(n), KERNELS_ELEMENTWISE_THREADS, 0, stream>>>(out, gate, up, n);
        CUDA_CHECK_LAUNCH();
        return 0;
}
