/* engine.c: sequences, steps and chunked prefill on top of the CPU forward pass. */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errorf.h"
#include "forward.h"
#include "membw.h"
#include "threadpool.h"

typedef struct EngineSeq {
        uint64_t id;
        KvCache kv;
        int32_t *prompt;
        size_t n_prompt, n_fed;  /* prompt tokens, and how many the model has seen */
        int32_t next;            /* sampled, not yet fed; -1 while the prompt is being read */
        uint32_t max_tokens, n_generated;
        Sampler sampler;
        float *logits;           /* (vocab) */
        bool active;
} EngineSeq;

struct Engine {
        Model *model;
        Tokenizer *tok;
        ThreadPool *pool;
        RunState rs;
        EngineOptions opt;
        EngineSeq **seqs; /* max_seqs slots, NULL when free */
        uint64_t next_id;
        BatchItem *items;
        EngineSeq **item_seq; /* which sequence each batch item samples for, or NULL */
};

int engine_open(const char *path, const EngineOptions *o, Engine **ret, char *err, size_t errsz) {
        _cleanup_(engine_freep) Engine *e = calloc(1, sizeof *e);
        int r;

        if (!e)
                return -ENOMEM;
        e->opt = o ? *o : (EngineOptions){};
        if (!e->opt.max_batch)
                e->opt.max_batch = 256;
        if (!e->opt.max_seqs)
                e->opt.max_seqs = 64;
        if (e->opt.max_batch > FORWARD_MAX_BATCH)
                return errorf(err, errsz, -EINVAL, "engine: batch of %u tokens is over the limit of %d",
                              e->opt.max_batch, FORWARD_MAX_BATCH);
        r = model_load(path, &e->model, err, errsz);
        if (r < 0)
                return r;
        r = tokenizer_new_from_gguf(e->model->gguf, &e->tok, err, errsz);
        if (r < 0)
                return r;
        if (tokenizer_n_vocab(e->tok) > e->model->config.vocab_size)
                return errorf(err, errsz, -EINVAL, "engine: the tokenizer has %zu tokens but the model only %u",
                              tokenizer_n_vocab(e->tok), e->model->config.vocab_size);
        if (!e->opt.n_ctx || e->opt.n_ctx > e->model->config.n_ctx_train)
                e->opt.n_ctx = e->model->config.n_ctx_train;
        r = threadpool_new(e->opt.n_threads, &e->pool);
        if (r < 0)
                return errorf(err, errsz, r, "engine: cannot start threads: %s", strerror(-r));
        r = runstate_init(&e->rs, &e->model->config, &e->model->weights, e->opt.max_batch);
        e->seqs = calloc(e->opt.max_seqs, sizeof *e->seqs);
        e->items = calloc(e->opt.max_batch, sizeof *e->items);
        e->item_seq = calloc(e->opt.max_batch, sizeof *e->item_seq);
        if (r < 0 || !e->seqs || !e->items || !e->item_seq)
                return errorf(err, errsz, -ENOMEM, "engine: out of memory");
        *ret = TAKE_PTR(e);
        return 0;
}

static EngineSeq *seq_free(EngineSeq *s) {
        if (!s)
                return NULL;
        kvcache_done(&s->kv);
        sampler_done(&s->sampler);
        free(s->prompt);
        free(s->logits);
        free(s);
        return NULL;
}

Engine *engine_free(Engine *e) {
        if (!e)
                return NULL;
        for (uint32_t i = 0; e->seqs && i < e->opt.max_seqs; i++)
                seq_free(e->seqs[i]);
        free(e->seqs);
        free(e->items);
        free(e->item_seq);
        runstate_done(&e->rs);
        threadpool_free(e->pool);
        tokenizer_free(e->tok);
        model_free(e->model);
        free(e);
        return NULL;
}

const Model *engine_model(const Engine *e) {
        return e->model;
}

const Tokenizer *engine_tokenizer(const Engine *e) {
        return e->tok;
}

uint32_t engine_n_ctx(const Engine *e) {
        return e->opt.n_ctx;
}

unsigned engine_n_threads(const Engine *e) {
        return threadpool_size(e->pool);
}

int engine_measure_bandwidth(Engine *e, double *ret) {
        return membw_measure(e->pool, (size_t) 512 << 20, 5, ret);
}

size_t engine_n_active(const Engine *e) {
        size_t n = 0;
        for (uint32_t i = 0; i < e->opt.max_seqs; i++)
                n += e->seqs[i] && e->seqs[i]->active;
        return n;
}

