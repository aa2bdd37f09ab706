/* runner.h: the agent's engine host: a thread that loads models (fetched into the model cache) and
 * runs every generation routed here through the engine's batch interface, so that concurrent
 * requests share batches. It talks to the connection thread through two queues of frames. */
#pragma once

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

typedef struct Runner Runner;

typedef struct RunnerOptions {
        const char *data_dir;       /* models are cached in data_dir/models/<sha256>.gguf */
        unsigned threads;           /* engine threads; 0: one per CPU */
        unsigned max_sequences;     /* generations at once per model */
        uint32_t max_context;       /* positions per sequence; 0: the model's */
        uint64_t max_model_bytes;   /* downloads larger than this are refused; 0: no limit */
        const char *zone;           /* this node's zone, for the "served" log lines; must outlive the runner */
        void (*wake)(void *userdata); /* called from the runner thread when frames are waiting */
        void *userdata;
} RunnerOptions;

#define RUNNER_MODELS_MAX 8
#define RUNNER_PENDING_MAX 1024 /* generations waiting for a free sequence slot */

typedef struct RunnerModelState {
        char name[128];
        char state[16]; /* "loading", "ready", "failed" */
} RunnerModelState;

typedef struct RunnerStats {
        RunnerModelState models[RUNNER_MODELS_MAX];
        size_t n_models;
        unsigned queue_depth, active_sequences;
        unsigned loads_pending;   /* model.load frames queued or being loaded */
        double tokens_per_second; /* over the last few seconds */
} RunnerStats;

/* Starts the runner thread. -ENOMEM, or the pthread error. */
int runner_new(const RunnerOptions *o, Runner **ret);
/* Stops the thread (in-flight generations end) and frees everything. Accepts NULL; returns NULL. */
Runner *runner_free(Runner *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Runner *, runner_free);

/* Hands a model.load, model.unload, infer or cancel frame (already checked against its schema) to
 * the runner; it is copied. -ENOBUFS when the inbox is full, -EINVAL for another type. */
int runner_submit(Runner *r, const cJSON *frame);
/* The next frame the runner produced (model.status, token, done, error), serialised; the caller
 * frees it. NULL when there is none. */
char *runner_pop(Runner *r);
/* A snapshot for heartbeats. */
void runner_stats(Runner *r, RunnerStats *ret);
