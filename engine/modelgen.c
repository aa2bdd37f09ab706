/* modelgen.c: random-weight llama/qwen2 GGUF files, bit-for-bit reproducible from a seed. */
#include "modelgen.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errorf.h"
#include "gguf-write.h"
#include "quant.h"

static const struct {
        const char *name;
        ModelGenParams p;
} presets[] = {
        { "tiny", { MODEL_ARCH_LLAMA, 64, 2, 4, 2, 192, 0, 512, 10000.0f, true } },
        { "qwen2-tiny", { MODEL_ARCH_QWEN2, 64, 2, 4, 2, 192, 0, 512, 1000000.0f, false } },
        { "llama-100m", { MODEL_ARCH_LLAMA, 768, 12, 12, 4, 2048, 32000, 2048, 10000.0f, false } },
        { "llama-3.2-1b", { MODEL_ARCH_LLAMA, 2048, 16, 32, 8, 8192, 128256, 131072, 500000.0f, true } },
        { "llama-3-8b", { MODEL_ARCH_LLAMA, 4096, 32, 32, 8, 14336, 128256, 8192, 500000.0f, false } },
};

const char *const *modelgen_preset_names(void) {
        static const char *names[ELEMENTSOF(presets) + 1];
        for (size_t i = 0; i < ELEMENTSOF(presets); i++)
                names[i] = presets[i].name;
        return names;
}

int modelgen_preset(const char *name, ModelGenParams *p) {
        for (size_t i = 0; i < ELEMENTSOF(presets); i++)
                if (streq(presets[i].name, name)) {
                        ModelGenParams keep = *p;
                        *p = presets[i].p;
                        p->dtype = keep.dtype;
                        p->seed = keep.seed;
                        p->vocab_from = keep.vocab_from;
                        p->name = keep.name ? keep.name : presets[i].name;
                        if (keep.vocab_size)
                                p->vocab_size = keep.vocab_size;
                        return 0;
                }
        return -ENOENT;
}

/* ---- deterministic normal numbers: splitmix64 per tensor, Box-Muller ---- */

static uint64_t mix64(uint64_t *x) {
        uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}

static uint64_t name_seed(uint64_t seed, const char *name) {
        uint64_t h = seed ^ UINT64_C(0xcbf29ce484222325);
        for (const char *c = name; *c; c++)
                h = (h ^ (uint8_t) *c) * UINT64_C(0x100000001b3);
        return h;
}

static void fill_normal(float *x, size_t n, float stddev, uint64_t seed) {
        for (size_t i = 0; i < n; i += 2) {
                double u1 = ((double) (mix64(&seed) >> 11) + 1) * 0x1p-53, u2 = (double) (mix64(&seed) >> 11) * 0x1p-53;
                double r = sqrt(-2 * log(u1));
                x[i] = (float) (r * cos(2 * M_PI * u2)) * stddev;
                if (i + 1 < n)
                        x[i + 1] = (float) (r * sin(2 * M_PI * u2)) * stddev;
        }
}

/* ---- tensors ---- */

typedef struct GenTensor {
        char name[64];
        uint64_t rows, cols;
        bool norm, f32;
        void *data;
        size_t size;
} GenTensor;

typedef struct GenPlan {
        GenTensor *t;
        size_t n, cap;
} GenPlan;

static int plan_add(GenPlan *p, const char *name, uint64_t rows, uint64_t cols, bool norm, bool f32) {
        if (p->n == p->cap) {
                size_t cap = p->cap ? p->cap * 2 : 64;
                GenTensor *t = realloc(p->t, cap * sizeof *t);
                if (!t)
                        return -ENOMEM;
                p->t = t;
                p->cap = cap;
        }
        p->t[p->n] = (GenTensor){ .rows = rows, .cols = cols, .norm = norm, .f32 = f32 };
        snprintf(p->t[p->n].name, sizeof p->t[p->n].name, "%s", name);
        p->n++;
        return 0;
}

