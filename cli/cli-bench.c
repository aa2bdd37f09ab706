/* cli-bench.c: `sluice bench`: prefill and decode speed of a model, next to the machine's measured
 * memory bandwidth, so that results read as a fraction of the limit. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine.h"
#include "membw.h"
#include "timeutil.h"

typedef struct BenchResult {
        double prefill_tps, decode_tps, bandwidth, bytes_per_token;
        uint32_t n_prompt, n_gen;
} BenchResult;

/* Runs one sequence: n_prompt random tokens in, n_gen tokens out (greedy), timing both phases. */
static int bench_run(Engine *e, uint32_t n_prompt, uint32_t n_gen, BenchResult *res) {
        const Config *c = &engine_model(e)->config;
        _cleanup_free_ int32_t *prompt = malloc(n_prompt * sizeof(int32_t));
        SamplerParams sp = { .temperature = 0, .top_p = 1 };
        EngineEvent ev[4];
        uint64_t id, t0, t1;
        size_t n_ev;
        uint32_t got = 0;
        int r;

        if (!prompt)
                return -ENOMEM;
        for (uint32_t i = 0; i < n_prompt; i++)
                prompt[i] = (int32_t) ((i * 2654435761u) % tokenizer_n_vocab(engine_tokenizer(e)));
        r = engine_seq_add(e, prompt, n_prompt, &sp, n_gen, &id);
        if (r < 0)
                return r;
        t0 = time_mono_usec();
        do { /* the prompt, in chunks, until its first token comes out */
                r = engine_step(e, ev, ELEMENTSOF(ev), &n_ev);
        } while (r >= 0 && n_ev == 0);
        t1 = time_mono_usec();
        got = (uint32_t) n_ev;
        while (r >= 0 && got < n_gen && engine_n_active(e) > 0) {
                r = engine_step(e, ev, ELEMENTSOF(ev), &n_ev);
                got += (uint32_t) n_ev;
        }
        uint64_t t2 = time_mono_usec();
        (void) engine_seq_remove(e, id);
        if (r < 0)
                return r;
        res->n_prompt = n_prompt;
        res->n_gen = got;
        res->prefill_tps = n_prompt / ((double) (t1 - t0) / 1e6);
        res->decode_tps = got > 1 ? (got - 1) / ((double) (t2 - t1) / 1e6) : 0;
        /* a decode step reads every weight once, plus the cache so far (K and V, f32) */
        res->bytes_per_token = (double) engine_model(e)->weight_bytes +
                               2.0 * c->n_layers * c->n_kv_heads * c->head_dim * 4.0 * (n_prompt + got / 2.0);
        return 0;
}

static void print_result(const char *path, const BenchResult *b, unsigned threads, bool json) {
        double achieved = b->decode_tps * b->bytes_per_token;

        if (json) {
                printf("{\"model\":\"%s\",\"threads\":%u,\"prompt_tokens\":%u,\"gen_tokens\":%u,"
                       "\"prefill_tok_s\":%.2f,\"decode_tok_s\":%.2f,\"bytes_per_token\":%.0f,"
                       "\"decode_gb_s\":%.3f,\"memory_gb_s\":%.3f,\"fraction_of_bandwidth\":%.3f}\n",
                       path, threads, b->n_prompt, b->n_gen, b->prefill_tps, b->decode_tps, b->bytes_per_token,
                       achieved / 1e9, b->bandwidth / 1e9, achieved / b->bandwidth);
                return;
        }
        printf("model          %s\nthreads        %u\n", path, threads);
        printf("memory read    %.2f GB/s (measured now, all threads)\n", b->bandwidth / 1e9);
        printf("prefill        %.1f tok/s (%u tokens)\n", b->prefill_tps, b->n_prompt);
        printf("decode         %.2f tok/s (%u tokens), %.1f MB read per token\n", b->decode_tps, b->n_gen,
               b->bytes_per_token / 1e6);
        printf("decode reads   %.2f GB/s = %.0f%% of the measured bandwidth\n", achieved / 1e9,
               100 * achieved / b->bandwidth);
}

int cli_bench_main(const CliGlobals *g, int argc, char **argv) {
        static const struct option options[] = {
                { "model", required_argument, NULL, 'm' }, { "threads", required_argument, NULL, 't' },
                { "prompt", required_argument, NULL, 'p' }, { "gen", required_argument, NULL, 'n' },
                { "help", no_argument, NULL, 'h' }, {},
        };
        EngineOptions eo = {};
        _cleanup_(engine_freep) Engine *e = NULL;
        const char *path = NULL;
        uint32_t n_prompt = 128, n_gen = 32;
        BenchResult res = {};
        char err[512];
        int c, r;

        while ((c = getopt_long(argc, argv, "m:t:p:n:h", options, NULL)) >= 0)
                switch (c) {
                case 'm': path = optarg; break;
                case 't': eo.n_threads = (unsigned) atoi(optarg); break;
                case 'p': n_prompt = (uint32_t) atoi(optarg); break;
                case 'n': n_gen = (uint32_t) atoi(optarg); break;
                case 'h':
                        printf("Usage: sluice bench -m FILE [--threads N] [--prompt N] [--gen N] [--json]\n\n"
                               "Measures prefill and decode speed and the machine's memory bandwidth.\n");
                        return CLI_EXIT_OK;
                default: return CLI_EXIT_USAGE;
                }
        if (!path || optind != argc)
                return cli_usage_error("bench: expected -m FILE");
        if (n_prompt == 0 || n_gen < 2)
                return cli_usage_error("bench: --prompt must be >= 1 and --gen >= 2");
        eo.n_ctx = n_prompt + n_gen;
        if (engine_open(path, &eo, &e, err, sizeof err) < 0) {
                fprintf(stderr, "sluice: %s: %s\n", path, err);
                return CLI_EXIT_FAILURE;
        }
        r = engine_measure_bandwidth(e, &res.bandwidth);
        if (r >= 0)
                r = bench_run(e, n_prompt, n_gen, &res);
        if (r < 0) {
                fprintf(stderr, "sluice: bench: %s\n", strerror(-r));
                return CLI_EXIT_FAILURE;
        }
        print_result(path, &res, engine_n_threads(e), g->json);
        return CLI_EXIT_OK;
}
