/* sampler.h: picks the next token from logits: greedy, temperature, top-k, top-p, min-p, seeded. */
#pragma once

#include <stdint.h>

typedef struct SamplerParams {
        float temperature; /* 0: greedy (argmax); else logits are divided by it */
        uint32_t top_k;    /* keep the k most likely tokens; 0: all */
        float top_p;       /* keep the smallest set whose probability reaches top_p; 1: all */
        float min_p;       /* drop tokens below min_p times the top probability; 0: none */
        uint64_t seed;     /* the same seed and inputs give the same tokens */
} SamplerParams;

#define SAMPLER_PARAMS_DEFAULT { .temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f, .seed = 0 }

typedef struct ProbIndex {
        float p;
        int32_t id;
} ProbIndex;

typedef struct Sampler {
        SamplerParams params;
        uint64_t rng[4]; /* xoshiro256** state */
        ProbIndex *cand; /* (vocab) candidates */
        uint32_t vocab;
} Sampler;

/* Checks params (temperature >= 0 and finite, 0 < top_p <= 1, 0 <= min_p < 1): -EINVAL names
 * nothing, callers validate their own fields first. 0 or -ENOMEM otherwise. */
int sampler_init(Sampler *s, const SamplerParams *p, uint32_t vocab);
void sampler_done(Sampler *s);
/* Returns the chosen token id. logits (vocab floats) are used as scratch. */
int32_t sampler_sample(Sampler *s, float *logits);
/* The index of the largest value (the first on ties). */
int32_t sampler_argmax(const float *x, uint32_t n);