static int plan_model(const ModelGenParams *p, GenPlan *plan) {
        uint32_t hd = p->dim / p->n_heads, q = p->n_heads * hd, kv = p->n_kv_heads * hd;
        int r = plan_add(plan, "token_embd.weight", p->vocab_size, p->dim, false, false);

        if (r >= 0)
                r = plan_add(plan, "output_norm.weight", 1, p->dim, true, true);
        if (r >= 0 && !p->tied)
                r = plan_add(plan, "output.weight", p->vocab_size, p->dim, false, false);
        for (uint32_t l = 0; r >= 0 && l < p->n_layers; l++) {
                const struct {
                        const char *s;
                        uint64_t rows, cols;
                        bool norm, f32;
                } lt[] = {
                        { "attn_norm.weight", 1, p->dim, true, true }, { "attn_q.weight", q, p->dim, false, false },
                        { "attn_k.weight", kv, p->dim, false, false }, { "attn_v.weight", kv, p->dim, false, false },
                        { "attn_output.weight", p->dim, q, false, false }, { "ffn_norm.weight", 1, p->dim, true, true },
                        { "ffn_gate.weight", p->hidden_dim, p->dim, false, false },
                        { "ffn_up.weight", p->hidden_dim, p->dim, false, false },
                        { "ffn_down.weight", p->dim, p->hidden_dim, false, false },
                        { "attn_q.bias", 1, q, false, true }, { "attn_k.bias", 1, kv, false, true },
                        { "attn_v.bias", 1, kv, false, true },
                };
                size_t n = p->arch == MODEL_ARCH_QWEN2 ? ELEMENTSOF(lt) : ELEMENTSOF(lt) - 3;
                for (size_t k = 0; r >= 0 && k < n; k++) {
                        char name[64];
                        snprintf(name, sizeof name, "blk.%u.%s", l, lt[k].s);
                        r = plan_add(plan, name, lt[k].rows, lt[k].cols, lt[k].norm, lt[k].f32);
                }
        }
        return r;
}

/* Generates and quantises one tensor, row by row. */
static int gen_tensor(GenTensor *t, GgufTensorType dtype, uint64_t seed) {
        GgufTensorType type = t->f32 ? GGUF_TENSOR_F32 : dtype;
        size_t row_bytes = quant_row_size(type, t->cols);
        _cleanup_free_ float *row = malloc(t->cols * sizeof(float));

        if (!row || row_bytes == 0)
                return row ? -EINVAL : -ENOMEM;
        t->size = row_bytes * t->rows;
        t->data = malloc(t->size);
        if (!t->data)
                return -ENOMEM;
        for (uint64_t r = 0; r < t->rows; r++) {
                if (t->norm)
                        for (uint64_t c = 0; c < t->cols; c++)
                                row[c] = 1.0f;
                else
                        fill_normal(row, t->cols, 0.02f, name_seed(seed, t->name) + r * UINT64_C(0x9e3779b97f4a7c15));
                (void) quant_quantize_row(type, row, (uint8_t *) t->data + r * row_bytes, t->cols);
        }
        return 0;
}

/* ---- metadata ---- */

/* The three per-token arrays of a vocabulary, padded to the embedding's row count with "[PADn]"
 * tokens of type unused (as llama.cpp's converter does), so that every reader agrees on the size. */
typedef struct VocabArrays {
        const char **text;
        size_t *len;
        float *scores;
        int32_t *types;
        char (*pad)[16];
        uint32_t n, n_real;
        bool has_scores, has_types; /* written only when the source had them (or padding needs types) */
} VocabArrays;

static void vocab_arrays_done(VocabArrays *v) {
        free(v->text);
        free(v->len);
        free(v->scores);
        free(v->types);
        free(v->pad);
}

static int vocab_arrays_alloc(VocabArrays *v, uint32_t n_real, uint32_t n) {
        *v = (VocabArrays){ .n = n, .n_real = n_real, .has_scores = true, .has_types = true };
        v->text = calloc(n, sizeof *v->text);
        v->len = calloc(n, sizeof *v->len);
        v->scores = calloc(n, sizeof *v->scores);
        v->types = calloc(n, sizeof *v->types);
        v->pad = calloc(n - n_real + 1, sizeof *v->pad);
        if (!v->text || !v->len || !v->scores || !v->types || !v->pad)
                return -ENOMEM;
        for (uint32_t i = n_real; i < n; i++) {
                snprintf(v->pad[i - n_real], sizeof v->pad[0], "[PAD%u]", i);
                v->text[i] = v->pad[i - n_real];
                v->len[i] = strlen(v->text[i]);
                v->types[i] = 5; /* unused */
        }
        return 0;
}

static int vocab_arrays_write(GgufWriter *w, const VocabArrays *v) {
        int r = gguf_writer_add_strn_array(w, "tokenizer.ggml.tokens", v->text, v->len, v->n);
        if (r >= 0 && v->has_scores)
                r = gguf_writer_add_array(w, "tokenizer.ggml.scores", GGUF_VALUE_FLOAT32, v->scores, v->n);
        if (r >= 0 && (v->has_types || v->n > v->n_real))
                r = gguf_writer_add_array(w, "tokenizer.ggml.token_type", GGUF_VALUE_INT32, v->types, v->n);
        return r;
}

