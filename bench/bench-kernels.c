/* bench-kernels.c: the decode matrix-vector product (kernels/matvec.cu) against the card's limit.
 * Measures the device-to-device copy bandwidth (bytes read + written, as the issue counts it),
 * then for f16, bf16 and q8_0 at Llama 3 8B's decode shapes the weight bytes read per second and
 * their fraction of the copy bandwidth; q8_0 once per kernel version (kernels_matvec_q8_0), so
 * that the versions are compared in the same run. Each matrix is cycled through enough copies (>= 1 GiB) that
 * no launch finds its weights in L2. Prints one table; docs/CUDA-NOTES.md records the numbers.
 *
 *     bench-kernels [ITERATIONS]      (default 50, 1 to 10000) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda-check.h"
#include "cuda-device.h"
#include "matvec.h"
#include "timeutil.h"

#define BENCH_ROTATE_BYTES ((size_t) 1 << 30)
#define BENCH_MAX_COPIES 64

static int fail(const char *what, int r) {
        fprintf(stderr, "bench-kernels: %s: %s: %s\n", what, strerror(-r), kernels_last_error());
        return EXIT_FAILURE;
}

/* Seconds per call of the copy: 1 GiB, best of 5 rounds of 10. */
static int copy_bandwidth(double *ret_bytes_per_sec) {
        size_t size = BENCH_ROTATE_BYTES;
        void *a = NULL, *b = NULL;
        double best = 0;
        int r;

        if ((r = kernels_malloc(&a, size)) < 0 || (r = kernels_malloc(&b, size)) < 0)
                goto out;
        for (int round = 0; round < 6; round++) {
                uint64_t t0 = time_mono_usec();
                for (int i = 0; i < 10; i++)
                        if ((r = kernels_copy_on_device(i % 2 ? a : b, i % 2 ? b : a, size, NULL)) < 0)
                                goto out;
                if ((r = kernels_synchronize()) < 0)
                        goto out;
                double rate = 2.0 * size * 10 / ((double) (time_mono_usec() - t0) * 1e-6);
                if (round > 0 && rate > best) /* round 0 warms up */
                        best = rate;
        }
        *ret_bytes_per_sec = best;
out:
        kernels_free(a);
        kernels_free(b);
        return r;
}

/* One call: kernels_matvec, or for q8_0 the kernel version v. */
static int matvec(KernelsWeightType t, KernelsMatvecQ8Version v, const void *w, uint32_t rows, uint32_t cols,
                  const float *x, float *y) {
        if (t == KERNELS_Q8_0)
                return kernels_matvec_q8_0(v, w, rows, cols, x, y, NULL);
        return kernels_matvec(t, w, rows, cols, x, y, NULL);
}

static int bench_matvec(KernelsWeightType t, KernelsMatvecQ8Version v, uint32_t rows, uint32_t cols, int iterations,
                        double copy_bw) {
        size_t w_bytes = (size_t) rows * kernels_row_bytes(t, cols);
        size_t n_copies = (BENCH_ROTATE_BYTES + w_bytes - 1) / w_bytes;
        void *w[BENCH_MAX_COPIES] = {}, *x = NULL, *y = NULL;
        uint8_t *host = NULL;
        int r = -ENOMEM;

        n_copies = n_copies < 2 ? 2 : n_copies > BENCH_MAX_COPIES ? BENCH_MAX_COPIES : n_copies;
        host = malloc(w_bytes > (size_t) cols * 4 ? w_bytes : (size_t) cols * 4);
        if (!host)
                goto out;
        /* small finite weights and x (the value does not change the speed; NaNs would not either) */
        for (size_t i = 0; i < w_bytes; i++)
                host[i] = (uint8_t) (i * 7 % 61);
        for (size_t c = 0; c < n_copies; c++)
                if ((r = kernels_malloc(&w[c], w_bytes)) < 0 || (r = kernels_copy_to_device(w[c], host, w_bytes)) < 0)
                        goto out;
        for (uint32_t i = 0; i < cols; i++)
                ((float *) host)[i] = (float) (i % 17) / 17.0f;
        if ((r = kernels_malloc(&x, (size_t) cols * 4)) < 0 || (r = kernels_copy_to_device(x, host, (size_t) cols * 4)) < 0 ||
            (r = kernels_malloc(&y, (size_t) rows * 4)) < 0)
                goto out;
        for (size_t i = 0; i < n_copies; i++) /* warm-up */
                if ((r = matvec(t, v, w[i], rows, cols, x, y)) < 0)
                        goto out;
        if ((r = kernels_synchronize()) < 0)
                goto out;
        uint64_t t0 = time_mono_usec();
        for (int i = 0; i < iterations; i++)
                if ((r = matvec(t, v, w[i % n_copies], rows, cols, x, y)) < 0)
                        goto out;
        if ((r = kernels_synchronize()) < 0)
                goto out;
        double sec = (double) (time_mono_usec() - t0) * 1e-6 / iterations, bw = (double) w_bytes / sec;
        printf("| matvec %-4s %-4s | %6u x %-6u | %8.1f MB | %8.1f us | %7.0f GB/s | %5.1f %% |\n",
               kernels_weight_type_name(t), t == KERNELS_Q8_0 ? kernels_matvec_q8_0_version_name(v) : "", rows, cols,
               w_bytes / 1e6, sec * 1e6, bw / 1e9, 100 * bw / copy_bw);
        r = 0;
out:
        for (size_t c = 0; c < n_copies; c++)
                kernels_free(w[c]);
        kernels_free(x);
        kernels_free(y);
        free(host);
        return r;
}

int main(int argc, char **argv) {
        const KernelsWeightType types[] = { KERNELS_F16, KERNELS_BF16, KERNELS_Q8_0 };
        const uint32_t shapes[][2] = { { 14336, 4096 }, { 4096, 14336 }, { 128256, 4096 }, { 1024, 4096 } };
        int iterations = argc > 1 ? atoi(argv[1]) : 50, n, r;
        double copy_bw;
        char desc[256];

        if (iterations < 1 || iterations > 10000) {
                fprintf(stderr, "bench-kernels: ITERATIONS must be 1 to 10000, not \"%s\"\n", argv[1]);
                return EXIT_FAILURE;
        }
        if ((r = kernels_device_count(&n)) < 0)
                return fail("no CUDA device", r);
        if ((r = kernels_device_describe(desc, sizeof desc)) < 0)
                return fail("device", r);
        if ((r = copy_bandwidth(&copy_bw)) < 0)
                return fail("copy", r);
        printf("device: %s\ncopy bandwidth (device to device, read + write): %.0f GB/s\n\n", desc, copy_bw / 1e9);
        printf("| op | shape (rows x cols) | weights | time | weights read | of copy bw |\n");
        printf("| --- | --- | --- | --- | --- | --- |\n");
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
                int n_versions = types[i] == KERNELS_Q8_0 ? KERNELS_MATVEC_Q8_0_N_VERSIONS : 1;
                for (int v = 0; v < n_versions; v++)
                        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
                                if ((r = bench_matvec(types[i], (KernelsMatvecQ8Version) v, shapes[s][0], shapes[s][1],
                                                      iterations, copy_bw)) < 0)
                                        return fail("matvec", r);
        }
        return EXIT_SUCCESS;
}
