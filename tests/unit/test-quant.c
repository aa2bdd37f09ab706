/* test-quant.c: fp16/bf16 conversion against the compiler's own, block layouts, quantisation error
 * bounds and dot products. */
#include <math.h>

#include "quant.h"
#include "test.h"

static uint64_t rng = 0x1234567;
static float frand(void) { /* in (-1, 1) */
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        return (float) ((double) (rng >> 11) * 0x1p-53 * 2 - 1);
}

/* The value of a half from its definition (independent of the bit tricks in quant.c). */
static float half_by_formula(uint16_t h) {
        int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
        double v;

        if (e == 31)
                v = m ? NAN : INFINITY;
        else if (e == 0)
                v = ldexp(m, -24);
        else
                v = ldexp(1024 + m, e - 25);
        return (float) (s ? -v : v);
}

TEST(fp16_to_fp32_matches_definition_for_all_halves) {
        for (uint32_t h = 0; h < 65536; h++) {
                float want = half_by_formula((uint16_t) h), got = fp16_to_fp32((fp16_t) h);
                if (!(got == want || (isnan(got) && isnan(want))) || signbit(got) != signbit(want)) {
                        test_fail(__FILE__, __LINE__, "half 0x%04x: got %g want %g", h, got, want);
                        return;
                }
        }
}

#ifdef __FLT16_MAX__
TEST(fp32_to_fp16_rounds_like_compiler) {
        const float special[] = { 0.0f, -0.0f, 1.0f, 65504.0f, 65519.0f, 65520.0f, 1e9f, -1e9f, 5.96e-8f, 2.98e-8f,
                                  2.99e-8f, 6.1e-5f, 6.09e-5f, INFINITY, -INFINITY, 1.0009765625f, 1.00048828125f };
        for (size_t i = 0; i < ELEMENTSOF(special) + 200000; i++) {
                float f = i < ELEMENTSOF(special) ? special[i] : ldexpf(frand(), (int) (i % 40) - 30);
                _Float16 want = (_Float16) f;
                uint16_t want_bits;
                memcpy(&want_bits, &want, 2);
                if (fp32_to_fp16(f) != want_bits) {
                        test_fail(__FILE__, __LINE__, "%a: got 0x%04x want 0x%04x", f, fp32_to_fp16(f), want_bits);
                        return;
                }
        }
        ASSERT_TRUE(isnan(fp16_to_fp32(fp32_to_fp16(NAN))));
}
#endif

/* Rounding to nearest: no other half is closer to f than the one chosen (any compiler). */
TEST(fp32_to_fp16_is_nearest) {
        for (int i = 0; i < 20000; i++) {
                float f = ldexpf(frand(), i % 36 - 26);
                fp16_t h = fp32_to_fp16(f);
                double err = fabs((double) fp16_to_fp32(h) - f);
                for (int d = -1; d <= 1; d += 2) {
                        fp16_t o = (fp16_t) (h + d);
                        if ((o & 0x7c00) != 0x7c00 && fabs((double) fp16_to_fp32(o) - f) < err) {
                                test_fail(__FILE__, __LINE__, "%a -> 0x%04x, but 0x%04x is closer", f, h, o);
                                return;
                        }
                }
        }
}

TEST(bf16_conversions) {
        ASSERT_TRUE(bf16_to_fp32(0x3f80) == 1.0f);
        ASSERT_EQ(fp32_to_bf16(1.0f), 0x3f80);
        ASSERT_EQ(fp32_to_bf16(1.00390625f), 0x3f80); /* halfway, rounds to even */
        ASSERT_EQ(fp32_to_bf16(1.01171875f), 0x3f82); /* halfway, rounds to even (up) */
        ASSERT_TRUE(isnan(bf16_to_fp32(fp32_to_bf16(NAN))));
        for (int i = 0; i < 10000; i++) {
                float f = frand() * 100;
                ASSERT_TRUE(fabsf(bf16_to_fp32(fp32_to_bf16(f)) - f) <= fabsf(f) * 0x1p-8f);
        }
}

TEST(row_sizes) {
        ASSERT_UEQ(quant_row_size(GGUF_TENSOR_F32, 64), 256);
        ASSERT_UEQ(quant_row_size(GGUF_TENSOR_BF16, 64), 128);
        ASSERT_UEQ(quant_row_size(GGUF_TENSOR_Q8_0, 64), 68);
        ASSERT_UEQ(quant_row_size(GGUF_TENSOR_Q4_K, 512), 288);
        ASSERT_UEQ(quant_row_size(GGUF_TENSOR_Q6_K, 256), 210);
        ASSERT_UEQ(quant_row_size(GGUF_TENSOR_Q8_0, 33), 0);
        ASSERT_UEQ(quant_row_size(GGUF_TENSOR_Q4_0, 32), 0); /* not computable by the engine */
}

