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

/* The q8_0 kernels by version (docs/CUDA-NOTES.md), so that bench-kernels measures them side by
 * side in one run; kernels_matvec takes KERNELS_MATVEC_Q8_0_DEFAULT. Same numerics in all: f32 x,
 * each block's 32 products summed in f32 by 4 lanes, times the block's scale, then summed. The
 * versions differ on the vector shapes only: the others always take v1. */
typedef enum KernelsMatvecQ8Version {
        KERNELS_MATVEC_Q8_0_V1,    /* a warp per row, blocks staged through registers, I2F */
        KERNELS_MATVEC_Q8_0_V2,    /* 2 rows per 4 warps that split the row, cp.async, no I2F */
        KERNELS_MATVEC_Q8_0_V2_R4, /* v2 with 4 rows per 4 warps */
        KERNELS_MATVEC_Q8_0_N_VERSIONS,
        KERNELS_MATVEC_Q8_0_DEFAULT = KERNELS_MATVEC_Q8_0_V2,
} KernelsMatvecQ8Version;

/* kernels_matvec for q8_0 with kernel version v; -EINVAL as kernels_matvec, or for a v out of range. */
int kernels_matvec_q8_0(KernelsMatvecQ8Version v, const void *w, uint32_t rows, uint32_t cols, const float *x,
                        float *y, KernelsStream stream);

/* "v1", "v2", "v2r4"; "unknown" out of range. */
const char *kernels_matvec_q8_0_version_name(KernelsMatvecQ8Version v);

#ifdef __cplusplus
}
#endif
