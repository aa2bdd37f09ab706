/* membw.c: a STREAM-style read-bandwidth probe (sum of a large array over all threads). */
#include "membw.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

typedef struct ReadJob {
        const uint64_t *data;
        double *sums; /* one per chunk so the reads cannot be optimised away */
        size_t chunk;
} ReadJob;

/* XOR of 64-bit words: one-cycle operations in independent lanes, so memory is the only limit. */
__attribute__((target_clones("arch=x86-64-v3", "default")))
static uint64_t xor_words(const uint64_t *x, size_t n) {
        uint64_t acc[16] = { 0 };
        for (size_t i = 0; i + 16 <= n; i += 16)
                for (int k = 0; k < 16; k++)
                        acc[k] ^= x[i + k];
        uint64_t s = 0;
        for (int k = 0; k < 16; k++)
                s ^= acc[k];
        return s;
}

static void read_chunks(void *ctx, size_t begin, size_t end) {
        ReadJob *j = ctx;
        for (size_t c = begin; c < end; c++)
                j->sums[c] = (double) xor_words(j->data + c * j->chunk, j->chunk);
}

int membw_measure(ThreadPool *pool, size_t size, int repeats, double *ret) {
        size_t chunk = 1 << 15, n_chunks = size / sizeof(uint64_t) / chunk;
        _cleanup_free_ uint64_t *data = NULL;
        _cleanup_free_ double *sums = NULL;
        double best = 0;

        if (n_chunks == 0)
                return -EINVAL;
        data = malloc(n_chunks * chunk * sizeof(uint64_t));
        sums = calloc(n_chunks, sizeof(double));
        if (!data || !sums)
                return -ENOMEM;
        memset(data, 1, n_chunks * chunk * sizeof(uint64_t)); /* fault the pages in before timing */
        ReadJob j = { .data = data, .sums = sums, .chunk = chunk };
        for (int i = 0; i < repeats; i++) {
                uint64_t t0 = time_mono_usec();
                threadpool_run(pool, read_chunks, &j, n_chunks, 1);
                double secs = (double) (time_mono_usec() - t0) / 1e6;
                if (secs > 0 && (double) (n_chunks * chunk * sizeof(uint64_t)) / secs > best)
                        best = (double) (n_chunks * chunk * sizeof(uint64_t)) / secs;
        }
        *ret = best;
        return 0;
}
