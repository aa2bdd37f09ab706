/* bench-classify.c: the classifier's speed, single-threaded: MB/s on 1 KiB, 16 KiB and 256 KiB
 * prompts of mixed Chinese and English prose with a few entities, and the latency (median, p99) of
 * one 4 KiB prompt. Engines, one row each, all timed by the same two helpers:
 *   - normalize_text + detect_scan: the built-in detectors alone;
 *   - classify_run with the shipped default rule set (rules_default_json(), parsed once), called
 *     the way the controller's dispatch_classify() calls it: one ClassifyRequest per prompt with
 *     the prompt as its one text, the controller's default size and time budgets, a NormText
 *     scratch reused between requests;
 *   - the same with an admin-heavy rule set: the default plus 3 keyword lists of 1 000 terms in all
 *     (Chinese names and English project code words, case-insensitive) and 8 regexes of the shape
 *     admins write (project codes, employee ids, internal hosts, ...), built below;
 *   - a peer: the built-in detectors written naively as PCRE2 JIT regexes (one pass per detector,
 *     no normalisation, no checksums).
 * docs/PERFORMANCE.md records the numbers.
 *
 *     bench-classify [SECONDS_PER_CELL]      (default 0.5, at most 60) */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <pcre2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classify.h"
#include "detect.h"
#include "json.h"
#include "macro.h"
#include "normalize.h"
#include "rules.h"

#define LATENCY_SIZE 4096
#define LATENCY_RUNS 5000
/* The controller's defaults of classify_max_bytes and classify_timeout_ms (docs/OPERATIONS.md). */
#define CONTROLLER_CLASSIFY_MAX_BYTES (4 * 1024 * 1024)
#define CONTROLLER_CLASSIFY_TIMEOUT_USEC (200 * 1000)

static uint64_t now_nsec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* ---- the prompts ---- */

static const char *const prose[] = {
        "请帮我把这段Python代码改成异步版本，并解释一下为什么这样更快。",
        "Summarise the attached meeting notes in three bullet points for the weekly report. ",
        "我们的季度营收同比增长了12%，主要来自华东区的新客户。",
        "The model has 70 billion parameters and was trained on 2 trillion tokens. ",
        "服务器地址是192.168.10.23，端口8080，日志在/var/log/app目录下。",
        "Please review pull request 4821 before Friday; the CI run took 35 minutes. ",
        "会议定在2025年3月18日下午3点，请准时参加并准备好演示材料。",
        "Explain the difference between TCP and UDP, with an example for each. ",
        "用户反馈APP在安卓14上闪退，崩溃日志显示空指针异常。",
        "Set max_tokens to 4096 and temperature to 0.7 for the summarisation job. ",
};

/* A few entities, like a real prompt now and then carries (about one per KiB). */
static const char *const entities[] = {
        "我的手机号是13812345678，有事随时打给我。",
        "Email me at zhang.wei@example.com with the results. ",
        "身份证号11010519491231002X，请核对。",
        "Card number: 4111 1111 1111 1111 (expiry on file). ",
        "password=Tr0ub4dor99 ",
        "IBAN GB82 WEST 1234 5698 7654 32. ",
};

/* n bytes of prompt text (cut on a character boundary, NUL-terminated). */
static char *make_prompt(size_t n) {
        char *buf = malloc(n + 64);
        size_t len = 0, k = 0;

        if (!buf)
                return NULL;
        while (len < n) {
                const char *s = k % 9 == 8 ? entities[(k / 9) % ELEMENTSOF(entities)] : prose[k % ELEMENTSOF(prose)];
                size_t m = strlen(s);

                if (len + m > n) {
                        m = n - len;
                        while (m > 0 && ((unsigned char) s[m] & 0xC0) == 0x80)
                                m--;
                        if (m == 0)
                                break;
                }
                memcpy(buf + len, s, m);
                len += m;
                k++;
        }
        while (len < n)
                buf[len++] = ' ';
        buf[len] = 0;
        return buf;
}

/* ---- engines ---- */

typedef struct Engine {
        const char *name;
        const char *tag; /* short name for the ratio rows */
        int (*run)(void *state, const char *text, size_t len); /* the number of hits, or < 0 */
        void *state;
} Engine;

static int count_hit(const DetectHit *hit, void *userdata) {
        (*(int *) userdata)++;
        return 0;
}

