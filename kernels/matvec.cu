/* matvec.cu: a warp per row, MATVEC_WARPS rows per block, f32 accumulation and a shuffle reduction.
 *
 * f16/bf16: each lane reads 16 bytes (8 weights) per load with the streaming hint (weights are read
 * once per step; x stays in L1/L2), MATVEC_UNROLL loads in flight before any arithmetic.
 * q8_0: 34-byte blocks are not 16-byte aligned, so the warp copies 32 blocks (1088 bytes = 68
 * 16-byte loads) of its row into shared memory; then 4 lanes share a block, 8 weights each: x is
 * read as consecutive float4s across the warp (coalesced) and each lane multiplies its partial sum
 * by the block's scale once. (Loading the next 32 blocks into registers during the arithmetic
 * changed nothing on an H200: docs/CUDA-NOTES.md, v1.) docs/CUDA-NOTES.md has the predictions and measurements. */
#include "matvec.h"

#include <errno.h>

#include "cuda-check.h"
#include "reduce.cuh"
#include "weight-type.cuh"

#define MATVEC_WARPS 4
#define MATVEC_UNROLL 4
#define Q8_STAGE_BLOCKS 32
#define Q8_STAGE_BYTES (Q8_STAGE_BLOCKS * KERNELS_Q8_0_BLOCK_BYTES)

/* Two weights packed in 32 bits, as floats. */
template <KernelsWeightType T>
__device__ __forceinline__ float2 unpack2(uint32_t u) {
        if constexpr (T == KERNELS_BF16)
                return make_float2(__uint_as_float(u << 16), __uint_as_float(u & 0xffff0000u));
        else
                return make_float2(kernels_f16((uint16_t) u), kernels_f16((uint16_t) (u >> 16)));
}

template <KernelsWeightType T>
__device__ __forceinline__ float dot8(uint4 w, float4 a, float4 b, float acc) {
        float2 p0 = unpack2<T>(w.x), p1 = unpack2<T>(w.y), p2 = unpack2<T>(w.z), p3 = unpack2<T>(w.w);

        acc = fmaf(p0.x, a.x, acc);
        acc = fmaf(p0.y, a.y, acc);
        acc = fmaf(p1.x, a.z, acc);
        acc = fmaf(p1.y, a.w, acc);
        acc = fmaf(p2.x, b.x, acc);
        acc = fmaf(p2.y, b.y, acc);
        acc = fmaf(p3.x, b.z, acc);
        return fmaf(p3.y, b.w, acc);
}

/* f16/bf16. VEC: cols % 8 == 0 and W 16-byte aligned, so every row is made of uint4s. */
template <KernelsWeightType T, bool VEC>
__global__ void __launch_bounds__(MATVEC_WARPS * KERNELS_WARP)
matvec_half_kernel(const uint16_t *__restrict__ w, const float *__restrict__ x, float *__restrict__ y, uint32_t rows,
                   uint32_t cols) {
        uint32_t lane = threadIdx.x % KERNELS_WARP, row = blockIdx.x * MATVEC_WARPS + threadIdx.x / KERNELS_WARP;
        float acc = 0;

        if (row >= rows)
                return;
        const uint16_t *wr = w + (size_t) row * cols;
        if constexpr (VEC) {
                const uint4 *w4 = (const uint4 *) wr;
                const float4 *x4 = (const float4 *) x;
                uint32_t n = cols / 8, i = lane;

                for (; i + (MATVEC_UNROLL - 1) * KERNELS_WARP < n; i += MATVEC_UNROLL * KERNELS_WARP) {
                        uint4 p[MATVEC_UNROLL];
#pragma unroll
                        for (int k = 0; k < MATVEC_UNROLL; k++)
                                p[k] = __ldcs(w4 + i + k * KERNELS_WARP);
#pragma unroll
                        for (int k = 0; k < MATVEC_UNROLL; k++) {
                                uint32_t j = i + k * KERNELS_WARP;
                                acc = dot8<T>(p[k], __ldg(x4 + 2 * j), __ldg(x4 + 2 * j + 1), acc);
                        }
                }
                for (; i < n; i += KERNELS_WARP)
                        acc = dot8<T>(__ldcs(w4 + i), __ldg(x4 + 2 * i), __ldg(x4 + 2 * i + 1), acc);
        } else {
                for (uint32_t i = lane; i < cols; i += KERNELS_WARP)
                        acc = fmaf(kernels_weight<T>((const uint8_t *) wr, i), __ldg(x + i), acc);
        }
        acc = kernels_warp_sum(acc);
        if (lane == 0)
                y[row] = acc;
}

/* The staged blocks st[0..n_blk) times x from block b0 on: lane takes 8 weights (lane % 4) of
 * blocks lane / 4, + 8, ...; returns acc plus its partial sums, each scaled by its block's d. */
__device__ __forceinline__ float q8_0_stage_dot(const uint8_t *st, uint32_t n_blk, const float *__restrict__ x,
                                                uint32_t b0, uint32_t lane, float acc) {
        for (uint32_t b = lane / 4; b < n_blk; b += KERNELS_WARP / 4) {
                const uint8_t *blk = st + b * KERNELS_Q8_0_BLOCK_BYTES;
                const uint16_t *q = (const uint16_t *) (blk + 2 + 8 * (lane % 4));
                const float4 *xv = (const float4 *) (x + (size_t) (b0 + b) * KERNELS_QK8_0 + 8 * (lane % 4));
                float4 xa = __ldg(xv), xb = __ldg(xv + 1);
                uint16_t q0 = q[0], q1 = q[1], q2 = q[2], q3 = q[3];
                float s = 0;

                s = fmaf((float) (int8_t) (q0 & 0xff), xa.x, s);
                s = fmaf((float) (int8_t) (q0 >> 8), xa.y, s);
                s = fmaf((float) (int8_t) (q1 & 0xff), xa.z, s);
                s = fmaf((float) (int8_t) (q1 >> 8), xa.w, s);
                s = fmaf((float) (int8_t) (q2 & 0xff), xb.x, s);
                s = fmaf((float) (int8_t) (q2 >> 8), xb.y, s);
                s = fmaf((float) (int8_t) (q3 & 0xff), xb.z, s);
                s = fmaf((float) (int8_t) (q3 >> 8), xb.w, s);
                acc = fmaf(kernels_f16(*(const uint16_t *) blk), s, acc);
        }
        return acc;
}

