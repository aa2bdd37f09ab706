/* test-engine.c: the batch interface: batching does not change results, limits, determinism. */
#include <math.h>
#include <stdio.h>

#include "engine.h"
#include "modelgen.h"
#include "test.h"

static const char *tiny_model(const char *name, ModelArch arch, GgufTensorType dtype, bool tied) {
        static char path[512];
        ModelGenParams p = { .arch = arch, .dim = 64, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
                             .hidden_dim = 128, .n_ctx = 256, .rope_theta = 10000, .tied = tied,
                             .dtype = dtype, .seed = 7 };
        char err[256];

        snprintf(path, sizeof path, "%s/%s.gguf", test_tmpdir(), name);
        if (modelgen_write(&p, path, NULL, err, sizeof err) < 0) {
                printf("# modelgen: %s\n", err);
                return NULL;
        }
        return path;
}

static int open_engine(const char *path, uint32_t max_batch, Engine **ret) {
        EngineOptions o = { .n_threads = 2, .max_batch = max_batch, .max_seqs = 4 };
        char err[256];
        int r = engine_open(path, &o, ret, err, sizeof err);
        if (r < 0)
                printf("# engine_open: %s\n", err);
        return r;
}

/* Greedy-generates n tokens for prompt alone in a fresh engine. */
static int generate_alone(const char *path, const int32_t *prompt, size_t np, int32_t *out, size_t n) {
        _cleanup_(engine_freep) Engine *e = NULL;
        SamplerParams sp = { .temperature = 0, .top_p = 1 };
        uint64_t id;
        size_t got = 0, k;
        EngineEvent ev;
        int r = open_engine(path, 8, &e);

        if (r < 0 || (r = engine_seq_add(e, prompt, np, &sp, (uint32_t) n, &id)) < 0)
                return r;
        while (got < n && (r = engine_step(e, &ev, 1, &k)) >= 0)
                if (k)
                        out[got++] = ev.token;
        return r < 0 ? r : 0;
}

TEST(batched_sequences_match_single_runs) {
        const char *path = tiny_model("batch", MODEL_ARCH_LLAMA, GGUF_TENSOR_F32, true);
        const int32_t pa[] = { 1, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49 }, pb[] = { 1, 100, 7 };
        int32_t a[12], b[12], ab[2][12];
        size_t got[2] = { 0, 0 };
        _cleanup_(engine_freep) Engine *e = NULL;
        SamplerParams sp = { .temperature = 0, .top_p = 1 };
        uint64_t ida, idb;

        ASSERT_NOT_NULL(path);
        ASSERT_OK(generate_alone(path, pa, ELEMENTSOF(pa), a, 12));
        ASSERT_OK(generate_alone(path, pb, ELEMENTSOF(pb), b, 12));
        /* a batch of 4 tokens: A's prompt is read in chunks while B decodes beside it */
        ASSERT_OK(open_engine(path, 4, &e));
        ASSERT_OK(engine_seq_add(e, pb, ELEMENTSOF(pb), &sp, 12, &idb));
        ASSERT_OK(engine_seq_add(e, pa, ELEMENTSOF(pa), &sp, 12, &ida));
        while (got[0] < 12 || got[1] < 12) {
                EngineEvent ev[4];
                size_t n;
                ASSERT_OK(engine_step(e, ev, 4, &n));
                for (size_t i = 0; i < n; i++) {
                        int s = ev[i].seq == ida ? 0 : 1;
                        ab[s][got[s]++] = ev[i].token;
                }
        }
        ASSERT_MEMEQ(ab[0], a, sizeof a);
        ASSERT_MEMEQ(ab[1], b, sizeof b);
}

TEST(prompt_logits_match_step_logits) {
        const char *path = tiny_model("logits", MODEL_ARCH_QWEN2, GGUF_TENSOR_Q8_0, false);
        _cleanup_(engine_freep) Engine *e = NULL;
        const int32_t toks[] = { 1, 5, 9, 200, 3, 17 };
        _cleanup_free_ float *all = NULL, *one = NULL;
        uint32_t vocab;

        ASSERT_NOT_NULL(path);
        ASSERT_OK(open_engine(path, 2, &e)); /* chunks of 2: the cache must carry across chunks */
        vocab = engine_model(e)->config.vocab_size;
        all = malloc(ELEMENTSOF(toks) * vocab * sizeof(float));
        one = malloc(ELEMENTSOF(toks) * vocab * sizeof(float));
        ASSERT_OK(engine_prompt_logits(e, toks, ELEMENTSOF(toks), all));
        for (size_t n = 1; n <= ELEMENTSOF(toks); n++) {
                /* the last position of a prefix equals that position in the whole prompt */
                ASSERT_OK(engine_prompt_logits(e, toks, n, one));
                for (uint32_t v = 0; v < vocab; v++) {
                        float x = one[(n - 1) * vocab + v], y = all[(n - 1) * vocab + v];
                        if (fabsf(x - y) > 1e-5f * (1 + fabsf(y))) {
                                test_fail(__FILE__, __LINE__, "position %zu token %u: %g vs %g", n - 1, v, x, y);
                                return;
                        }
                }
        }
}

