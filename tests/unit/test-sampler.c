/* test-sampler.c: greedy, seeded reproducibility, and the filters' effect on what can be drawn. */
#include <math.h>

#include "sampler.h"
#include "test.h"

TEST(greedy_is_argmax) {
        SamplerParams p = { .temperature = 0, .top_p = 1 };
        Sampler s;
        float logits[5] = { 0.1f, 3.0f, -2.0f, 3.0f, 1.0f };

        ASSERT_OK(sampler_init(&s, &p, 5));
        ASSERT_EQ(sampler_sample(&s, logits), 1); /* first of the tied maxima */
        sampler_done(&s);
        p.temperature = 1.0f;
        p.top_k = 1;
        ASSERT_OK(sampler_init(&s, &p, 5));
        ASSERT_EQ(sampler_sample(&s, logits), 1);
        sampler_done(&s);
}

static void draw(uint64_t seed, int32_t *out, int n) {
        SamplerParams p = { .temperature = 1.0f, .top_p = 1.0f, .seed = seed };
        Sampler s;
        float logits[100];

        sampler_init(&s, &p, 100);
        for (int i = 0; i < n; i++) {
                for (int k = 0; k < 100; k++)
                        logits[k] = (float) ((k * 37) % 11) * 0.3f;
                out[i] = sampler_sample(&s, logits);
        }
        sampler_done(&s);
}

TEST(same_seed_same_tokens) {
        int32_t a[200], b[200], c[200];

        draw(42, a, 200);
        draw(42, b, 200);
        draw(43, c, 200);
        ASSERT_MEMEQ(a, b, sizeof a);
        ASSERT_TRUE(memcmp(a, c, sizeof a) != 0);
}

TEST(temperature_follows_softmax) {
        SamplerParams p = { .temperature = 1.0f, .top_p = 1.0f, .seed = 7 };
        Sampler s;
        int count = 0;

        ASSERT_OK(sampler_init(&s, &p, 2));
        for (int i = 0; i < 20000; i++) {
                float logits[2] = { 0, logf(3) }; /* p(1) = 0.75 */
                count += sampler_sample(&s, logits) == 1;
        }
        sampler_done(&s);
        /* 15000 expected, sd about 61: 500 is > 8 sd */
        ASSERT_TRUE(abs(count - 15000) < 500);
}

TEST(filters_limit_the_candidates) {
        SamplerParams p = { .temperature = 1.0f, .top_k = 2, .top_p = 1.0f, .seed = 1 };
        Sampler s;

        ASSERT_OK(sampler_init(&s, &p, 4));
        for (int i = 0; i < 2000; i++) {
                float logits[4] = { 1.0f, 0.9f, 0.8f, 2.0f };
                int32_t t = sampler_sample(&s, logits);
                ASSERT_TRUE(t == 3 || t == 0); /* top-2 only */
        }
        sampler_done(&s);
        p = (SamplerParams){ .temperature = 1.0f, .top_p = 0.5f, .seed = 1 };
        ASSERT_OK(sampler_init(&s, &p, 4));
        for (int i = 0; i < 2000; i++) {
                float logits[4] = { 0, 0, 0, 5.0f }; /* p(3) ~ 0.98 > top_p */
                ASSERT_EQ(sampler_sample(&s, logits), 3);
        }
        sampler_done(&s);
        p = (SamplerParams){ .temperature = 1.0f, .top_p = 1.0f, .min_p = 0.5f, .seed = 1 };
        ASSERT_OK(sampler_init(&s, &p, 3));
        for (int i = 0; i < 2000; i++) {
                float logits[3] = { 0, logf(0.6f), logf(0.4f) }; /* 1 : 0.6 : 0.4 -> 0.4 < 0.5 dropped */
                ASSERT_TRUE(sampler_sample(&s, logits) != 2);
        }
        sampler_done(&s);
}

TEST(bad_params_are_rejected) {
        Sampler s;
        SamplerParams p = { .temperature = -1, .top_p = 1 };
        ASSERT_ERROR(sampler_init(&s, &p, 10), -EINVAL);
        p = (SamplerParams){ .temperature = NAN, .top_p = 1 };
        ASSERT_ERROR(sampler_init(&s, &p, 10), -EINVAL);
        p = (SamplerParams){ .temperature = 1, .top_p = 0 };
        ASSERT_ERROR(sampler_init(&s, &p, 10), -EINVAL);
        p = (SamplerParams){ .temperature = 1, .top_p = 1.5f };
        ASSERT_ERROR(sampler_init(&s, &p, 10), -EINVAL);
        p = (SamplerParams){ .temperature = 1, .top_p = 1, .min_p = 1 };
        ASSERT_ERROR(sampler_init(&s, &p, 10), -EINVAL);
}
