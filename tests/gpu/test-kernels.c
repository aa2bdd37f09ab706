/* test-kernels.c: every CUDA kernel of kernels/ against the CPU reference, on fresh random inputs
 * (the seed is printed; SLUICE_TEST_SEED=N repeats a run), with each output buffer poisoned (all
 * bytes 0xff: NaN as a float, -1 as an id) before the op so that an element it does not write fails.
 * Without a CUDA device it prints "1..0 # SKIP no CUDA device (...)"; with SLUICE_GPU_REQUIRED=1
 * (scripts/gpu-check) that is a failure instead.
 *
 * Tolerances, with u = 2^-24 (f32 unit roundoff):
 * - embedding, residual add, argmax: exact. Every f16, bf16 and q8_0 weight is a float (a q8_0
 *   weight is an f16 scale times an int8: 11 + 8 significant bits), so dequantising is exact.
 * - matvec: the products of dequantised weights and x are summed in f32. A lane adds at most
 *   cols/32 products in sequence (q8_0: 8 per block partial sum, then cols/256 block terms), then
 *   5 shuffle steps; recursive summation of depth k is within k*u*sum|w_i x_i| of the exact sum
 *   (Higham, Accuracy and Stability, 4.2), so |gpu - exact| <= (cols/32 + 48) u sum|w_i x_i|,
 *   doubled for margin. The exact sum is computed in double from the engine's dequantisation.
 *   One-hot x makes every product exact: then y must equal the weight column bit for bit.
 * - rmsnorm: both sides sum squares in double and round the scale to float once; the scale can
 *   differ by 1 ulp, then two f32 multiplies: |diff| <= 4u |ref|, 8u used.
 * - rope: the same f32 angle on both sides; CUDA's sincosf is within 2 ulp, glibc's within 1, and
 *   the multiply-add rounds twice (CUDA fuses one of them): |diff| <= 10u (|x0| + |x1|), 16u used.
 * - swiglu: CUDA's expf within 2 ulp (glibc 1), then an add, an IEEE division and a multiply on
 *   each side; silu's relative error is at most exp's: |diff| <= 11u |ref|, 16u used. */
#include <math.h>
#include <stdlib.h>

#include "argmax.h"
#include "cuda-check.h"
#include "cuda-device.h"
#include "embedding.h"
#include "matvec.h"
#include "quant.h"
#include "random.h"
#include "residual.h"
#include "rmsnorm.h"
#include "rope.h"
#include "sampler.h"
#include "swiglu.h"
#include "test.h"

#define U 0x1p-24

_Static_assert((int) KERNELS_F32 == (int) GGUF_TENSOR_F32, "kernels numbers weight types as GGUF");
_Static_assert((int) KERNELS_F16 == (int) GGUF_TENSOR_F16, "kernels numbers weight types as GGUF");
_Static_assert((int) KERNELS_BF16 == (int) GGUF_TENSOR_BF16, "kernels numbers weight types as GGUF");
_Static_assert((int) KERNELS_Q8_0 == (int) GGUF_TENSOR_Q8_0, "kernels numbers weight types as GGUF");
_Static_assert(KERNELS_Q8_0_BLOCK_BYTES == sizeof(BlockQ8_0), "q8_0 block layout");

DEFINE_TRIVIAL_CLEANUP_FUNC(void *, kernels_free);
#define _cleanup_dev_ _cleanup_(kernels_freep)

/* A kernels_* call that must succeed; a failure names the call and kernels_last_error(). */
#define KOK(expr)                                                                                      \
        do {                                                                                           \
                int _k_ = (expr);                                                                      \
                if (_k_ < 0) {                                                                         \
                        test_fail(__FILE__, __LINE__, "%s: %s: %s", #expr, strerror(-_k_),             \
                                  kernels_last_error());                                               \
                        return;                                                                        \
                }                                                                                      \
        } while (0)

/* ---- random inputs ---- */

static uint64_t rng_state;

