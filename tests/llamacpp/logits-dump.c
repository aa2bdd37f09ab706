/* logits-dump.c: prints sluice's next-token logits at every position of a prompt, as JSON lines (for
 * tests/llamacpp/compare.mjs, which checks them against llama.cpp).
 *
 * Usage: logits-dump [--threads N] MODEL.gguf TOKENS
 *   TOKENS: comma-separated token ids, fed as they are (no BOS is added).
 * Output: one line {"vocab":V,"n":N}, then for each position i one line
 *   {"pos":i,"token":T,"logits":[...]} with the V logits that predict the token after position i,
 * each as %.9g (enough to give the float back exactly). Uses engine_prompt_logits(). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

static void usage(FILE *f) {
        fputs("usage: logits-dump [--threads N] MODEL.gguf TOKENS\n"
              "Prints the logits sluice computes at every position of TOKENS (comma-separated ids, no BOS\n"
              "added) as JSON lines: {\"vocab\":V,\"n\":N}, then {\"pos\":i,\"token\":T,\"logits\":[...]} per position.\n",
              f);
}

static int parse_tokens(const char *s, int32_t **ret, size_t *ret_n) {
        size_t cap = 1, n = 0;
        int32_t *t;

        for (const char *p = s; *p; p++)
                cap += *p == ',';
        t = calloc(cap, sizeof *t);
        if (!t)
                return -ENOMEM;
        for (const char *p = s;;) {
                char *end;
                long v;

                errno = 0;
                v = strtol(p, &end, 10);
                if (errno || end == p || v < 0 || v > INT32_MAX || (*end && *end != ',')) {
                        free(t);
                        return -EINVAL;
                }
                t[n++] = (int32_t) v;
                if (!*end)
                        break;
                p = end + 1;
        }
        *ret = t;
        *ret_n = n;
        return 0;
}

int main(int argc, char **argv) {
        EngineOptions o = { .n_threads = 1 };
        _cleanup_(engine_freep) Engine *e = NULL;
        _cleanup_free_ int32_t *tokens = NULL;
        _cleanup_free_ float *logits = NULL;
        size_t n = 0;
        uint32_t vocab;
        char err[512] = "";
        int r, i = 1;

        if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
                usage(stdout);
                return 0;
        }
        if (argc > 2 && !strcmp(argv[1], "--threads")) {
                o.n_threads = (unsigned) strtoul(argv[2], NULL, 10);
                i = 3;
        }
        if (argc - i != 2) {
                usage(stderr);
                return 2;
        }
        if (parse_tokens(argv[i + 1], &tokens, &n) < 0) {
                fprintf(stderr, "logits-dump: bad token list \"%s\"\n", argv[i + 1]);
                return 2;
        }
        r = engine_open(argv[i], &o, &e, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "logits-dump: %s: %s\n", argv[i], *err ? err : strerror(-r));
                return 1;
        }
        vocab = engine_model(e)->config.vocab_size;
        for (size_t k = 0; k < n; k++)
                if ((uint32_t) tokens[k] >= vocab) {
                        fprintf(stderr, "logits-dump: token %d is outside the vocabulary of %u\n", tokens[k], vocab);
                        return 1;
                }
        logits = malloc(n * vocab * sizeof *logits);
        if (!logits)
                return 1;
        r = engine_prompt_logits(e, tokens, n, logits);
        if (r < 0) {
                fprintf(stderr, "logits-dump: engine_prompt_logits: %s\n", strerror(-r));
                return 1;
        }
        printf("{\"vocab\":%u,\"n\":%zu}\n", vocab, n);
        for (size_t k = 0; k < n; k++) {
                printf("{\"pos\":%zu,\"token\":%d,\"logits\":[", k, tokens[k]);
                for (uint32_t v = 0; v < vocab; v++)
                        printf(v ? ",%.9g" : "%.9g", (double) logits[k * vocab + v]);
                printf("]}\n");
        }
        return fflush(stdout) == 0 ? 0 : 1;
}
