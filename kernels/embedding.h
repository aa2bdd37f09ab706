/* embedding.h: the token embedding gather, the first op of a forward pass. */
#pragma once

#include <stdint.h>

#include "cuda-device.h"
#include "weight-type.h"

#ifdef __cplusplus
extern "C" {
#endif

/* out (n_tokens, dim) f32 = rows tokens[0..n_tokens) of table (vocab rows of dim weights of type
 * t, kernels_row_bytes(t, dim) bytes each), dequantised exactly. table, tokens and out are device
 * memory. The caller checks the ids first (as the CPU forward does); an id outside [0, vocab)
 * still reads nothing out of bounds: its row of out is NaN. -EINVAL for a type other than f32,
 * f16, bf16, q8_0, a dim that is not a multiple of the type's block, or a misaligned table. */
int kernels_embedding(KernelsWeightType t, const void *table, uint32_t vocab, uint32_t dim, const int32_t *tokens,
                      uint32_t n_tokens, float *out, KernelsStream stream);

#ifdef __cplusplus
}
#endif
