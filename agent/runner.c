/* runner.c: model loading and batched generation on the agent, on a thread of its own. */
#include "runner.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chat.h"
#include "engine.h"
#include "fetch.h"
#include "json.h"
#include "log.h"
#include "stop.h"
#include "strbuf.h"
#include "timeutil.h"

#define INBOX_MAX 4096
#define OUTBOX_MAX 65536

typedef struct FrameQueue {
        char **items;
        size_t head, len, cap;
} FrameQueue;

typedef struct Gen {
        char id[160];
        char data_class[16];      /* as the infer frame said, for the "served" log line */
        uint64_t rules_version;
        uint64_t seq;
        int model;                /* index in Runner.models */
        Detokenizer *detok;
        StopMatcher stop;
        StrBuf piece;
        uint32_t n_prompt, n_generated, index;
        bool active;
} Gen;

typedef struct Loaded {
        char name[128];
        char sha256[65];
        char state[16];
        Engine *engine;
        ChatFormat chat;
        bool has_chat;
} Loaded;

struct Runner {
        RunnerOptions opt;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool stop;
        FrameQueue inbox, outbox;   /* under lock */
        RunnerStats stats;          /* under lock */
        /* runner thread only */
        Loaded models[RUNNER_MODELS_MAX];
        size_t n_models;
        Gen *gens;                  /* max_sequences * RUNNER_MODELS_MAX slots */
        size_t n_gen_slots;
        cJSON *pending[RUNNER_PENDING_MAX]; /* infer frames waiting for a slot */
        size_t n_pending;
        uint64_t tokens_window, window_start;
};

static int queue_push(FrameQueue *q, char *s, size_t max) {
        if (q->len == max)
                return -ENOBUFS;
        if (q->len == q->cap) {
                size_t cap = q->cap ? q->cap * 2 : 64;
                char **items = malloc(cap * sizeof *items);
                if (!items)
                        return -ENOMEM;
                for (size_t i = 0; i < q->len; i++)
                        items[i] = q->items[(q->head + i) % q->cap];
                free(q->items);
                q->items = items, q->cap = cap, q->head = 0;
        }
        q->items[(q->head + q->len++) % q->cap] = s;
        return 0;
}

static char *queue_pop(FrameQueue *q) {
        char *s;
        if (q->len == 0)
                return NULL;
        s = q->items[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
        return s;
}

static void queue_done(FrameQueue *q) {
        for (char *s; (s = queue_pop(q));)
                free(s);
        free(q->items);
}

/* Serialises and queues an outgoing frame (takes f), then wakes the connection thread. */
static void emit(Runner *r, cJSON *f) {
        char *s = f ? cJSON_PrintUnformatted(f) : NULL;

        cJSON_Delete(f);
        if (!s)
                return;
        pthread_mutex_lock(&r->lock);
        if (queue_push(&r->outbox, s, OUTBOX_MAX) < 0)
                free(s);
        pthread_mutex_unlock(&r->lock);
        if (r->opt.wake)
                r->opt.wake(r->opt.userdata);
}

static void emit_status(Runner *r, const char *id, const char *name, const char *state, const char *error) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "type", "model.status");
        if (id)
                cJSON_AddStringToObject(f, "id", id);
        cJSON_AddStringToObject(f, "name", name);
        cJSON_AddStringToObject(f, "state", state);
        if (error)
                cJSON_AddStringToObject(f, "error", error);
        emit(r, f);
}

static void emit_error(Runner *r, const char *id, const char *code, const char *fmt, ...) _printf_(4, 5);
static void emit_error(Runner *r, const char *id, const char *code, const char *fmt, ...) {
        char msg[1024];
        va_list ap;
        cJSON *f = cJSON_CreateObject();

        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        cJSON_AddStringToObject(f, "type", "error");
        if (id)
                cJSON_AddStringToObject(f, "id", id);
        cJSON_AddStringToObject(f, "code", code);
        cJSON_AddStringToObject(f, "message", msg);
        emit(r, f);
}

/* ---- models ---- */

static Loaded *find_model(Runner *r, const char *name) {
        for (size_t i = 0; i < r->n_models; i++)
                if (streq(r->models[i].name, name))
                        return &r->models[i];
        return NULL;
}

