/* test-policy-rules.c: the rule set: the shipped default, every refusal of a malformed document
 * (by field), the limits of rules.h, keyword lists (literal, case, CJK, large lists) and regexes
 * (PCRE2 limits), and the evaluation semantics (highest class, first rule, conditions, zones). */
#include <stdlib.h>

#include "json.h"
#include "rules.h"
#include "strbuf.h"
#include "test.h"

static char err[512];

static int parse(const char *json, RuleSet **ret) {
        err[0] = '\0';
        return rules_parse(json, strlen(json), ret, err, sizeof err);
}

/* The count of keyword list / regex entity i (after the built-ins) in text. */
static int64_t custom_count(const RuleSet *rs, size_t i, const char *text) {
        uint32_t counts[RULES_ENTITIES_MAX] = {};
        int r = rules_scan_custom(rs, text, strlen(text), counts);

        return r < 0 ? r : (int64_t) counts[_DETECT_TYPE_MAX + i];
}

TEST(class_and_zone_names) {
        for (int c = 0; c < _POLICY_CLASS_MAX; c++)
                ASSERT_EQ(policy_class_from_name(policy_class_name((PolicyClass) c)), c);
        ASSERT_STREQ(policy_class_name(POLICY_SENSITIVE), "sensitive");
        ASSERT_NULL(policy_class_name(_POLICY_CLASS_MAX));
        ASSERT_ERROR(policy_class_from_name("secret"), -EINVAL);
        ASSERT_ERROR(policy_class_from_name(NULL), -EINVAL);
        ASSERT_EQ(policy_zone_from_name("private"), POLICY_ZONE_PRIVATE);
        ASSERT_EQ(policy_zone_from_name("public"), POLICY_ZONE_PUBLIC);
        ASSERT_ERROR(policy_zone_from_name("Private"), -EINVAL);
}

TEST(default_makes_every_detector_sensitive) {
        _cleanup_rules_ RuleSet *rs = NULL;
        uint32_t counts[RULES_ENTITIES_MAX] = {};
        RulesInput in = { .counts = counts };
        RulesVerdict v;

        ASSERT_OK(parse(rules_default_json(), &rs));
        ASSERT_EQ(rules_entity_count(rs), _DETECT_TYPE_MAX);
        ASSERT_EQ(rules_spill_queue_depth(rs), RULES_DEFAULT_SPILL_QUEUE_DEPTH);
        rules_evaluate(rs, &in, &v);
        ASSERT_EQ(v.cls, POLICY_PUBLIC);
        ASSERT_NULL(v.rule_id);
        ASSERT_EQ(v.zones, POLICY_ZONE_PRIVATE | POLICY_ZONE_PUBLIC);
        ASSERT_EQ(rules_zones(rs, POLICY_INTERNAL), POLICY_ZONE_PRIVATE | POLICY_ZONE_PUBLIC);
        for (size_t t = 0; t < _DETECT_TYPE_MAX; t++) {
                counts[t] = 1;
                rules_evaluate(rs, &in, &v);
                counts[t] = 0;
                if (v.cls != POLICY_SENSITIVE || v.zones != POLICY_ZONE_PRIVATE)
                        printf("# %s does not make a prompt sensitive\n", rules_entity_name(rs, t));
                ASSERT_EQ(v.cls, POLICY_SENSITIVE);
                ASSERT_EQ(v.zones, POLICY_ZONE_PRIVATE);
                ASSERT_NOT_NULL(v.rule_id);
        }
        counts[DETECT_EMAIL] = 1;
        rules_evaluate(rs, &in, &v);
        ASSERT_STREQ(v.rule_id, "pii-contact");
        counts[DETECT_EMAIL] = 0;
        counts[DETECT_JWT] = 3;
        rules_evaluate(rs, &in, &v);
        ASSERT_STREQ(v.rule_id, "secrets");
}

