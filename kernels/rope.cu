/* rope.cu: one thread per rotated pair. sincosf is CUDA's accurate one (within 2 ulp over the whole
 * range; this build never uses --use_fast_math, whose __sinf is wrong for the large angles of long
 * contexts). */
#include "rope.h"

#include <errno.h>

#include "cuda-check.h"
#include "elementwise.cuh"

__global__ void rope_kernel(float *vec, size_t n_pairs, uint32_t n_heads, uint32_t head_dim, bool neox,
                            const float *__restrict__ inv_freq, const uint32_t *__restrict__ pos) {
        uint32_t half = head_dim / 2;

        for (size_t t = (size_t) blockIdx.x * blockDim.x + threadIdx.x; t < n_pairs; t += (size_t) gridDim.x * blockDim.x) {
                uint32_t i = (uint32_t) (t % half);
                size_t head = t / half; /* token * n_heads + h */
                float *v = vec + head * head_dim;
                float angle = (float) pos[head / n_heads] * inv_freq[i], si, co;
                uint32_t a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;

                sincosf(angle, &si, &co);
                float x0 = v[a], x1 = v[b];
                v[a] = x0 * co - x1 * si;
                v[b] = x0 * si + x1 * co;
        }
}

int kernels_rope(float *vec, uint32_t n_tokens, uint32_t n_heads, uint32_t head_dim, bool neox, const float *inv_freq,
                 const uint32_t *pos, KernelsStream stream) {
        size_t n_pairs = (size_t) n_tokens * n_heads * (head_dim / 2);

        if (!vec || !inv_freq || !pos)
                return kernels_fail(-EINVAL, "rope: missing vectors, frequencies or positions");
        if (head_dim == 0 || head_dim % 2 != 0)
                return kernels_fail(-EINVAL, "rope: head_dim %u is not a positive even number", head_dim);
        if (n_pairs == 0)
                return 0;
        rope_kernel<<<kernels_elementwise_blocks(n_pairs), KERNELS_ELEMENTWISE_THREADS, 0, stream>>>(
                vec, n_pairs, n_heads, head_dim, neox, inv_freq, pos);
        CUDA_CHECK_LAUNCH();
        return 0;
}