static uint64_t rnd(void) { /* splitmix64 */
        if (!rng_state) {
                const char *s = getenv("SLUICE_TEST_SEED");
                if (s)
                        rng_state = strtoull(s, NULL, 0);
                else if (random_bytes(&rng_state, sizeof rng_state) < 0 || !rng_state)
                        rng_state = 0x9e3779b97f4a7c15u;
                printf("# seed %" PRIu64 " (SLUICE_TEST_SEED=%" PRIu64 " repeats this run)\n", rng_state, rng_state);
        }
        uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        return z ^ (z >> 31);
}

static float frand(void) { /* uniform in [-1, 1), never 0 */
        for (;;) {
                float f = (float) ((double) (rnd() >> 11) * 0x1p-53 * 2 - 1);
                if (f != 0)
                        return f;
        }
}

static uint32_t urand(uint32_t n) {
        return (uint32_t) (rnd() % n);
}

static float *random_floats(size_t n, float scale) {
        float *x = malloc(n * sizeof(float));
        if (x)
                for (size_t i = 0; i < n; i++)
                        x[i] = frand() * scale;
        return x;
}

/* A random (rows x cols) matrix of type t in GGUF layout: f32/f16/bf16 values over many binades
 * (f16 subnormals included), q8_0 blocks with random scales and int8s in [-127, 127]. */
static void *random_matrix(GgufTensorType t, size_t rows, size_t cols) {
        size_t row_bytes = quant_row_size(t, cols), n = rows * cols;
        uint8_t *m = malloc(rows * row_bytes);

        if (!m)
                return NULL;
        if (t == GGUF_TENSOR_Q8_0) {
                BlockQ8_0 *b = (BlockQ8_0 *) m;
                for (size_t i = 0; i < n / QK8_0; i++) {
                        b[i].d = fp32_to_fp16(frand() * 0x1p-7f);
                        for (int j = 0; j < QK8_0; j++)
                                b[i].qs[j] = (int8_t) ((int) urand(255) - 127);
                }
                return m;
        }
        for (size_t i = 0; i < n; i++) {
                float f = ldexpf(frand(), -(int) urand(20));
                if (t == GGUF_TENSOR_F32)
                        ((float *) m)[i] = f;
                else if (t == GGUF_TENSOR_F16)
                        ((fp16_t *) m)[i] = fp32_to_fp16(f);
                else
                        ((bf16_t *) m)[i] = fp32_to_bf16(f);
        }
        return m;
}

/* ---- device buffers ---- */

static int upload(void **ret, const void *host, size_t size) {
        void *d = NULL;
        int r = kernels_malloc(&d, size);
        if (r < 0)
                return r;
        r = kernels_copy_to_device(d, host, size);
        if (r < 0) {
                kernels_free(d);
                return r;
        }
        *ret = d;
        return 0;
}

/* Device memory of size bytes, all 0xff (NaN floats, -1 ids), so that unwritten outputs show. */
static int poisoned(void **ret, size_t size) {
        _cleanup_free_ uint8_t *p = malloc(size);
        if (!p)
                return -ENOMEM;
        memset(p, 0xff, size);
        return upload(ret, p, size);
}

static int poison(void *d, size_t size) {
        _cleanup_free_ uint8_t *p = malloc(size);
        if (!p)
                return -ENOMEM;
        memset(p, 0xff, size);
        return kernels_copy_to_device(d, p, size);
}

/* Copies n floats back after the queued work finished (which reports a fault in it). */
static int download(float *host, const void *d, size_t n) {
        int r = kernels_synchronize();
        return r < 0 ? r : kernels_copy_to_host(host, d, n * sizeof(float));
}

/* Index of the first element where got and want differ by more than tol[i] (or is NaN), or -1. */
static ssize_t first_mismatch(const float *got, const float *want, const double *tol, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!(fabs((double) got[i] - want[i]) <= tol[i]))
                        return (ssize_t) i;
        return -1;
}

