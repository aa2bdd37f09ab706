/* cli-run.c: `sluice run` (generate text locally, streamed) and `sluice tokenize`. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "cli.h"
#include "engine.h"
#include "fileio.h"
#include "stop.h"
#include "timeutil.h"

typedef struct RunArgs {
        const char *model, *prompt, *system, *chat_format;
        const char *stops[STOP_MAX];
        size_t n_stops;
        uint32_t n_predict, n_ctx;
        unsigned threads;
        bool chat, stats;
        SamplerParams sp;
} RunArgs;

static int parse_float(const char *flag, const char *s, float lo, float hi, float *ret) {
        char *end;
        float v;

        errno = 0;
        v = strtof(s, &end);
        if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
                return cli_usage_error("%s: \"%s\" is not a number in [%g, %g]", flag, s, lo, hi);
        *ret = v;
        return 0;
}

static int parse_uint(const char *flag, const char *s, unsigned long max, unsigned long *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || v > max)
                return cli_usage_error("%s: \"%s\" is not a whole number up to %lu", flag, s, max);
        *ret = v;
        return 0;
}

/* Builds the prompt's token ids: chat-formatted when asked, else the plain text with BOS. */
static int prompt_tokens(const Engine *e, const RunArgs *a, int32_t **ret, size_t *ret_n) {
        const Tokenizer *t = engine_tokenizer(e);
        _cleanup_free_ char *tmpl = NULL, *text = NULL;
        ChatFormat f;
        int r;

        if (!a->chat)
                return tokenizer_encode(t, a->prompt, strlen(a->prompt), TOKENIZER_ADD_SPECIAL, ret, ret_n);
        if (a->chat_format)
                r = chat_format_from_name(a->chat_format, &f);
        else {
                r = gguf_get_strdup(engine_model(e)->gguf, "tokenizer.chat_template", &tmpl, NULL, 0);
                if (r < 0) {
                        fprintf(stderr, "sluice: the model has no chat template; name one with --chat-format "
                                        "llama3|chatml|llama2|mistral\n");
                        return -EINVAL;
                }
                r = chat_format_from_template(tmpl, &f);
                if (r < 0)
                        fprintf(stderr, "sluice: the model's chat template is not one sluice knows (Llama 3, ChatML, "
                                        "[INST]); name one with --chat-format\n");
        }
        if (r < 0)
                return r;
        ChatMessage msgs[2];
        size_t n = 0;
        if (a->system)
                msgs[n++] = (ChatMessage){ "system", a->system };
        msgs[n++] = (ChatMessage){ "user", a->prompt };
        r = chat_apply(f, msgs, n, true, &text);
        if (r < 0)
                return r;
        return tokenizer_encode(t, text, strlen(text), TOKENIZER_PARSE_SPECIAL, ret, ret_n);
}

/* Streams one generation to stdout; returns the number of tokens generated or a negative errno. */
static int generate(Engine *e, const RunArgs *a, const int32_t *ids, size_t n) {
        _cleanup_(detokenizer_freep) Detokenizer *d = NULL;
        StopMatcher stop;
        StrBuf out = STRBUF_INIT;
        EngineEvent ev;
        uint64_t id;
        size_t n_ev;
        int r, count = 0, done = 0;

        r = engine_seq_add(e, ids, n, &a->sp, a->n_predict, &id);
        if (r == -E2BIG)
                fprintf(stderr, "sluice: a prompt of %zu tokens plus %u new ones does not fit the context of %u tokens\n", n,
                        a->n_predict, engine_n_ctx(e));
        if (r < 0)
                return r;
        r = detokenizer_new(engine_tokenizer(e), 0, &d);
        if (r < 0 || (r = stop_init(&stop, a->stops, a->n_stops)) < 0)
                return r;
        while (!done && (r = engine_step(e, &ev, 1, &n_ev)) >= 0) {
                const char *piece;
                size_t len;
                if (n_ev == 0)
                        continue;
                count++;
                done = ev.finish != ENGINE_FINISH_NONE;
                if (ev.finish == ENGINE_FINISH_STOP)
                        break;
                if (detokenizer_push(d, ev.token, &piece, &len) < 0)
                        continue; /* an id past the tokenizer's vocabulary (padded embeddings) */
                strbuf_truncate(&out, 0);
                if (stop_feed(&stop, piece, len, &out) == 1)
                        done = 1;
                fwrite(strbuf_str(&out), 1, out.len, stdout);
                fflush(stdout);
        }
        if (r >= 0) {
                const char *piece;
                size_t len;
                strbuf_truncate(&out, 0);
                if (detokenizer_flush(d, &piece, &len) >= 0 && stop_feed(&stop, piece, len, &out) == 0)
                        stop_flush(&stop, &out);
                fwrite(strbuf_str(&out), 1, out.len, stdout);
                printf("\n");
                fflush(stdout);
        }
        strbuf_done(&out);
        stop_done(&stop);
        (void) engine_seq_remove(e, id);
        return r < 0 ? r : count;
}

