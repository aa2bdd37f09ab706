/* rmsnorm.h: RMS normalisation of rows, as engine/forward.c's rmsnorm. */
#pragma once

#include <stdint.h>

#include "cuda-device.h"

#ifdef __cplusplus
extern "C" {
#endif

/* For each of n_rows rows of n floats: out = x * (1 / sqrt(mean(x^2) + eps)) * weight, the sum of
 * squares in double and the scale rounded to float, exactly as the CPU reference. out may be x.
 * Device pointers; -EINVAL when n is 0. */
int kernels_rmsnorm(float *out, const float *x, const float *weight, uint32_t n_rows, uint32_t n, float eps,
                    KernelsStream stream);

#ifdef __cplusplus
}
#endif
