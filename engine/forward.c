/* forward.c: llama/qwen2 forward pass on the CPU: RMSNorm, GQA attention with RoPE, SwiGLU. */
#include "forward.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quant.h"

int kvcache_init(KvCache *kv, const Config *c, uint32_t limit) {
        *kv = (KvCache){ .n_layers = c->n_layers, .kv_dim = c->n_kv_heads * c->head_dim, .limit = limit };
        kv->k = calloc(c->n_layers, sizeof *kv->k);
        kv->v = calloc(c->n_layers, sizeof *kv->v);
        if (!kv->k || !kv->v) {
                kvcache_done(kv);
                return -ENOMEM;
        }
        return 0;
}

int kvcache_reserve(KvCache *kv, uint32_t n) {
        uint32_t cap;

        if (n <= kv->cap)
                return 0;
        if (n > kv->limit)
                return -E2BIG;
        cap = MIN(kv->limit, MAX(n, MAX(kv->cap * 2, 64u)));
        for (uint32_t l = 0; l < kv->n_layers; l++) {
                float *k = realloc(kv->k[l], (size_t) cap * kv->kv_dim * sizeof(float));
                if (!k)
                        return -ENOMEM;
                kv->k[l] = k;
                float *v = realloc(kv->v[l], (size_t) cap * kv->kv_dim * sizeof(float));
                if (!v)
                        return -ENOMEM;
                kv->v[l] = v;
        }
        kv->cap = cap;
        return 0;
}

void kvcache_done(KvCache *kv) {
        for (uint32_t l = 0; kv->k && l < kv->n_layers; l++)
                free(kv->k[l]);
        for (uint32_t l = 0; kv->v && l < kv->n_layers; l++)
                free(kv->v[l]);
        free(kv->k);
        free(kv->v);
        *kv = (KvCache){};
}

int runstate_init(RunState *s, const Config *c, const Weights *w, uint32_t max_batch) {
        size_t b = max_batch, q_dim = (size_t) c->n_heads * c->head_dim, kv_dim = (size_t) c->n_kv_heads * c->head_dim;

        *s = (RunState){ .max_batch = max_batch };
        s->x = calloc(b * c->dim, sizeof(float));
        s->xb = calloc(b * c->dim, sizeof(float));
        s->q = calloc(b * q_dim, sizeof(float));
        s->k = calloc(b * kv_dim, sizeof(float));
        s->v = calloc(b * kv_dim, sizeof(float));
        s->att = calloc(b * q_dim, sizeof(float));
        s->hb = calloc(b * c->hidden_dim, sizeof(float));
        s->hb2 = calloc(b * c->hidden_dim, sizeof(float));
        s->inv_freq = calloc(c->head_dim / 2, sizeof(float));
        s->logit_outs = calloc(b, sizeof(float *));
        if (!s->x || !s->xb || !s->q || !s->k || !s->v || !s->att || !s->hb || !s->hb2 || !s->inv_freq ||
            !s->logit_outs) {
                runstate_done(s);
                return -ENOMEM;
        }
        for (uint32_t i = 0; i < c->head_dim / 2; i++) {
                s->inv_freq[i] = (float) (1.0 / pow(c->rope_theta, (double) (2 * i) / c->head_dim));
                if (w->rope_freqs.data)
                        s->inv_freq[i] /= ((const float *) w->rope_freqs.data)[i];
        }
        return 0;
}

void runstate_done(RunState *s) {
        free(s->x);
        free(s->xb);
        free(s->q);
        free(s->k);
        free(s->v);
        free(s->att);
        free(s->hb);
        free(s->hb2);
        free(s->inv_freq);
        free(s->logit_outs);
        *s = (RunState){};
}

/* ---- matrix products: out (n, W.rows) = in (n, W.cols) x W^T, split over rows ---- */

typedef struct MatmulJob {
        const Tensor *w;
        const float *in;
        float *out;
        size_t n;
        float *const *outs; /* optional: output of input i at outs[i] instead of out + i * w->rows */
} MatmulJob;

#define MATMUL_COL_BLOCK 256

static void matmul_rows(void *ctx, size_t begin, size_t end) {
        const MatmulJob *j = ctx;
        const Tensor *w = j->w;
        size_t cols = w->cols;

        if (j->n == 1) {
                float *out = j->outs ? j->outs[0] : j->out;
                for (size_t r = begin; r < end; r++)
                        out[r] = quant_dot(w->type, (const uint8_t *) w->data + r * w->row_bytes, j->in, cols);
                return;
        }
        /* several inputs: dequantise each block of the row once and use it for all of them */
        size_t bs = gguf_type_block_size(w->type), block = MAX(bs, (size_t) MATMUL_COL_BLOCK);
        float buf[MAX(QK_K, MATMUL_COL_BLOCK)], acc[FORWARD_MAX_BATCH];
        for (size_t r = begin; r < end; r++) {
                const uint8_t *row = (const uint8_t *) w->data + r * w->row_bytes;
                memset(acc, 0, j->n * sizeof(float));
                for (size_t c = 0; c < cols; c += block) {
                        size_t len = MIN(block, cols - c);
                        quant_dequantize_row(w->type, row + c / bs * gguf_type_block_bytes(w->type), buf, len);
                        for (size_t i = 0; i < j->n; i++)
                                acc[i] += quant_dot(GGUF_TENSOR_F32, buf, j->in + i * cols + c, len);
                }
                for (size_t i = 0; i < j->n; i++)
                        (j->outs ? j->outs[i] : j->out + i * w->rows)[r] = acc[i];
        }
}

