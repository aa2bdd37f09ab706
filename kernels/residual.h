/* residual.h: the residual connection after each sub-layer. */
#pragma once

#include <stddef.h>

#include "cuda-device.h"

#ifdef __cplusplus
extern "C" {
#endif

/* x[i] += y[i] for n floats. Device pointers. */
int kernels_residual_add(float *x, const float *y, size_t n, KernelsStream stream);

#ifdef __cplusplus
}
#endif
