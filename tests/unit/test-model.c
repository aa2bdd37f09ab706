/* test-model.c: loading checks: each inconsistency in a model file is refused with a clear message. */
#include <stdio.h>

#include "gguf-write.h"
#include "model.h"
#include "modelgen.h"
#include "quant.h"
#include "test.h"

/* Writes a model file whose metadata and tensors come from a valid tiny model, changed by edit. */
typedef int (*EditFunc)(GgufWriter *w, const char *key_or_name, bool is_tensor);

static const char *base_model(void) {
        static char path[512];
        ModelGenParams p = { .arch = MODEL_ARCH_LLAMA, .dim = 64, .n_layers = 1, .n_heads = 4, .n_kv_heads = 2,
                             .hidden_dim = 96, .n_ctx = 128, .rope_theta = 10000, .tied = true,
                             .dtype = GGUF_TENSOR_Q8_0, .seed = 1 };
        char err[256];

        snprintf(path, sizeof path, "%s/base.gguf", test_tmpdir());
        return modelgen_write(&p, path, NULL, err, sizeof err) < 0 ? NULL : path;
}

TEST(loads_a_valid_model) {
        const char *path = base_model();
        _cleanup_(model_freep) Model *m = NULL;
        char err[256];

        ASSERT_NOT_NULL(path);
        ASSERT_OK(model_load(path, &m, err, sizeof err));
        ASSERT_EQ(m->config.dim, 64);
        ASSERT_EQ(m->config.n_kv_heads, 2);
        ASSERT_EQ(m->config.head_dim, 16);
        ASSERT_EQ(m->config.vocab_size, 259);
        ASSERT_TRUE(m->config.tied_output);
        ASSERT_FALSE(m->config.rope_neox);
        ASSERT_EQ(m->weights.layers[0].wq.type, GGUF_TENSOR_Q8_0);
        ASSERT_EQ(m->weights.layers[0].attn_norm.type, GGUF_TENSOR_F32);
}

/* Copies base into a writer, skipping one key or tensor, or replacing a u32 key's value. */
static int rewrite(const char *src, const char *dst, const char *skip, const char *u32_key, uint32_t u32_value,
                   const char *tensor_type_name, GgufTensorType new_type) {
        _cleanup_(gguf_closep) Gguf *g = NULL;
        _cleanup_(gguf_writer_freep) GgufWriter *w = NULL;
        _cleanup_free_ void *repl = NULL;
        char err[256];
        int r;

        if ((r = gguf_open(src, &g, err, sizeof err)) < 0 || (r = gguf_writer_new(&w)) < 0)
                return r;
        for (size_t i = 0; i < gguf_n_kv(g); i++) {
                const char *key = gguf_kv_key(g, i);
                GgufValue v;
                if (skip && streq(key, skip))
                        continue;
                gguf_kv_value(g, i, &v);
                if (u32_key && streq(key, u32_key))
                        r = gguf_writer_add_u32(w, key, u32_value);
                else if (v.type == GGUF_VALUE_STRING)
                        r = gguf_writer_add_strn(w, key, v.str.ptr, v.str.len);
                else if (v.type == GGUF_VALUE_UINT32)
                        r = gguf_writer_add_u32(w, key, (uint32_t) v.u);
                else if (v.type == GGUF_VALUE_FLOAT32)
                        r = gguf_writer_add_f32(w, key, (float) v.f);
                else if (v.type == GGUF_VALUE_BOOL)
                        r = gguf_writer_add_bool(w, key, v.b);
                else
                        r = 0; /* arrays (the vocabulary) are not needed by model_load */
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < gguf_n_tensors(g); i++) {
                const GgufTensorInfo *t = gguf_tensor(g, i);
                if (skip && streq(t->name, skip))
                        continue;
                if (tensor_type_name && streq(t->name, tensor_type_name)) {
                        uint64_t size;
                        gguf_type_nbytes(new_type, t->n_dims, t->ne, &size);
                        repl = calloc(1, size);
                        r = gguf_writer_add_tensor(w, t->name, new_type, t->n_dims, t->ne, repl, size);
                } else
                        r = gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->size);
                if (r < 0)
                        return r;
        }
        return gguf_writer_write(w, dst);
}

static void expect_refusal(const char *skip, const char *u32_key, uint32_t value, const char *tensor, GgufTensorType type,
                           const char *msg) {
        const char *base = base_model();
        char path[512], err[512] = "";
        Model *m = NULL;

        snprintf(path, sizeof path, "%s/bad.gguf", test_tmpdir());
        if (!base || rewrite(base, path, skip, u32_key, value, tensor, type) < 0) {
                test_fail(__FILE__, __LINE__, "could not write the test file");
                return;
        }
        if (model_load(path, &m, err, sizeof err) >= 0 || !strstr(err, msg)) {
                test_fail(__FILE__, __LINE__, "want an error containing \"%s\", got \"%s\"", msg, err);
                model_free(m);
        }
}

TEST(missing_key_is_named) {
        expect_refusal("llama.block_count", NULL, 0, NULL, 0, "llama.block_count");
}

TEST(missing_tensor_is_named) {
        expect_refusal("blk.0.ffn_up.weight", NULL, 0, NULL, 0, "blk.0.ffn_up.weight");
}

TEST(inconsistent_shapes) {
        expect_refusal(NULL, "llama.feed_forward_length", 128, NULL, 0, "blk.0.ffn_gate.weight");
        expect_refusal(NULL, "llama.attention.head_count_kv", 3, NULL, 0, "not a multiple");
        expect_refusal(NULL, "llama.block_count", 2, NULL, 0, "blk.1.attn_norm.weight");
}

TEST(unsupported_weight_type) {
        expect_refusal(NULL, NULL, 0, "blk.0.attn_q.weight", GGUF_TENSOR_Q5_0, "q5_0");
        expect_refusal(NULL, NULL, 0, "blk.0.attn_norm.weight", GGUF_TENSOR_F16, "must be f32");
}

TEST(unknown_architecture) {
        _cleanup_(gguf_writer_freep) GgufWriter *w = NULL;
        char path[512], err[512] = "";
        Model *m = NULL;

        snprintf(path, sizeof path, "%s/arch.gguf", test_tmpdir());
        ASSERT_OK(gguf_writer_new(&w));
        ASSERT_OK(gguf_writer_add_str(w, "general.architecture", "mamba"));
        ASSERT_OK(gguf_writer_write(w, path));
        ASSERT_ERROR(model_load(path, &m, err, sizeof err), -EOPNOTSUPP);
        ASSERT_CONTAINS(err, "\"mamba\" is not supported");
}