static void publish_models(Runner *r) {
        pthread_mutex_lock(&r->lock);
        r->stats.n_models = r->n_models;
        for (size_t i = 0; i < r->n_models; i++) {
                snprintf(r->stats.models[i].name, sizeof r->stats.models[i].name, "%s", r->models[i].name);
                snprintf(r->stats.models[i].state, sizeof r->stats.models[i].state, "%s", r->models[i].state);
        }
        pthread_mutex_unlock(&r->lock);
}

typedef struct LoadProgress {
        Runner *r;
        const char *id, *name;
        uint64_t last;
} LoadProgress;

static void on_fetch_progress(void *userdata, uint64_t done, uint64_t total) {
        LoadProgress *p = userdata;
        uint64_t now = time_mono_msec();

        if (total == 0 || now - p->last < 1000)
                return;
        p->last = now;
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "type", "model.status");
        cJSON_AddStringToObject(f, "id", p->id);
        cJSON_AddStringToObject(f, "name", p->name);
        cJSON_AddStringToObject(f, "state", "downloading");
        cJSON_AddNumberToObject(f, "progress", (double) done / (double) total > 1 ? 1 : (double) done / (double) total);
        emit(p->r, f);
}

static void pick_chat_format(Loaded *m) {
        _cleanup_free_ char *tmpl = NULL;
        m->has_chat = gguf_get_strdup(engine_model(m->engine)->gguf, "tokenizer.chat_template", &tmpl, NULL, 0) >= 0 &&
                      chat_format_from_template(tmpl, &m->chat) >= 0;
}

static void load_model(Runner *r, const cJSON *f) {
        const char *id = cJSON_GetObjectItemCaseSensitive(f, "id")->valuestring;
        const cJSON *mj = cJSON_GetObjectItemCaseSensitive(f, "model");
        const char *name = cJSON_GetObjectItemCaseSensitive(mj, "name")->valuestring;
        const char *url = cJSON_GetObjectItemCaseSensitive(mj, "url")->valuestring;
        const char *sha = cJSON_GetObjectItemCaseSensitive(mj, "sha256")->valuestring;
        _cleanup_free_ char *dir = NULL, *path = NULL;
        LoadProgress progress = { .r = r, .id = id, .name = name };
        EngineOptions eo = { .n_threads = r->opt.threads, .n_ctx = r->opt.max_context, .max_seqs = r->opt.max_sequences };
        char err[1024];
        Loaded *m = find_model(r, name);
        struct stat st;
        int k;

        if (m && streq(m->state, "ready") && streq(m->sha256, sha)) {
                emit_status(r, id, name, "ready", NULL);
                return;
        }
        if (!m) {
                if (r->n_models == RUNNER_MODELS_MAX) {
                        emit_status(r, id, name, "failed", "this agent already holds its maximum of models");
                        return;
                }
                m = &r->models[r->n_models++];
                *m = (Loaded){};
                snprintf(m->name, sizeof m->name, "%s", name);
        }
        m->engine = engine_free(m->engine);
        snprintf(m->sha256, sizeof m->sha256, "%s", sha);
        snprintf(m->state, sizeof m->state, "loading");
        publish_models(r);
        if (asprintf(&dir, "%s/models", r->opt.data_dir) < 0 || asprintf(&path, "%s/%s.gguf", dir, sha) < 0)
                return;
        (void) mkdir(dir, 0700);
        k = 0;
        if (stat(path, &st) < 0) /* the cache is keyed by checksum: a file there was verified */
                k = fetch_file(url, path, sha, r->opt.max_model_bytes, on_fetch_progress, &progress, NULL, err, sizeof err);
        if (k >= 0) {
                emit_status(r, id, name, "loading", NULL);
                k = engine_open(path, &eo, &m->engine, err, sizeof err);
        }
        snprintf(m->state, sizeof m->state, "%s", k < 0 ? "failed" : "ready");
        if (k >= 0)
                pick_chat_format(m);
        publish_models(r);
        emit_status(r, id, name, m->state, k < 0 ? err : NULL);
}

/* ---- generations ---- */

static Gen *find_gen(Runner *r, const char *id) {
        for (size_t i = 0; i < r->n_gen_slots; i++)
                if (r->gens[i].active && streq(r->gens[i].id, id))
                        return &r->gens[i];
        return NULL;
}

