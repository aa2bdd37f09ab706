/* model.c: hyper-parameters and weight tensors of llama/qwen2 models, validated against GGUF. */
#include "model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errorf.h"
#include "quant.h"

const char *model_arch_name(ModelArch a) {
        return a == MODEL_ARCH_QWEN2 ? "qwen2" : "llama";
}

/* "<arch>.<suffix>" as a u32; optional keys keep *ret when absent. */
static int arch_u32(const Gguf *g, const char *arch, const char *suffix, bool required, uint32_t *ret, char *err,
                    size_t errsz) {
        char key[128];
        int r;

        snprintf(key, sizeof key, "%s.%s", arch, suffix);
        if (!required && gguf_find_key(g, key) < 0)
                return 0;
        r = gguf_get_u32(g, key, ret, err, errsz);
        if (r >= 0 && *ret == 0)
                return errorf(err, errsz, -EINVAL, "model: %s must not be 0", key);
        return r;
}

static int arch_f32(const Gguf *g, const char *arch, const char *suffix, float *ret, char *err, size_t errsz) {
        char key[128];

        snprintf(key, sizeof key, "%s.%s", arch, suffix);
        if (gguf_find_key(g, key) < 0)
                return 0;
        return gguf_get_f32(g, key, ret, err, errsz);
}

static int read_arch(const Gguf *g, Config *c, char *err, size_t errsz) {
        const char *s;
        size_t len;
        int r;

        r = gguf_get_str(g, "general.architecture", &s, &len, err, errsz);
        if (r < 0)
                return r;
        if (len == 5 && strneq(s, "llama", 5))
                c->arch = MODEL_ARCH_LLAMA;
        else if (len == 5 && strneq(s, "qwen2", 5))
                c->arch = MODEL_ARCH_QWEN2;
        else
                return errorf(err, errsz, -EOPNOTSUPP,
                              "model: architecture \"%.*s\" is not supported (supported: llama, qwen2)",
                              (int) MIN(len, (size_t) 64), s);
        c->rope_neox = c->arch == MODEL_ARCH_QWEN2;
        c->qkv_bias = c->arch == MODEL_ARCH_QWEN2;
        if (gguf_get_str(g, "general.name", &s, &len, NULL, 0) >= 0)
                snprintf(c->name, sizeof c->name, "%.*s", (int) MIN(len, sizeof c->name - 1), s);
        return 0;
}

static int read_config(const Gguf *g, Config *c, char *err, size_t errsz) {
        const char *arch;
        uint32_t key_len = 0, rope_dims = 0;
        int r;

        r = read_arch(g, c, err, errsz);
        if (r < 0)
                return r;
        arch = model_arch_name(c->arch);
        c->rope_theta = 10000.0f;
        c->norm_eps = 1e-5f;
        if ((r = arch_u32(g, arch, "embedding_length", true, &c->dim, err, errsz)) < 0 ||
            (r = arch_u32(g, arch, "feed_forward_length", true, &c->hidden_dim, err, errsz)) < 0 ||
            (r = arch_u32(g, arch, "block_count", true, &c->n_layers, err, errsz)) < 0 ||
            (r = arch_u32(g, arch, "attention.head_count", true, &c->n_heads, err, errsz)) < 0 ||
            (r = arch_u32(g, arch, "context_length", true, &c->n_ctx_train, err, errsz)) < 0)
                return r;
        c->n_kv_heads = c->n_heads;
        if ((r = arch_u32(g, arch, "attention.head_count_kv", false, &c->n_kv_heads, err, errsz)) < 0 ||
            (r = arch_u32(g, arch, "attention.key_length", false, &key_len, err, errsz)) < 0 ||
            (r = arch_u32(g, arch, "rope.dimension_count", false, &rope_dims, err, errsz)) < 0 ||
            (r = arch_f32(g, arch, "attention.layer_norm_rms_epsilon", &c->norm_eps, err, errsz)) < 0 ||
            (r = arch_f32(g, arch, "rope.freq_base", &c->rope_theta, err, errsz)) < 0)
                return r;
        if (c->n_layers > 1024 || c->n_heads > 1024 || c->dim > 65536 || c->hidden_dim > 262144)
                return errorf(err, errsz, -EINVAL,
                              "model: hyper-parameters out of range (%u layers, %u heads, dim %u)", c->n_layers,
                              c->n_heads, c->dim);
        if (c->n_heads % c->n_kv_heads != 0)
                return errorf(err, errsz, -EINVAL,
                              "model: %s.attention.head_count %u is not a multiple of head_count_kv %u", arch,
                              c->n_heads, c->n_kv_heads);
        c->head_dim = key_len ? key_len : c->dim / c->n_heads;
        if (!key_len && c->dim % c->n_heads != 0)
                return errorf(err, errsz, -EINVAL, "model: embedding_length %u is not a multiple of head_count %u",
                              c->dim, c->n_heads);
        if (c->head_dim % 2 != 0 || c->head_dim > 1024)
                return errorf(err, errsz, -EINVAL, "model: head dimension %u must be even and <= 1024", c->head_dim);
        if (rope_dims && rope_dims != c->head_dim)
                return errorf(err, errsz, -EOPNOTSUPP,
                              "model: partial rope (%s.rope.dimension_count %u of %u) is not supported", arch,
                              rope_dims, c->head_dim);
        if (!(c->norm_eps > 0) || !(c->rope_theta > 0))
                return errorf(err, errsz, -EINVAL, "model: rms epsilon and rope.freq_base must be positive");
        return 0;
}

