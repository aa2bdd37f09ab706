/* swiglu.h: the gated activation of the feed-forward block. */
#pragma once

#include <stddef.h>

#include "cuda-device.h"

#ifdef __cplusplus
extern "C" {
#endif

/* out[i] = silu(gate[i]) * up[i] = gate[i] / (1 + exp(-gate[i])) * up[i] for n floats, as
 * engine/forward.c's ffn_block. out may be gate or up. Device pointers. */
int kernels_swiglu(float *out, const float *gate, const float *up, size_t n, KernelsStream stream);

#ifdef __cplusplus
}
#endif