static Gen *free_slot(Runner *r) {
        for (size_t i = 0; i < r->n_gen_slots; i++)
                if (!r->gens[i].active)
                        return &r->gens[i];
        return NULL;
}

/* The prompt's token ids: messages through the model's chat template, or the prompt with BOS. */
static int prompt_ids(Loaded *m, const cJSON *f, int32_t **ret, size_t *ret_n, char *err, size_t errsz) {
        const Tokenizer *t = engine_tokenizer(m->engine);
        const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(f, "messages"), *it;
        const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(f, "prompt");
        _cleanup_free_ ChatMessage *cm = NULL;
        _cleanup_free_ char *text = NULL;
        size_t n = 0;
        int k;

        if (cJSON_IsString(prompt))
                return tokenizer_encode(t, prompt->valuestring, strlen(prompt->valuestring), TOKENIZER_ADD_SPECIAL, ret, ret_n);
        cm = calloc((size_t) cJSON_GetArraySize(msgs), sizeof *cm);
        if (!cm)
                return -ENOMEM;
        cJSON_ArrayForEach(it, msgs)
                cm[n++] = (ChatMessage){ cJSON_GetObjectItemCaseSensitive(it, "role")->valuestring,
                                         cJSON_GetObjectItemCaseSensitive(it, "content")->valuestring };
        /* a model without a known template gets ChatML, the most widely trained-on format */
        k = chat_apply(m->has_chat ? m->chat : CHAT_FORMAT_CHATML, cm, n, true, &text);
        if (k < 0) {
                snprintf(err, errsz, "cannot format the messages");
                return k;
        }
        return tokenizer_encode(t, text, strlen(text), TOKENIZER_PARSE_SPECIAL, ret, ret_n);
}

static void sampler_params(const cJSON *params, SamplerParams *sp, uint32_t *max_tokens) {
        const cJSON *v;

        *sp = (SamplerParams) SAMPLER_PARAMS_DEFAULT;
        sp->temperature = 1.0f, sp->top_k = 0, sp->min_p = 0, sp->top_p = 1.0f;
        if ((v = cJSON_GetObjectItemCaseSensitive(params, "temperature")))
                sp->temperature = (float) v->valuedouble;
        if ((v = cJSON_GetObjectItemCaseSensitive(params, "top_p")))
                sp->top_p = (float) v->valuedouble;
        if ((v = cJSON_GetObjectItemCaseSensitive(params, "top_k")))
                sp->top_k = (uint32_t) v->valuedouble;
        if ((v = cJSON_GetObjectItemCaseSensitive(params, "seed")))
                sp->seed = (uint64_t) v->valuedouble;
        else
                sp->seed = time_real_usec();
        v = cJSON_GetObjectItemCaseSensitive(params, "max_tokens");
        *max_tokens = v ? (uint32_t) v->valuedouble : 256;
}