#define ASSERT_CLOSE(got, want, tol, n, what)                                                          \
        do {                                                                                           \
                ssize_t _i_ = first_mismatch((got), (want), (tol), (n));                               \
                if (_i_ >= 0) {                                                                        \
                        test_fail(__FILE__, __LINE__, "%s: element %zd of %zu: got %.9g want %.9g (tolerance %.3g)", \
                                  (what), _i_, (size_t) (n), (got)[_i_], (want)[_i_], (tol)[_i_]);     \
                        return;                                                                        \
                }                                                                                      \
        } while (0)

#define ASSERT_BITWISE(got, want, n, what)                                                             \
        do {                                                                                           \
                for (size_t _i_ = 0; _i_ < (size_t) (n); _i_++)                                        \
                        if (memcmp(&(got)[_i_], &(want)[_i_], sizeof (got)[0]) != 0) {                 \
                                test_fail(__FILE__, __LINE__, "%s: element %zu of %zu: got %.9g want %.9g", \
                                          (what), _i_, (size_t) (n), (double) (got)[_i_], (double) (want)[_i_]); \
                                return;                                                                \
                        }                                                                              \
        } while (0)

const char *test_skip_all(void) {
        static char why[640];
        char desc[256];
        int n;

        if (kernels_device_count(&n) < 0) {
                snprintf(why, sizeof why, "no CUDA device (%s)", kernels_last_error());
                if (getenv("SLUICE_GPU_REQUIRED")) {
                        printf("Bail out! SLUICE_GPU_REQUIRED is set but there is %s\n", why);
                        exit(EXIT_FAILURE);
                }
                return why;
        }
        if (kernels_device_describe(desc, sizeof desc) == 0)
                printf("# device: %s (%d visible)\n", desc, n);
        return NULL;
}

/* ---- errors ---- */

TEST(cuda_check_names_statement_file_and_line) {
        void *p = NULL;

        ASSERT_ERROR(kernels_malloc(&p, (size_t) 1 << 62), -ENOMEM);
        ASSERT_NULL(p);
        ASSERT_CONTAINS(kernels_last_error(), "cuda-device.cu:");
        ASSERT_CONTAINS(kernels_last_error(), "cudaMalloc(&p, size)");
        ASSERT_CONTAINS(kernels_last_error(), "cudaErrorMemoryAllocation");

        /* the failure is not reported again by the next op (cudaGetLastError after its launch) */
        _cleanup_dev_ void *buf = NULL;
        KOK(kernels_malloc(&buf, 4096));
        KOK(kernels_residual_add(buf, (float *) buf + 512, 512, NULL));
        KOK(kernels_synchronize());
}

TEST(bad_arguments_are_refused_with_a_message) {
        _cleanup_dev_ void *buf = NULL;
        float *f;

        KOK(kernels_malloc(&buf, 1 << 20));
        f = buf;
        ASSERT_ERROR(kernels_matvec(KERNELS_Q8_0, buf, 4, 33, f, f + 1024, NULL), -EINVAL);
        ASSERT_CONTAINS(kernels_last_error(), "multiple of 32");
        ASSERT_ERROR(kernels_matvec(KERNELS_F32, buf, 4, 64, f, f + 1024, NULL), -EINVAL);
        ASSERT_CONTAINS(kernels_last_error(), "f32");
        ASSERT_ERROR(kernels_matvec(KERNELS_F16, buf, 0, 64, f, f + 1024, NULL), -EINVAL);
        ASSERT_ERROR(kernels_matvec(KERNELS_F16, buf, 4, 64, f + 1, f + 1024, NULL), -EINVAL);
        ASSERT_CONTAINS(kernels_last_error(), "aligned");
        ASSERT_ERROR(kernels_embedding((KernelsWeightType) 12, buf, 4, 256, (int32_t *) f, 1, f + 1024, NULL), -EINVAL);
        ASSERT_CONTAINS(kernels_last_error(), "not supported");
        ASSERT_ERROR(kernels_rope(f, 1, 1, 7, false, f, (uint32_t *) f, NULL), -EINVAL);
        ASSERT_CONTAINS(kernels_last_error(), "head_dim 7");
        ASSERT_ERROR(kernels_rmsnorm(f, f, f, 1, 0, 1e-5f, NULL), -EINVAL);
        ASSERT_ERROR(kernels_argmax(f, 1, 0, (int32_t *) f, NULL), -EINVAL);
        ASSERT_ERROR(kernels_swiglu(NULL, f, f, 8, NULL), -EINVAL);
        ASSERT_ERROR(kernels_residual_add(f, NULL, 8, NULL), -EINVAL);
        KOK(kernels_synchronize()); /* argument errors queue nothing */
}

