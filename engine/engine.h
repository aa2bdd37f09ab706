/* engine.h: the engine's public interface: a loaded model serving many sequences at once.
 * Sequences join and leave between steps; each step runs every active sequence one token further
 * (or a chunk of its prompt), so that the agent can batch concurrent requests (continuous batching). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "model.h"
#include "sampler.h"
#include "tokenizer.h"

typedef struct Engine Engine;

typedef struct EngineOptions {
        unsigned n_threads;     /* 0: one per CPU */
        uint32_t n_ctx;         /* positions per sequence; 0: the model's training context */
        uint32_t max_batch;     /* tokens per step over all sequences; 0: 256 */
        uint32_t max_seqs;      /* active sequences at once; 0: 64 */
} EngineOptions;

typedef enum EngineFinish {
        ENGINE_FINISH_NONE,   /* still generating */
        ENGINE_FINISH_STOP,   /* the model produced an end-of-generation token (not reported as text) */
        ENGINE_FINISH_LENGTH, /* max_tokens reached, or the context is full */
} EngineFinish;

/* What one step produced for one sequence. */
typedef struct EngineEvent {
        uint64_t seq;
        int32_t token;       /* the sampled token; for STOP, the end-of-generation token */
        EngineFinish finish; /* set on the sequence's last event; the sequence is then inactive */
} EngineEvent;

/* Opens a GGUF model and its tokenizer. err gets one line naming the problem. */
int engine_open(const char *path, const EngineOptions *o, Engine **ret, char *err, size_t errsz);
Engine *engine_free(Engine *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(Engine *, engine_free);

const Model *engine_model(const Engine *e);
const Tokenizer *engine_tokenizer(const Engine *e);
uint32_t engine_n_ctx(const Engine *e);
unsigned engine_n_threads(const Engine *e);
/* The machine's memory read bandwidth in bytes/s, measured with the engine's threads (takes about a
 * second and 512 MiB). */
int engine_measure_bandwidth(Engine *e, double *ret);

/* Adds a sequence that will read prompt (n tokens, copied) and then generate up to max_tokens.
 * Rejects an empty prompt or invalid sampler params (-EINVAL), a prompt that with max_tokens does
 * not fit the context (-E2BIG: the caller reports "prompt of N tokens + M exceeds context C"), and
 * more than max_seqs active sequences (-EBUSY). *ret_id identifies it in events. */
int engine_seq_add(Engine *e, const int32_t *prompt, size_t n, const SamplerParams *sp, uint32_t max_tokens,
                   uint64_t *ret_id);
/* Removes a sequence (finished or not) and frees its cache. -ENOENT for an unknown id. */
int engine_seq_remove(Engine *e, uint64_t id);
size_t engine_n_active(const Engine *e);

/* Runs one step over all active sequences and writes one event per sequence that produced a token
 * (at most max_events; events must hold engine_n_active() entries to see them all). Sequences still
 * reading their prompt produce no event until the last prompt chunk. Returns 0 or a negative errno. */
int engine_step(Engine *e, EngineEvent *events, size_t max_events, size_t *ret_n);

/* Logits of every position of a prompt (n * vocab floats into out), for agreement tests and
 * `sluice logits`. Uses a private cache; does not touch active sequences. */
int engine_prompt_logits(Engine *e, const int32_t *tokens, size_t n, float *out);
