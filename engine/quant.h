/* quant.h: the weight formats the engine computes with (f32, f16, bf16, q8_0, q4_k, q6_k): block
 * layouts exactly as GGUF/ggml define them, row dequantisation, dot products, and quantisers. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "gguf.h"

#define QK8_0 32
#define QK_K 256

typedef uint16_t fp16_t; /* IEEE 754 half, as stored */
typedef uint16_t bf16_t; /* bfloat16, as stored */

/* 34 bytes: 32 weights = d * qs[i] */
typedef struct BlockQ8_0 {
        fp16_t d;
        int8_t qs[QK8_0];
} BlockQ8_0;

/* 144 bytes: 256 weights in 8 sub-blocks of 32; sub-block j: d*sc[j]*q - dmin*m[j], with 6-bit sc
 * and m packed into scales[12] and 4-bit q. */
typedef struct BlockQ4_K {
        fp16_t d;
        fp16_t dmin;
        uint8_t scales[12];
        uint8_t qs[QK_K / 2];
} BlockQ4_K;

/* 210 bytes: 256 weights in 16 sub-blocks of 16; weight = d * scales[j] * (q - 32), q 6-bit with
 * the low 4 bits in ql and the high 2 bits in qh. */
typedef struct BlockQ6_K {
        uint8_t ql[QK_K / 2];
        uint8_t qh[QK_K / 4];
        int8_t scales[QK_K / 16];
        fp16_t d;
} BlockQ6_K;

_Static_assert(sizeof(BlockQ8_0) == 34, "q8_0 block layout");
_Static_assert(sizeof(BlockQ4_K) == 144, "q4_k block layout");
_Static_assert(sizeof(BlockQ6_K) == 210, "q6_k block layout");

float fp16_to_fp32(fp16_t h);
fp16_t fp32_to_fp16(float f);  /* round to nearest even; overflow to inf; NaN kept */
float bf16_to_fp32(bf16_t h);
bf16_t fp32_to_bf16(float f);  /* round to nearest even; NaN kept quiet */

/* Bytes of one row of n weights of type t; 0 when t is not supported or n is not a multiple of
 * the block size. */
size_t quant_row_size(GgufTensorType t, size_t n);

/* Writes the n weights of one row (n a multiple of the type's block size) as floats. */
void quant_dequantize_row(GgufTensorType t, const void *row, float *out, size_t n);

/* Dot product of one row of n weights with n floats. */
float quant_dot(GgufTensorType t, const void *row, const float *x, size_t n);

/* Quantises n floats (a multiple of the block size) into one row of type t (f32, f16, bf16, q8_0,
 * q4_k, q6_k). The k-quant quantisers are simple (per-block min/max, not llama.cpp's search), but
 * produce valid blocks that any GGUF reader decodes the same way. Returns 0 or -EINVAL. */
int quant_quantize_row(GgufTensorType t, const float *in, void *row, size_t n);
