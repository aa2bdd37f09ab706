/* quant.c: weight formats: conversion, row dequantisation, dot products and quantisers. */
#include "quant.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "macro.h"

static float fp16_table[65536]; /* every half as a float, filled before main() */

static float fp16_to_fp32_compute(fp16_t h);

__attribute__((constructor)) static void fp16_table_init(void) {
        for (uint32_t h = 0; h < 65536; h++)
                fp16_table[h] = fp16_to_fp32_compute((fp16_t) h);
}

float fp16_to_fp32(fp16_t h) {
        return fp16_table[h];
}

static float fp16_to_fp32_compute(fp16_t h) {
        uint32_t sign = (uint32_t) (h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
        float f;

        if (exp == 0x1f) /* inf / NaN */
                bits = sign | 0x7f800000u | (mant << 13);
        else if (exp != 0) /* normal */
                bits = sign | ((exp + 112) << 23) | (mant << 13);
        else if (mant == 0) /* zero */
                bits = sign;
        else { /* subnormal: value = mant * 2^-24 */
                f = (float) mant * 0x1p-24f;
                return sign ? -f : f;
        }
        memcpy(&f, &bits, sizeof f);
        return f;
}

fp16_t fp32_to_fp16(float f) {
        uint32_t bits, sign, abs;

        memcpy(&bits, &f, sizeof bits);
        sign = (bits >> 16) & 0x8000;
        abs = bits & 0x7fffffffu;
        if (abs > 0x7f800000u) /* NaN: keep it a quiet NaN */
                return (fp16_t) (sign | 0x7e00 | ((abs >> 13) & 0x3ff));
        if (abs >= 0x477ff000u) /* rounds to >= 65520: inf */
                return (fp16_t) (sign | 0x7c00);
        if (abs < 0x38800000u) { /* below the smallest normal half: subnormal or zero */
                float a;
                memcpy(&a, &abs, sizeof a);
                /* a * 2^24 rounded to nearest even gives the subnormal mantissa */
                return (fp16_t) (sign | (uint32_t) nearbyintf(a * 0x1p24f));
        }
        /* normal: rebias the exponent and round the mantissa to nearest even */
        uint32_t h = ((abs >> 13) - (112u << 10));
        uint32_t rest = abs & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
                h++;
        return (fp16_t) (sign | h);
}

float bf16_to_fp32(bf16_t h) {
        uint32_t bits = (uint32_t) h << 16;
        float f;

        memcpy(&f, &bits, sizeof f);
        return f;
}

bf16_t fp32_to_bf16(float f) {
        uint32_t bits;

        memcpy(&bits, &f, sizeof bits);
        if ((bits & 0x7fffffffu) > 0x7f800000u)
                return (bf16_t) ((bits >> 16) | 0x40);
        bits += 0x7fff + ((bits >> 16) & 1);
        return (bf16_t) (bits >> 16);
}

size_t quant_row_size(GgufTensorType t, size_t n) {
        size_t bs = gguf_type_block_size(t);

        if (!gguf_type_is_supported(t) || bs == 0 || n % bs != 0)
                return 0;
        return n / bs * gguf_type_block_bytes(t);
}

/* Scale and min of sub-block j of a q4_k block, 6 bits each. */
static void q4k_scale_min(int j, const uint8_t *q, uint8_t *d, uint8_t *m) {
        if (j < 4) {
                *d = q[j] & 63;
                *m = q[j + 4] & 63;
        } else {
                *d = (uint8_t) ((q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4));
                *m = (uint8_t) ((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
        }
}

static void dequant_q8_0(const BlockQ8_0 *b, float *y, size_t nb) {
        for (size_t i = 0; i < nb; i++) {
                float d = fp16_to_fp32(b[i].d);
                for (int j = 0; j < QK8_0; j++)
                        y[i * QK8_0 + j] = d * (float) b[i].qs[j];
        }
}

static void dequant_q4_k(const BlockQ4_K *b, float *y, size_t nb) {
        for (size_t i = 0; i < nb; i++) {
                const uint8_t *q = b[i].qs;
                float d = fp16_to_fp32(b[i].d), dmin = fp16_to_fp32(b[i].dmin);

                for (int j = 0; j < QK_K / 64; j++) {
                        uint8_t sc, m;
                        q4k_scale_min(2 * j, b[i].scales, &sc, &m);
                        float d1 = d * sc, m1 = dmin * m;
                        q4k_scale_min(2 * j + 1, b[i].scales, &sc, &m);
                        float d2 = d * sc, m2 = dmin * m;
                        for (int l = 0; l < 32; l++) {
                                *y++ = d1 * (float) (q[l] & 0xf) - m1;
                        }
                        for (int l = 0; l < 32; l++)
                                *y++ = d2 * (float) (q[l] >> 4) - m2;
                        q += 32;
                }
        }
}

static void dequant_q6_k(const BlockQ6_K *b, float *y, size_t nb) {
        for (size_t i = 0; i < nb; i++) {
                const uint8_t *ql = b[i].ql, *qh = b[i].qh;
                const int8_t *sc = b[i].scales;
                float d = fp16_to_fp32(b[i].d);

                for (int n = 0; n < QK_K; n += 128) {
                        for (int l = 0; l < 32; l++) {
                                int is = l / 16;
                                int q1 = (int) ((ql[l] & 0xf) | (((qh[l] >> 0) & 3) << 4)) - 32;
                                int q2 = (int) ((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) - 32;
                                int q3 = (int) ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                                int q4 = (int) ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                                y[l] = d * sc[is + 0] * (float) q1;
                                y[l + 32] = d * sc[is + 2] * (float) q2;
                                y[l + 64] = d * sc[is + 4] * (float) q3;
                                y[l + 96] = d * sc[is + 6] * (float) q4;
                        }
                        y += 128;
                        ql += 64;
                        qh += 32;
                        sc += 8;
                }
        }
}

void quant_dequantize_row(GgufTensorType t, const void *row, float *out, size_t n) {
        switch (t) {
        case GGUF_TENSOR_F32:
                memcpy(out, row, n * sizeof(float));
                break;
        case GGUF_TENSOR_F16: {
                const fp16_t *h = row;
                for (size_t i = 0; i < n; i++)
                        out[i] = fp16_to_fp32(h[i]);
                break;
        }
        case GGUF_TENSOR_BF16: {
                const bf16_t *h = row;
                for (size_t i = 0; i < n; i++)
                        out[i] = bf16_to_fp32(h[i]);
                break;
        }
        case GGUF_TENSOR_Q8_0:
                dequant_q8_0(row, out, n / QK8_0);
                break;
        case GGUF_TENSOR_Q4_K:
                dequant_q4_k(row, out, n / QK_K);
                break;
        case GGUF_TENSOR_Q6_K:
                dequant_q6_k(row, out, n / QK_K);
                break;
        default:
                memset(out, 0, n * sizeof(float)); /* unreachable: models are checked at load */
                break;
        }
}

/* Vectorisable dot products; compiled for AVX2+FMA and a baseline, picked at run time. */
__attribute__((target_clones("arch=x86-64-v3", "default")))
static float dot_f32(const float *a, const float *b, size_t n) {
        float acc[16] = { 0 };
        size_t i = 0;

        for (; i + 16 <= n; i += 16)
                for (int k = 0; k < 16; k++)
                        acc[k] += a[i + k] * b[i + k];
        for (; i < n; i++)
                acc[0] += a[i] * b[i];
        float s = 0;
        for (int k = 0; k < 16; k++)
                s += acc[k];
        return s;
}

__attribute__((target_clones("arch=x86-64-v3", "default")))
static float dot_bf16(const bf16_t *w, const float *x, size_t n) {
        float acc[16] = { 0 };
        size_t i = 0;

        for (; i + 16 <= n; i += 16)
                for (int k = 0; k < 16; k++) {
                        uint32_t bits = (uint32_t) w[i + k] << 16;
                        float f;
                        memcpy(&f, &bits, sizeof f);
                        acc[k] += f * x[i + k];
                }
        for (; i < n; i++)
                acc[0] += bf16_to_fp32(w[i]) * x[i];
        float s = 0;
        for (int k = 0; k < 16; k++)
                s += acc[k];
        return s;
}

/* Scales each block's x by its d and accumulates in 32 independent lanes, so that the loop
 * vectorises and no horizontal sum is needed until the end. */
__attribute__((target_clones("arch=x86-64-v3", "default")))
static float dot_q8_0(const BlockQ8_0 *b, const float *x, size_t nb) {
        float acc[QK8_0] = { 0 };

        for (size_t i = 0; i < nb; i++) {
                float d = fp16_to_fp32(b[i].d);
                const float *xb = x + i * QK8_0;
                for (int j = 0; j < QK8_0; j++)
                        acc[j] += d * (float) b[i].qs[j] * xb[j];
        }
        float s = 0;
        for (int j = 0; j < QK8_0; j++)
                s += acc[j];
        return s;
}

float quant_dot(GgufTensorType t, const void *row, const float *x, size_t n) {
        float buf[QK_K];

        switch (t) {
        case GGUF_TENSOR_F32:
                return dot_f32(row, x, n);
        case GGUF_TENSOR_BF16:
                return dot_bf16(row, x, n);
        case GGUF_TENSOR_Q8_0:
                return dot_q8_0(row, x, n / QK8_0);
        default: {
                /* f16 and k-quants: dequantise a block at a time into the cache, then dot */
                size_t bs = t == GGUF_TENSOR_F16 ? QK_K : gguf_type_block_size(t);
                size_t bb = quant_row_size(t, bs);
                float s = 0;

                for (size_t i = 0; i < n; i += bs) {
                        size_t k = MIN(bs, n - i);
                        quant_dequantize_row(t, (const uint8_t *) row + i / bs * bb, buf, k);
                        s += dot_f32(buf, x + i, k);
                }
                return s;
        }
        }
}

static void quantize_q8_0(const float *x, BlockQ8_0 *b, size_t nb) {
        for (size_t i = 0; i < nb; i++) {
                float amax = 0;
                for (int j = 0; j < QK8_0; j++)
                        amax = fmaxf(amax, fabsf(x[i * QK8_0 + j]));
                float d = amax / 127.0f, id = d ? 1.0f / d : 0.0f;
                b[i].d = fp32_to_fp16(d);
                for (int j = 0; j < QK8_0; j++)
                        b[i].qs[j] = (int8_t) lrintf(x[i * QK8_0 + j] * id);
        }
}

/* Packs 6-bit scales sc[8] and mins m[8] into the 12 bytes of a q4_k block (inverse of q4k_scale_min). */
static void q4k_pack_scales(const uint8_t *sc, const uint8_t *m, uint8_t *q) {
        memset(q, 0, 12);
        for (int j = 0; j < 8; j++) {
                if (j < 4) {
                        q[j] = sc[j];
                        q[j + 4] = m[j];
                } else {
                        q[j + 4] = (uint8_t) ((sc[j] & 0xf) | ((m[j] & 0xf) << 4));
                        q[j - 4] |= (uint8_t) ((sc[j] >> 4) << 6);
                        q[j] |= (uint8_t) ((m[j] >> 4) << 6);
                }
        }
}

static void quantize_q4_k(const float *x, BlockQ4_K *b, size_t nb) {
        for (size_t i = 0; i < nb; i++, x += QK_K) {
                float scale[8], minv[8], max_scale = 0, max_min = 0;
                uint8_t sc[8], m[8];

                for (int j = 0; j < 8; j++) {
                        float lo = 0, hi = 0; /* min clamped to <= 0 so that the offset is a subtraction */
                        for (int l = 0; l < 32; l++) {
                                lo = fminf(lo, x[32 * j + l]);
                                hi = fmaxf(hi, x[32 * j + l]);
                        }
                        scale[j] = (hi - lo) / 15.0f;
                        minv[j] = -lo;
                        max_scale = fmaxf(max_scale, scale[j]);
                        max_min = fmaxf(max_min, minv[j]);
                }
                float d = max_scale / 63.0f, dmin = max_min / 63.0f;
                b[i].d = fp32_to_fp16(d);
                b[i].dmin = fp32_to_fp16(dmin);
                d = fp16_to_fp32(b[i].d);
                dmin = fp16_to_fp32(b[i].dmin);
                for (int j = 0; j < 8; j++) {
                        sc[j] = (uint8_t) MIN(63L, lrintf(d ? scale[j] / d : 0));
                        m[j] = (uint8_t) MIN(63L, lrintf(dmin ? minv[j] / dmin : 0));
                }
                q4k_pack_scales(sc, m, b[i].scales);
                for (int j = 0; j < 4; j++) /* sub-blocks 2j (low nibbles) and 2j+1 (high nibbles) */
                        for (int l = 0; l < 32; l++) {
                                int q[2];
                                for (int h = 0; h < 2; h++) {
                                        int s = 2 * j + h;
                                        float ds = d * sc[s], ms = dmin * m[s];
                                        long v = ds ? lrintf((x[32 * s + l] + ms) / ds) : 0;
                                        q[h] = (int) MAX(0L, MIN(15L, v));
                                }
                                b[i].qs[32 * j + l] = (uint8_t) (q[0] | (q[1] << 4));
                        }
        }
}

static void quantize_q6_k(const float *x, BlockQ6_K *b, size_t nb) {
        for (size_t i = 0; i < nb; i++, x += QK_K) {
                float scale[16], max_scale = 0;
                int8_t sc[16];
                uint8_t q[QK_K];

                for (int j = 0; j < 16; j++) {
                        float amax = 0;
                        for (int l = 0; l < 16; l++)
                                amax = fmaxf(amax, fabsf(x[16 * j + l]));
                        scale[j] = amax / 31.0f;
                        max_scale = fmaxf(max_scale, scale[j]);
                }
                float d = max_scale / 127.0f;
                b[i].d = fp32_to_fp16(d);
                d = fp16_to_fp32(b[i].d);
                for (int j = 0; j < 16; j++) {
                        sc[j] = (int8_t) MIN(127L, lrintf(d ? scale[j] / d : 0));
                        b[i].scales[j] = sc[j];
                        float ds = d * sc[j];
                        for (int l = 0; l < 16; l++) {
                                long v = ds ? lrintf(x[16 * j + l] / ds) : 0;
                                q[16 * j + l] = (uint8_t) (MAX(-32L, MIN(31L, v)) + 32);
                        }
                }
                /* pack as dequant_q6_k reads: per 128-half, l in 0..31 covers 4 groups of 32 */
                memset(b[i].ql, 0, sizeof b[i].ql);
                memset(b[i].qh, 0, sizeof b[i].qh);
                for (int n = 0; n < 2; n++) {
                        uint8_t *ql = b[i].ql + 64 * n, *qh = b[i].qh + 32 * n;
                        const uint8_t *qq = q + 128 * n;
                        for (int l = 0; l < 32; l++) {
                                ql[l] = (uint8_t) ((qq[l] & 0xf) | ((qq[l + 64] & 0xf) << 4));
                                ql[l + 32] = (uint8_t) ((qq[l + 32] & 0xf) | ((qq[l + 96] & 0xf) << 4));
                                qh[l] = (uint8_t) ((qq[l] >> 4) | ((qq[l + 32] >> 4) << 2) | ((qq[l + 64] >> 4) << 4) |
                                                   ((qq[l + 96] >> 4) << 6));
                        }
                }
        }
}

int quant_quantize_row(GgufTensorType t, const float *in, void *row, size_t n) {
        if (quant_row_size(t, n) == 0 && n != 0)
                return -EINVAL;
        switch (t) {
        case GGUF_TENSOR_F32:
                memcpy(row, in, n * sizeof(float));
                return 0;
        case GGUF_TENSOR_F16:
                for (size_t i = 0; i < n; i++)
                        ((fp16_t *) row)[i] = fp32_to_fp16(in[i]);
                return 0;
        case GGUF_TENSOR_BF16:
                for (size_t i = 0; i < n; i++)
                        ((bf16_t *) row)[i] = fp32_to_bf16(in[i]);
                return 0;
        case GGUF_TENSOR_Q8_0:
                quantize_q8_0(in, row, n / QK8_0);
                return 0;
        case GGUF_TENSOR_Q4_K:
                quantize_q4_k(in, row, n / QK_K);
                return 0;
        case GGUF_TENSOR_Q6_K:
                quantize_q6_k(in, row, n / QK_K);
                return 0;
        default:
                return -EINVAL;
        }
}
