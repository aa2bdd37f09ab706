/* logits-dump.c: prints, as JSON, the logits sluice's engine computes for every position of a prompt of token ids, for
 * agreement tests. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "macro.h"

#define MAX_TOKENS 4096

static int usage(void) {
        fprintf(stderr, "Usage: logits-dump MODEL.gguf TOKENS N_POSITIONS\n\n"
                        "TOKENS is a comma-separated list of token ids (\"1,17,250\"). Runs them as one prompt and\n"
                        "prints {\"model\", \"vocab_size\", \"tokens\", \"logits\"} with the logits of the first\n"
                        "N_POSITIONS positions (each a row of vocab_size floats, printed exactly).\n");
        return 2;
}

/* Parses "1,17,250" into at most max ids; -EINVAL on anything else. */
static int parse_tokens(const char *s, int32_t *ids, size_t max, size_t *ret_n) {
        size_t n = 0;

        for (;;) {
                char *end;
                long v;

                if (*s < '0' || *s > '9' || n == max)
                        return -EINVAL;
                errno = 0;
                v = strtol(s, &end, 10);
                if (errno || v > INT32_MAX)
                        return -EINVAL;
                ids[n++] = (int32_t) v;
                if (*end == '\0')
                        break;
                if (*end != ',')
                        return -EINVAL;
                s = end + 1;
        }
        *ret_n = n;
        return 0;
}

int main(int argc, char **argv) {
        static int32_t ids[MAX_TOKENS];
        _cleanup_(engine_freep) Engine *e = NULL;
        _cleanup_free_ float *logits = NULL;
        EngineOptions o = { .n_threads = 1 };
        char err[512] = "", *end;
        size_t n, n_pos;
        uint32_t vocab;
        int r;

        if (argc != 4)
                return usage();
        if (parse_tokens(argv[2], ids, MAX_TOKENS, &n) < 0) {
                fprintf(stderr, "logits-dump: TOKENS must be comma-separated ids, at most %d\n", MAX_TOKENS);
                return 2;
        }
        errno = 0;
        n_pos = strtoul(argv[3], &end, 10);
        if (errno || *end || end == argv[3] || n_pos == 0 || n_pos > n) {
                fprintf(stderr, "logits-dump: N_POSITIONS must be 1..%zu\n", n);
                return 2;
        }
        r = engine_open(argv[1], &o, &e, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "logits-dump: %s: %s\n", argv[1], err[0] ? err : strerror(-r));
                return 1;
        }
        vocab = engine_model(e)->config.vocab_size;
        logits = malloc(n * vocab * sizeof(float));
        if (!logits) {
                fprintf(stderr, "logits-dump: out of memory\n");
                return 1;
        }
        r = engine_prompt_logits(e, ids, n, logits);
        if (r < 0) {
                fprintf(stderr, "logits-dump: engine_prompt_logits: %s\n", strerror(-r));
                return 1;
        }
        printf("{\"model\":\"");
        for (const char *c = argv[1]; *c; c++)
                printf((*c == '"' || *c == '\\') ? "\\%c" : (unsigned char) *c < 0x20 ? "?" : "%c", *c);
        printf("\",\"vocab_size\":%u,\"tokens\":[", vocab);
        for (size_t i = 0; i < n; i++)
                printf("%s%d", i ? "," : "", ids[i]);
        printf("],\"logits\":[");
        for (size_t p = 0; p < n_pos; p++) {
                printf("%s[", p ? ",\n" : "\n");
                for (uint32_t v = 0; v < vocab; v++) {
                        float x = logits[p * vocab + v];
                        fputs(v ? "," : "", stdout);
                        if (isnan(x) || isinf(x)) /* as Python's json module reads them */
                                fputs(isnan(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity", stdout);
                        else
                                printf("%.9g", x); /* 9 significant digits: the float exactly */
                }
                printf("]");
        }
        printf("]}\n");
        return ferror(stdout) ? 1 : 0;
}