/* ---- embedding ---- */

static void check_embedding(GgufTensorType t, uint32_t vocab, uint32_t dim) {
        size_t row_bytes = quant_row_size(t, dim), n_tokens = 40;
        _cleanup_free_ uint8_t *table = random_matrix(t, vocab, dim);
        _cleanup_free_ int32_t *tokens = malloc(n_tokens * sizeof(int32_t));
        _cleanup_free_ float *got = malloc(n_tokens * dim * sizeof(float)), *want = malloc(dim * sizeof(float));
        _cleanup_dev_ void *d_table = NULL, *d_tokens = NULL, *d_out = NULL;
        char what[64];

        ASSERT_TRUE(table && tokens && got && want);
        for (size_t i = 0; i < n_tokens; i++)
                tokens[i] = (int32_t) urand(vocab);
        tokens[0] = 0, tokens[1] = (int32_t) vocab - 1, tokens[2] = tokens[3]; /* ends; a repeat */
        tokens[4] = -1, tokens[5] = (int32_t) vocab;                           /* out of range: NaN rows */
        KOK(upload(&d_table, table, vocab * row_bytes));
        KOK(upload(&d_tokens, tokens, n_tokens * sizeof(int32_t)));
        KOK(poisoned(&d_out, n_tokens * dim * sizeof(float)));
        KOK(kernels_embedding((KernelsWeightType) t, d_table, vocab, dim, d_tokens, (uint32_t) n_tokens, d_out, NULL));
        KOK(download(got, d_out, n_tokens * dim));
        for (size_t i = 0; i < n_tokens; i++) {
                const float *g = got + i * dim;
                if (tokens[i] < 0 || (uint32_t) tokens[i] >= vocab) {
                        for (uint32_t k = 0; k < dim; k++)
                                ASSERT_TRUE(isnan(g[k]));
                        continue;
                }
                quant_dequantize_row(t, table + (size_t) tokens[i] * row_bytes, want, dim);
                snprintf(what, sizeof what, "%s dim %u token %d", gguf_type_name(t), dim, tokens[i]);
                ASSERT_BITWISE(g, want, dim, what);
        }
}

TEST(embedding_matches_engine_dequantisation) {
        const GgufTensorType types[] = { GGUF_TENSOR_F32, GGUF_TENSOR_F16, GGUF_TENSOR_BF16, GGUF_TENSOR_Q8_0 };

        for (size_t i = 0; i < ELEMENTSOF(types); i++) {
                check_embedding(types[i], 1000, 4096);
                /* odd sizes: 4097 weights, or 129 blocks of q8_0 (rows not 16-byte aligned) */
                check_embedding(types[i], 333, types[i] == GGUF_TENSOR_Q8_0 ? 4128 : 4097);
        }
}

/* ---- rmsnorm ---- */

static void rmsnorm_ref(float *out, const float *x, const float *weight, uint32_t n, float eps) {
        double ss = 0; /* as engine/forward.c's rmsnorm */
        for (uint32_t i = 0; i < n; i++)
                ss += (double) x[i] * x[i];
        float scale = (float) (1.0 / sqrt(ss / n + eps));
        for (uint32_t i = 0; i < n; i++)
                out[i] = x[i] * scale * weight[i];
}