int engine_seq_add(Engine *e, const int32_t *prompt, size_t n, const SamplerParams *sp, uint32_t max_tokens,
                   uint64_t *ret_id) {
        uint32_t vocab = e->model->config.vocab_size, slot;
        EngineSeq *s;
        int r;

        if (n == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (prompt[i] < 0 || (uint32_t) prompt[i] >= vocab)
                        return -EINVAL;
        if (n + (size_t) max_tokens > e->opt.n_ctx)
                return -E2BIG;
        for (slot = 0; slot < e->opt.max_seqs && e->seqs[slot]; slot++)
                ;
        if (slot == e->opt.max_seqs)
                return -EBUSY;
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        r = sampler_init(&s->sampler, sp, vocab);
        if (r >= 0)
                r = kvcache_init(&s->kv, &e->model->config, (uint32_t) (n + max_tokens));
        s->prompt = malloc(n * sizeof *s->prompt);
        s->logits = malloc((size_t) vocab * sizeof *s->logits);
        if (r < 0 || !s->prompt || !s->logits) {
                seq_free(s);
                return r < 0 ? r : -ENOMEM;
        }
        memcpy(s->prompt, prompt, n * sizeof *prompt);
        s->n_prompt = n;
        s->next = -1;
        s->max_tokens = max_tokens;
        s->active = max_tokens > 0;
        s->id = ++e->next_id;
        e->seqs[slot] = s;
        *ret_id = s->id;
        return 0;
}

int engine_seq_remove(Engine *e, uint64_t id) {
        for (uint32_t i = 0; i < e->opt.max_seqs; i++)
                if (e->seqs[i] && e->seqs[i]->id == id) {
                        e->seqs[i] = seq_free(e->seqs[i]);
                        return 0;
                }
        return -ENOENT;
}

static void add_item(Engine *e, size_t *n, EngineSeq *s, int32_t token, bool sample) {
        e->items[*n] = (BatchItem){
                .kv = &s->kv, .token = token, .pos = (uint32_t) (s->n_fed), .logits = sample ? s->logits : NULL,
        };
        e->item_seq[*n] = sample ? s : NULL;
        s->n_fed++;
        (*n)++;
}

/* Decoding sequences first (one token each, so none waits behind a long prompt), then prompt
 * chunks in the room left. */
static size_t build_batch(Engine *e) {
        size_t n = 0;

        for (uint32_t i = 0; i < e->opt.max_seqs && n < e->opt.max_batch; i++) {
                EngineSeq *s = e->seqs[i];
                if (s && s->active && s->next >= 0)
                        add_item(e, &n, s, s->next, true);
        }
        for (uint32_t i = 0; i < e->opt.max_seqs && n < e->opt.max_batch; i++) {
                EngineSeq *s = e->seqs[i];
                if (!s || !s->active || s->next >= 0)
                        continue;
                while (s->n_fed < s->n_prompt && n < e->opt.max_batch)
                        add_item(e, &n, s, s->prompt[s->n_fed], s->n_fed + 1 == s->n_prompt);
        }
        return n;
}

/* Undoes the feeding bookkeeping when forward() refused the batch. */
static void unwind_batch(Engine *e, size_t n) {
        for (size_t i = 0; i < n; i++)
                for (uint32_t k = 0; k < e->opt.max_seqs; k++)
                        if (e->seqs[k] && &e->seqs[k]->kv == e->items[i].kv)
                                e->seqs[k]->n_fed--;
}

int engine_step(Engine *e, EngineEvent *events, size_t max_events, size_t *ret_n) {
        size_t n = build_batch(e), k = 0;
        int r;

        *ret_n = 0;
        if (n == 0)
                return 0;
        r = forward(e->model, &e->rs, e->pool, e->items, n);
        if (r < 0) {
                unwind_batch(e, n);
                return r;
        }
        for (size_t i = 0; i < n; i++) {
                EngineSeq *s = e->item_seq[i];
                EngineFinish finish = ENGINE_FINISH_NONE;
                if (!s)
                        continue;
                int32_t tok = sampler_sample(&s->sampler, s->logits);
                s->n_generated++;
                if (tokenizer_is_eog(e->tok, tok))
                        finish = ENGINE_FINISH_STOP;
                else if (s->n_generated >= s->max_tokens || s->n_fed >= s->kv.limit)
                        finish = ENGINE_FINISH_LENGTH;
                s->next = tok;
                s->active = finish == ENGINE_FINISH_NONE;
                if (k < max_events)
                        events[k++] = (EngineEvent){ .seq = s->id, .token = tok, .finish = finish };
        }
        *ret_n = k;
        return 0;
}

int engine_prompt_logits(Engine *e, const int32_t *tokens, size_t n, float *out) {
        uint32_t vocab = e->model->config.vocab_size;
        KvCache kv;
        int r;

        if (n == 0 || n > e->opt.n_ctx)
                return n == 0 ? -EINVAL : -E2BIG;
        r = kvcache_init(&kv, &e->model->config, (uint32_t) n);
        if (r < 0)
                return r;
        for (size_t done = 0; r >= 0 && done < n;) {
                size_t chunk = MIN(n - done, (size_t) e->opt.max_batch);
                for (size_t i = 0; i < chunk; i++)
                        e->items[i] = (BatchItem){ .kv = &kv, .token = tokens[done + i], .pos = (uint32_t) (done + i),
                                                   .logits = out + (done + i) * vocab };
                r = forward(e->model, &e->rs, e->pool, e->items, chunk);
                done += chunk;
        }
        kvcache_done(&kv);
        return r;
}