/* q8_0, nb blocks per row. VEC: rows of 16-byte multiples (nb % 8 == 0) on a 16-byte aligned W,
 * staged with 16-byte loads; otherwise (odd shapes) with 2-byte ones. */
template <bool VEC>
__global__ void __launch_bounds__(MATVEC_WARPS * KERNELS_WARP)
matvec_q8_0_kernel(const uint8_t *__restrict__ w, const float *__restrict__ x, float *__restrict__ y, uint32_t rows,
                   uint32_t nb) {
        __shared__ __align__(16) uint8_t stage[MATVEC_WARPS][Q8_STAGE_BYTES];
        uint32_t lane = threadIdx.x % KERNELS_WARP, warp = threadIdx.x / KERNELS_WARP;
        uint32_t row = blockIdx.x * MATVEC_WARPS + warp;
        uint8_t *st = stage[warp];
        float acc = 0;

        if (row >= rows)
                return; /* the whole warp: only __syncwarp() below */
        const uint8_t *wr = w + (size_t) row * nb * KERNELS_Q8_0_BLOCK_BYTES;
        for (uint32_t b0 = 0; b0 < nb; b0 += Q8_STAGE_BLOCKS) {
                uint32_t n_blk = min(nb - b0, (uint32_t) Q8_STAGE_BLOCKS);
                const uint8_t *src = wr + (size_t) b0 * KERNELS_Q8_0_BLOCK_BYTES;

                if constexpr (VEC) {
                        for (uint32_t k = lane; k < n_blk * KERNELS_Q8_0_BLOCK_BYTES / 16; k += KERNELS_WARP)
                                ((uint4 *) st)[k] = __ldcs((const uint4 *) src + k);
                } else {
                        for (uint32_t k = lane; k < n_blk * KERNELS_Q8_0_BLOCK_BYTES / 2; k += KERNELS_WARP)
                                ((uint16_t *) st)[k] = ((const uint16_t *) src)[k];
                }
                __syncwarp();
                acc = q8_0_stage_dot(st, n_blk, x, b0, lane, acc);
                __syncwarp();
        }
        acc = kernels_warp_sum(acc);
        if (lane == 0)
                y[row] = acc;
}

template <KernelsWeightType T>
static void launch_half(bool vec, unsigned grid, const void *w, uint32_t rows, uint32_t cols, const float *x, float *y,
                        KernelsStream stream) {
        if (vec)
                matvec_half_kernel<T, true><<<grid, MATVEC_WARPS * KERNELS_WARP, 0, stream>>>(
                        (const uint16_t *) w, x, y, rows, cols);
        else
                matvec_half_kernel<T, false><<<grid, MATVEC_WARPS * KERNELS_WARP, 0, stream>>>(
                        (const uint16_t *) w, x, y, rows, cols);
}

int kernels_matvec(KernelsWeightType t, const void *w, uint32_t rows, uint32_t cols, const float *x, float *y,
                   KernelsStream stream) {
        size_t row_bytes = kernels_row_bytes(t, cols);
        unsigned grid = (rows + MATVEC_WARPS - 1) / MATVEC_WARPS;

        if (!w || !x || !y)
                return kernels_fail(-EINVAL, "matvec: missing W, x or y");
        if (t != KERNELS_F16 && t != KERNELS_BF16 && t != KERNELS_Q8_0)
                return kernels_fail(-EINVAL, "matvec: weight type %s (%d) is not supported (f16, bf16, q8_0)",
                                    kernels_weight_type_name(t), (int) t);
        if (rows == 0 || row_bytes == 0)
                return kernels_fail(-EINVAL, "matvec: %s matrix of %u x %u: rows and cols must be positive%s",
                                    kernels_weight_type_name(t), rows, cols,
                                    t == KERNELS_Q8_0 ? ", cols a multiple of 32" : "");
        if ((uintptr_t) w % 2 != 0 || (uintptr_t) x % 16 != 0)
                return kernels_fail(-EINVAL, "matvec: W at %p must be 2-byte aligned, x at %p 16-byte aligned", w,
                                    (const void *) x);
        bool vec = (uintptr_t) w % 16 == 0 && row_bytes % 16 == 0;
        switch (t) {
        case KERNELS_F16:
                launch_half<KERNELS_F16>(vec, grid, w, rows, cols, x, y, stream);
                break;
        case KERNELS_BF16:
                launch_half<KERNELS_BF16>(vec, grid, w, rows, cols, x, y, stream);
                break;
        default:
                if (vec)
                        matvec_q8_0_kernel<true><<<grid, MATVEC_WARPS * KERNELS_WARP, 0, stream>>>(
                                (const uint8_t *) w, x, y, rows, cols / KERNELS_QK8_0);
                else
                        matvec_q8_0_kernel<false><<<grid, MATVEC_WARPS * KERNELS_WARP, 0, stream>>>(
                                (const uint8_t *) w, x, y, rows, cols / KERNELS_QK8_0);
                break;
        }
        CUDA_CHECK_LAUNCH();
        return 0;
}