int modelgen_write_byte_vocab(GgufWriter *w, uint32_t n) {
        static const char *const specials[3] = { "<unk>", "<s>", "</s>" };
        char bytes[256][8];
        VocabArrays v;
        int r = vocab_arrays_alloc(&v, 259, MAX(n, 259u));

        for (int i = 0; r >= 0 && i < 259; i++) {
                if (i < 3)
                        v.text[i] = specials[i];
                else {
                        snprintf(bytes[i - 3], sizeof bytes[0], "<0x%02X>", i - 3);
                        v.text[i] = bytes[i - 3];
                }
                v.len[i] = strlen(v.text[i]);
                v.types[i] = i == 0 ? 2 : i < 3 ? 3 : 6; /* unknown, control, byte */
        }
        if (r >= 0)
                r = gguf_writer_add_str(w, "tokenizer.ggml.model", "llama");
        if (r >= 0)
                r = vocab_arrays_write(w, &v);
        if (r >= 0)
                r = gguf_writer_add_u32(w, "tokenizer.ggml.unknown_token_id", 0);
        if (r >= 0)
                r = gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", 1);
        if (r >= 0)
                r = gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", 2);
        if (r >= 0)
                r = gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token", true);
        vocab_arrays_done(&v);
        return r;
}

/* Reads src's token list (with scores and types where it has them) into v, padded to n. */
static int read_vocab_arrays(const Gguf *src, uint32_t n, VocabArrays *v, char *err, size_t errsz) {
        GgufArray toks, scores = {}, types = {};
        int r;

        r = gguf_get_array(src, "tokenizer.ggml.tokens", GGUF_VALUE_STRING, &toks, err, errsz);
        if (r < 0)
                return r;
        if (toks.n > n && n)
                return errorf(err, errsz, -EINVAL,
                              "model mk: vocab size %u is smaller than the tokenizer's %llu tokens", n,
                              (unsigned long long) toks.n);
        bool have_scores = gguf_find_key(src, "tokenizer.ggml.scores") >= 0, have_types = gguf_find_key(src, "tokenizer.ggml.token_type") >= 0;
        if ((have_scores && (r = gguf_get_array(src, "tokenizer.ggml.scores", GGUF_VALUE_FLOAT32, &scores, err, errsz)) < 0) ||
            (have_types && (r = gguf_get_array(src, "tokenizer.ggml.token_type", GGUF_VALUE_INT32, &types, err, errsz)) < 0))
                return r;
        r = vocab_arrays_alloc(v, (uint32_t) toks.n, MAX(n, (uint32_t) toks.n));
        v->has_scores = have_scores;
        v->has_types = have_types;
        for (uint64_t i = 0; r >= 0 && i < toks.n; i++) {
                double f = 0;
                int64_t t = 1;
                r = gguf_array_get_str(&toks, i, &v->text[i], &v->len[i]);
                if (r >= 0 && have_scores && i < scores.n)
                        r = gguf_array_get_float(&scores, i, &f);
                if (r >= 0 && have_types && i < types.n)
                        r = gguf_array_get_int(&types, i, &t);
                v->scores[i] = (float) f;
                v->types[i] = (int32_t) t;
        }
        return r;
}

int modelgen_copy_vocab(GgufWriter *w, const Gguf *src, uint32_t n, uint32_t *ret_n, char *err, size_t errsz) {
        VocabArrays v = {};
        int r = read_vocab_arrays(src, n, &v, err, errsz);

        if (r >= 0)
                r = vocab_arrays_write(w, &v);
        for (size_t i = 0; r >= 0 && i < gguf_n_kv(src); i++) {
                const char *key = gguf_kv_key(src, i);
                GgufValue val;
                if (!strneq(key, "tokenizer.", 10) || streq(key, "tokenizer.ggml.tokens") ||
                    streq(key, "tokenizer.ggml.scores") || streq(key, "tokenizer.ggml.token_type"))
                        continue;
                r = gguf_kv_value(src, i, &val);
                if (r >= 0)
                        r = gguf_writer_add_value(w, key, &val);
                if (r < 0)
                        errorf(err, errsz, r, "model mk: cannot copy %s: %s", key, gguf_writer_error(w));
        }
        if (r >= 0)
                *ret_n = v.n;
        vocab_arrays_done(&v);
        return r;
}