/* A hand-built q4_k block: checks the 6-bit scale/min packing of sub-blocks 0-3 and 4-7. */
TEST(q4_k_layout_by_hand) {
        BlockQ4_K b;
        float out[QK_K];

        memset(&b, 0, sizeof b);
        b.d = fp32_to_fp16(1.0f);
        b.dmin = fp32_to_fp16(0.5f);
        b.scales[0] = 3;           /* sub-block 0: scale 3 */
        b.scales[4] = 2;           /* sub-block 0: min 2 */
        b.scales[8] = 0x15;        /* sub-block 4: scale low 5, min low 1 */
        b.scales[0] |= 1 << 6;     /* sub-block 4: scale high bits 1 -> scale 0x15 */
        b.scales[4] |= 2 << 6;     /* sub-block 4: min high bits 2 -> min 0x21 */
        b.qs[0] = 0x7 | (0x9 << 4); /* element 0 (sub-block 0) = 7, element 32 (sub-block 1) = 9 */
        b.qs[64] = 0x4;            /* element 128 (sub-block 4) = 4 */
        quant_dequantize_row(GGUF_TENSOR_Q4_K, &b, out, QK_K);
        ASSERT_TRUE(out[0] == 3 * 7 - 0.5f * 2);
        ASSERT_TRUE(out[1] == -0.5f * 2);
        ASSERT_TRUE(out[32] == 0); /* sub-block 1 has scale 0 and min 0 */
        ASSERT_TRUE(out[128] == 0x15 * 4 - 0.5f * 0x21);
}

TEST(q6_k_layout_by_hand) {
        BlockQ6_K b;
        float out[QK_K];

        memset(&b, 0, sizeof b);
        b.d = fp32_to_fp16(0.5f);
        for (int j = 0; j < 16; j++)
                b.scales[j] = (int8_t) (j + 1);
        memset(b.ql, 0, sizeof b.ql);
        memset(b.qh, 0xaa, sizeof b.qh); /* every 2-bit high part = 2 -> q = 32 + low */
        b.ql[0] = 0x35;                  /* element 0 low 5, element 64 low 3 */
        b.ql[32] = 0x01;                 /* element 32 low 1 */
        quant_dequantize_row(GGUF_TENSOR_Q6_K, &b, out, QK_K);
        ASSERT_TRUE(out[0] == 0.5f * 1 * 5);   /* scale of sub-block 0 */
        ASSERT_TRUE(out[32] == 0.5f * 3 * 1);  /* sub-block 2 */
        ASSERT_TRUE(out[64] == 0.5f * 5 * 3);  /* sub-block 4 */
        ASSERT_TRUE(out[16] == 0);             /* sub-block 1, low 0 -> q = 32 -> 0 */
        ASSERT_TRUE(out[128] == 0);            /* second half, sub-block 8 */
}

/* Quantise random rows and check the error stays within what each format can represent. */
static void check_roundtrip(GgufTensorType t, size_t n, float rel_bound) {
        float in[1024] = { 0 }, out[1024] = { 0 }, amax = 0;
        uint8_t row[4096];

        for (size_t i = 0; i < n; i++) {
                in[i] = frand() * (i % 7 == 0 ? 3.0f : 1.0f);
                amax = fmaxf(amax, fabsf(in[i]));
        }
        if (quant_quantize_row(t, in, row, n) < 0) {
                test_fail(__FILE__, __LINE__, "%s: quantise failed", gguf_type_name(t));
                return;
        }
        quant_dequantize_row(t, row, out, n);
        for (size_t i = 0; i < n; i++)
                if (fabsf(out[i] - in[i]) > rel_bound * amax) {
                        test_fail(__FILE__, __LINE__, "%s[%zu]: %g vs %g (bound %g)", gguf_type_name(t), i, out[i], in[i],
                                  rel_bound * amax);
                        return;
                }
        /* the dot product of the quantised row equals the dot of its dequantised form */
        float x[1024] = { 0 }, want = 0;
        for (size_t i = 0; i < n; i++) {
                x[i] = frand();
                want += out[i] * x[i];
        }
        float got = quant_dot(t, row, x, n);
        if (fabsf(got - want) > 1e-4f * (1 + fabsf(want)))
                test_fail(__FILE__, __LINE__, "%s: dot %g vs %g", gguf_type_name(t), got, want);
}

TEST(quantise_dequantise_roundtrip) {
        check_roundtrip(GGUF_TENSOR_F32, 1024, 0);
        check_roundtrip(GGUF_TENSOR_F16, 1024, 1e-3f);
        check_roundtrip(GGUF_TENSOR_BF16, 1024, 8e-3f);
        check_roundtrip(GGUF_TENSOR_Q8_0, 1024, 1.0f / 127);
        check_roundtrip(GGUF_TENSOR_Q6_K, 1024, 2.5f / 31);
        check_roundtrip(GGUF_TENSOR_Q4_K, 1024, 2.5f / 15);
}

TEST(quantise_rejects_bad_lengths) {
        float in[64] = { 0 };
        uint8_t row[256];
        ASSERT_ERROR(quant_quantize_row(GGUF_TENSOR_Q8_0, in, row, 33), -EINVAL);
        ASSERT_ERROR(quant_quantize_row(GGUF_TENSOR_Q4_K, in, row, 64), -EINVAL);
        ASSERT_ERROR(quant_quantize_row(GGUF_TENSOR_Q4_0, in, row, 32), -EINVAL);
}