/* Starts an infer frame's generation; false when it must wait for a free slot. */
static bool start_gen(Runner *r, const cJSON *f) {
        const char *id = cJSON_GetObjectItemCaseSensitive(f, "id")->valuestring;
        const char *model = cJSON_GetObjectItemCaseSensitive(f, "model")->valuestring;
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(f, "params"), *stop = cJSON_GetObjectItemCaseSensitive(params, "stop"), *s;
        _cleanup_free_ int32_t *ids = NULL;
        const char *stops[STOP_MAX];
        size_t n_ids = 0, n_stops = 0;
        SamplerParams sp;
        uint32_t max_tokens;
        char err[512] = "";
        Loaded *m = find_model(r, model);
        Gen *g;
        int k;

        if (!m || !streq(m->state, "ready")) {
                emit_error(r, id, "model_not_loaded", "model %s is not loaded on this node", model);
                return true;
        }
        if (engine_n_active(m->engine) >= r->opt.max_sequences || !(g = free_slot(r)))
                return false;
        k = prompt_ids(m, f, &ids, &n_ids, err, sizeof err);
        if (k < 0) {
                emit_error(r, id, "bad_prompt", "cannot tokenize the prompt: %s", *err ? err : strerror(-k));
                return true;
        }
        sampler_params(params, &sp, &max_tokens);
        cJSON_ArrayForEach(s, stop)
                if (n_stops < STOP_MAX)
                        stops[n_stops++] = s->valuestring;
        *g = (Gen){ .model = (int) (m - r->models), .n_prompt = (uint32_t) n_ids, .piece = STRBUF_INIT,
                    .rules_version = (uint64_t) cJSON_GetObjectItemCaseSensitive(f, "rules_version")->valuedouble };
        snprintf(g->id, sizeof g->id, "%s", id);
        snprintf(g->data_class, sizeof g->data_class, "%s", cJSON_GetObjectItemCaseSensitive(f, "data_class")->valuestring);
        k = engine_seq_add(m->engine, ids, n_ids, &sp, max_tokens, &g->seq);
        if (k == -E2BIG) {
                emit_error(r, id, "context_length_exceeded", "a prompt of %zu tokens plus max_tokens %u exceeds the context of %u tokens",
                           n_ids, max_tokens, engine_n_ctx(m->engine));
                return true;
        }
        if (k >= 0)
                k = detokenizer_new(engine_tokenizer(m->engine), 0, &g->detok);
        if (k >= 0)
                k = stop_init(&g->stop, stops, n_stops);
        if (k < 0) {
                (void) engine_seq_remove(m->engine, g->seq);
                g->detok = detokenizer_free(g->detok);
                emit_error(r, id, "internal", "cannot start the generation: %s", strerror(-k));
                return true;
        }
        g->active = true;
        return true;
}

static void end_gen(Runner *r, Gen *g, const char *reason) {
        Loaded *m = &r->models[g->model];
        cJSON *f = cJSON_CreateObject(), *usage;

        (void) engine_seq_remove(m->engine, g->seq);
        cJSON_AddStringToObject(f, "type", "done");
        cJSON_AddStringToObject(f, "id", g->id);
        cJSON_AddStringToObject(f, "finish_reason", reason);
        usage = cJSON_AddObjectToObject(f, "usage");
        cJSON_AddNumberToObject(usage, "prompt_tokens", g->n_prompt);
        cJSON_AddNumberToObject(usage, "completion_tokens", g->n_generated);
        /* what this node served, one line per generation, for the routing proof (never the text);
         * written before done leaves, so that no answer the controller gives lacks its line */
        log_with(LOG_INFO,
                 LOG_FIELDS(LOG_STR("request_id", g->id), LOG_STR("data_class", g->data_class),
                            LOG_STR("zone", r->opt.zone ? r->opt.zone : "unknown"), LOG_STR("model", m->name),
                            LOG_INT("rules_version", g->rules_version), LOG_STR("finish_reason", reason),
                            LOG_INT("prompt_tokens", g->n_prompt), LOG_INT("completion_tokens", g->n_generated)),
                 "served %s", g->id);
        emit(r, f);
        g->detok = detokenizer_free(g->detok);
        stop_done(&g->stop);
        strbuf_done(&g->piece);
        g->active = false;
}

static void emit_text(Runner *r, Gen *g) {
        if (g->piece.len == 0)
                return;
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "type", "token");
        cJSON_AddStringToObject(f, "id", g->id);
        cJSON_AddNumberToObject(f, "index", g->index++);
        cJSON_AddStringToObject(f, "text", strbuf_str(&g->piece));
        emit(r, f);
        strbuf_truncate(&g->piece, 0);
}

/* One engine event: detokenize, match stop strings, send the text, finish when it is over. */
static void on_event(Runner *r, Gen *g, const EngineEvent *ev) {
        const char *piece;
        size_t len;
        bool stopped = false;

        g->n_generated++;
        if (ev->finish != ENGINE_FINISH_STOP && detokenizer_push(g->detok, ev->token, &piece, &len) >= 0)
                stopped = stop_feed(&g->stop, piece, len, &g->piece) == 1;
        if (ev->finish != ENGINE_FINISH_NONE || stopped) {
                if (!stopped && detokenizer_flush(g->detok, &piece, &len) >= 0 && stop_feed(&g->stop, piece, len, &g->piece) == 0)
                        (void) stop_flush(&g->stop, &g->piece);
                emit_text(r, g);
                end_gen(r, g, stopped || ev->finish == ENGINE_FINISH_STOP ? "stop" : "length");
                return;
        }
        emit_text(r, g);
}