TEST(same_seed_same_tokens) {
        const char *path = tiny_model("seed", MODEL_ARCH_LLAMA, GGUF_TENSOR_BF16, true);
        const int32_t prompt[] = { 1, 60, 61 };
        int32_t runs[2][16];

        ASSERT_NOT_NULL(path);
        for (int k = 0; k < 2; k++) {
                _cleanup_(engine_freep) Engine *e = NULL;
                SamplerParams sp = { .temperature = 1.5f, .top_p = 1, .seed = 99 };
                uint64_t id;
                size_t got = 0, n;
                EngineEvent ev;
                ASSERT_OK(open_engine(path, 8, &e));
                ASSERT_OK(engine_seq_add(e, prompt, 3, &sp, 16, &id));
                while (got < 16) {
                        ASSERT_OK(engine_step(e, &ev, 1, &n));
                        if (n)
                                runs[k][got++] = ev.token;
                }
        }
        ASSERT_MEMEQ(runs[0], runs[1], sizeof runs[0]);
}

TEST(limits_and_bad_input) {
        const char *path = tiny_model("limits", MODEL_ARCH_LLAMA, GGUF_TENSOR_F16, true);
        _cleanup_(engine_freep) Engine *e = NULL;
        SamplerParams sp = { .temperature = 0, .top_p = 1 };
        int32_t prompt[300];
        uint64_t id;

        ASSERT_NOT_NULL(path);
        ASSERT_OK(open_engine(path, 8, &e));
        for (int i = 0; i < 300; i++)
                prompt[i] = 3 + i % 200;
        ASSERT_ERROR(engine_seq_add(e, prompt, 300, &sp, 1, &id), -E2BIG);  /* longer than the context (256) */
        ASSERT_ERROR(engine_seq_add(e, prompt, 200, &sp, 100, &id), -E2BIG); /* prompt + max_tokens too */
        ASSERT_ERROR(engine_seq_add(e, prompt, 0, &sp, 1, &id), -EINVAL);
        prompt[0] = 100000;
        ASSERT_ERROR(engine_seq_add(e, prompt, 1, &sp, 1, &id), -EINVAL);  /* token outside the vocabulary */
        prompt[0] = 1;
        for (int i = 0; i < 4; i++)
                ASSERT_OK(engine_seq_add(e, prompt, 2, &sp, 1, &id));
        ASSERT_ERROR(engine_seq_add(e, prompt, 2, &sp, 1, &id), -EBUSY);   /* max_seqs */
        ASSERT_OK(engine_seq_remove(e, id));
        ASSERT_ERROR(engine_seq_remove(e, id), -ENOENT);
        sp.top_p = 0;
        ASSERT_ERROR(engine_seq_add(e, prompt, 2, &sp, 1, &id), -EINVAL);
}

TEST(max_tokens_and_finish) {
        const char *path = tiny_model("finish", MODEL_ARCH_LLAMA, GGUF_TENSOR_F32, true);
        _cleanup_(engine_freep) Engine *e = NULL;
        SamplerParams sp = { .temperature = 0, .top_p = 1 };
        const int32_t prompt[] = { 1, 50 };
        EngineEvent ev;
        uint64_t id;
        size_t n, events = 0;

        ASSERT_NOT_NULL(path);
        ASSERT_OK(open_engine(path, 8, &e));
        ASSERT_OK(engine_seq_add(e, prompt, 2, &sp, 5, &id));
        while (engine_n_active(e) > 0) {
                ASSERT_OK(engine_step(e, &ev, 1, &n));
                events += n;
                if (n && ev.finish != ENGINE_FINISH_NONE)
                        ASSERT_TRUE(ev.finish == ENGINE_FINISH_LENGTH || ev.finish == ENGINE_FINISH_STOP);
        }
        ASSERT_TRUE(events >= 1 && events <= 5);
        ASSERT_OK(engine_step(e, &ev, 1, &n)); /* nothing active: an empty step */
        ASSERT_UEQ(n, 0);
}