static void check_rmsnorm(uint32_t rows, uint32_t n, bool in_place) {
        size_t total = (size_t) rows * n;
        _cleanup_free_ float *x = random_floats(total, 4), *w = random_floats(n, 2);
        _cleanup_free_ float *got = malloc(total * sizeof(float)), *want = malloc(total * sizeof(float));
        _cleanup_free_ double *tol = malloc(total * sizeof(double));
        _cleanup_dev_ void *d_x = NULL, *d_w = NULL, *d_out = NULL;
        float eps = 1e-5f;

        ASSERT_TRUE(x && w && got && want && tol);
        for (uint32_t r = 0; r < rows; r++)
                for (uint32_t i = 0; i < n; i++) /* rows of very different scales */
                        x[(size_t) r * n + i] *= ldexpf(1, (int) r * 7 - 10);
        for (uint32_t r = 0; r < rows; r++)
                rmsnorm_ref(want + (size_t) r * n, x + (size_t) r * n, w, n, eps);
        for (size_t i = 0; i < total; i++)
                tol[i] = 8 * U * fabs(want[i]);
        KOK(upload(&d_x, x, total * sizeof(float)));
        KOK(upload(&d_w, w, n * sizeof(float)));
        if (!in_place)
                KOK(poisoned(&d_out, total * sizeof(float)));
        KOK(kernels_rmsnorm(in_place ? d_x : d_out, d_x, d_w, rows, n, eps, NULL));
        KOK(download(got, in_place ? d_x : d_out, total));
        ASSERT_CLOSE(got, want, tol, total, in_place ? "rmsnorm in place" : "rmsnorm");
}

TEST(rmsnorm_matches_cpu) {
        check_rmsnorm(4, 4096, false);
        check_rmsnorm(3, 4097, false);
        check_rmsnorm(2, 1, false);
        check_rmsnorm(5, 14336, true);
}

/* ---- rope ---- */

/* engine/forward.c's rope, over one row of n_heads heads. */
static void rope_ref(float *v, uint32_t n_heads, uint32_t head_dim, bool neox, const float *inv_freq, uint32_t pos) {
        uint32_t half = head_dim / 2;
        for (uint32_t h = 0; h < n_heads; h++, v += head_dim)
                for (uint32_t i = 0; i < half; i++) {
                        float angle = (float) pos * inv_freq[i], co = cosf(angle), si = sinf(angle);
                        uint32_t a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
                        float x0 = v[a], x1 = v[b];
                        v[a] = x0 * co - x1 * si;
                        v[b] = x0 * si + x1 * co;
                }
}

static void check_rope(uint32_t n_heads, uint32_t head_dim, bool neox, float theta, bool freq_divisors) {
        const uint32_t positions[] = { 0, 1, 2, 127, 4095, 8191, 131071, 500000 };
        uint32_t n_tokens = ELEMENTSOF(positions), row = n_heads * head_dim, half = head_dim / 2;
        size_t total = (size_t) n_tokens * row;
        _cleanup_free_ float *x = random_floats(total, 3), *got = malloc(total * sizeof(float));
        _cleanup_free_ float *want = malloc(total * sizeof(float)), *inv_freq = malloc(half * sizeof(float));
        _cleanup_free_ double *tol = malloc(total * sizeof(double));
        _cleanup_dev_ void *d_x = NULL, *d_freq = NULL, *d_pos = NULL;
        char what[96];

        ASSERT_TRUE(x && got && want && inv_freq && tol);
        for (uint32_t i = 0; i < half; i++) { /* as forward.c's runstate_init */
                inv_freq[i] = (float) (1.0 / pow(theta, (double) (2 * i) / head_dim));
                if (freq_divisors) /* Llama 3 scaling: rope_freqs divisors in [1, 8] */
                        inv_freq[i] /= 1 + 3.5f * (frand() + 1);
        }
        memcpy(want, x, total * sizeof(float));
        for (uint32_t t = 0; t < n_tokens; t++)
                rope_ref(want + (size_t) t * row, n_heads, head_dim, neox, inv_freq, positions[t]);
        for (size_t k = 0; k < total; k++) { /* 16u (|x0| + |x1|) of the pair element k belongs to */
                size_t base = k - k % head_dim, i = k % head_dim;
                size_t partner = neox ? (i < half ? i + half : i - half) : (i ^ 1);
                tol[k] = 16 * U * (fabs(x[k]) + fabs(x[base + partner]));
        }
        KOK(upload(&d_x, x, total * sizeof(float)));
        KOK(upload(&d_freq, inv_freq, half * sizeof(float)));
        KOK(upload(&d_pos, positions, sizeof positions));
        KOK(kernels_rope(d_x, n_tokens, n_heads, head_dim, neox, d_freq, d_pos, NULL));
        KOK(download(got, d_x, total));
        snprintf(what, sizeof what, "rope %u heads of %u, %s, theta %g", n_heads, head_dim, neox ? "neox" : "normal",
                 theta);
        ASSERT_CLOSE(got, want, tol, total, what);
}