TEST(document_format) {
        _cleanup_rules_ RuleSet *rs = NULL;

        /* the example of rules.h, whole */
        ASSERT_OK(parse("{\"description\": \"x\", \"spill_queue_depth\": 0,"
                        " \"keywords\": [{\"name\": \"patient_name\", \"terms\": [\"张三\", \"Jane Roe\"],"
                        "                 \"case_insensitive\": true}],"
                        " \"regexes\": [{\"name\": \"project_code\", \"pattern\": \"PRJ-[0-9]{4}\"}],"
                        " \"rules\": [{\"id\": \"secrets\", \"class\": \"sensitive\", \"description\": \"d\","
                        "            \"when\": {\"entities\": [\"pem_private_key\", \"jwt\"], \"min_count\": 1,"
                        "                     \"key_labels\": {\"team\": \"finance\"}, \"models\": [\"llama-internal\"]}}],"
                        " \"zones\": {\"public\": [\"private\", \"public\"], \"internal\": [\"private\", \"public\"],"
                        "           \"sensitive\": [\"private\"]}}",
                        &rs));
        ASSERT_EQ(rules_spill_queue_depth(rs), 0);
        ASSERT_EQ(rules_entity_count(rs), _DETECT_TYPE_MAX + 2);
        ASSERT_STREQ(rules_entity_name(rs, DETECT_EMAIL), "email");
        ASSERT_STREQ(rules_entity_name(rs, _DETECT_TYPE_MAX), "patient_name");
        ASSERT_STREQ(rules_entity_name(rs, _DETECT_TYPE_MAX + 1), "project_code");
        ASSERT_NULL(rules_entity_name(rs, _DETECT_TYPE_MAX + 2));
        rs = rules_free(rs);
        /* every part is optional: the empty document is the empty rule set */
        ASSERT_OK(parse("{}", &rs));
        ASSERT_EQ(rules_entity_count(rs), _DETECT_TYPE_MAX);
        ASSERT_EQ(rules_zones(rs, POLICY_PUBLIC), POLICY_ZONE_PRIVATE | POLICY_ZONE_PUBLIC);
        ASSERT_EQ(rules_zones(rs, POLICY_SENSITIVE), POLICY_ZONE_PRIVATE);
}

typedef struct Bad {
        const char *doc;
        const char *message; /* a substring of err */
} Bad;