static Gen *gen_of(Runner *r, int model, uint64_t seq) {
        for (size_t i = 0; i < r->n_gen_slots; i++)
                if (r->gens[i].active && r->gens[i].model == model && r->gens[i].seq == seq)
                        return &r->gens[i];
        return NULL;
}

/* One step of every model that has active sequences. Returns the number of tokens produced. */
static size_t step_all(Runner *r) {
        EngineEvent ev[256];
        size_t total = 0;

        for (size_t i = 0; i < r->n_models; i++) {
                Loaded *m = &r->models[i];
                size_t n = 0;
                if (!m->engine || engine_n_active(m->engine) == 0)
                        continue;
                if (engine_step(m->engine, ev, ELEMENTSOF(ev), &n) < 0)
                        continue;
                for (size_t k = 0; k < n; k++) {
                        Gen *g = gen_of(r, (int) i, ev[k].seq);
                        if (g)
                                on_event(r, g, &ev[k]);
                }
                total += n;
        }
        return total;
}

static void cancel_gen(Runner *r, const char *id) {
        Gen *g = find_gen(r, id);

        if (g) {
                end_gen(r, g, "cancelled");
                return;
        }
        for (size_t i = 0; i < r->n_pending; i++) {
                const cJSON *pid = cJSON_GetObjectItemCaseSensitive(r->pending[i], "id");
                if (streq(pid->valuestring, id)) {
                        cJSON_Delete(r->pending[i]);
                        memmove(&r->pending[i], &r->pending[i + 1], (--r->n_pending - i) * sizeof r->pending[0]);
                        return;
                }
        }
}

/* A model.load is over (ready or failed): one fewer pending, and the connection thread is woken to
 * see it (after the model.status frame, which load_model() queued first). */
static void load_done(Runner *r) {
        pthread_mutex_lock(&r->lock);
        if (r->stats.loads_pending > 0)
                r->stats.loads_pending--;
        pthread_mutex_unlock(&r->lock);
        if (r->opt.wake)
                r->opt.wake(r->opt.userdata);
}

static void handle_frame(Runner *r, cJSON *f) {
        const char *type = cJSON_GetObjectItemCaseSensitive(f, "type")->valuestring;

        if (streq(type, "model.load")) {
                load_model(r, f);
                load_done(r);
        } else if (streq(type, "model.unload")) {
                const char *name = cJSON_GetObjectItemCaseSensitive(f, "name")->valuestring;
                Loaded *m = find_model(r, name);
                if (m) {
                        for (size_t i = 0; i < r->n_gen_slots; i++)
                                if (r->gens[i].active && r->gens[i].model == (int) (m - r->models))
                                        end_gen(r, &r->gens[i], "cancelled");
                        m->engine = engine_free(m->engine);
                        snprintf(m->state, sizeof m->state, "unloaded");
                }
                emit_status(r, cJSON_GetObjectItemCaseSensitive(f, "id")->valuestring, name, "unloaded", NULL);
                publish_models(r);
        } else if (streq(type, "cancel"))
                cancel_gen(r, cJSON_GetObjectItemCaseSensitive(f, "id")->valuestring);
        else if (streq(type, "infer")) {
                if (r->n_pending == RUNNER_PENDING_MAX)
                        emit_error(r, cJSON_GetObjectItemCaseSensitive(f, "id")->valuestring, "overloaded",
                                   "this node has %d generations waiting", RUNNER_PENDING_MAX);
                else {
                        r->pending[r->n_pending++] = f;
                        return; /* kept */
                }
        }
        cJSON_Delete(f);
}

/* Starts waiting generations, oldest first, while slots are free. */
static void start_pending(Runner *r) {
        size_t i = 0;

        while (i < r->n_pending) {
                if (!start_gen(r, r->pending[i])) {
                        i++;
                        continue;
                }
                cJSON_Delete(r->pending[i]);
                memmove(&r->pending[i], &r->pending[i + 1], (--r->n_pending - i) * sizeof r->pending[0]);
        }
}

static size_t n_active(const Runner *r) {
        size_t n = 0;
        for (size_t i = 0; i < r->n_gen_slots; i++)
                n += r->gens[i].active;
        return n;
}