static void run_usage(void) {
        printf("Usage: sluice run -m FILE -p TEXT [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p P]\n"
               "                  [--seed S] [--chat] [--chat-format NAME] [--system TEXT] [--stop TEXT]...\n"
               "                  [--threads N] [--ctx N] [--stats]\n\n"
               "Generates text from a GGUF model on the CPU and streams it to standard output.\n"
               "  -n N            tokens to generate (default 128)\n"
               "  --temp T        sampling temperature, 0 = greedy (default 0.8)\n"
               "  --seed S        the same seed gives the same text (default 0)\n"
               "  --chat          format the prompt with the model's chat template\n");
}

enum { O_TEMP = 256, O_TOPK, O_TOPP, O_MINP, O_SEED, O_CHATFMT, O_SYSTEM, O_STOP, O_CTX, O_STATS };

static int run_option(int c, const char *arg, RunArgs *a) {
        unsigned long v;
        int r = 0;

        switch (c) {
        case 'm': a->model = arg; break;
        case 'p': a->prompt = arg; break;
        case 'n': r = parse_uint("-n", arg, 1u << 20, &v); a->n_predict = (uint32_t) v; break;
        case 't': r = parse_uint("--threads", arg, 1024, &v); a->threads = (unsigned) v; break;
        case O_CTX: r = parse_uint("--ctx", arg, 1u << 24, &v); a->n_ctx = (uint32_t) v; break;
        case O_TEMP: r = parse_float("--temp", arg, 0, 100, &a->sp.temperature); break;
        case O_TOPP: r = parse_float("--top-p", arg, 1e-6f, 1, &a->sp.top_p); break;
        case O_MINP: r = parse_float("--min-p", arg, 0, 0.999f, &a->sp.min_p); break;
        case O_TOPK: r = parse_uint("--top-k", arg, 1u << 24, &v); a->sp.top_k = (uint32_t) v; break;
        case O_SEED: r = parse_uint("--seed", arg, UINT64_MAX >> 1, &v); a->sp.seed = v; break;
        case 'c': a->chat = true; break;
        case O_CHATFMT: a->chat_format = arg; a->chat = true; break;
        case O_SYSTEM: a->system = arg; break;
        case O_STATS: a->stats = true; break;
        case O_STOP:
                if (a->n_stops == STOP_MAX || !*arg || strlen(arg) > STOP_LEN_MAX)
                        return cli_usage_error("--stop: at most %d non-empty strings of up to %d bytes", STOP_MAX, STOP_LEN_MAX);
                a->stops[a->n_stops++] = arg;
                break;
        default: return CLI_EXIT_USAGE;
        }
        return r;
}

