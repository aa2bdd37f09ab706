/* matvec.cu: the decode matrix-vector product, f32 accumulation and shuffle reductions.
 *
 * f16/bf16: a warp per row, MATVEC_WARPS rows per block. Each lane reads 16 bytes (8 weights) per
 * load with the streaming hint (weights are read once per step; x stays in L1/L2), MATVEC_UNROLL
 * loads in flight before any arithmetic.
 *
 * q8_0 v1 (any shape): a warp per row. 34-byte blocks are not 16-byte aligned, so the warp copies
 * 32 blocks (1088 bytes = 68 16-byte loads) of its row into shared memory; then 4 lanes share a
 * block, 8 weights each (int8 -> float by I2F), x read as consecutive float4s across the warp.
 *
 * q8_0 v2 (rows of 16-byte multiples on a 16-byte aligned W: every real model): a block of
 * Q8V2_WARPS warps takes R rows (2 or 4) and its warps split the row: warp w takes the stages w,
 * w + Q8V2_WARPS, ... of 32 / R blocks of each of the R rows. A stage is fetched with cp.async
 * (16 bytes, L2 only: weights never displace x from L1) into one of two shared buffers while the
 * warp computes on the other. Each lane loads 8 floats of x once and uses them for all R rows;
 * its 8 int8s come as 2 words (realigned by __byte_perm) and become floats without I2F (a
 * quarter-rate conversion): the byte goes under the exponent of 2^23 and 2^23 + 128 is
 * subtracted, exactly. The R x Q8V2_WARPS partial sums meet in shared memory. v1 stays for odd
 * shapes and for bench-kernels to measure both in one run. docs/CUDA-NOTES.md has the
 * predictions and measurements. */
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

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
#error "matvec.cu: q8_0 v2 needs cp.async (sm_80 or newer)"
#endif

#define Q8V2_WARPS 4
#define Q8V2_MIN_BLOCKS 16 /* 64 warps per SM: 32 registers (sm_90: no spills), 16 x 9.9 KB of shared memory */
#define Q8V2_STAGE_BLOCKS 32 /* per stage, over the R rows: 1088 bytes */
#define Q8V2_BUF_BYTES (Q8V2_STAGE_BLOCKS * KERNELS_Q8_0_BLOCK_BYTES + 16) /* + the last lane's over-read */

__device__ __forceinline__ void cp_async16(void *dst, const void *src) {
        asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"((uint32_t) __cvta_generic_to_shared(dst)),
                     "l"(src)
                     : "memory");
}

__device__ __forceinline__ void cp_async_commit(void) {
        asm volatile("cp.async.commit_group;\n" ::: "memory");
}