TEST(rope_matches_cpu) {
        check_rope(32, 128, false, 500000, true); /* Llama 3 8B queries */
        check_rope(8, 128, false, 500000, true);  /* and keys */
        check_rope(14, 64, true, 1000000, false); /* Qwen2 0.5B */
        check_rope(3, 6, true, 10000, false);
        check_rope(5, 2, false, 10000, false);
}

/* ---- swiglu, residual add ---- */

static void check_swiglu(size_t n, bool in_place) {
        _cleanup_free_ float *gate = random_floats(n, 12), *up = random_floats(n, 3);
        _cleanup_free_ float *got = malloc(n * sizeof(float)), *want = malloc(n * sizeof(float));
        _cleanup_free_ double *tol = malloc(n * sizeof(double));
        _cleanup_dev_ void *d_gate = NULL, *d_up = NULL, *d_out = NULL;

        ASSERT_TRUE(gate && up && got && want && tol);
        gate[0] = -90, gate[1] = 90, gate[2] = -87, gate[3] = 30; /* exp overflows; near-denormal results */
        for (size_t i = 0; i < n; i++) {
                float g = gate[i];
                want[i] = g / (1.0f + expf(-g)) * up[i]; /* as engine/forward.c's ffn_block */
                tol[i] = 16 * U * fabs(want[i]) + 0x1p-126;
        }
        KOK(upload(&d_gate, gate, n * sizeof(float)));
        KOK(upload(&d_up, up, n * sizeof(float)));
        if (!in_place)
                KOK(poisoned(&d_out, n * sizeof(float)));
        KOK(kernels_swiglu(in_place ? d_gate : d_out, d_gate, d_up, n, NULL));
        KOK(download(got, in_place ? d_gate : d_out, n));
        ASSERT_CLOSE(got, want, tol, n, in_place ? "swiglu in place" : "swiglu");
}

TEST(swiglu_matches_cpu) {
        check_swiglu(4097, false);
        check_swiglu(14336, true);
        check_swiglu(5, false);
}

TEST(residual_add_is_exact) {
        const size_t sizes[] = { 4097, 4096 * 3, 1 };

        for (size_t s = 0; s < ELEMENTSOF(sizes); s++) {
                size_t n = sizes[s];
                _cleanup_free_ float *x = random_floats(n, 100), *y = random_floats(n, 1);
                _cleanup_free_ float *got = malloc(n * sizeof(float)), *want = malloc(n * sizeof(float));
                _cleanup_dev_ void *d_x = NULL, *d_y = NULL;

                ASSERT_TRUE(x && y && got && want);
                for (size_t i = 0; i < n; i++)
                        want[i] = x[i] + y[i];
                KOK(upload(&d_x, x, n * sizeof(float)));
                KOK(upload(&d_y, y, n * sizeof(float)));
                KOK(kernels_residual_add(d_x, d_y, n, NULL));
                KOK(download(got, d_x, n));
                ASSERT_BITWISE(got, want, n, "residual add");
        }
}

