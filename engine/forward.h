/* forward.h: the CPU forward pass over a batch of tokens from any number of sequences. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "model.h"
#include "threadpool.h"

#define FORWARD_MAX_BATCH 512

/* One sequence's keys and values: per layer, (cap, kv_dim) floats; positions [0, len) are filled. */
typedef struct KvCache {
        float **k, **v;  /* n_layers pointers each */
        uint32_t n_layers, kv_dim;
        uint32_t cap;    /* positions allocated */
        uint32_t len;    /* positions written */
        uint32_t limit;  /* most positions it may ever hold (the context length) */
} KvCache;

/* Sets up an empty cache for model m holding at most limit positions. 0 or -ENOMEM. */
int kvcache_init(KvCache *kv, const Config *c, uint32_t limit);
/* Makes room for n positions. -E2BIG past the limit, -ENOMEM. */
int kvcache_reserve(KvCache *kv, uint32_t n);
void kvcache_done(KvCache *kv);

/* One token to run: appended to kv at position pos (== kv->len at the time of the call, in batch
 * order for items of the same sequence). When logits is not NULL, vocab_size logits are written. */
typedef struct BatchItem {
        KvCache *kv;
        int32_t token;
        uint32_t pos;
        float *logits;
} BatchItem;

/* Scratch memory for batches of up to max_batch items. */
typedef struct RunState {
        uint32_t max_batch;
        float *x;        /* (max_batch, dim) residual stream */
        float *xb;       /* (max_batch, dim) normed input of a sub-layer */
        float *q;        /* (max_batch, n_heads*head_dim) */
        float *k, *v;    /* (max_batch, n_kv_heads*head_dim) */
        float *att;      /* (max_batch, n_heads*head_dim) attention output */
        float *hb, *hb2; /* (max_batch, hidden_dim) gate and up */
        float *inv_freq; /* (head_dim/2) rope frequencies, rope_freqs divisors applied */
        float **logit_outs; /* (max_batch) where each row of logits goes */
} RunState;

int runstate_init(RunState *s, const Config *c, const Weights *w, uint32_t max_batch);
void runstate_done(RunState *s);

/* Runs n items (1 <= n <= s->max_batch) through the model: for each, appends its key/value to its
 * cache and, when asked, writes its logits. Rejects token ids outside the vocabulary and positions
 * that do not continue their cache (-EINVAL), a full cache (-E2BIG); then nothing is written. */
int forward(const Model *m, RunState *s, ThreadPool *pool, BatchItem *items, size_t n);