/* Waits until at most n of this thread's committed groups are pending. */
template <int N>
__device__ __forceinline__ void cp_async_wait(void) {
        asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

/* sum(q[k] * x[k]) + s over the 4 int8s of q, in order, each product fused into the sum. q ^ 0x80
 * is q + 128 in [0, 255]; under the exponent of 2^23 it makes the float 2^23 + q + 128, from
 * which subtracting 2^23 + 128 leaves q exactly: a PRMT and an FADD instead of an I2F. */
__device__ __forceinline__ float q8_dot4(uint32_t q, float4 x, float s) {
        const float bias = 8388736.0f; /* 2^23 + 128 */
        uint32_t u = q ^ 0x80808080u;

        s = fmaf(__uint_as_float(__byte_perm(u, 0x4b000000u, 0x7650)) - bias, x.x, s);
        s = fmaf(__uint_as_float(__byte_perm(u, 0x4b000000u, 0x7651)) - bias, x.y, s);
        s = fmaf(__uint_as_float(__byte_perm(u, 0x4b000000u, 0x7652)) - bias, x.z, s);
        return fmaf(__uint_as_float(__byte_perm(u, 0x4b000000u, 0x7653)) - bias, x.w, s);
}

/* Starts the copy of blocks [b0, b0 + n_blk) of rows row0 .. row0 + R - 1 (those past the last
 * row repeat it; never written) into buf, row r at r * S blocks; n_blk is a multiple of 8, so each
 * row's part is a whole number of 16-byte pieces. */
template <int R>
__device__ __forceinline__ void q8v2_fetch(uint8_t *buf, const uint8_t *w, uint32_t row0, uint32_t rows, uint32_t nb,
                                           uint32_t b0, uint32_t n_blk, uint32_t lane) {
        constexpr uint32_t S = Q8V2_STAGE_BLOCKS / R;
        uint32_t n16 = n_blk * KERNELS_Q8_0_BLOCK_BYTES / 16;

        for (uint32_t k = lane; k < R * n16; k += KERNELS_WARP) {
                uint32_t r = 0;
#pragma unroll
                for (uint32_t i = 1; i < R; i++)
                        r += k >= i * n16;
                uint32_t c = k - r * n16;
                size_t row = min(row0 + r, rows - 1);
                cp_async16(buf + r * S * KERNELS_Q8_0_BLOCK_BYTES + 16 * c,
                           w + (row * nb + b0) * KERNELS_Q8_0_BLOCK_BYTES + 16 * c);
        }
        cp_async_commit();
}

/* acc[r] += the staged blocks of row r (n_blk of them) times xa/xb: lane takes 8 weights (lane % 4)
 * of the blocks lane / 4 + 8 i, whose x it was given, scaled by the block's d. A block starts at
 * 34 b: its quants at an odd word boundary + 2 bytes for even b, aligned for odd b. */
template <int R>
__device__ __forceinline__ void q8v2_dot(const uint8_t *buf, uint32_t n_blk, const float4 *xa, const float4 *xb,
                                         uint32_t lane, float *acc) {
        constexpr uint32_t S = Q8V2_STAGE_BLOCKS / R;
        uint32_t sel = (lane / 4) % 2 ? 0x3210 : 0x5432;

#pragma unroll
        for (uint32_t i = 0; i < S / 8; i++) {
                uint32_t b = lane / 4 + 8 * i, a = b * KERNELS_Q8_0_BLOCK_BYTES + 2 + 8 * (lane % 4);

                if (b >= n_blk)
                        break;
#pragma unroll
                for (int r = 0; r < R; r++) {
                        const uint8_t *row = buf + r * S * KERNELS_Q8_0_BLOCK_BYTES;
                        const uint32_t *q = (const uint32_t *) (row + (a & ~3u));
                        uint32_t q0 = q[0], q1 = q[1], q2 = q[2];
                        float s = q8_dot4(__byte_perm(q0, q1, sel), xa[i], 0);

                        s = q8_dot4(__byte_perm(q1, q2, sel), xb[i], s);
                        acc[r] = fmaf(kernels_f16(*(const uint16_t *) (row + b * KERNELS_Q8_0_BLOCK_BYTES)), s, acc[r]);
                }
        }
}

/* q8_0 v2, nb blocks per row (a multiple of 8), W 16-byte aligned; a block of Q8V2_WARPS warps
 * per R rows. */
template <int R>
__global__ void __launch_bounds__(Q8V2_WARPS * KERNELS_WARP, Q8V2_MIN_BLOCKS)
matvec_q8_0_v2_kernel(const uint8_t *__restrict__ w, const float *__restrict__ x, float *__restrict__ y, uint32_t rows,
                      uint32_t nb) {
        constexpr uint32_t S = Q8V2_STAGE_BLOCKS / R;
        __shared__ __align__(16) uint8_t stage[Q8V2_WARPS][2][Q8V2_BUF_BYTES];
        __shared__ float part[Q8V2_WARPS][R];
        uint32_t lane = threadIdx.x % KERNELS_WARP, warp = threadIdx.x / KERNELS_WARP, row0 = blockIdx.x * R;
        uint32_t n_stages = (nb + S - 1) / S;
        float acc[R] = {};

        if (warp < n_stages)
                q8v2_fetch<R>(stage[warp][0], w, row0, rows, nb, warp * S, min(nb - warp * S, S), lane);
        for (uint32_t t = warp, i = 0; t < n_stages; t += Q8V2_WARPS, i++) {
                uint32_t b0 = t * S, n_blk = min(nb - b0, S), next = t + Q8V2_WARPS;
                float4 xa[S / 8], xb[S / 8];

                if (next < n_stages)
                        q8v2_fetch<R>(stage[warp][(i + 1) % 2], w, row0, rows, nb, next * S, min(nb - next * S, S),
                                      lane);
                else
                        cp_async_commit(); /* an empty group, so that the wait below is the same */
#pragma unroll
                for (uint32_t k = 0; k < S / 8; k++) { /* x while the stage lands */
                        uint32_t b = lane / 4 + 8 * k;
                        const float4 *xv = (const float4 *) (x + (size_t) (b0 + min(b, n_blk - 1)) * KERNELS_QK8_0 +
                                                             8 * (lane % 4));
                        xa[k] = __ldg(xv);
                        xb[k] = __ldg(xv + 1);
                }
                cp_async_wait<1>(); /* this thread's part of stage t */
                __syncwarp();       /* ... and the other lanes' */
                q8v2_dot<R>(stage[warp][i % 2], n_blk, xa, xb, lane, acc);
                __syncwarp(); /* the buffer is refilled by the next iteration's fetch */
        }
#pragma unroll
        for (int r = 0; r < R; r++) {
                float v = kernels_warp_sum(acc[r]);
                if (lane == 0)
                        part[warp][r] = v;
        }
        __syncthreads();
        if (threadIdx.x < R && row0 + threadIdx.x < rows) {
                float v = part[0][threadIdx.x];
                for (int k = 1; k < Q8V2_WARPS; k++)
                        v += part[k][threadIdx.x];
                y[row0 + threadIdx.x] = v;
        }
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

/* The arguments of every matvec; 0 or -EINVAL with a message. */
static int matvec_check(KernelsWeightType t, const void *w, uint32_t rows, uint32_t cols, const float *x,
                        const float *y) {
        if (!w || !x || !y)
                return kernels_fail(-EINVAL, "matvec: missing W, x or y");
        if (t != KERNELS_F16 && t != KERNELS_BF16 && t != KERNELS_Q8_0)
                return kernels_fail(-EINVAL, "matvec: weight type %s (%d) is not supported (f16, bf16, q8_0)",
                                    kernels_weight_type_name(t), (int) t);
        if (rows == 0 || kernels_row_bytes(t, cols) == 0)
                return kernels_fail(-EINVAL, "matvec: %s matrix of %u x %u: rows and cols must be positive%s",
                                    kernels_weight_type_name(t), rows, cols,
                                    t == KERNELS_Q8_0 ? ", cols a multiple of 32" : "");
        if ((uintptr_t) w % 2 != 0 || (uintptr_t) x % 16 != 0)
                return kernels_fail(-EINVAL, "matvec: W at %p must be 2-byte aligned, x at %p 16-byte aligned", w,
                                    (const void *) x);
        return 0;
}

/* Rows of 16-byte multiples on a 16-byte aligned W: the vector paths. */
static bool matvec_vec(KernelsWeightType t, const void *w, uint32_t cols) {
        return (uintptr_t) w % 16 == 0 && kernels_row_bytes(t, cols) % 16 == 0;
}

static void launch_q8_0(KernelsMatvecQ8Version v, const void *w, uint32_t rows, uint32_t cols, const float *x,
                        float *y, KernelsStream stream) {
        const uint8_t *wb = (const uint8_t *) w;
        uint32_t nb = cols / KERNELS_QK8_0;
        unsigned grid = (rows + MATVEC_WARPS - 1) / MATVEC_WARPS;

        if (!matvec_vec(KERNELS_Q8_0, w, cols))
                matvec_q8_0_kernel<false><<<grid, MATVEC_WARPS * KERNELS_WARP, 0, stream>>>(wb, x, y, rows, nb);
        else if (v == KERNELS_MATVEC_Q8_0_V1)
                matvec_q8_0_kernel<true><<<grid, MATVEC_WARPS * KERNELS_WARP, 0, stream>>>(wb, x, y, rows, nb);
        else if (v == KERNELS_MATVEC_Q8_0_V2)
                matvec_q8_0_v2_kernel<2><<<(rows + 1) / 2, Q8V2_WARPS * KERNELS_WARP, 0, stream>>>(wb, x, y, rows, nb);
        else
                matvec_q8_0_v2_kernel<4><<<(rows + 3) / 4, Q8V2_WARPS * KERNELS_WARP, 0, stream>>>(wb, x, y, rows, nb);
}

const char *kernels_matvec_q8_0_version_name(KernelsMatvecQ8Version v) {
        switch (v) {
        case KERNELS_MATVEC_Q8_0_V1:
                return "v1";
        case KERNELS_MATVEC_Q8_0_V2:
                return "v2";
        case KERNELS_MATVEC_Q8_0_V2_R4:
                return "v2r4";
        default:
                return "unknown";
        }
}

int kernels_matvec_q8_0(KernelsMatvecQ8Version v, const void *w, uint32_t rows, uint32_t cols, const float *x,
                        float *y, KernelsStream stream) {
        int r;

        if ((unsigned) v >= KERNELS_MATVEC_Q8_0_N_VERSIONS)
                return kernels_fail(-EINVAL, "matvec: q8_0 kernel version %d does not exist (0 to %d)", (int) v,
                                    KERNELS_MATVEC_Q8_0_N_VERSIONS - 1);
        if ((r = matvec_check(KERNELS_Q8_0, w, rows, cols, x, y)) < 0)
                return r;
        launch_q8_0(v, w, rows, cols, x, y, stream);
        CUDA_CHECK_LAUNCH();
        return 0;
}

int kernels_matvec(KernelsWeightType t, const void *w, uint32_t rows, uint32_t cols, const float *x, float *y,
                   KernelsStream stream) {
        unsigned grid = (rows + MATVEC_WARPS - 1) / MATVEC_WARPS;
        int r;

        if ((r = matvec_check(t, w, rows, cols, x, y)) < 0)
                return r;
        switch (t) {
        case KERNELS_F16:
                launch_half<KERNELS_F16>(matvec_vec(t, w, cols), grid, w, rows, cols, x, y, stream);
                break;
        case KERNELS_BF16:
                launch_half<KERNELS_BF16>(matvec_vec(t, w, cols), grid, w, rows, cols, x, y, stream);
                break;
        default:
                launch_q8_0(KERNELS_MATVEC_Q8_0_DEFAULT, w, rows, cols, x, y, stream);
                break;
        }
        CUDA_CHECK_LAUNCH();
        return 0;
}