/* ---- matvec ---- */

/* y = W x against the exact (double) product of the engine's dequantised rows; then with one-hot
 * x, y must be a column of W bit for bit. misalign shifts W by 2 bytes (the unaligned path). */
/* kernels_matvec, or for q8_0 the kernel version v (every version is checked, not only the default). */
static int run_matvec(GgufTensorType t, KernelsMatvecQ8Version v, const void *w, uint32_t rows, uint32_t cols,
                      const float *x, float *y) {
        if (t == GGUF_TENSOR_Q8_0)
                return kernels_matvec_q8_0(v, w, rows, cols, x, y, NULL);
        return kernels_matvec((KernelsWeightType) t, w, rows, cols, x, y, NULL);
}

static void check_matvec(GgufTensorType t, KernelsMatvecQ8Version v, uint32_t rows, uint32_t cols, bool misalign) {
        size_t row_bytes = quant_row_size(t, cols), w_bytes = (size_t) rows * row_bytes;
        _cleanup_free_ uint8_t *w = random_matrix(t, rows, cols);
        _cleanup_free_ float *x = random_floats(cols, 1), *got = malloc(rows * sizeof(float));
        _cleanup_free_ float *want = malloc(rows * sizeof(float)), *wrow = malloc(cols * sizeof(float));
        _cleanup_free_ double *tol = malloc(rows * sizeof(double));
        _cleanup_dev_ void *d_w = NULL, *d_x = NULL, *d_y = NULL;
        uint8_t *d_wp;
        char what[96];

        /* one-hot x: columns 0, cols-1 (the tail) and one at random; their weights are kept below */
        uint32_t onehot_cols[] = { 0, cols - 1, urand(cols) };
        _cleanup_free_ float *columns = malloc(ELEMENTSOF(onehot_cols) * rows * sizeof(float));
        _cleanup_free_ float *onehot = calloc(cols, sizeof(float));

        ASSERT_TRUE(w && x && got && want && wrow && tol && columns && onehot);
        snprintf(what, sizeof what, "%s%s%s %u x %u%s", gguf_type_name(t), t == GGUF_TENSOR_Q8_0 ? " " : "",
                 t == GGUF_TENSOR_Q8_0 ? kernels_matvec_q8_0_version_name(v) : "", rows, cols,
                 misalign ? " misaligned" : "");
        KOK(kernels_malloc(&d_w, w_bytes + 16));
        d_wp = (uint8_t *) d_w + (misalign ? 2 : 0);
        KOK(kernels_copy_to_device(d_wp, w, w_bytes));
        KOK(upload(&d_x, x, cols * sizeof(float)));
        KOK(poisoned(&d_y, rows * sizeof(float)));
        KOK(run_matvec(t, v, d_wp, rows, cols, d_x, d_y));
        KOK(download(got, d_y, rows));
        for (uint32_t r = 0; r < rows; r++) {
                double s = 0, a = 0;
                quant_dequantize_row(t, w + (size_t) r * row_bytes, wrow, cols);
                for (uint32_t i = 0; i < cols; i++) {
                        s += (double) wrow[i] * x[i];
                        a += fabs((double) wrow[i] * x[i]);
                }
                want[r] = (float) s;
                tol[r] = 2.0 * (cols / 32 + 48) * U * a + fabs(s - want[r]);
                for (size_t c = 0; c < ELEMENTSOF(onehot_cols); c++)
                        columns[c * rows + r] = wrow[onehot_cols[c]];
        }
        ASSERT_CLOSE(got, want, tol, rows, what);

        for (size_t c = 0; c < ELEMENTSOF(onehot_cols); c++) {
                uint32_t j = onehot_cols[c];
                onehot[j] = 1;
                KOK(kernels_copy_to_device(d_x, onehot, cols * sizeof(float)));
                onehot[j] = 0;
                KOK(poison(d_y, rows * sizeof(float)));
                KOK(run_matvec(t, v, d_wp, rows, cols, d_x, d_y));
                KOK(download(got, d_y, rows));
                for (uint32_t r = 0; r < rows; r++) /* == rather than bits: a zero weight may be -0 */
                        if (!(got[r] == columns[c * rows + r])) {
                                test_fail(__FILE__, __LINE__, "%s, x = e_%u: row %u: got %.9g want %.9g", what, j, r,
                                          got[r], columns[c * rows + r]);
                                return;
                        }
        }
}

