/* rope.h: rotary position embedding, as engine/forward.c's rope. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cuda-device.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Rotates, in place, every head of n_tokens rows of vec (each n_heads * head_dim floats): pair i
 * of a head (i < head_dim / 2) is (2i, 2i+1), or (i, i + head_dim/2) when neox, turned by the
 * angle (float) pos[token] * inv_freq[i]. inv_freq (head_dim / 2 floats) is the host's table
 * (forward.c's RunState.inv_freq: rope_theta and the rope_freqs divisors already applied).
 * Device pointers; -EINVAL for an odd or zero head_dim. */
int kernels_rope(float *vec, uint32_t n_tokens, uint32_t n_heads, uint32_t head_dim, bool neox, const float *inv_freq,
                 const uint32_t *pos, KernelsStream stream);

#ifdef __cplusplus
}
#endif