int cli_run_main(const CliGlobals *g, int argc, char **argv) {
        static const struct option options[] = {
                { "model", required_argument, NULL, 'm' }, { "prompt", required_argument, NULL, 'p' },
                { "threads", required_argument, NULL, 't' }, { "temp", required_argument, NULL, O_TEMP },
                { "top-k", required_argument, NULL, O_TOPK }, { "top-p", required_argument, NULL, O_TOPP },
                { "min-p", required_argument, NULL, O_MINP }, { "seed", required_argument, NULL, O_SEED },
                { "chat", no_argument, NULL, 'c' }, { "chat-format", required_argument, NULL, O_CHATFMT },
                { "system", required_argument, NULL, O_SYSTEM }, { "stop", required_argument, NULL, O_STOP },
                { "ctx", required_argument, NULL, O_CTX }, { "stats", no_argument, NULL, O_STATS },
                { "help", no_argument, NULL, 'h' }, {},
        };
        RunArgs a = { .n_predict = 128, .sp = SAMPLER_PARAMS_DEFAULT };
        _cleanup_(engine_freep) Engine *e = NULL;
        _cleanup_free_ int32_t *ids = NULL;
        size_t n;
        char err[512];
        int c, r;

        (void) g;
        while ((c = getopt_long(argc, argv, "m:p:n:t:ch", options, NULL)) >= 0) {
                if (c == 'h') {
                        run_usage();
                        return CLI_EXIT_OK;
                }
                if (run_option(c, optarg, &a) != 0)
                        return CLI_EXIT_USAGE;
        }
        if (!a.model || !a.prompt || optind != argc)
                return cli_usage_error("run: expected -m FILE and -p TEXT");
        EngineOptions eo = { .n_threads = a.threads, .n_ctx = a.n_ctx, .max_seqs = 1 };
        if (engine_open(a.model, &eo, &e, err, sizeof err) < 0) {
                fprintf(stderr, "sluice: %s: %s\n", a.model, err);
                return CLI_EXIT_FAILURE;
        }
        r = prompt_tokens(e, &a, &ids, &n);
        if (r < 0) {
                fprintf(stderr, "sluice: cannot tokenize the prompt: %s\n", strerror(-r));
                return CLI_EXIT_FAILURE;
        }
        uint64_t t0 = time_mono_usec();
        r = generate(e, &a, ids, n);
        if (r < 0) {
                if (r != -E2BIG)
                        fprintf(stderr, "sluice: generation failed: %s\n", strerror(-r));
                return CLI_EXIT_FAILURE;
        }
        if (a.stats)
                fprintf(stderr, "sluice: %zu prompt tokens, %d generated in %.2f s\n", n, r,
                        (double) (time_mono_usec() - t0) / 1e6);
        return CLI_EXIT_OK;
}

/* ---- tokenize ---- */

int cli_tokenize_main(const CliGlobals *g, int argc, char **argv) {
        static const struct option options[] = {
                { "model", required_argument, NULL, 'm' }, { "text", required_argument, NULL, 'T' },
                { "file", required_argument, NULL, 'f' }, { "json", no_argument, NULL, 'j' },
                { "no-bos", no_argument, NULL, 'B' }, { "parse-special", no_argument, NULL, 'S' },
                { "help", no_argument, NULL, 'h' }, {},
        };
        _cleanup_(gguf_closep) Gguf *gg = NULL;
        _cleanup_(tokenizer_freep) Tokenizer *t = NULL;
        _cleanup_free_ char *file_text = NULL;
        _cleanup_free_ int32_t *ids = NULL;
        const char *model = NULL, *text = NULL, *file = NULL;
        bool json = g->json;
        unsigned flags = TOKENIZER_ADD_SPECIAL;
        size_t len = 0, n;
        char err[512];
        int c, r;

        while ((c = getopt_long(argc, argv, "m:h", options, NULL)) >= 0)
                switch (c) {
                case 'm': model = optarg; break;
                case 'T': text = optarg; break;
                case 'f': file = optarg; break;
                case 'j': json = true; break;
                case 'B': flags &= ~(unsigned) TOKENIZER_ADD_SPECIAL; break;
                case 'S': flags |= TOKENIZER_PARSE_SPECIAL; break;
                case 'h':
                        printf("Usage: sluice tokenize -m FILE (--text T | --file F) [--json] [--no-bos] [--parse-special]\n\n"
                               "Prints the token ids of a text. FILE may be a vocabulary-only GGUF.\n");
                        return CLI_EXIT_OK;
                default: return CLI_EXIT_USAGE;
                }
        if (!model || !!text == !!file || optind != argc)
                return cli_usage_error("tokenize: expected -m FILE and one of --text or --file");
        if (file) {
                r = file_read_all(file, TOKENIZER_MAX_INPUT_DEFAULT, &file_text, &len);
                if (r < 0) {
                        fprintf(stderr, "sluice: %s: %s\n", file, r == -EFBIG ? "larger than 4 MiB" : strerror(-r));
                        return CLI_EXIT_FAILURE;
                }
                text = file_text;
        } else
                len = strlen(text);
        if (gguf_open(model, &gg, err, sizeof err) < 0 || tokenizer_new_from_gguf(gg, &t, err, sizeof err) < 0) {
                fprintf(stderr, "sluice: %s: %s\n", model, err);
                return CLI_EXIT_FAILURE;
        }
        r = tokenizer_encode(t, text, len, flags, &ids, &n);
        if (r < 0) {
                fprintf(stderr, "sluice: cannot tokenize: %s\n", strerror(-r));
                return CLI_EXIT_FAILURE;
        }
        printf(json ? "[" : "");
        for (size_t i = 0; i < n; i++)
                printf(json ? "%s%d" : "%s%d", i ? (json ? "," : " ") : "", ids[i]);
        printf(json ? "]\n" : "\n");
        return CLI_EXIT_OK;
}
