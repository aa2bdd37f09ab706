/* matvec.h: the decode matrix-vector product y = W x, the op that bounds a batch-1 decode step:
 * every weight is read once per token, so it is written for memory bandwidth. */
#pragma once

#include <stdint.h>

#include "cuda-device.h"
#include "weight-type.h"

#ifdef __cplusplus
extern "C" {
#endif

/* y (rows) = W (rows x cols, row-major, type t: f16, bf16 or q8_0) times x (cols floats), each row
 * dequantised on the fly inside the dot product, accumulated in f32. Device pointers; x must be
 * 16-byte aligned (cudaMalloc's are), W 2-byte aligned. Rows of 16-byte multiples on a 16-byte
 * aligned W (cols a multiple of 8 for f16/bf16, of 256 for q8_0: every real model) take 16-byte
 * vector loads; other shapes are correct but slower. -EINVAL for another type, rows or cols of 0,
 * cols not a multiple of 32 for q8_0, or a misaligned pointer. */
int kernels_matvec(KernelsWeightType t, const void *w, uint32_t rows, uint32_t cols, const float *x, float *y,
                   KernelsStream stream);

#ifdef __cplusplus
}
#endif
