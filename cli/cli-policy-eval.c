/* cli-policy-eval.c: `sluice policy eval CORPUS.jsonl`: the built-in detectors scored on a labeled
 * corpus exactly as tests/data/pii/README.md says: a detection is a true positive when a gold
 * entity of its type overlaps it (each gold entity matched once), other detections are false
 * positives, unmatched gold entities false negatives. Offsets are bytes of the raw text: hits on
 * the normalised text are mapped back through the normaliser's offset map. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli-policy.h"
#include "detect.h"
#include "fileio.h"
#include "json.h"
#include "normalize.h"
#include "strbuf.h"

#define EVAL_CORPUS_MAX ((size_t) 256 << 20)

typedef struct EvalSpan {
        DetectType type;
        size_t start, end;
        bool matched;
} EvalSpan;

typedef struct EvalSpans {
        EvalSpan *v;
        size_t n, cap;
} EvalSpans;

typedef struct EvalCounts {
        size_t gold, tp, fp, fn;
} EvalCounts;

typedef struct Eval {
        EvalCounts per[_DETECT_TYPE_MAX];
        size_t lines;
        bool show_errors;
        NormText norm;
        EvalSpans gold, found;
        const char *raw; /* the line's text, for mapping offsets back */
} Eval;

typedef struct EvalGates {
        double min_recall, min_precision, min_checksum_recall;
} EvalGates;

static int spans_add(EvalSpans *s, DetectType type, size_t start, size_t end) {
        if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 16;
                EvalSpan *v = reallocarray(s->v, cap, sizeof *v);

                if (!v)
                        return -ENOMEM;
                s->v = v;
                s->cap = cap;
        }
        s->v[s->n++] = (EvalSpan) { .type = type, .start = start, .end = end };
        return 0;
}

/* A hit on the normalised text, as raw offsets. */
static int on_hit(const DetectHit *hit, void *userdata) {
        Eval *e = userdata;

        return spans_add(&e->found, hit->type, e->norm.map[hit->start],
                         normtext_source_end(&e->norm, e->raw, hit->end));
}

static bool is_checksum_type(DetectType t) {
        return t == DETECT_CN_RESIDENT_ID || t == DETECT_BANK_CARD || t == DETECT_IBAN;
}

static int parse_gold(Eval *e, const cJSON *entities, size_t len, char *err, size_t errsz) {
        size_t k = 0;
        const cJSON *ent;

        cJSON_ArrayForEach(ent, entities) {
                const char *type;
                int64_t start, end;
                int t, r;
                char path[64], sub[256];

                snprintf(path, sizeof path, "entities[%zu]", k++);
                if ((r = json_get_string(ent, "type", &type, sub, sizeof sub)) < 0 ||
                    (r = json_get_int(ent, "start", 0, (int64_t) len, &start, sub, sizeof sub)) < 0 ||
                    (r = json_get_int(ent, "end", 0, (int64_t) len, &end, sub, sizeof sub)) < 0) {
                        snprintf(err, errsz, "%s.%s", path, sub);
                        return r;
                }
                t = detect_type_from_name(type);
                if (t < 0) {
                        snprintf(err, errsz, "%s.type: unknown detector \"%s\"", path, type);
                        return -EINVAL;
                }
                if (start >= end) {
                        snprintf(err, errsz, "%s: empty span [%jd, %jd)", path, (intmax_t) start, (intmax_t) end);
                        return -EINVAL;
                }
                r = spans_add(&e->gold, (DetectType) t, (size_t) start, (size_t) end);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void print_error_span(const char *what, size_t line, const EvalSpan *s, const char *note) {
        printf("%s line %zu: %s [%zu, %zu) %s\n", what, line, detect_type_name(s->type), s->start, s->end,
               note ? note : "");
}

/* Matches detections to gold entities (same type, overlapping, each gold once) and counts. */
static void score_line(Eval *e, size_t line, const char *note) {
        for (size_t g = 0; g < e->gold.n; g++)
                e->per[e->gold.v[g].type].gold++;
        for (size_t f = 0; f < e->found.n; f++) {
                EvalSpan *d = &e->found.v[f];

                for (size_t g = 0; g < e->gold.n && !d->matched; g++) {
                        EvalSpan *gs = &e->gold.v[g];

                        if (!gs->matched && gs->type == d->type && d->start < gs->end && gs->start < d->end)
                                gs->matched = d->matched = true;
                }
                if (d->matched)
                        e->per[d->type].tp++;
                else {
                        e->per[d->type].fp++;
                        if (e->show_errors)
                                print_error_span("FP", line, d, note);
                }
        }
        for (size_t g = 0; g < e->gold.n; g++)
                if (!e->gold.v[g].matched) {
                        e->per[e->gold.v[g].type].fn++;
                        if (e->show_errors)
                                print_error_span("FN", line, &e->gold.v[g], note);
                }
}

static int eval_line(Eval *e, const char *text, size_t n, size_t line, char *err, size_t errsz) {
        _cleanup_json_ cJSON *doc = NULL;
        const cJSON *entities, *note;
        const char *raw;
        int r;

        r = json_parse(text, n, &doc, err, errsz);
        if (r < 0)
                return r;
        r = json_get_string(doc, "text", &raw, err, errsz);
        if (r < 0)
                return r;
        r = json_get_array(doc, "entities", &entities, err, errsz);
        if (r < 0)
                return r;
        e->raw = raw;
        e->gold.n = e->found.n = 0;
        r = parse_gold(e, entities, strlen(raw), err, errsz);
        if (r < 0)
                return r;
        r = normalize_text(&e->norm, raw, strlen(raw));
        if (r < 0)
                return r;
        r = detect_scan(e->norm.buf, e->norm.len, on_hit, e);
        if (r < 0)
                return r;
        note = cJSON_GetObjectItemCaseSensitive(doc, "note");
        score_line(e, line, cJSON_IsString(note) ? note->valuestring : NULL);
        return 0;
}

static int eval_corpus(Eval *e, const char *path) {
        _cleanup_free_ char *data = NULL;
        size_t size, line = 0;
        int r;

        r = file_read_all(path, EVAL_CORPUS_MAX, &data, &size);
        if (r < 0) {
                fprintf(stderr, "sluice: policy eval: %s: %s\n", path, strerror(-r));
                return r;
        }
        for (const char *p = data, *end = data + size; p < end;) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);
                char err[512];

                line++;
                if (n > 0) {
                        r = eval_line(e, p, n, line, err, sizeof err);
                        if (r < 0) {
                                fprintf(stderr, "sluice: policy eval: %s:%zu: %s\n", path, line,
                                        r == -ENOMEM ? "out of memory" : err);
                                return r;
                        }
                        e->lines++;
                }
                p += n + 1;
        }
        if (e->lines == 0) {
                fprintf(stderr, "sluice: policy eval: %s: no corpus lines\n", path);
                return -EINVAL;
        }
        return 0;
}