static void publish_load(Runner *r, size_t produced) {
        uint64_t now = time_mono_usec();

        r->tokens_window += produced;
        pthread_mutex_lock(&r->lock);
        r->stats.active_sequences = (unsigned) n_active(r);
        r->stats.queue_depth = (unsigned) r->n_pending;
        if (now - r->window_start >= 2 * USEC_PER_SEC) {
                r->stats.tokens_per_second = (double) r->tokens_window / ((double) (now - r->window_start) / 1e6);
                r->tokens_window = 0;
                r->window_start = now;
        }
        pthread_mutex_unlock(&r->lock);
}

static void *runner_main(void *arg) {
        Runner *r = arg;

        for (;;) {
                char *text;
                pthread_mutex_lock(&r->lock);
                while (!r->stop && r->inbox.len == 0 && n_active(r) == 0)
                        pthread_cond_wait(&r->cond, &r->lock);
                if (r->stop) {
                        pthread_mutex_unlock(&r->lock);
                        break;
                }
                text = queue_pop(&r->inbox);
                pthread_mutex_unlock(&r->lock);
                if (text) {
                        cJSON *f = cJSON_Parse(text);
                        free(text);
                        if (f)
                                handle_frame(r, f);
                }
                start_pending(r);
                publish_load(r, step_all(r));
        }
        return NULL;
}

int runner_new(const RunnerOptions *o, Runner **ret) {
        Runner *r = calloc(1, sizeof *r);
        int k;

        if (!r)
                return -ENOMEM;
        r->opt = *o;
        if (!r->opt.max_sequences)
                r->opt.max_sequences = 16;
        r->n_gen_slots = (size_t) r->opt.max_sequences * RUNNER_MODELS_MAX;
        r->gens = calloc(r->n_gen_slots, sizeof *r->gens);
        if (!r->gens) {
                free(r);
                return -ENOMEM;
        }
        r->window_start = time_mono_usec();
        pthread_mutex_init(&r->lock, NULL);
        pthread_cond_init(&r->cond, NULL);
        k = pthread_create(&r->thread, NULL, runner_main, r);
        if (k != 0) {
                free(r->gens);
                free(r);
                return -k;
        }
        *ret = r;
        return 0;
}

Runner *runner_free(Runner *r) {
        if (!r)
                return NULL;
        pthread_mutex_lock(&r->lock);
        r->stop = true;
        pthread_cond_signal(&r->cond);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->thread, NULL);
        for (size_t i = 0; i < r->n_gen_slots; i++)
                if (r->gens[i].active) {
                        detokenizer_free(r->gens[i].detok);
                        stop_done(&r->gens[i].stop);
                        strbuf_done(&r->gens[i].piece);
                }
        for (size_t i = 0; i < r->n_pending; i++)
                cJSON_Delete(r->pending[i]);
        for (size_t i = 0; i < r->n_models; i++)
                engine_free(r->models[i].engine);
        queue_done(&r->inbox);
        queue_done(&r->outbox);
        pthread_mutex_destroy(&r->lock);
        pthread_cond_destroy(&r->cond);
        free(r->gens);
        free(r);
        return NULL;
}

int runner_submit(Runner *r, const cJSON *frame) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(frame, "type");
        char *s;
        int k;

        if (!cJSON_IsString(type) || !(streq(type->valuestring, "model.load") || streq(type->valuestring, "model.unload") ||
                                       streq(type->valuestring, "infer") || streq(type->valuestring, "cancel")))
                return -EINVAL;
        s = cJSON_PrintUnformatted(frame);
        if (!s)
                return -ENOMEM;
        pthread_mutex_lock(&r->lock);
        k = queue_push(&r->inbox, s, INBOX_MAX);
        if (k >= 0) {
                r->stats.loads_pending += streq(type->valuestring, "model.load");
                pthread_cond_signal(&r->cond);
        }
        pthread_mutex_unlock(&r->lock);
        if (k < 0)
                free(s);
        return k;
}

char *runner_pop(Runner *r) {
        char *s;

        pthread_mutex_lock(&r->lock);
        s = queue_pop(&r->outbox);
        pthread_mutex_unlock(&r->lock);
        return s;
}

void runner_stats(Runner *r, RunnerStats *ret) {
        pthread_mutex_lock(&r->lock);
        *ret = r->stats;
        pthread_mutex_unlock(&r->lock);
}
