/* weight-type.h: the weight formats the kernels read, with GGUF's numbering (so that the engine
 * maps its GgufTensorType 1:1) and ggml's block layouts (engine/quant.h has the same). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum KernelsWeightType {
        KERNELS_F32 = 0,
        KERNELS_F16 = 1,  /* IEEE half */
        KERNELS_Q8_0 = 8, /* blocks of 34 bytes: f16 scale d, then 32 int8 q; weight = d * q */
        KERNELS_BF16 = 30,
} KernelsWeightType;

#define KERNELS_QK8_0 32
#define KERNELS_Q8_0_BLOCK_BYTES 34

/* Bytes of a row of n weights of type t; 0 when t is not one of the above or n is not a multiple
 * of its block size. */
static inline size_t kernels_row_bytes(KernelsWeightType t, size_t n) {
        switch (t) {
        case KERNELS_F32:
                return n * 4;
        case KERNELS_F16:
        case KERNELS_BF16:
                return n * 2;
        case KERNELS_Q8_0:
                return n % KERNELS_QK8_0 ? 0 : n / KERNELS_QK8_0 * KERNELS_Q8_0_BLOCK_BYTES;
        }
        return 0;
}

static inline const char *kernels_weight_type_name(KernelsWeightType t) {
        switch (t) {
        case KERNELS_F32:
                return "f32";
        case KERNELS_F16:
                return "f16";
        case KERNELS_Q8_0:
                return "q8_0";
        case KERNELS_BF16:
                return "bf16";
        }
        return "unknown";
}

#ifdef __cplusplus
}
#endif