static double ratio(size_t a, size_t b) {
        return b == 0 ? 1.0 : (double) a / (double) b; /* nothing to find / nothing reported: vacuous */
}

static double precision(const EvalCounts *c) {
        return ratio(c->tp, c->tp + c->fp);
}

static double recall(const EvalCounts *c) {
        return ratio(c->tp, c->gold);
}

static double f2(const EvalCounts *c) {
        double p = precision(c), r = recall(c);

        return p + r == 0 ? 0 : 5 * p * r / (4 * p + r);
}

static EvalCounts total_counts(const Eval *e) {
        EvalCounts t = {};

        for (size_t i = 0; i < _DETECT_TYPE_MAX; i++) {
                t.gold += e->per[i].gold;
                t.tp += e->per[i].tp;
                t.fp += e->per[i].fp;
                t.fn += e->per[i].fn;
        }
        return t;
}

/* Appends "NAME recall 0.9000 < 0.9500" lines for each gate c misses. */
static int check_gates(const char *name, const EvalCounts *c, bool checksum, const EvalGates *gates, StrBuf *out) {
        double min_recall = checksum ? MAX(gates->min_recall, gates->min_checksum_recall) : gates->min_recall;
        int r = 0;

        if (recall(c) < min_recall)
                r = strbuf_printf(out, "%s recall %.4f < %.4f\n", name, recall(c), min_recall);
        if (r >= 0 && precision(c) < gates->min_precision)
                r = strbuf_printf(out, "%s precision %.4f < %.4f\n", name, precision(c), gates->min_precision);
        return r;
}

static void print_row(const char *name, const EvalCounts *c) {
        printf("%-22s %6zu %6zu %6zu %6zu %10.4f %8.4f %8.4f\n", name, c->gold, c->tp, c->fp, c->fn, precision(c),
               recall(c), f2(c));
}

static void print_table(const Eval *e, const char *path) {
        EvalCounts t = total_counts(e);

        printf("%s: %zu lines\n", path, e->lines);
        printf("%-22s %6s %6s %6s %6s %10s %8s %8s\n", "detector", "gold", "TP", "FP", "FN", "precision", "recall",
               "F2");
        for (size_t i = 0; i < _DETECT_TYPE_MAX; i++)
                print_row(detect_type_name((DetectType) i), &e->per[i]);
        print_row("total", &t);
}