static int run_sluice(void *state, const char *text, size_t len) {
        NormText *t = state;
        int hits = 0, r;

        r = normalize_text(t, text, len);
        if (r < 0)
                return r;
        r = detect_scan(t->buf, t->len, count_hit, &hits);
        return r < 0 ? r : hits;
}

static const char *const naive_patterns[_DETECT_TYPE_MAX] = {
        [DETECT_CN_RESIDENT_ID] = "(?<![0-9])[1-8][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
                                  "[0-9]{3}[0-9Xx](?![0-9])",
        [DETECT_CN_MOBILE] = "(?<![0-9])(?:\\+?86[ -]?|0086[ -]?)?1[3-9][0-9](?:[ .-]?[0-9]{4}){2}(?![0-9])",
        [DETECT_BANK_CARD] = "(?<![0-9])(?:[0-9][ -]?){12,18}[0-9](?![0-9])",
        [DETECT_EMAIL] = "[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}",
        [DETECT_IBAN] = "\\b[A-Z]{2}[0-9]{2}(?:[ -]?[A-Z0-9]{4}){2,7}(?:[ -]?[A-Z0-9]{1,4})?\\b",
        [DETECT_US_SSN] = "(?<![0-9])[0-9]{3}([- .])[0-9]{2}\\1[0-9]{4}(?![0-9])",
        [DETECT_PEM_PRIVATE_KEY] = "-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----",
        [DETECT_CLOUD_ACCESS_KEY] = "\\b(?:(?:AKIA|ASIA)[A-Z2-7]{16}|LTAI[A-Za-z0-9]{12,20}|AKID[A-Za-z0-9]{32})\\b",
        [DETECT_JWT] = "eyJ[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*",
        [DETECT_PASSWORD_ASSIGNMENT] = "(?i)(?:password|passwd|passphrase|pwd)[\"']?[ \\t]*[:=][ \\t]*[\"']?[^\\s\"',;]{4,}"
                                       "|(?:密码|口令)(?:是|为)?[ \\t]*[:：=＝][ \\t]*\\S{4,}",
};

typedef struct Naive {
        pcre2_code *code[_DETECT_TYPE_MAX];
        pcre2_match_data *md;
} Naive;

static int naive_init(Naive *n) {
        for (size_t i = 0; i < _DETECT_TYPE_MAX; i++) {
                int err;
                PCRE2_SIZE off;

                n->code[i] = pcre2_compile((PCRE2_SPTR) naive_patterns[i], PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err,
                                           &off, NULL);
                if (!n->code[i] || pcre2_jit_compile(n->code[i], PCRE2_JIT_COMPLETE) < 0) {
                        fprintf(stderr, "bench-classify: cannot compile the %s regex (error %d at %zu)\n",
                                detect_type_name((DetectType) i), err, (size_t) off);
                        return -EINVAL;
                }
        }
        n->md = pcre2_match_data_create(4, NULL);
        return n->md ? 0 : -ENOMEM;
}

static void naive_done(Naive *n) {
        for (size_t i = 0; i < _DETECT_TYPE_MAX; i++)
                pcre2_code_free(n->code[i]);
        pcre2_match_data_free(n->md);
}

static int run_naive(void *state, const char *text, size_t len) {
        Naive *n = state;
        int hits = 0;

        for (size_t i = 0; i < _DETECT_TYPE_MAX; i++)
                for (PCRE2_SIZE at = 0; at <= len;) {
                        PCRE2_SIZE *ov;
                        int r = pcre2_jit_match(n->code[i], (PCRE2_SPTR) text, len, at, PCRE2_NO_UTF_CHECK, n->md, NULL);

                        if (r == PCRE2_ERROR_NOMATCH)
                                break;
                        if (r < 0)
                                return -EIO;
                        hits++;
                        ov = pcre2_get_ovector_pointer(n->md);
                        at = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
                }
        return hits;
}

/* ---- classify_run and its rule sets ---- */

typedef struct Classifier {
        RuleSet *rs;
        NormText scratch; /* reused between requests, as the controller's service thread does */
} Classifier;

static int run_classify(void *state, const char *text, size_t len) {
        Classifier *k = state;
        ClassifyRequest req = {
                .texts = { text },
                .lens = { len },
                .n_texts = 1,
                .client_class = POLICY_PUBLIC,
                .max_bytes = CONTROLLER_CLASSIFY_MAX_BYTES,
                .budget_usec = CONTROLLER_CLASSIFY_TIMEOUT_USEC,
        };
        Classification c;
        int hits = 0;

        classify_run(k->rs, &req, &k->scratch, &c);
        if (c.fail_closed) { /* a budget or an error: the numbers would not be the scan's */
                fprintf(stderr, "bench-classify: classify_run failed closed: %s\n", c.reason);
                return -EIO;
        }
        for (size_t i = 0; i < c.n_entities; i++)
                hits += (int) c.counts[i];
        return hits;
}