/* Looks up a tensor and checks its type is computable and its shape is (rows, cols). rows 0: any. */
static int get_tensor(const Gguf *g, const char *name, uint32_t rows, uint32_t cols, bool f32_only, bool optional,
                      Tensor *ret, char *err, size_t errsz) {
        const GgufTensorInfo *t;
        uint64_t t_rows;
        int r;

        if (optional && gguf_find_tensor(g, name) < 0) {
                *ret = (Tensor){};
                return 0;
        }
        r = gguf_get_tensor(g, name, &t, err, errsz);
        if (r < 0)
                return errorf(err, errsz, r, "model: missing tensor \"%s\"", name);
        r = gguf_tensor_check_supported(t, err, errsz);
        if (r < 0)
                return r;
        if (f32_only && t->type != GGUF_TENSOR_F32)
                return errorf(err, errsz, -EINVAL, "model: tensor \"%s\" must be f32, not %s", name,
                              gguf_type_name(t->type));
        t_rows = t->n_dims >= 2 ? t->ne[1] : 1;
        if (t->n_dims > 2 || t->ne[0] != cols || (rows && t_rows != rows) || t_rows > UINT32_MAX)
                return errorf(err, errsz, -EINVAL, "model: tensor \"%s\" has shape [%llu, %llu], expected [%u, %u]",
                              name, (unsigned long long) t->ne[0], (unsigned long long) t_rows, cols, rows);
        *ret = (Tensor){
                .data = t->data, .type = t->type, .rows = (uint32_t) t_rows, .cols = cols,
                .row_bytes = quant_row_size(t->type, cols),
        };
        return 0;
}

static int get_layer(const Gguf *g, const Config *c, uint32_t i, LayerWeights *l, char *err, size_t errsz) {
        uint32_t q_dim = c->n_heads * c->head_dim, kv_dim = c->n_kv_heads * c->head_dim;
        struct {
                const char *suffix;
                Tensor *t;
                uint32_t rows, cols;
                bool f32, optional;
        } want[] = {
                { "attn_norm.weight", &l->attn_norm, 1, c->dim, true, false },
                { "attn_q.weight", &l->wq, q_dim, c->dim, false, false },
                { "attn_k.weight", &l->wk, kv_dim, c->dim, false, false },
                { "attn_v.weight", &l->wv, kv_dim, c->dim, false, false },
                { "attn_output.weight", &l->wo, c->dim, q_dim, false, false },
                { "ffn_norm.weight", &l->ffn_norm, 1, c->dim, true, false },
                { "ffn_gate.weight", &l->w_gate, c->hidden_dim, c->dim, false, false },
                { "ffn_up.weight", &l->w_up, c->hidden_dim, c->dim, false, false },
                { "ffn_down.weight", &l->w_down, c->dim, c->hidden_dim, false, false },
                { "attn_q.bias", &l->bq, 1, q_dim, true, !c->qkv_bias },
                { "attn_k.bias", &l->bk, 1, kv_dim, true, !c->qkv_bias },
                { "attn_v.bias", &l->bv, 1, kv_dim, true, !c->qkv_bias },
        };

        for (size_t k = 0; k < ELEMENTSOF(want); k++) {
                char name[96];
                int r;

                snprintf(name, sizeof name, "blk.%u.%s", i, want[k].suffix);
                r = get_tensor(g, name, want[k].rows, want[k].cols, want[k].f32, want[k].optional, want[k].t, err, errsz);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int read_weights(const Gguf *g, const Config *c, Weights *w, uint32_t *ret_vocab, char *err, size_t errsz) {
        int r;

        r = get_tensor(g, "token_embd.weight", 0, c->dim, false, false, &w->tok_embd, err, errsz);
        if (r < 0)
                return r;
        *ret_vocab = w->tok_embd.rows;
        if ((r = get_tensor(g, "output_norm.weight", 1, c->dim, true, false, &w->output_norm, err, errsz)) < 0 ||
            (r = get_tensor(g, "output.weight", *ret_vocab, c->dim, false, true, &w->output, err, errsz)) < 0 ||
            (r = get_tensor(g, "rope_freqs.weight", 1, c->head_dim / 2, true, true, &w->rope_freqs, err, errsz)) < 0)
                return r;
        w->layers = calloc(c->n_layers, sizeof *w->layers);
        if (!w->layers)
                return -ENOMEM;
        for (uint32_t i = 0; i < c->n_layers; i++) {
                r = get_layer(g, c, i, &w->layers[i], err, errsz);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void count_params(Model *m) {
        for (size_t i = 0; i < gguf_n_tensors(m->gguf); i++) {
                const GgufTensorInfo *t = gguf_tensor(m->gguf, i);
                m->n_params += t->n_elements;
                m->weight_bytes += t->size;
        }
}

int model_load_gguf(Gguf *g, Model **ret, char *err, size_t errsz) {
        _cleanup_(model_freep) Model *m = calloc(1, sizeof *m);
        int r;

        if (!m)
                return -ENOMEM;
        r = read_config(g, &m->config, err, errsz);
        if (r < 0)
                return r;
        r = read_weights(g, &m->config, &m->weights, &m->config.vocab_size, err, errsz);
        if (r < 0)
                return r;
        m->config.tied_output = m->weights.output.data == NULL;
        if (m->config.tied_output)
                m->weights.output = m->weights.tok_embd;
        m->gguf = g;
        count_params(m);
        *ret = TAKE_PTR(m);
        return 0;
}

int model_load(const char *path, Model **ret, char *err, size_t errsz) {
        _cleanup_(gguf_closep) Gguf *g = NULL;
        int r;

        r = gguf_open(path, &g, err, errsz);
        if (r < 0)
                return r;
        r = model_load_gguf(g, ret, err, errsz);
        if (r < 0)
                return r;
        TAKE_PTR(g);
        return 0;
}

Model *model_free(Model *m) {
        if (!m)
                return NULL;
        free(m->weights.layers);
        gguf_close(m->gguf);
        free(m);
        return NULL;
}