static cJSON *counts_to_json(const EvalCounts *c) {
        cJSON *o = cJSON_CreateObject();

        if (!o || !cJSON_AddNumberToObject(o, "gold", (double) c->gold) ||
            !cJSON_AddNumberToObject(o, "tp", (double) c->tp) || !cJSON_AddNumberToObject(o, "fp", (double) c->fp) ||
            !cJSON_AddNumberToObject(o, "fn", (double) c->fn) ||
            !cJSON_AddNumberToObject(o, "precision", precision(c)) ||
            !cJSON_AddNumberToObject(o, "recall", recall(c)) || !cJSON_AddNumberToObject(o, "f2", f2(c)))
                return cJSON_Delete(o), NULL;
        return o;
}

static int print_json(const Eval *e, const char *path, const char *failures) {
        _cleanup_json_ cJSON *doc = cJSON_CreateObject();
        _cleanup_free_ char *text = NULL;
        EvalCounts t = total_counts(e);
        cJSON *dets, *fails, *item;

        if (!doc || !cJSON_AddStringToObject(doc, "corpus", path) ||
            !cJSON_AddNumberToObject(doc, "lines", (double) e->lines) ||
            !(dets = cJSON_AddObjectToObject(doc, "detectors")) || !(fails = cJSON_AddArrayToObject(doc, "failed")))
                return -ENOMEM;
        for (size_t i = 0; i < _DETECT_TYPE_MAX; i++) {
                item = counts_to_json(&e->per[i]);
                if (!item || !cJSON_AddItemToObject(dets, detect_type_name((DetectType) i), item))
                        return cJSON_Delete(item), -ENOMEM;
        }
        item = counts_to_json(&t);
        if (!item || !cJSON_AddItemToObject(doc, "total", item))
                return cJSON_Delete(item), -ENOMEM;
        for (const char *p = failures, *nl; p && *p; p = nl + 1) {
                _cleanup_free_ char *one = NULL;

                nl = strchr(p, '\n');
                one = strndup(p, (size_t) (nl - p));
                item = one ? cJSON_CreateString(one) : NULL;
                if (!item || !cJSON_AddItemToArray(fails, item))
                        return cJSON_Delete(item), -ENOMEM;
        }
        if (json_print(doc, &text) < 0)
                return -ENOMEM;
        printf("%s\n", text);
        return 0;
}

static int parse_fraction(const char *flag, const char *s, double *ret) {
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s || *end || !(v >= 0 && v <= 1)) {
                (void) cli_usage_error("policy eval: %s: expected a number between 0 and 1, got \"%s\"", flag, s);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

int cli_policy_eval(const CliGlobals *g, int argc, char **argv) {
        static const struct option options[] = {
                { "min-recall", required_argument, NULL, 'r' },
                { "min-precision", required_argument, NULL, 'p' },
                { "min-checksum-recall", required_argument, NULL, 'c' },
                { "show-errors", no_argument, NULL, 'e' },
                { "json", no_argument, NULL, 'j' },
                {},
        };
        _cleanup_(strbuf_done) StrBuf failures = STRBUF_INIT;
        EvalGates gates = {};
        bool json = g->json;
        Eval e = { .norm.want_map = true };
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'r':
                        if (parse_fraction("--min-recall", optarg, &gates.min_recall) < 0)
                                return CLI_EXIT_USAGE;
                        break;
                case 'p':
                        if (parse_fraction("--min-precision", optarg, &gates.min_precision) < 0)
                                return CLI_EXIT_USAGE;
                        break;
                case 'c':
                        if (parse_fraction("--min-checksum-recall", optarg, &gates.min_checksum_recall) < 0)
                                return CLI_EXIT_USAGE;
                        break;
                case 'e':
                        e.show_errors = true;
                        break;
                case 'j':
                        json = true;
                        break;
                default:
                        return CLI_EXIT_USAGE;
                }
        if (optind + 1 != argc)
                return cli_usage_error("policy eval: expected one CORPUS.jsonl");
        if (json && e.show_errors)
                return cli_usage_error("policy eval: --show-errors and --json do not mix");

        r = eval_corpus(&e, argv[optind]);
        normtext_done(&e.norm);
        free(e.gold.v);
        free(e.found.v);
        if (r < 0)
                return CLI_EXIT_FAILURE;

        for (size_t i = 0; i < _DETECT_TYPE_MAX && r >= 0; i++)
                r = check_gates(detect_type_name((DetectType) i), &e.per[i], is_checksum_type((DetectType) i), &gates,
                                &failures);
        if (r >= 0) {
                EvalCounts t = total_counts(&e);

                r = check_gates("total", &t, false, &gates, &failures);
        }
        if (r < 0)
                return CLI_EXIT_FAILURE;
        if (json) {
                if (print_json(&e, argv[optind], strbuf_str(&failures)) < 0)
                        return CLI_EXIT_FAILURE;
        } else {
                print_table(&e, argv[optind]);
                if (failures.len > 0)
                        fprintf(stderr, "sluice: policy eval: below target:\n%s", strbuf_str(&failures));
        }
        return failures.len > 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}