static void classifier_done(Classifier *k) {
        rules_free(k->rs);
        normtext_done(&k->scratch);
}

/* Terms of a keyword list are made by joining a word of first and a word of second: term k is
 * first[k % n_first] sep second[k / n_first], so that consecutive terms differ. */
typedef struct WordSet {
        const char *const *first, *const *second;
        size_t n_first, n_second;
        const char *sep;
        size_t next; /* the next unused term: lists never share a term */
} WordSet;

static const char *const surnames[] = {
        "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马",
        "朱", "胡", "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐",
};
static const char *const given_names[] = {
        "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇",
        "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华",
};
static const char *const code_adjectives[] = {
        "Amber", "Arctic", "Basalt", "Bright", "Cobalt", "Crimson", "Silent", "Golden", "Hidden", "Iron",
        "Jade", "Lunar", "Midnight", "Northern", "Obsidian", "Polar", "Quiet", "Scarlet", "Silver", "Velvet",
};
static const char *const code_nouns[] = {
        "Falcon", "Heron", "Lynx", "Otter", "Raven", "Badger", "Cedar", "Comet", "Delta",
        "Ember", "Fjord", "Glacier", "Harbor", "Kestrel", "Lantern", "Meridian", "Nimbus",
        "Orchid", "Pioneer", "Quasar", "Ridge", "Sparrow", "Tundra", "Vertex", "Willow",
};

static const struct {
        const char *name;
        size_t n_names, n_code_words; /* terms from the Chinese names, then from the code words */
} admin_keywords[] = {
        { "staff_names", 400, 0 },
        { "project_codenames", 0, 400 },
        { "partner_contacts", 150, 50 },
};

static const struct {
        const char *name, *pattern;
} admin_regexes[] = {
        { "project_code", "\\bPRJ-[0-9]{4}(?:-[A-Z]{2,3})?\\b" },
        { "employee_id", "(?i)\\bemp[-_]?[0-9]{6}\\b" },
        { "internal_host", "\\b[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\.(?:corp|internal|intra)\\.example\\.com\\b" },
        { "ticket_id", "\\b(?:INFRA|SEC|FIN|HR|OPS)-[0-9]{1,6}\\b" },
        { "contract_no", "(?:合同编号|合同号)\\s*:?\\s*[A-Z]{2}-?[0-9]{8}" },
        { "internal_ip", "\\b10(?:\\.(?:25[0-5]|2[0-4][0-9]|1?[0-9]{1,2})){3}\\b" },
        { "cost_center", "\\bCC[-_ ]?[0-9]{4}\\b" },
        { "internal_url", "\\bhttps?://(?:wiki|git|jira|grafana)\\.corp\\.example\\.com(?:/\\S*)?" },
};

static const struct {
        const char *id;
        const char *entities[6]; /* NULL-terminated */
} admin_rules[] = {
        { "internal-people", { "staff_names", "partner_contacts", "employee_id" } },
        { "internal-projects", { "project_codenames", "project_code", "ticket_id", "contract_no", "cost_center" } },
        { "internal-infra", { "internal_host", "internal_ip", "internal_url" } },
};

/* Appends item to array; -ENOMEM (item freed) when item is NULL or cannot be added. */
static int json_push(cJSON *array, cJSON *item) {
        if (item && cJSON_AddItemToArray(array, item))
                return 0;
        cJSON_Delete(item);
        return -ENOMEM;
}

/* The array member name of obj, created when missing (the default rule set has "rules" only). */
static cJSON *json_array_member(cJSON *obj, const char *name) {
        cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, name);

        return cJSON_IsArray(a) ? a : cJSON_AddArrayToObject(obj, name);
}

