/* argmax.h: greedy sampling on the device, so that only token ids cross the bus. */
#pragma once

#include <stdint.h>

#include "cuda-device.h"

#ifdef __cplusplus
extern "C" {
#endif

/* out[r] = the index of the largest of the n floats of row r of x (n_rows rows), for r < n_rows;
 * ties go to the lowest index, as engine/sampler.c's sampler_argmax. NaNs are never chosen (a row
 * of NaNs gives 0). Device pointers; -EINVAL when n is 0 or above INT32_MAX. */
int kernels_argmax(const float *x, uint32_t n_rows, uint32_t n, int32_t *out, KernelsStream stream);

#ifdef __cplusplus
}
#endif