static int write_hparams(GgufWriter *w, const ModelGenParams *p) {
        const char *arch = model_arch_name(p->arch);
        char key[128];
        int r = 0;
        const struct {
                const char *k;
                uint32_t v;
        } u[] = {
                { "context_length", p->n_ctx }, { "embedding_length", p->dim }, { "block_count", p->n_layers },
                { "feed_forward_length", p->hidden_dim }, { "attention.head_count", p->n_heads },
                { "attention.head_count_kv", p->n_kv_heads }, { "rope.dimension_count", p->dim / p->n_heads },
        };

        if ((r = gguf_writer_add_str(w, "general.architecture", arch)) < 0 ||
            (r = gguf_writer_add_str(w, "general.name", p->name ? p->name : "sluice random model")) < 0 ||
            (r = gguf_writer_add_u32(w, "general.file_type", 0)) < 0)
                return r;
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(u); i++) {
                snprintf(key, sizeof key, "%s.%s", arch, u[i].k);
                r = gguf_writer_add_u32(w, key, u[i].v);
        }
        snprintf(key, sizeof key, "%s.rope.freq_base", arch);
        if (r >= 0)
                r = gguf_writer_add_f32(w, key, p->rope_theta);
        snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", arch);
        if (r >= 0)
                r = gguf_writer_add_f32(w, key, 1e-5f);
        return r;
}

static int check_params(const ModelGenParams *p, char *err, size_t errsz) {
        size_t bs = gguf_type_block_size(p->dtype);

        if (!p->dim || !p->n_layers || !p->n_heads || !p->n_kv_heads || !p->hidden_dim || !p->n_ctx)
                return errorf(err, errsz, -EINVAL, "model mk: dim, layers, heads, kv-heads, ffn and ctx must be > 0");
        if (p->dim % p->n_heads || p->n_heads % p->n_kv_heads || (p->dim / p->n_heads) % 2)
                return errorf(err, errsz, -EINVAL,
                              "model mk: dim %u must split into %u heads of even size, and heads into %u kv-heads",
                              p->dim, p->n_heads, p->n_kv_heads);
        if (!gguf_type_is_supported(p->dtype) || p->dim % bs || p->hidden_dim % bs)
                return errorf(err, errsz, -EINVAL, "model mk: dtype %s needs dim and ffn to be multiples of %zu",
                              gguf_type_name(p->dtype) ?: "?", bs);
        return 0;
}

int modelgen_write(const ModelGenParams *p_in, const char *path, void (*progress)(uint64_t, uint64_t), char *err,
                   size_t errsz) {
        _cleanup_(gguf_writer_freep) GgufWriter *w = NULL;
        _cleanup_(gguf_closep) Gguf *src = NULL;
        ModelGenParams p = *p_in;
        GenPlan plan = {};
        uint32_t n_vocab = 259;
        uint64_t total = 0, done = 0;
        int r;

        r = check_params(&p, err, errsz);
        if (r < 0)
                return r;
        r = gguf_writer_new(&w);
        if (r < 0)
                return r;
        if (p.vocab_from) {
                r = gguf_open(p.vocab_from, &src, err, errsz);
                if (r < 0)
                        return r;
                r = modelgen_copy_vocab(w, src, p.vocab_size, &n_vocab, err, errsz);
        } else {
                r = modelgen_write_byte_vocab(w, p.vocab_size);
                n_vocab = MAX(p.vocab_size, n_vocab);
        }
        if (r < 0)
                return err && *err ? r : errorf(err, errsz, r, "model mk: vocabulary: %s", gguf_writer_error(w));
        if (!p.vocab_size)
                p.vocab_size = n_vocab;
        if (p.vocab_size < n_vocab)
                return errorf(err, errsz, -EINVAL, "model mk: vocab size %u is smaller than the tokenizer's %u tokens",
                              p.vocab_size, n_vocab);
        r = write_hparams(w, &p);
        if (r >= 0)
                r = plan_model(&p, &plan);
        for (size_t i = 0; r >= 0 && i < plan.n; i++)
                total += plan.t[i].rows * plan.t[i].cols;
        for (size_t i = 0; r >= 0 && i < plan.n; i++) {
                GenTensor *t = &plan.t[i];
                GgufTensorType type = t->f32 ? GGUF_TENSOR_F32 : p.dtype;
                uint64_t ne[2] = { t->cols, t->rows };
                r = gen_tensor(t, p.dtype, p.seed);
                if (r >= 0)
                        r = gguf_writer_add_tensor(w, t->name, type, t->rows > 1 ? 2 : 1, ne, t->data, t->size);
                done += t->rows * t->cols;
                if (progress)
                        progress(done, total);
        }
        if (r >= 0)
                r = gguf_writer_write(w, path);
        if (r < 0 && err && !*err)
                errorf(err, errsz, r, "model mk: %s: %s", path,
                       *gguf_writer_error(w) ? gguf_writer_error(w) : strerror(-r));
        for (size_t i = 0; i < plan.n; i++)
                free(plan.t[i].data);
        free(plan.t);
        return r;
}