static int add_terms(cJSON *terms, WordSet *w, size_t n) {
        for (size_t i = 0; i < n; i++, w->next++) {
                char term[64];
                int r;

                if (w->next >= w->n_first * w->n_second)
                        return -ERANGE;
                (void) snprintf(term, sizeof term, "%s%s%s", w->first[w->next % w->n_first], w->sep,
                                w->second[w->next / w->n_first]);
                r = json_push(terms, cJSON_CreateString(term));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int add_admin_keywords(cJSON *doc, size_t *n_terms) {
        WordSet names = { surnames, given_names, ELEMENTSOF(surnames), ELEMENTSOF(given_names), "", 0 };
        WordSet words = { code_adjectives, code_nouns, ELEMENTSOF(code_adjectives), ELEMENTSOF(code_nouns), " ", 0 };
        cJSON *lists = json_array_member(doc, "keywords");

        if (!lists)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(admin_keywords); i++) {
                cJSON *list = cJSON_CreateObject(), *terms;
                int r;

                if (json_push(lists, list) < 0 || !cJSON_AddStringToObject(list, "name", admin_keywords[i].name) ||
                    !cJSON_AddBoolToObject(list, "case_insensitive", true) ||
                    !(terms = cJSON_AddArrayToObject(list, "terms")))
                        return -ENOMEM;
                if ((r = add_terms(terms, &names, admin_keywords[i].n_names)) < 0 ||
                    (r = add_terms(terms, &words, admin_keywords[i].n_code_words)) < 0)
                        return r;
                *n_terms += (size_t) cJSON_GetArraySize(terms);
        }
        return 0;
}

static int add_admin_regexes_and_rules(cJSON *doc) {
        cJSON *regexes = json_array_member(doc, "regexes"), *rules = json_array_member(doc, "rules");

        if (!regexes || !rules)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(admin_regexes); i++) {
                cJSON *re = cJSON_CreateObject();

                if (json_push(regexes, re) < 0 || !cJSON_AddStringToObject(re, "name", admin_regexes[i].name) ||
                    !cJSON_AddStringToObject(re, "pattern", admin_regexes[i].pattern))
                        return -ENOMEM;
        }
        for (size_t i = 0; i < ELEMENTSOF(admin_rules); i++) {
                cJSON *rule = cJSON_CreateObject(), *when, *listed;

                if (json_push(rules, rule) < 0 || !cJSON_AddStringToObject(rule, "id", admin_rules[i].id) ||
                    !cJSON_AddStringToObject(rule, "class", "internal") ||
                    !(when = cJSON_AddObjectToObject(rule, "when")) ||
                    !(listed = cJSON_AddArrayToObject(when, "entities")))
                        return -ENOMEM;
                for (size_t j = 0; j < ELEMENTSOF(admin_rules[i].entities) && admin_rules[i].entities[j]; j++)
                        if (json_push(listed, cJSON_CreateString(admin_rules[i].entities[j])) < 0)
                                return -ENOMEM;
        }
        return 0;
}

/* The shipped default rule set, or with admin_heavy the default plus the lists and regexes above. */
static int classifier_init(Classifier *k, bool admin_heavy) {
        const char *json = rules_default_json();
        _cleanup_json_ cJSON *doc = NULL;
        char err[256];
        size_t n_terms = 0;
        int r;

        if (!admin_heavy)
                r = rules_parse(json, strlen(json), &k->rs, err, sizeof err);
        else if ((r = json_parse(json, strlen(json), &doc, err, sizeof err)) >= 0) {
                if ((r = add_admin_keywords(doc, &n_terms)) < 0 || (r = add_admin_regexes_and_rules(doc)) < 0)
                        (void) snprintf(err, sizeof err, "building it: %s", strerror(-r));
                else if ((r = rules_from_json(doc, &k->rs, err, sizeof err)) >= 0)
                        printf("admin-heavy rule set: %zu keyword lists, %zu terms, %zu regexes, %zu rules more\n",
                               ELEMENTSOF(admin_keywords), n_terms, ELEMENTSOF(admin_regexes),
                               ELEMENTSOF(admin_rules));
        }
        if (r < 0)
                fprintf(stderr, "bench-classify: the %s rule set: %s\n", admin_heavy ? "admin-heavy" : "default", err);
        return r;
}

/* ---- measurements ---- */

