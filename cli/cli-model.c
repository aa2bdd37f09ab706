/* cli-model.c: `sluice model inspect|mk`: look inside GGUF files and make random-weight models. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gguf.h"
#include "modelgen.h"

/* Prints one metadata value; long arrays are shortened unless full. */
static void print_value(const GgufValue *v, bool full) {
        switch (v->type) {
        case GGUF_VALUE_UINT8: case GGUF_VALUE_UINT16: case GGUF_VALUE_UINT32: case GGUF_VALUE_UINT64:
                printf("%" PRIu64, v->u);
                break;
        case GGUF_VALUE_INT8: case GGUF_VALUE_INT16: case GGUF_VALUE_INT32: case GGUF_VALUE_INT64:
                printf("%" PRId64, v->i);
                break;
        case GGUF_VALUE_FLOAT32: case GGUF_VALUE_FLOAT64:
                printf("%g", v->f);
                break;
        case GGUF_VALUE_BOOL:
                printf("%s", v->b ? "true" : "false");
                break;
        case GGUF_VALUE_STRING:
                if (!full && v->str.len > 80)
                        printf("\"%.77s...\" (%zu bytes)", v->str.ptr, v->str.len);
                else
                        printf("\"%.*s\"", (int) v->str.len, v->str.ptr);
                break;
        case GGUF_VALUE_ARRAY: {
                uint64_t shown = full ? v->arr.n : MIN(v->arr.n, (uint64_t) 8);
                printf("[%s x %" PRIu64 "]", gguf_value_type_name(v->arr.type), v->arr.n);
                for (uint64_t i = 0; i < shown; i++) {
                        const char *s;
                        size_t len;
                        double f;
                        int64_t n;
                        if (v->arr.type == GGUF_VALUE_STRING && gguf_array_get_str(&v->arr, i, &s, &len) >= 0)
                                printf(" \"%.*s\"", (int) MIN(len, (size_t) 40), s);
                        else if ((v->arr.type == GGUF_VALUE_FLOAT32 || v->arr.type == GGUF_VALUE_FLOAT64) &&
                                 gguf_array_get_float(&v->arr, i, &f) >= 0)
                                printf(" %g", f);
                        else if (gguf_array_get_int(&v->arr, i, &n) >= 0)
                                printf(" %" PRId64, n);
                }
                if (shown < v->arr.n)
                        printf(" ...");
                break;
        }
        default:
                printf("?");
        }
}

static int verb_inspect(const CliGlobals *g, int argc, char **argv) {
        static const struct option options[] = { { "full", no_argument, NULL, 'f' }, {} };
        _cleanup_(gguf_closep) Gguf *gg = NULL;
        bool full = false;
        char err[512];
        int c;

        (void) g;
        while ((c = getopt_long(argc, argv, "f", options, NULL)) >= 0)
                if (c == 'f')
                        full = true;
                else
                        return CLI_EXIT_USAGE;
        if (optind + 1 != argc)
                return cli_usage_error("model inspect: expected one FILE");
        if (gguf_open(argv[optind], &gg, err, sizeof err) < 0) {
                fprintf(stderr, "sluice: %s: %s\n", argv[optind], err);
                return CLI_EXIT_FAILURE;
        }
        printf("file: %s\nversion: %u\nalignment: %zu\nsize: %zu bytes\n\nmetadata (%zu):\n", argv[optind],
               gguf_version(gg), gguf_alignment(gg), gguf_file_size(gg), gguf_n_kv(gg));
        for (size_t i = 0; i < gguf_n_kv(gg); i++) {
                GgufValue v;
                printf("  %s = ", gguf_kv_key(gg, i));
                if (gguf_kv_value(gg, i, &v) >= 0)
                        print_value(&v, full);
                printf("\n");
        }
        printf("\ntensors (%zu):\n", gguf_n_tensors(gg));
        for (size_t i = 0; i < gguf_n_tensors(gg); i++) {
                const GgufTensorInfo *t = gguf_tensor(gg, i);
                printf("  %-32s %-5s [", t->name, gguf_type_name(t->type));
                for (uint32_t d = 0; d < t->n_dims; d++)
                        printf("%s%" PRIu64, d ? ", " : "", t->ne[d]);
                printf("] offset %" PRIu64 " size %zu\n", t->offset, t->size);
        }
        return CLI_EXIT_OK;
}

static int parse_u32(const char *flag, const char *s, uint32_t *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v > UINT32_MAX || s[0] == '-')
                return cli_usage_error("model mk: %s: \"%s\" is not a whole number", flag, s);
        *ret = (uint32_t) v;
        return 0;
}

static void mk_progress(uint64_t done, uint64_t total) {
        fprintf(stderr, "\rmodel mk: %3d%% of %.1fM weights", (int) (100 * done / (total ? total : 1)), total / 1e6);
        if (done == total)
                fprintf(stderr, "\n");
}

static void mk_usage(void) {
        const char *const *names = modelgen_preset_names();
        printf("Usage: sluice model mk [--preset NAME | --arch llama|qwen2 --dim D --layers L --heads H\n"
               "                        --kv-heads K --ffn F] [--vocab bytes|FROM.gguf] [--vocab-size N]\n"
               "                        [--ctx N] [--dtype f32|f16|bf16|q8_0|q4_k|q6_k] [--tied|--untied]\n"
               "                        [--seed S] -o FILE\n\n"
               "Writes a model with random weights (deterministic for a seed) for tests, demos and benchmarks.\n"
               "Presets:");
        for (size_t i = 0; names[i]; i++)
                printf(" %s", names[i]);
        printf("\n");
}

