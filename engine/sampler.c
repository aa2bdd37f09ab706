/* sampler.c: token sampling with a seeded xoshiro256** generator. */
#include "sampler.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "macro.h"

static uint64_t splitmix64(uint64_t *x) {
        uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) {
        return (x << k) | (x >> (64 - k));
}

static uint64_t xoshiro_next(uint64_t s[4]) {
        uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl(s[3], 45);
        return result;
}

/* uniform in [0, 1) with 24 random bits */
static float random_unit(uint64_t s[4]) {
        return (float) (xoshiro_next(s) >> 40) * 0x1p-24f;
}

int sampler_init(Sampler *s, const SamplerParams *p, uint32_t vocab) {
        uint64_t seed = p->seed;

        if (!isfinite(p->temperature) || p->temperature < 0 || !(p->top_p > 0 && p->top_p <= 1) ||
            !(p->min_p >= 0 && p->min_p < 1) || vocab == 0)
                return -EINVAL;
        *s = (Sampler){ .params = *p, .vocab = vocab };
        for (int i = 0; i < 4; i++)
                s->rng[i] = splitmix64(&seed);
        s->cand = calloc(vocab, sizeof *s->cand);
        return s->cand ? 0 : -ENOMEM;
}

void sampler_done(Sampler *s) {
        free(s->cand);
        s->cand = NULL;
}

int32_t sampler_argmax(const float *x, uint32_t n) {
        int32_t best = 0;
        for (uint32_t i = 1; i < n; i++)
                if (x[i] > x[best])
                        best = (int32_t) i;
        return best;
}

static int cmp_prob_desc(const void *a, const void *b) {
        const ProbIndex *x = a, *y = b;
        if (x->p != y->p)
                return x->p < y->p ? 1 : -1;
        return x->id < y->id ? -1 : x->id > y->id; /* stable order for equal probabilities */
}

/* Softmax of logits / temperature into cand, keeping only tokens that could survive the filters;
 * returns how many candidates there are, sorted by probability. */
static uint32_t candidates(Sampler *s, const float *logits) {
        const SamplerParams *p = &s->params;
        float max = logits[sampler_argmax(logits, s->vocab)];
        double sum = 0;
        uint32_t n = 0;

        for (uint32_t i = 0; i < s->vocab; i++)
                sum += exp((double) (logits[i] - max) / p->temperature);
        /* tokens below this cut cannot be inside top-p (nor above min-p): skip sorting them */
        double cut = MAX((double) p->min_p, p->top_p < 1 ? (1.0 - p->top_p) / (s->vocab - 1 + 1e-9) : 0);
        for (uint32_t i = 0; i < s->vocab; i++) {
                float prob = (float) (exp((double) (logits[i] - max) / p->temperature) / sum);
                if (prob >= cut || logits[i] == max)
                        s->cand[n++] = (ProbIndex){ prob, (int32_t) i };
        }
        qsort(s->cand, n, sizeof *s->cand, cmp_prob_desc);
        return n;
}

int32_t sampler_sample(Sampler *s, float *logits) {
        const SamplerParams *p = &s->params;
        uint32_t n;
        float total = 0, r;

        if (p->temperature == 0 || p->top_k == 1)
                return sampler_argmax(logits, s->vocab);
        n = candidates(s, logits);
        if (p->top_k > 0)
                n = MIN(n, p->top_k);
        for (uint32_t i = 0; i < n; i++) {
                if (p->min_p > 0 && s->cand[i].p < p->min_p * s->cand[0].p) {
                        n = MAX(i, 1u);
                        break;
                }
                total += s->cand[i].p;
                if (total >= p->top_p) {
                        n = i + 1;
                        break;
                }
        }
        total = 0;
        for (uint32_t i = 0; i < n; i++)
                total += s->cand[i].p;
        r = random_unit(s->rng) * total;
        for (uint32_t i = 0; i < n; i++) {
                r -= s->cand[i].p;
                if (r < 0)
                        return s->cand[i].id;
        }
        return s->cand[n - 1].id;
}
