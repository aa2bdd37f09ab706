/* embedding.cu: one block per token, its threads over the row. */
#include "embedding.h"

#include <errno.h>
#include <math.h>

#include "cuda-check.h"
#include "weight-type.cuh"

#define EMBEDDING_THREADS 256

template <KernelsWeightType T>
__global__ void embedding_kernel(const uint8_t *__restrict__ table, size_t row_bytes, uint32_t vocab, uint32_t dim,
                                 const int32_t *__restrict__ tokens, float *__restrict__ out) {
        int32_t tok = tokens[blockIdx.x];
        float *o = out + (size_t) blockIdx.x * dim;

        if (tok < 0 || (uint32_t) tok >= vocab) {
                for (uint32_t i = threadIdx.x; i < dim; i += blockDim.x)
                        o[i] = __int_as_float(0x7fc00000); /* quiet NaN */
                return;
        }
        const uint8_t *row = table + (size_t) tok * row_bytes;
        for (uint32_t i = threadIdx.x; i < dim; i += blockDim.x)
                o[i] = kernels_weight<T>(row, i);
}

int kernels_embedding(KernelsWeightType t, const void *table, uint32_t vocab, uint32_t dim, const int32_t *tokens,
                      uint32_t n_tokens, float *out, KernelsStream stream) {
        size_t row_bytes = kernels_row_bytes(t, dim);
        const uint8_t *tab = (const uint8_t *) table;

        if (!table || !tokens || !out || vocab == 0)
                return kernels_fail(-EINVAL, "embedding: missing table, tokens or output");
        if (row_bytes == 0)
                return kernels_fail(-EINVAL, "embedding: type %s (%d) with rows of %u weights is not supported",
                                    kernels_weight_type_name(t), (int) t, dim);
        if ((uintptr_t) table % (t == KERNELS_F32 ? 4 : 2) != 0)
                return kernels_fail(-EINVAL, "embedding: %s table at %p is misaligned", kernels_weight_type_name(t),
                                    table);
        if (n_tokens == 0)
                return 0;
        dim3 grid(n_tokens), block(EMBEDDING_THREADS);
        switch (t) {
        case KERNELS_F32:
                embedding_kernel<KERNELS_F32><<<grid, block, 0, stream>>>(tab, row_bytes, vocab, dim, tokens, out);
                break;
        case KERNELS_F16:
                embedding_kernel<KERNELS_F16><<<grid, block, 0, stream>>>(tab, row_bytes, vocab, dim, tokens, out);
                break;
        case KERNELS_BF16:
                embedding_kernel<KERNELS_BF16><<<grid, block, 0, stream>>>(tab, row_bytes, vocab, dim, tokens, out);
                break;
        case KERNELS_Q8_0:
                embedding_kernel<KERNELS_Q8_0><<<grid, block, 0, stream>>>(tab, row_bytes, vocab, dim, tokens, out);
                break;
        }
        CUDA_CHECK_LAUNCH();
        return 0;
}