static void check_matvec_shapes(GgufTensorType t, KernelsMatvecQ8Version v) {
        bool q8 = t == GGUF_TENSOR_Q8_0;

        check_matvec(t, v, 37, q8 ? 4128 : 4097, false); /* odd: 129 q8_0 blocks, or 4097 weights */
        check_matvec(t, v, 33, q8 ? 4352 : 4104, false); /* vector path with a short tail */
        check_matvec(t, v, 64, 4096, true);              /* W not 16-byte aligned */
        check_matvec(t, v, 1, 32, false);
        check_matvec(t, v, 3, 64, false);                /* fewer rows than a block of v2 takes */
        check_matvec(t, v, 14336, 4096, false);  /* Llama 3 8B gate/up */
        check_matvec(t, v, 4096, 14336, false);  /* down */
        check_matvec(t, v, 128256, 4096, false); /* output head */
}

TEST(matvec_f16_matches_cpu) {
        check_matvec_shapes(GGUF_TENSOR_F16, KERNELS_MATVEC_Q8_0_DEFAULT);
}

TEST(matvec_bf16_matches_cpu) {
        check_matvec_shapes(GGUF_TENSOR_BF16, KERNELS_MATVEC_Q8_0_DEFAULT);
}

TEST(matvec_q8_0_matches_cpu) {
        for (int v = 0; v < KERNELS_MATVEC_Q8_0_N_VERSIONS; v++)
                check_matvec_shapes(GGUF_TENSOR_Q8_0, (KernelsMatvecQ8Version) v);
}

/* ---- argmax ---- */

TEST(argmax_matches_sampler) {
        const uint32_t sizes[] = { 1, 31, 4097, 128256 };

        for (size_t s = 0; s < ELEMENTSOF(sizes); s++) {
                uint32_t n = sizes[s], rows = 5;
                size_t total = (size_t) rows * n;
                _cleanup_free_ float *x = random_floats(total, 30);
                _cleanup_dev_ void *d_x = NULL, *d_out = NULL;
                int32_t got[5], want[5];

                ASSERT_NOT_NULL(x);
                float *r0 = x, *r1 = x + n, *r2 = x + 2 * (size_t) n, *r3 = x + 3 * (size_t) n;
                r0[n / 3] = 100, r0[n - 1] = 100; /* a tie: the lower index wins */
                r1[n - 1] = 100;                  /* the last element */
                r2[0] = 100;                      /* the first */
                for (uint32_t i = 0; i < n; i++)  /* all -inf: 0, as sampler_argmax */
                        r3[i] = -INFINITY;
                for (uint32_t r = 0; r < rows; r++)
                        want[r] = sampler_argmax(x + (size_t) r * n, n);
                KOK(upload(&d_x, x, total * sizeof(float)));
                KOK(poisoned(&d_out, sizeof got));
                KOK(kernels_argmax(d_x, rows, n, d_out, NULL));
                KOK(kernels_synchronize());
                KOK(kernels_copy_to_host(got, d_out, sizeof got));
                for (uint32_t r = 0; r < rows; r++)
                        if (got[r] != want[r]) {
                                test_fail(__FILE__, __LINE__, "argmax n %u row %u: got %d want %d", n, r, got[r], want[r]);
                                return;
                        }
        }
}
