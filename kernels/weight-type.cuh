/* weight-type.cuh: device-side reading of the weight formats of weight-type.h, shared by the ops
 * that dequantise (embedding gather, matrix-vector). Conversions are exact: every f16, bf16 and
 * q8_0 weight (f16 d times an int8, 19 significant bits) is a float. */
#pragma once

#include <cuda_fp16.h>
#include <stdint.h>

#include "weight-type.h"

__device__ __forceinline__ float kernels_f16(uint16_t h) {
        return __half2float(__ushort_as_half(h));
}

__device__ __forceinline__ float kernels_bf16(uint16_t h) {
        return __uint_as_float((uint32_t) h << 16);
}

/* Weight i of a row (any alignment the format allows: 4 bytes for f32, 2 for the others). */
template <KernelsWeightType T>
__device__ __forceinline__ float kernels_weight(const uint8_t *row, size_t i) {
        if constexpr (T == KERNELS_F32)
                return ((const float *) row)[i];
        else if constexpr (T == KERNELS_F16)
                return kernels_f16(((const uint16_t *) row)[i]);
        else if constexpr (T == KERNELS_BF16)
                return kernels_bf16(((const uint16_t *) row)[i]);
        else {
                const uint8_t *b = row + i / KERNELS_QK8_0 * KERNELS_Q8_0_BLOCK_BYTES;
                return kernels_f16(*(const uint16_t *) b) * (float) (int8_t) b[2 + i % KERNELS_QK8_0];
        }
}