static double throughput_mbps(const Engine *e, const char *text, size_t len, double seconds) {
        uint64_t start = now_nsec(), budget = (uint64_t) (seconds * 1e9), elapsed;
        size_t bytes = 0;

        do {
                if (e->run(e->state, text, len) < 0)
                        return -1;
                bytes += len;
                elapsed = now_nsec() - start;
        } while (elapsed < budget);
        return (double) bytes / 1e6 / ((double) elapsed / 1e9);
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

static int latency_usec(const Engine *e, const char *text, size_t len, double *median, double *p99) {
        static uint64_t t[LATENCY_RUNS];

        for (size_t i = 0; i < LATENCY_RUNS; i++) {
                uint64_t start = now_nsec();

                if (e->run(e->state, text, len) < 0)
                        return -EIO;
                t[i] = now_nsec() - start;
        }
        qsort(t, LATENCY_RUNS, sizeof t[0], cmp_u64);
        *median = (double) t[LATENCY_RUNS / 2] / 1e3;
        *p99 = (double) t[LATENCY_RUNS * 99 / 100] / 1e3;
        return 0;
}

int main(int argc, char **argv) {
        static const size_t sizes[] = { 1024, 16 * 1024, 256 * 1024 };
        double seconds = 0.5;
        NormText norm = {};
        Classifier with_default = {}, with_admin = {};
        Naive naive = {};
        Engine engines[] = { /* the peer, which the ratios divide by, is the last */
                { "sluice normalize+detect", "sluice", run_sluice, &norm },
                { "classify_run, default", "default", run_classify, &with_default },
                { "classify_run, admin-heavy", "admin", run_classify, &with_admin },
                { "PCRE2 JIT, naive", "PCRE2", run_naive, &naive },
        };
        const size_t n = ELEMENTSOF(engines), peer = n - 1;
        double mbps[ELEMENTSOF(sizes)][ELEMENTSOF(engines)], med[ELEMENTSOF(engines)], p99[ELEMENTSOF(engines)];
        int r = EXIT_FAILURE;

        if (argc > 2) {
                fprintf(stderr, "usage: bench-classify [SECONDS_PER_CELL]\n");
                return EXIT_FAILURE;
        }
        if (argc > 1) {
                char *end;

                seconds = strtod(argv[1], &end);
                if (end == argv[1] || *end || !(seconds > 0 && seconds <= 60)) {
                        fprintf(stderr, "bench-classify: SECONDS_PER_CELL must be a number in (0, 60], got \"%s\"\n",
                                argv[1]);
                        return EXIT_FAILURE;
                }
        }
        if (naive_init(&naive) < 0 || classifier_init(&with_default, false) < 0 ||
            classifier_init(&with_admin, true) < 0)
                goto done;
        for (size_t s = 0; s < ELEMENTSOF(sizes); s++) {
                _cleanup_free_ char *text = make_prompt(sizes[s]);

                if (!text)
                        goto done;
                for (size_t e = 0; e < n; e++) {
                        mbps[s][e] = throughput_mbps(&engines[e], text, sizes[s], seconds);
                        if (mbps[s][e] < 0)
                                goto done;
                }
        }
        {
                _cleanup_free_ char *text = make_prompt(LATENCY_SIZE);

                if (!text)
                        goto done;
                printf("hits in the 4 KiB prompt:");
                for (size_t e = 0; e < n; e++) {
                        if (latency_usec(&engines[e], text, LATENCY_SIZE, &med[e], &p99[e]) < 0)
                                goto done;
                        printf(" %s %d%s", engines[e].tag, engines[e].run(engines[e].state, text, LATENCY_SIZE),
                               e + 1 < n ? "," : "\n");
                }
        }

        printf("%-26s %12s %12s %12s %14s %14s\n", "engine (1 thread)", "1 KiB MB/s", "16 KiB MB/s",
               "256 KiB MB/s", "4 KiB median", "4 KiB p99");
        for (size_t e = 0; e < n; e++)
                printf("%-26s %12.1f %12.1f %12.1f %11.1f us %11.1f us\n", engines[e].name, mbps[0][e], mbps[1][e],
                       mbps[2][e], med[e], p99[e]);
        for (size_t e = 0; e < peer; e++) {
                char label[32];

                (void) snprintf(label, sizeof label, "ratio %s / %s", engines[e].tag, engines[peer].tag);
                printf("%-26s %11.2fx %11.2fx %11.2fx %13.2fx %13.2fx\n", label, mbps[0][e] / mbps[0][peer],
                       mbps[1][e] / mbps[1][peer], mbps[2][e] / mbps[2][peer], med[peer] / med[e], p99[peer] / p99[e]);
        }
        r = EXIT_SUCCESS;
done:
        naive_done(&naive);
        classifier_done(&with_admin);
        classifier_done(&with_default);
        normtext_done(&norm);
        return r;
}