TEST(malformed_documents_name_their_field) {
        static const Bad cases[] = {
                { "{\"rules\": [", "the rule set is not JSON: line 1" },
                { "[]", "the rule set must be a JSON object" },
                { "{\"rule\": []}", "unknown field \"rule\"" },
                { "{\"rules\": {}}", "rules: " },
                { "{\"rules\": [{\"id\": \"x\", \"class\": \"secret\"}]}", "rules[0].class: " },
                { "{\"rules\": [{\"id\": \"x\"}]}", "rules[0]: " },
                { "{\"rules\": [{\"id\": \"Bad Id\", \"class\": \"public\"}]}", "rules[0].id: " },
                { "{\"rules\": [{\"id\": \"a\", \"class\": \"public\"}, {\"id\": \"b\", \"class\": \"public\"},"
                  " {\"id\": \"c\", \"class\": \"sensitive\", \"when\": {\"entities\": [\"emial\"]}}]}",
                  "rules[2].when.entities[0]: unknown entity type \"emial\"" },
                { "{\"rules\": [{\"id\": \"a\", \"class\": \"public\"}, {\"id\": \"a\", \"class\": \"internal\"}]}",
                  "rules[1].id: \"a\" is the id of rules[0] too" },
                { "{\"rules\": [{\"id\": \"default\", \"class\": \"public\"}]}", "rules[0].id: \"default\" is reserved" },
                { "{\"rules\": [{\"id\": \"fail_closed\", \"class\": \"public\"}]}", "\"fail_closed\" is reserved" },
                { "{\"rules\": [{\"id\": \"x\", \"class\": \"public\", \"when\": {\"entities\": []}}]}",
                  "rules[0].when.entities: " },
                { "{\"rules\": [{\"id\": \"x\", \"class\": \"public\", \"when\": {\"entities\": [\"email\"], \"min_count\": 0}}]}",
                  "rules[0].when.min_count: " },
                { "{\"rules\": [{\"id\": \"x\", \"class\": \"public\", \"when\": {\"min_count\": 2}}]}",
                  "rules[0].when.min_count: counts only with \"entities\"" },
                { "{\"rules\": [{\"id\": \"x\", \"class\": \"public\", \"when\": {\"key_labels\": {\"team\": 1}}}]}",
                  "rules[0].when.key_labels.team: " },
                { "{\"rules\": [{\"id\": \"x\", \"class\": \"public\", \"when\": {\"models\": \"m\"}}]}",
                  "rules[0].when.models: " },
                { "{\"rules\": [{\"id\": \"x\", \"class\": \"public\", \"when\": {\"model\": [\"m\"]}}]}",
                  "unknown field \"model\"" },
                { "{\"spill_queue_depth\": 4097}", "spill_queue_depth: " },
                { "{\"spill_queue_depth\": -1}", "spill_queue_depth: " },
                { "{\"keywords\": [{\"name\": \"email\", \"terms\": [\"x\"]}]}",
                  "keywords[0].name: \"email\" is the name of a built-in detector" },
                { "{\"regexes\": [{\"name\": \"jwt\", \"pattern\": \"x\"}]}",
                  "regexes[0].name: \"jwt\" is the name of a built-in detector" },
                { "{\"keywords\": [{\"name\": \"code\", \"terms\": [\"x\"]}],"
                  " \"regexes\": [{\"name\": \"code\", \"pattern\": \"y\"}]}",
                  "regexes[0].name: entity type \"code\" is defined twice" },
                { "{\"keywords\": [{\"name\": \"Code\", \"terms\": [\"x\"]}]}", "keywords[0].name: " },
                { "{\"keywords\": [{\"name\": \"code\", \"terms\": []}]}", "keywords[0].terms: " },
                { "{\"keywords\": [{\"name\": \"code\", \"terms\": [\"\"]}]}", "keywords[0].terms[0]: " },
                { "{\"keywords\": [{\"name\": \"code\", \"terms\": [\"x\"], \"case_insensitive\": \"yes\"}]}",
                  "keywords[0].case_insensitive: " },
                { "{\"regexes\": [{\"name\": \"code\", \"pattern\": \"PRJ-(\"}]}", "regexes[0].pattern: at offset 5: " },
                { "{\"regexes\": [{\"name\": \"code\", \"pattern\": \"a*\"}]}",
                  "regexes[0].pattern: can match the empty string" },
                { "{\"zones\": {\"sensitive\": [\"private\", \"public\"]}}", "zones.sensitive: " },
                { "{\"zones\": {\"sensitive\": [\"public\"]}}", "zones.sensitive: " },
                { "{\"zones\": {\"public\": [\"moon\"]}}", "zones.public[0]: " },
                { "{\"zones\": {\"public\": []}}", "zones.public: " },
                { "{\"zones\": {\"public\": [\"private\", \"private\"]}}", "zones.public: " },
                { "{\"zones\": {\"public\": [\"private\"]}}", "zones.internal: allows a zone that zones.public does not" },
                { "{\"zones\": {\"secret\": [\"private\"]}}", "unknown field \"secret\"" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                RuleSet *rs = NULL;
                int r = parse(cases[i].doc, &rs);

                if (r != -EINVAL || !strstr(err, cases[i].message))
                        printf("# case %zu: %s -> %d \"%s\", expected \"%s\"\n", i, cases[i].doc, r, err,
                               cases[i].message);
                ASSERT_ERROR(r, -EINVAL);
                ASSERT_CONTAINS(err, cases[i].message);
                ASSERT_NULL(rs);
        }
}

/* {"keywords": [lists of terms_each terms of term_bytes bytes], "regexes": [n_regexes], "rules": [n_rules]} */
static char *document(size_t n_rules, size_t n_lists, size_t terms_each, size_t term_bytes, size_t n_regexes,
                      size_t regex_bytes) {
        StrBuf b = STRBUF_INIT;
        int r = strbuf_puts(&b, "{\"keywords\": [");

        for (size_t l = 0; l < n_lists && r >= 0; l++) {
                r = strbuf_printf(&b, "%s{\"name\": \"list%zu\", \"terms\": [", l ? "," : "", l);
                for (size_t t = 0; t < terms_each && r >= 0; t++) {
                        char term[RULES_TERM_BYTES_MAX + 2];
                        int n = snprintf(term, sizeof term, "%zu-%zu-", l, t);

                        memset(term + n, 'x', sizeof term - (size_t) n);
                        term[MIN(MAX(term_bytes, (size_t) n), sizeof term - 1)] = '\0';
                        r = strbuf_printf(&b, "%s\"%s\"", t ? "," : "", term);
                }
                if (r >= 0)
                        r = strbuf_puts(&b, "]}");
        }
        if (r >= 0)
                r = strbuf_puts(&b, "], \"regexes\": [");
        for (size_t i = 0; i < n_regexes && r >= 0; i++) {
                r = strbuf_printf(&b, "%s{\"name\": \"re%zu\", \"pattern\": \"", i ? "," : "", i);
                for (size_t k = 0; k < regex_bytes && r >= 0; k++)
                        r = strbuf_putc(&b, 'r');
                if (r >= 0)
                        r = strbuf_puts(&b, "\"}");
        }
        if (r >= 0)
                r = strbuf_puts(&b, "], \"rules\": [");
        for (size_t i = 0; i < n_rules && r >= 0; i++)
                r = strbuf_printf(&b, "%s{\"id\": \"r%zu\", \"class\": \"internal\"}", i ? "," : "", i);
        if (r >= 0)
                r = strbuf_puts(&b, "]}");
        if (r < 0) {
                strbuf_done(&b);
                return NULL;
        }
        return strbuf_take(&b);
}

static int parse_generated(char *doc) {
        _cleanup_free_ char *d = doc;
        RuleSet *rs = NULL;
        int r;

        if (!d)
                return -ENOMEM;
        r = parse(d, &rs);
        rules_free(rs);
        return r;
}

TEST(limits) {
        _cleanup_free_ char *big = NULL;
        RuleSet *rs = NULL;
        size_t n = RULES_DOCUMENT_MAX + 1;

        /* each limit: at the limit it is accepted, one over it is refused with -E2BIG naming it */
        ASSERT_OK(parse_generated(document(RULES_RULES_MAX, 0, 0, 0, 0, 0)));
        ASSERT_ERROR(parse_generated(document(RULES_RULES_MAX + 1, 0, 0, 0, 0, 0)), -E2BIG);
        ASSERT_CONTAINS(err, "RULES_RULES_MAX");
        ASSERT_OK(parse_generated(document(0, RULES_KEYWORD_LISTS_MAX, 1, 8, 0, 0)));
        ASSERT_ERROR(parse_generated(document(0, RULES_KEYWORD_LISTS_MAX + 1, 1, 8, 0, 0)), -E2BIG);
        ASSERT_CONTAINS(err, "RULES_KEYWORD_LISTS_MAX");
        ASSERT_OK(parse_generated(document(0, 2, RULES_TERMS_MAX / 2, 16, 0, 0)));
        ASSERT_ERROR(parse_generated(document(0, 2, RULES_TERMS_MAX / 2 + 1, 16, 0, 0)), -E2BIG);
        ASSERT_CONTAINS(err, "keywords[1].terms: terms in all lists: 10002, over the limit of 10000 (RULES_TERMS_MAX)");
        ASSERT_OK(parse_generated(document(0, 1, 1, RULES_TERM_BYTES_MAX, 0, 0)));
        ASSERT_ERROR(parse_generated(document(0, 1, 1, RULES_TERM_BYTES_MAX + 1, 0, 0)), -E2BIG);
        ASSERT_CONTAINS(err, "keywords[0].terms[0]: bytes: 257, over the limit of 256 (RULES_TERM_BYTES_MAX)");
        ASSERT_OK(parse_generated(document(0, 0, 0, 0, RULES_REGEXES_MAX, 4)));
        ASSERT_ERROR(parse_generated(document(0, 0, 0, 0, RULES_REGEXES_MAX + 1, 4)), -E2BIG);
        ASSERT_CONTAINS(err, "RULES_REGEXES_MAX");
        ASSERT_OK(parse_generated(document(0, 0, 0, 0, 1, RULES_REGEX_BYTES_MAX)));
        ASSERT_ERROR(parse_generated(document(0, 0, 0, 0, 1, RULES_REGEX_BYTES_MAX + 1)), -E2BIG);
        ASSERT_CONTAINS(err, "regexes[0].pattern: bytes: 1025, over the limit of 1024 (RULES_REGEX_BYTES_MAX)");

        /* the whole document, in bytes */
        big = malloc(n);
        ASSERT_NOT_NULL(big);
        memset(big, ' ', n);
        memcpy(big, "{}", 2);
        ASSERT_ERROR(rules_parse(big, n, &rs, err, sizeof err), -E2BIG);
        ASSERT_CONTAINS(err, "RULES_DOCUMENT_MAX");
        ASSERT_OK(rules_parse(big, n - 1, &rs, err, sizeof err));
        rs = rules_free(rs);
}

TEST(keywords_are_literal) {
        _cleanup_rules_ RuleSet *rs = NULL;

        ASSERT_OK(parse("{\"keywords\": [{\"name\": \"lit\", \"terms\": [\"a.b(c\", \"x\\\\E.*\", \"[q]+|\", \"^tab\\there$\"]}]}",
                        &rs));
        ASSERT_EQ(custom_count(rs, 0, "see a.b(c here"), 1);
        ASSERT_EQ(custom_count(rs, 0, "axb(c abc a.bc"), 0);
        ASSERT_EQ(custom_count(rs, 0, "a.b(ca.b(c"), 2);
        ASSERT_EQ(custom_count(rs, 0, "x\\E.* and x\\Eyy"), 1);
        ASSERT_EQ(custom_count(rs, 0, "[q]+| qq q |"), 1);
        ASSERT_EQ(custom_count(rs, 0, "^tab\there$"), 1);
        ASSERT_EQ(custom_count(rs, 0, "tab\there"), 0);
        ASSERT_EQ(custom_count(rs, 0, ""), 0);
}

TEST(keywords_case) {
        _cleanup_rules_ RuleSet *rs = NULL;

        ASSERT_OK(parse("{\"keywords\": [{\"name\": \"ci\", \"terms\": [\"Bluebird\", \"Ärztin\"]},"
                        " {\"name\": \"cs\", \"terms\": [\"Bluebird\"], \"case_insensitive\": false}]}",
                        &rs));
        /* case_insensitive defaults to true, with Unicode case folding */
        ASSERT_EQ(custom_count(rs, 0, "BLUEBIRD, bluebird and Bluebird"), 3);
        ASSERT_EQ(custom_count(rs, 0, "die ärztin"), 1);
        ASSERT_EQ(custom_count(rs, 1, "BLUEBIRD, bluebird and Bluebird"), 1);
}

TEST(keywords_cjk_and_invalid_utf8) {
        _cleanup_rules_ RuleSet *rs = NULL;

        ASSERT_OK(parse("{\"keywords\": [{\"name\": \"patient_name\", \"terms\": [\"张三\", \"李四\"]}]}", &rs));
        ASSERT_EQ(custom_count(rs, 0, "病人张三的病历，李四的也在"), 2);
        ASSERT_EQ(custom_count(rs, 0, "张 三"), 0);
        /* the normaliser passes invalid UTF-8 through: matching goes on around it */
        ASSERT_EQ(custom_count(rs, 0, "\xff\xfe张三\xc3"), 1);
}

TEST(keywords_large_list_counts_once) {
        /* 10000 terms cannot be one PCRE2 pattern: the list is split, and a text matched by terms of
         * two parts counts once (leftmost, longest) */
        _cleanup_(strbuf_done) StrBuf b = STRBUF_INIT;
        _cleanup_rules_ RuleSet *rs = NULL;

        ASSERT_OK(strbuf_puts(&b, "{\"keywords\": [{\"name\": \"many\", \"terms\": [\"abc\""));
        for (size_t i = 1; i < RULES_TERMS_MAX - 1; i++)
                ASSERT_OK(strbuf_printf(&b, ", \"term-%05zu-padding\"", i));
        ASSERT_OK(strbuf_puts(&b, ", \"abcdef\"]}]}"));
        ASSERT_OK(rules_parse(b.data, b.len, &rs, err, sizeof err));
        ASSERT_EQ(custom_count(rs, 0, "xx abcdef yy"), 1);
        ASSERT_EQ(custom_count(rs, 0, "abc abcdef term-09998-padding TERM-00001-PADDING"), 4);
        ASSERT_EQ(custom_count(rs, 0, "term-10000-padding"), 0);
}

TEST(regexes) {
        _cleanup_rules_ RuleSet *rs = NULL;
        uint32_t counts[RULES_ENTITIES_MAX] = {};
        const char *text = "PRJ-1234 and PRJ-99 and prj-5678, PRJ-4321";

        ASSERT_OK(parse("{\"keywords\": [{\"name\": \"kw\", \"terms\": [\"and\"]}],"
                        " \"regexes\": [{\"name\": \"project_code\", \"pattern\": \"PRJ-[0-9]{4}\"},"
                        "               {\"name\": \"slow\", \"pattern\": \"^(a+)+$\"}]}",
                        &rs));
        ASSERT_EQ(custom_count(rs, 1, text), 2);
        ASSERT_EQ(custom_count(rs, 2, "aaaa"), 1);
        /* counts add up over calls (one call per text) */
        ASSERT_OK(rules_scan_custom(rs, text, strlen(text), counts));
        ASSERT_OK(rules_scan_custom(rs, text, strlen(text), counts));
        ASSERT_EQ(counts[_DETECT_TYPE_MAX], 4);
        ASSERT_EQ(counts[_DETECT_TYPE_MAX + 1], 4);
        /* catastrophic backtracking ends at PCRE2's match limit, quickly */
        ASSERT_ERROR(custom_count(rs, 2, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"), -ERANGE);
        /* a deadline already passed */
        ASSERT_ERROR(rules_scan_custom_until(rs, text, strlen(text), counts, 1), -ETIME);
        ASSERT_OK(rules_scan_custom_until(rs, text, strlen(text), counts, 0));
}

static RulesVerdict eval(const RuleSet *rs, const uint32_t *counts, const char *labels, const char *model) {
        _cleanup_json_ cJSON *l = labels ? cJSON_Parse(labels) : NULL;
        RulesInput in = { .counts = counts, .key_labels = l, .model = model };
        RulesVerdict v;

        rules_evaluate(rs, &in, &v);
        return v;
}

TEST(evaluation) {
        _cleanup_rules_ RuleSet *rs = NULL;
        uint32_t counts[RULES_ENTITIES_MAX] = {};
        size_t code = _DETECT_TYPE_MAX;
        RulesVerdict v;

        ASSERT_OK(parse("{\"keywords\": [{\"name\": \"code\", \"terms\": [\"Bluebird\"]}],"
                        " \"rules\": ["
                        "  {\"id\": \"code-once\", \"class\": \"internal\", \"when\": {\"entities\": [\"code\"]}},"
                        "  {\"id\": \"code-thrice\", \"class\": \"sensitive\","
                        "   \"when\": {\"entities\": [\"code\", \"email\"], \"min_count\": 3}},"
                        "  {\"id\": \"finance\", \"class\": \"internal\", \"when\": {\"key_labels\": {\"team\": \"finance\"}}},"
                        "  {\"id\": \"finance-email\", \"class\": \"sensitive\","
                        "   \"when\": {\"key_labels\": {\"team\": \"finance\", \"tier\": \"a\"}, \"entities\": [\"email\"]}},"
                        "  {\"id\": \"internal-model\", \"class\": \"internal\", \"when\": {\"models\": [\"llama-internal\", \"m2\"]}},"
                        "  {\"id\": \"also-code\", \"class\": \"internal\", \"when\": {\"entities\": [\"code\"]}},"
                        "  {\"id\": \"hr-public\", \"class\": \"public\", \"when\": {\"key_labels\": {\"team\": \"hr\"}}}"
                        "]}",
                        &rs));
        v = eval(rs, counts, NULL, NULL);
        ASSERT_EQ(v.cls, POLICY_PUBLIC);
        ASSERT_NULL(v.rule_id);
        /* the first rule that gives the highest class */
        counts[code] = 1;
        v = eval(rs, counts, NULL, NULL);
        ASSERT_EQ(v.cls, POLICY_INTERNAL);
        ASSERT_STREQ(v.rule_id, "code-once");
        /* min_count counts the listed types together */
        counts[code] = 2;
        counts[DETECT_EMAIL] = 1;
        v = eval(rs, counts, NULL, NULL);
        ASSERT_EQ(v.cls, POLICY_SENSITIVE);
        ASSERT_STREQ(v.rule_id, "code-thrice");
        ASSERT_EQ(v.zones, POLICY_ZONE_PRIVATE);
        memset(counts, 0, sizeof counts);
        /* key labels: every one must be there with its value */
        v = eval(rs, counts, "{\"team\": \"finance\"}", NULL);
        ASSERT_STREQ(v.rule_id, "finance");
        counts[DETECT_EMAIL] = 1;
        v = eval(rs, counts, "{\"team\": \"finance\"}", NULL);
        ASSERT_STREQ(v.rule_id, "finance");
        v = eval(rs, counts, "{\"team\": \"finance\", \"tier\": \"a\"}", NULL);
        ASSERT_STREQ(v.rule_id, "finance-email");
        counts[DETECT_EMAIL] = 0;
        v = eval(rs, counts, "{\"team\": \"finance\", \"tier\": \"a\"}", NULL);
        ASSERT_STREQ(v.rule_id, "finance");
        v = eval(rs, counts, "{\"team\": \"Finance\"}", NULL);
        ASSERT_EQ(v.cls, POLICY_PUBLIC);
        v = eval(rs, counts, "{\"team\": 7}", NULL);
        ASSERT_EQ(v.cls, POLICY_PUBLIC);
        ASSERT_NULL(v.rule_id);
        /* a matching public rule is named */
        v = eval(rs, counts, "{\"team\": \"hr\"}", NULL);
        ASSERT_EQ(v.cls, POLICY_PUBLIC);
        ASSERT_STREQ(v.rule_id, "hr-public");
        /* models */
        v = eval(rs, counts, NULL, "m2");
        ASSERT_STREQ(v.rule_id, "internal-model");
        v = eval(rs, counts, NULL, "m3");
        ASSERT_NULL(v.rule_id);
        /* no counts at all reads as zero counts */
        v = eval(rs, NULL, NULL, "llama-internal");
        ASSERT_STREQ(v.rule_id, "internal-model");
        /* no rule set: the safe answer */
        v = eval(NULL, counts, NULL, NULL);
        ASSERT_EQ(v.cls, POLICY_SENSITIVE);
        ASSERT_EQ(v.zones, POLICY_ZONE_PRIVATE);
}

TEST(unconditional_rules_and_zones) {
        _cleanup_rules_ RuleSet *rs = NULL;
        RulesVerdict v;

        ASSERT_OK(parse("{\"rules\": [{\"id\": \"all\", \"class\": \"internal\"}, {\"id\": \"all2\", \"class\": \"internal\", \"when\": {}}],"
                        " \"zones\": {\"internal\": [\"private\"]}, \"spill_queue_depth\": 4096}",
                        &rs));
        v = eval(rs, NULL, NULL, NULL);
        ASSERT_EQ(v.cls, POLICY_INTERNAL);
        ASSERT_STREQ(v.rule_id, "all");
        ASSERT_EQ(v.zones, POLICY_ZONE_PRIVATE);
        ASSERT_EQ(rules_zones(rs, POLICY_PUBLIC), POLICY_ZONE_PRIVATE | POLICY_ZONE_PUBLIC);
        ASSERT_EQ(rules_zones(rs, POLICY_SENSITIVE), POLICY_ZONE_PRIVATE);
        ASSERT_EQ(rules_zones(rs, _POLICY_CLASS_MAX), POLICY_ZONE_PRIVATE);
        ASSERT_EQ(rules_zones(NULL, POLICY_PUBLIC), POLICY_ZONE_PRIVATE);
        ASSERT_EQ(rules_spill_queue_depth(rs), 4096);
        rs = rules_free(rs);
        /* public narrowed to private only: internal must follow */
        ASSERT_OK(parse("{\"zones\": {\"public\": [\"private\"], \"internal\": [\"private\"]}}", &rs));
        ASSERT_EQ(rules_zones(rs, POLICY_PUBLIC), POLICY_ZONE_PRIVATE);
}

TEST(from_json_and_the_schema_agree) {
        _cleanup_json_ cJSON *doc = cJSON_Parse(rules_default_json());
        _cleanup_rules_ RuleSet *rs = NULL;

        ASSERT_NOT_NULL(doc);
        ASSERT_OK(rules_from_json(doc, &rs, err, sizeof err));
        ASSERT_ERROR(rules_from_json(NULL, &rs, err, sizeof err), -EINVAL);
        /* err may be NULL */
        ASSERT_ERROR(rules_parse("[]", 2, &rs, NULL, 0), -EINVAL);
}