static void matmul(ThreadPool *pool, const Tensor *w, const float *in, float *out, size_t n) {
        MatmulJob j = { .w = w, .in = in, .out = out, .n = n };
        threadpool_run(pool, matmul_rows, &j, w->rows, 16);
}

static void matmul_scatter(ThreadPool *pool, const Tensor *w, const float *in, float *const *outs, size_t n) {
        MatmulJob j = { .w = w, .in = in, .outs = outs, .n = n };
        threadpool_run(pool, matmul_rows, &j, w->rows, 16);
}

/* ---- element-wise ops ---- */

static void rmsnorm(float *out, const float *x, const float *weight, uint32_t n, float eps) {
        double ss = 0;
        for (uint32_t i = 0; i < n; i++)
                ss += (double) x[i] * x[i];
        float scale = (float) (1.0 / sqrt(ss / n + eps));
        for (uint32_t i = 0; i < n; i++)
                out[i] = x[i] * scale * weight[i];
}

static void add_bias(float *x, const Tensor *b, size_t n, uint32_t dim) {
        if (!b->data)
                return;
        for (size_t i = 0; i < n; i++)
                for (uint32_t d = 0; d < dim; d++)
                        x[i * dim + d] += ((const float *) b->data)[d];
}

/* Rotates each head of vec (n_heads * head_dim) by position pos. */
static void rope(float *vec, uint32_t n_heads, const Config *c, const float *inv_freq, uint32_t pos) {
        uint32_t half = c->head_dim / 2;

        for (uint32_t h = 0; h < n_heads; h++) {
                float *v = vec + (size_t) h * c->head_dim;
                for (uint32_t i = 0; i < half; i++) {
                        float angle = (float) pos * inv_freq[i], co = cosf(angle), si = sinf(angle);
                        uint32_t a = c->rope_neox ? i : 2 * i, b = c->rope_neox ? i + half : 2 * i + 1;
                        float x0 = v[a], x1 = v[b];
                        v[a] = x0 * co - x1 * si;
                        v[b] = x0 * si + x1 * co;
                }
        }
}

/* ---- attention: one task per (item, head), online softmax over the item's cache ---- */

typedef struct AttentionJob {
        const Config *c;
        const BatchItem *items;
        const float *q;
        float *out;
        uint32_t layer;
} AttentionJob;

static void attention_heads(void *ctx, size_t begin, size_t end) {
        const AttentionJob *j = ctx;
        const Config *c = j->c;
        uint32_t hd = c->head_dim, kv_dim = c->n_kv_heads * hd, group = c->n_heads / c->n_kv_heads;
        float scale = 1.0f / sqrtf((float) hd);

        for (size_t t = begin; t < end; t++) {
                size_t i = t / c->n_heads;
                uint32_t h = (uint32_t) (t % c->n_heads), kvh = h / group;
                const BatchItem *it = &j->items[i];
                const float *q = j->q + (size_t) i * c->n_heads * hd + (size_t) h * hd;
                const float *kc = it->kv->k[j->layer] + kvh * hd, *vc = it->kv->v[j->layer] + kvh * hd;
                float *out = j->out + (size_t) i * c->n_heads * hd + (size_t) h * hd;
                float m = -INFINITY, sum = 0;

                memset(out, 0, hd * sizeof(float));
                for (uint32_t p = 0; p <= it->pos; p++) {
                        float s = quant_dot(GGUF_TENSOR_F32, q, kc + (size_t) p * kv_dim, hd) * scale;
                        const float *v = vc + (size_t) p * kv_dim;
                        if (s > m) { /* new maximum: rescale what was accumulated */
                                float f = expf(m - s);
                                sum *= f;
                                for (uint32_t d = 0; d < hd; d++)
                                        out[d] *= f;
                                m = s;
                        }
                        float e = expf(s - m);
                        sum += e;
                        for (uint32_t d = 0; d < hd; d++)
                                out[d] += e * v[d];
                }
                for (uint32_t d = 0; d < hd; d++)
                        out[d] /= sum;
        }
}

/* ---- the layers ---- */