enum { OPT_ARCH = 256, OPT_DIM, OPT_LAYERS, OPT_HEADS, OPT_KV, OPT_FFN, OPT_VOCAB, OPT_VOCAB_SIZE, OPT_CTX, OPT_DTYPE,
       OPT_SEED, OPT_PRESET, OPT_TIED, OPT_UNTIED, OPT_NAME };

static int mk_option(int c, const char *arg, ModelGenParams *p) {
        switch (c) {
        case OPT_ARCH:
                if (streq(arg, "llama") || streq(arg, "qwen2")) {
                        p->arch = streq(arg, "llama") ? MODEL_ARCH_LLAMA : MODEL_ARCH_QWEN2;
                        return 0;
                }
                return cli_usage_error("model mk: --arch must be llama or qwen2, not \"%s\"", arg);
        case OPT_DIM: return parse_u32("--dim", arg, &p->dim);
        case OPT_LAYERS: return parse_u32("--layers", arg, &p->n_layers);
        case OPT_HEADS: return parse_u32("--heads", arg, &p->n_heads);
        case OPT_KV: return parse_u32("--kv-heads", arg, &p->n_kv_heads);
        case OPT_FFN: return parse_u32("--ffn", arg, &p->hidden_dim);
        case OPT_VOCAB_SIZE: return parse_u32("--vocab-size", arg, &p->vocab_size);
        case OPT_CTX: return parse_u32("--ctx", arg, &p->n_ctx);
        case OPT_VOCAB:
                p->vocab_from = streq(arg, "bytes") ? NULL : arg;
                return 0;
        case OPT_DTYPE:
                p->dtype = gguf_type_from_name(arg);
                if ((int) p->dtype < 0 || !gguf_type_is_supported(p->dtype))
                        return cli_usage_error("model mk: --dtype must be f32, f16, bf16, q8_0, q4_k or q6_k, not \"%s\"", arg);
                return 0;
        case OPT_SEED: {
                char *end;
                errno = 0;
                p->seed = strtoull(arg, &end, 0);
                return errno || *end || end == arg ? cli_usage_error("model mk: --seed: \"%s\" is not a number", arg) : 0;
        }
        case OPT_TIED: p->tied = true; return 0;
        case OPT_UNTIED: p->tied = false; return 0;
        case OPT_NAME: p->name = arg; return 0;
        }
        return CLI_EXIT_USAGE;
}

static int verb_mk(const CliGlobals *g, int argc, char **argv) {
        static const struct option options[] = {
                { "arch", required_argument, NULL, OPT_ARCH }, { "dim", required_argument, NULL, OPT_DIM },
                { "layers", required_argument, NULL, OPT_LAYERS }, { "heads", required_argument, NULL, OPT_HEADS },
                { "kv-heads", required_argument, NULL, OPT_KV }, { "ffn", required_argument, NULL, OPT_FFN },
                { "vocab", required_argument, NULL, OPT_VOCAB }, { "vocab-size", required_argument, NULL, OPT_VOCAB_SIZE },
                { "ctx", required_argument, NULL, OPT_CTX }, { "dtype", required_argument, NULL, OPT_DTYPE },
                { "seed", required_argument, NULL, OPT_SEED }, { "preset", required_argument, NULL, OPT_PRESET },
                { "tied", no_argument, NULL, OPT_TIED }, { "untied", no_argument, NULL, OPT_UNTIED },
                { "name", required_argument, NULL, OPT_NAME }, { "output", required_argument, NULL, 'o' },
                { "help", no_argument, NULL, 'h' }, {},
        };
        ModelGenParams p = { .arch = MODEL_ARCH_LLAMA, .n_ctx = 2048, .rope_theta = 10000.0f, .tied = true,
                             .dtype = GGUF_TENSOR_F32 };
        const char *out = NULL, *preset = NULL;
        char err[512] = "";
        int c, r;

        (void) g;
        /* the preset goes first so that explicit flags override it, wherever they stand */
        for (int i = 1; i + 1 < argc; i++)
                if (streq(argv[i], "--preset"))
                        preset = argv[i + 1];
        if (preset && modelgen_preset(preset, &p) < 0)
                return cli_usage_error("model mk: unknown preset \"%s\" (see 'sluice model mk --help')", preset);
        while ((c = getopt_long(argc, argv, "o:h", options, NULL)) >= 0) {
                if (c == 'o')
                        out = optarg;
                else if (c == 'h') {
                        mk_usage();
                        return CLI_EXIT_OK;
                } else if (c == OPT_PRESET)
                        continue;
                else if ((r = mk_option(c, optarg, &p)) != 0)
                        return CLI_EXIT_USAGE;
        }
        if (!out || optind != argc)
                return cli_usage_error("model mk: expected -o FILE and no other arguments");
        if (modelgen_write(&p, out, isatty(STDERR_FILENO) ? mk_progress : NULL, err, sizeof err) < 0) {
                fprintf(stderr, "sluice: %s\n", err);
                return CLI_EXIT_FAILURE;
        }
        printf("%s: %s, %u layers, dim %u, %s\n", out, model_arch_name(p.arch), p.n_layers, p.dim, gguf_type_name(p.dtype));
        return CLI_EXIT_OK;
}

int cli_model_main(const CliGlobals *g, int argc, char **argv) {
        static const CliVerb verbs[] = {
                { "inspect", verb_inspect, "inspect [--full] FILE", "print metadata and tensors" },
                { "mk", verb_mk, "mk [--preset NAME] ... -o FILE", "make a random-weight model" },
#if HAVE_CJSON
                { "convert", cli_convert_main, "convert HF_DIR -o FILE [--dtype T]", "convert a Hugging Face model" },
#endif
#if HAVE_PULL
                { "pull", cli_pull_main, "pull URL -o FILE [--sha256 H]", "download a model (resumes)" },
#endif
                {},
        };
        return cli_dispatch(verbs, "model", g, argc - 1, argv + 1);
}