static void attention_block(const Model *m, RunState *s, ThreadPool *pool, BatchItem *items, size_t n, uint32_t l) {
        const Config *c = &m->config;
        const LayerWeights *w = &m->weights.layers[l];
        uint32_t q_dim = c->n_heads * c->head_dim, kv_dim = c->n_kv_heads * c->head_dim;

        for (size_t i = 0; i < n; i++)
                rmsnorm(s->xb + i * c->dim, s->x + i * c->dim, w->attn_norm.data, c->dim, c->norm_eps);
        matmul(pool, &w->wq, s->xb, s->q, n);
        matmul(pool, &w->wk, s->xb, s->k, n);
        matmul(pool, &w->wv, s->xb, s->v, n);
        add_bias(s->q, &w->bq, n, q_dim);
        add_bias(s->k, &w->bk, n, kv_dim);
        add_bias(s->v, &w->bv, n, kv_dim);
        for (size_t i = 0; i < n; i++) {
                rope(s->q + i * q_dim, c->n_heads, c, s->inv_freq, items[i].pos);
                rope(s->k + i * kv_dim, c->n_kv_heads, c, s->inv_freq, items[i].pos);
                memcpy(items[i].kv->k[l] + (size_t) items[i].pos * kv_dim, s->k + i * kv_dim, kv_dim * sizeof(float));
                memcpy(items[i].kv->v[l] + (size_t) items[i].pos * kv_dim, s->v + i * kv_dim, kv_dim * sizeof(float));
        }
        AttentionJob aj = { .c = c, .items = items, .q = s->q, .out = s->att, .layer = l };
        threadpool_run(pool, attention_heads, &aj, n * c->n_heads, 1);
        matmul(pool, &w->wo, s->att, s->xb, n);
        for (size_t i = 0; i < n * c->dim; i++)
                s->x[i] += s->xb[i];
}

static void ffn_block(const Model *m, RunState *s, ThreadPool *pool, size_t n, uint32_t l) {
        const Config *c = &m->config;
        const LayerWeights *w = &m->weights.layers[l];

        for (size_t i = 0; i < n; i++)
                rmsnorm(s->xb + i * c->dim, s->x + i * c->dim, w->ffn_norm.data, c->dim, c->norm_eps);
        matmul(pool, &w->w_gate, s->xb, s->hb, n);
        matmul(pool, &w->w_up, s->xb, s->hb2, n);
        for (size_t i = 0; i < n * c->hidden_dim; i++) {
                float g = s->hb[i];
                s->hb[i] = g / (1.0f + expf(-g)) * s->hb2[i]; /* SwiGLU: silu(gate) * up */
        }
        matmul(pool, &w->w_down, s->hb, s->xb, n);
        for (size_t i = 0; i < n * c->dim; i++)
                s->x[i] += s->xb[i];
}

/* Items of the same sequence must come in position order and continue its cache. */
static int check_batch(const Model *m, BatchItem *items, size_t n) {
        for (size_t i = 0; i < n; i++) {
                uint32_t expect = items[i].kv->len;
                if (items[i].token < 0 || (uint32_t) items[i].token >= m->config.vocab_size)
                        return -EINVAL;
                for (size_t k = 0; k < i; k++)
                        if (items[k].kv == items[i].kv)
                                expect++;
                if (items[i].pos != expect)
                        return -EINVAL;
                if (items[i].pos >= items[i].kv->limit)
                        return -E2BIG;
        }
        return 0;
}

/* Gathers the normed states that want logits into the first rows of xb and runs the output
 * projection once over all of them, each result going straight to its item's buffer. */
static void output_logits(const Model *m, RunState *s, ThreadPool *pool, BatchItem *items, size_t n) {
        const Config *c = &m->config;
        size_t k = 0;

        for (size_t i = 0; i < n; i++)
                if (items[i].logits) {
                        rmsnorm(s->xb + k * c->dim, s->x + i * c->dim, m->weights.output_norm.data, c->dim, c->norm_eps);
                        s->logit_outs[k++] = items[i].logits;
                }
        if (k > 0)
                matmul_scatter(pool, &m->weights.output, s->xb, s->logit_outs, k);
}

int forward(const Model *m, RunState *s, ThreadPool *pool, BatchItem *items, size_t n) {
        const Config *c = &m->config;
        int r;

        if (n == 0 || n > s->max_batch)
                return -EINVAL;
        r = check_batch(m, items, n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = kvcache_reserve(items[i].kv, items[i].pos + 1);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n; i++) {
                const Tensor *e = &m->weights.tok_embd;
                quant_dequantize_row(e->type, (const uint8_t *) e->data + (size_t) items[i].token * e->row_bytes,
                                     s->x + i * c->dim, c->dim);
        }
        for (uint32_t l = 0; l < c->n_layers; l++) {
                attention_block(m, s, pool, items, n, l);
                ffn_block(m, s, pool, n, l);
        }
        for (size_t i = 0; i < n; i++)
                items[i].kv->len = MAX(items[i].kv->len, items[i].pos + 1);
        output_logits(m, s, pool, items, n);
        return 0;
}
