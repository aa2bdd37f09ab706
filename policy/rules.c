/* rules.c: see rules.h. A document is checked in three steps: the limits of rules.h (-E2BIG, before
 * anything else reads it), the shape against schemas/rules.schema.json, then here what a schema
 * cannot say (unique names, references to entity types, reserved ids, zones). Keyword lists are
 * compiled together into one automaton (keywords.h: one pass over the text for all lists); regexes
 * are compiled with PCRE2 (JIT when available) and matched under a match context whose limits make
 * a pathological pattern fail with -ERANGE instead of running away. */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "rules.h"

#include <errno.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "errorf.h"
#include "json.h"
#include "jsonschema.h"
#include "keywords.h"
#include "macro.h"
#include "timeutil.h"

#define RULES_SCHEMA "rules" /* schemas/rules.schema.json */

/* PCRE2 limits of one pcre2_match() call: a pattern that needs more fails the scan with -ERANGE. */
#define RULES_MATCH_LIMIT 1000000U
#define RULES_DEPTH_LIMIT 10000U
#define RULES_HEAP_LIMIT_KIB 16384U
/* A scan with a deadline reads the clock each time it has advanced this many bytes. */
#define RULES_CLOCK_STRIDE (64 * 1024)

/* Rule ids classify_run() reports itself: a rule may not take them. */
static const char *const reserved_ids[] = { "fail_closed", "client_header", "default" };

static const char *const class_names[_POLICY_CLASS_MAX] = {
        [POLICY_PUBLIC] = "public",
        [POLICY_INTERNAL] = "internal",
        [POLICY_SENSITIVE] = "sensitive",
};

static const char *const zone_names[] = { "private", "public" }; /* bit i = 1 << i */

typedef struct Rule {
        const char *id; /* strings and cJSON nodes of a rule point into RuleSet.doc */
        PolicyClass cls;
        uint16_t *entities;
        size_t n_entities;
        uint32_t min_count;
        const cJSON *key_labels; /* object of strings, or NULL */
        const cJSON *models;     /* array of strings, or NULL */
} Rule;

/* A keyword list (matched by RuleSet.keywords, no codes) or a regex (one compiled pattern). */
typedef struct Custom {
        const char *name;
        pcre2_code **codes;
        size_t n_codes;
} Custom;

struct RuleSet {
        cJSON *doc; /* a private copy of the document */
        Rule *rules;
        size_t n_rules;
        Custom *custom; /* keyword lists, then regexes */
        size_t n_custom;
        Keywords *keywords; /* the keyword lists: custom[i] is list i */
        size_t n_keyword_lists;
        size_t max_codes;
        pcre2_match_context *mctx;
        unsigned zones[_POLICY_CLASS_MAX];
        uint32_t spill_queue_depth;
};

const char *policy_class_name(PolicyClass c) {
        return (unsigned) c < _POLICY_CLASS_MAX ? class_names[c] : NULL;
}

int policy_class_from_name(const char *name) {
        return string_table_lookup(class_names, ELEMENTSOF(class_names), name);
}

int policy_zone_from_name(const char *name) {
        int i = string_table_lookup(zone_names, ELEMENTSOF(zone_names), name);

        return i < 0 ? i : 1 << i;
}

RuleSet *rules_free(RuleSet *rs) {
        if (!rs)
                return NULL;
        for (size_t i = 0; i < rs->n_rules; i++)
                free(rs->rules[i].entities);
        free(rs->rules);
        for (size_t i = 0; i < rs->n_custom; i++) {
                for (size_t k = 0; k < rs->custom[i].n_codes; k++)
                        pcre2_code_free(rs->custom[i].codes[k]);
                free(rs->custom[i].codes);
        }
        free(rs->custom);
        keywords_free(rs->keywords);
        pcre2_match_context_free(rs->mctx);
        cJSON_Delete(rs->doc);
        free(rs);
        return NULL;
}

/* ---- limits: checked first, on whatever shape the document has ---- */

static size_t array_size(const cJSON *a) {
        return cJSON_IsArray(a) ? (size_t) cJSON_GetArraySize(a) : 0;
}

#define CHECK_COUNT(n, limit, err, errsz, ...) check_count(n, limit, #limit, err, errsz, __VA_ARGS__)
static int check_count(size_t n, size_t limit, const char *limit_name, char *err, size_t errsz, const char *fmt, ...)
        _printf_(6, 7);
static int check_count(size_t n, size_t limit, const char *limit_name, char *err, size_t errsz, const char *fmt, ...) {
        char what[128];
        va_list ap;

        if (n <= limit)
                return 0;
        va_start(ap, fmt);
        (void) vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        return errorf(err, errsz, -E2BIG, "%s: %zu, over the limit of %zu (%s)", what, n, limit, limit_name);
}

/* a, when it is an array: for walking parts of a document whose shape is not checked yet */
static const cJSON *array_or_null(const cJSON *a) {
        return cJSON_IsArray(a) ? a : NULL;
}

static size_t string_bytes(const cJSON *s) {
        return cJSON_IsString(s) ? strlen(s->valuestring) : 0;
}

static int check_limits(const cJSON *doc, char *err, size_t errsz) {
        const cJSON *keywords = cJSON_GetObjectItemCaseSensitive(doc, "keywords"),
                    *regexes = cJSON_GetObjectItemCaseSensitive(doc, "regexes"),
                    *rules = cJSON_GetObjectItemCaseSensitive(doc, "rules"), *item;
        size_t terms = 0, i = 0;
        int r;

        if ((r = CHECK_COUNT(array_size(rules), RULES_RULES_MAX, err, errsz, "rules: rules")) < 0 ||
            (r = CHECK_COUNT(array_size(keywords), RULES_KEYWORD_LISTS_MAX, err, errsz, "keywords: lists")) < 0 ||
            (r = CHECK_COUNT(array_size(regexes), RULES_REGEXES_MAX, err, errsz, "regexes: regexes")) < 0)
                return r;
        cJSON_ArrayForEach(item, array_or_null(keywords)) {
                const cJSON *list = cJSON_GetObjectItemCaseSensitive(item, "terms"), *term;
                size_t j = 0;

                terms += array_size(list);
                r = CHECK_COUNT(terms, RULES_TERMS_MAX, err, errsz, "keywords[%zu].terms: terms in all lists", i);
                if (r < 0)
                        return r;
                cJSON_ArrayForEach(term, array_or_null(list)) {
                        r = CHECK_COUNT(string_bytes(term), RULES_TERM_BYTES_MAX, err, errsz,
                                        "keywords[%zu].terms[%zu]: bytes", i, j);
                        if (r < 0)
                                return r;
                        j++;
                }
                i++;
        }
        i = 0;
        cJSON_ArrayForEach(item, array_or_null(regexes)) {
                r = CHECK_COUNT(string_bytes(cJSON_GetObjectItemCaseSensitive(item, "pattern")),
                                RULES_REGEX_BYTES_MAX, err, errsz, "regexes[%zu].pattern: bytes", i);
                if (r < 0)
                        return r;
                i++;
        }
        i = 0;
        cJSON_ArrayForEach(item, array_or_null(rules)) {
                const cJSON *when = cJSON_GetObjectItemCaseSensitive(item, "when");

                r = CHECK_COUNT(array_size(cJSON_GetObjectItemCaseSensitive(when, "entities")), RULES_ENTITIES_MAX,
                                err, errsz, "rules[%zu].when.entities: entity types", i);
                if (r < 0)
                        return r;
                i++;
        }
        return 0;
}

static int check_schema(const cJSON *doc, char *err, size_t errsz) {
        _cleanup_(jsonschema_freep) JsonSchema *schema = NULL;
        char why[512];
        int r;

        r = config_compile_schema(RULES_SCHEMA, &schema, why, sizeof why);
        if (r < 0)
                return r == -ENOMEM ? errorf(err, errsz, r, "out of memory") : errorf(err, errsz, r, "%s", why);
        r = jsonschema_validate(schema, doc, why, sizeof why);
        if (r == -ENOMEM)
                return errorf(err, errsz, r, "out of memory");
        if (r < 0)
                return errorf(err, errsz, -EINVAL, "%s", why);
        return 0;
}

/* ---- entity types ---- */

size_t rules_entity_count(const RuleSet *rs) {
        return _DETECT_TYPE_MAX + (rs ? rs->n_custom : 0);
}

const char *rules_entity_name(const RuleSet *rs, size_t i) {
        if (i < _DETECT_TYPE_MAX)
                return detect_type_name((DetectType) i);
        i -= _DETECT_TYPE_MAX;
        return rs && i < rs->n_custom ? rs->custom[i].name : NULL;
}

uint32_t rules_spill_queue_depth(const RuleSet *rs) {
        return rs ? rs->spill_queue_depth : RULES_DEFAULT_SPILL_QUEUE_DEPTH;
}

static int entity_lookup(const RuleSet *rs, const char *name) {
        for (size_t i = 0; i < rules_entity_count(rs); i++)
                if (streq(rules_entity_name(rs, i), name))
                        return (int) i;
        return -ENOENT;
}

/* ---- compiling keyword lists and regexes ---- */

static int compile_error(int code, size_t offset, const char *path, char *err, size_t errsz) {
        PCRE2_UCHAR msg[256];

        if (code == PCRE2_ERROR_NOMEMORY)
                return errorf(err, errsz, -ENOMEM, "out of memory");
        if (pcre2_get_error_message(code, msg, sizeof msg) < 0)
                snprintf((char *) msg, sizeof msg, "PCRE2 error %d", code);
        return errorf(err, errsz, -EINVAL, "%s: at offset %zu: %s", path, offset, (const char *) msg);
}

static int custom_add_code(Custom *c, pcre2_code *code) {
        pcre2_code **v = reallocarray(c->codes, c->n_codes + 1, sizeof *v);

        if (!v)
                return -ENOMEM;
        (void) pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* no JIT: the interpreter runs it */
        c->codes = v;
        c->codes[c->n_codes++] = code;
        return 0;
}

/* Compiles source; *ret_too_large says PCRE2 found it too large (the caller splits it). */
static int compile_pattern(const char *source, size_t len, uint32_t options, const char *path, pcre2_code **ret,
                           bool *ret_too_large, char *err, size_t errsz) {
        PCRE2_SIZE offset;
        pcre2_code *code;
        int code_err;

        code = pcre2_compile((PCRE2_SPTR) source, len, options | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C,
                             &code_err, &offset, NULL);
        if (ret_too_large)
                *ret_too_large = !code && code_err == PCRE2_ERROR_PATTERN_TOO_LARGE;
        if (!code)
                return compile_error(code_err, offset, path, err, errsz);
        *ret = code;
        return 0;
}

/* Adds a keyword list and its terms to rs->keywords (compiled once all lists are in). */
static int compile_keywords(RuleSet *rs, const cJSON *list, const char *path, char *err, size_t errsz) {
        const cJSON *t;
        bool ci = true;
        size_t j = 0;
        int id, r;

        r = json_get_bool(list, "case_insensitive", &ci, err, errsz);
        if (r < 0 && r != -ENOENT)
                return errorf(err, errsz, r, "%s.case_insensitive: expected boolean", path);
        if (!rs->keywords && (r = keywords_new(&rs->keywords)) < 0)
                return r;
        id = keywords_add_list(rs->keywords, ci);
        if (id < 0)
                return id; /* more lists than RULES_KEYWORD_LISTS_MAX: check_limits() refused them */
        rs->n_keyword_lists++;
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(list, "terms")) {
                size_t bad = 0;

                r = keywords_add_term(rs->keywords, id, t->valuestring, strlen(t->valuestring), &bad);
                if (r == -EINVAL)
                        return errorf(err, errsz, r, "%s.terms[%zu]: not valid UTF-8 (at byte %zu)", path, j, bad);
                if (r < 0)
                        return r;
                j++;
        }
        return 0;
}

/* Builds the automaton of all keyword lists; -E2BIG over RULES_KEYWORD_AUTOMATON_BYTES_MAX. */
static int compile_keyword_automaton(RuleSet *rs, char *err, size_t errsz) {
        const KeywordsLimits limits = {
                .max_bytes = RULES_KEYWORD_AUTOMATON_BYTES_MAX,
                .match_limit = RULES_MATCH_LIMIT,
                .depth_limit = RULES_DEPTH_LIMIT,
                .heap_limit_kib = RULES_HEAP_LIMIT_KIB,
        };
        char why[256];
        int r;

        if (!rs->keywords)
                return 0;
        r = keywords_compile(rs->keywords, &limits, why, sizeof why);
        if (r == -E2BIG)
                return errorf(err, errsz, r, "keywords: %s (RULES_KEYWORD_AUTOMATON_BYTES_MAX)", why);
        if (r == -ENOMEM)
                return errorf(err, errsz, r, "out of memory");
        if (r < 0)
                return errorf(err, errsz, r, "keywords: %s", why);
        return 0;
}

static int compile_regex(Custom *c, const cJSON *item, const char *path, char *err, size_t errsz) {
        const cJSON *pattern = cJSON_GetObjectItemCaseSensitive(item, "pattern");
        pcre2_code *code = NULL;
        uint32_t min_length = 0;
        char where[96];
        int r;

        snprintf(where, sizeof where, "%s.pattern", path);
        r = compile_pattern(pattern->valuestring, strlen(pattern->valuestring), 0, where, &code, NULL, err, errsz);
        if (r < 0)
                return r;
        if (pcre2_pattern_info(code, PCRE2_INFO_MINLENGTH, &min_length) < 0 || min_length == 0) {
                pcre2_code_free(code);
                return errorf(err, errsz, -EINVAL,
                              "%s: can match the empty string (every entity must be at least one character)", where);
        }
        r = custom_add_code(c, code);
        if (r < 0)
                pcre2_code_free(code);
        return r;
}

/* Adds the keyword lists or the regexes (field) as entity types; names must be new. */
static int parse_custom(RuleSet *rs, const char *field, char *err, size_t errsz) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(rs->doc, field), *item;
        size_t i = 0;
        int r;

        cJSON_ArrayForEach(item, arr) {
                const char *name = cJSON_GetObjectItemCaseSensitive(item, "name")->valuestring;
                Custom *c = &rs->custom[rs->n_custom];
                char path[64];

                snprintf(path, sizeof path, "%s[%zu]", field, i++);
                if (detect_type_from_name(name) >= 0)
                        return errorf(err, errsz, -EINVAL, "%s.name: \"%s\" is the name of a built-in detector", path,
                                      name);
                if (entity_lookup(rs, name) >= 0)
                        return errorf(err, errsz, -EINVAL, "%s.name: entity type \"%s\" is defined twice", path, name);
                c->name = name;
                rs->n_custom++; /* owned from here on, whatever happens next */
                r = streq(field, "keywords") ? compile_keywords(rs, item, path, err, errsz)
                                             : compile_regex(c, item, path, err, errsz);
                if (r == -ENOMEM)
                        return errorf(err, errsz, r, "out of memory");
                if (r < 0)
                        return r;
                rs->max_codes = MAX(rs->max_codes, c->n_codes);
        }
        return 0;
}

/* ---- rules and zones ---- */

static int parse_when(RuleSet *rs, Rule *rule, const cJSON *when, const char *path, char *err, size_t errsz) {
        const cJSON *entities = cJSON_GetObjectItemCaseSensitive(when, "entities"), *e;
        int64_t min_count = 1;
        int r;

        r = json_get_int(when, "min_count", 1, UINT32_MAX, &min_count, err, errsz);
        if (r < 0 && r != -ENOENT)
                return errorf(err, errsz, r, "%s.min_count: expected an integer from 1 to %u", path, UINT32_MAX);
        if (r >= 0 && !entities)
                return errorf(err, errsz, -EINVAL, "%s.min_count: counts only with \"entities\"", path);
        rule->min_count = (uint32_t) min_count;
        rule->key_labels = cJSON_GetObjectItemCaseSensitive(when, "key_labels");
        rule->models = cJSON_GetObjectItemCaseSensitive(when, "models");
        if (!entities)
                return 0;
        rule->entities = calloc(array_size(entities), sizeof *rule->entities);
        if (!rule->entities)
                return errorf(err, errsz, -ENOMEM, "out of memory");
        cJSON_ArrayForEach(e, entities) {
                int idx = entity_lookup(rs, e->valuestring);

                if (idx < 0)
                        return errorf(err, errsz, -EINVAL, "%s.entities[%zu]: unknown entity type \"%s\"", path,
                                      rule->n_entities, e->valuestring);
                rule->entities[rule->n_entities++] = (uint16_t) idx;
        }
        return 0;
}

static int parse_rules(RuleSet *rs, char *err, size_t errsz) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(rs->doc, "rules"), *item;
        int r;

        rs->rules = calloc(array_size(arr) ?: 1, sizeof *rs->rules);
        if (!rs->rules)
                return errorf(err, errsz, -ENOMEM, "out of memory");
        cJSON_ArrayForEach(item, arr) {
                Rule *rule = &rs->rules[rs->n_rules];
                const cJSON *when = cJSON_GetObjectItemCaseSensitive(item, "when");
                char path[64];

                snprintf(path, sizeof path, "rules[%zu]", rs->n_rules++);
                rule->id = cJSON_GetObjectItemCaseSensitive(item, "id")->valuestring;
                rule->cls = policy_class_from_name(cJSON_GetObjectItemCaseSensitive(item, "class")->valuestring);
                if (string_table_lookup(reserved_ids, ELEMENTSOF(reserved_ids), rule->id) >= 0)
                        return errorf(err, errsz, -EINVAL, "%s.id: \"%s\" is reserved (classify reports it)", path,
                                      rule->id);
                for (size_t k = 0; k + 1 < rs->n_rules; k++)
                        if (streq(rs->rules[k].id, rule->id))
                                return errorf(err, errsz, -EINVAL, "%s.id: \"%s\" is the id of rules[%zu] too", path,
                                              rule->id, k);
                if (when) {
                        strcat(path, ".when");
                        r = parse_when(rs, rule, when, path, err, errsz);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static unsigned zone_list(const cJSON *list) {
        const cJSON *z;
        unsigned zones = 0;

        cJSON_ArrayForEach(z, list) zones |= (unsigned) policy_zone_from_name(z->valuestring);
        return zones;
}

static int parse_zones(RuleSet *rs, char *err, size_t errsz) {
        const cJSON *zones = cJSON_GetObjectItemCaseSensitive(rs->doc, "zones");
        const cJSON *pub = cJSON_GetObjectItemCaseSensitive(zones, "public"),
                    *internal = cJSON_GetObjectItemCaseSensitive(zones, "internal");

        rs->zones[POLICY_PUBLIC] = pub ? zone_list(pub) : POLICY_ZONE_PRIVATE | POLICY_ZONE_PUBLIC;
        rs->zones[POLICY_INTERNAL] = internal ? zone_list(internal) : POLICY_ZONE_PRIVATE | POLICY_ZONE_PUBLIC;
        rs->zones[POLICY_SENSITIVE] = POLICY_ZONE_PRIVATE;
        if (rs->zones[POLICY_INTERNAL] & ~rs->zones[POLICY_PUBLIC])
                return errorf(err, errsz, -EINVAL,
                              "zones.internal: allows a zone that zones.public does not (a higher class may not "
                              "be served in more zones; narrow zones.internal too)");
        return 0;
}

int rules_from_json(const cJSON *doc, RuleSet **ret, char *err, size_t errsz) {
        _cleanup_rules_ RuleSet *rs = NULL;
        int64_t depth = RULES_DEFAULT_SPILL_QUEUE_DEPTH;
        size_t n_custom;
        int r;

        if (!cJSON_IsObject(doc))
                return errorf(err, errsz, -EINVAL, "the rule set must be a JSON object");
        r = check_limits(doc, err, errsz);
        if (r >= 0)
                r = check_schema(doc, err, errsz);
        if (r < 0)
                return r;

        rs = calloc(1, sizeof *rs);
        if (!rs || !(rs->doc = cJSON_Duplicate(doc, true)) || !(rs->mctx = pcre2_match_context_create(NULL)))
                return errorf(err, errsz, -ENOMEM, "out of memory");
        (void) pcre2_set_match_limit(rs->mctx, RULES_MATCH_LIMIT);
        (void) pcre2_set_depth_limit(rs->mctx, RULES_DEPTH_LIMIT);
        (void) pcre2_set_heap_limit(rs->mctx, RULES_HEAP_LIMIT_KIB);

        r = json_get_int(rs->doc, "spill_queue_depth", 0, 4096, &depth, err, errsz);
        if (r < 0 && r != -ENOENT)
                return r;
        rs->spill_queue_depth = (uint32_t) depth;

        n_custom = array_size(cJSON_GetObjectItemCaseSensitive(doc, "keywords")) +
                   array_size(cJSON_GetObjectItemCaseSensitive(doc, "regexes"));
        rs->custom = calloc(n_custom ?: 1, sizeof *rs->custom);
        if (!rs->custom)
                return errorf(err, errsz, -ENOMEM, "out of memory");
        if ((r = parse_custom(rs, "keywords", err, errsz)) < 0 || (r = compile_keyword_automaton(rs, err, errsz)) < 0 ||
            (r = parse_custom(rs, "regexes", err, errsz)) < 0 ||
            (r = parse_rules(rs, err, errsz)) < 0 || (r = parse_zones(rs, err, errsz)) < 0)
                return r;
        *ret = TAKE_PTR(rs);
        return 0;
}

int rules_parse(const char *json, size_t len, RuleSet **ret, char *err, size_t errsz) {
        _cleanup_json_ cJSON *doc = NULL;
        char why[256];
        int r;

        if (len > RULES_DOCUMENT_MAX)
                return errorf(err, errsz, -E2BIG,
                              "the rule set is %zu bytes, over the limit of %d (RULES_DOCUMENT_MAX)", len,
                              RULES_DOCUMENT_MAX);
        r = json_parse(json, len, &doc, why, sizeof why);
        if (r == -ENOMEM)
                return errorf(err, errsz, r, "out of memory");
        if (r < 0)
                return errorf(err, errsz, r, "the rule set is not JSON: %s", why);
        return rules_from_json(doc, ret, err, errsz);
}

/* ---- matching ---- */

static int match_error(int rc) {
        return keywords_pcre2_errno(rc);
}

typedef struct Span {
        size_t start, end; /* start == SIZE_MAX: no further match */
} Span;

/* The first match of code in text at or after from. */
static int next_match(const RuleSet *rs, const pcre2_code *code, const char *text, size_t len, size_t from,
                      pcre2_match_data *md, Span *ret) {
        int rc = pcre2_match(code, (PCRE2_SPTR) text, len, from, 0, md, rs->mctx);
        PCRE2_SIZE *ov;

        if (rc == PCRE2_ERROR_NOMATCH) {
                *ret = (Span){ SIZE_MAX, SIZE_MAX };
                return 0;
        }
        if (rc < 0)
                return match_error(rc);
        ov = pcre2_get_ovector_pointer(md);
        *ret = (Span){ ov[0], MAX(ov[1], ov[0] + 1) }; /* an empty match (refused at compile) still moves on */
        return 0;
}

static bool deadline_passed(uint64_t deadline_usec) {
        return deadline_usec > 0 && time_mono_usec() > deadline_usec;
}

/* Counts the non-overlapping matches of regex c (leftmost first). */
static int count_custom(const RuleSet *rs, const Custom *c, const char *text, size_t len, pcre2_match_data *md,
                        Span *next, uint64_t deadline_usec, uint32_t *ret) {
        size_t pos = 0, checked = 0;
        uint32_t n = 0;
        int r;

        for (size_t k = 0; k < c->n_codes; k++)
                if ((r = next_match(rs, c->codes[k], text, len, 0, md, &next[k])) < 0)
                        return r;
        for (;;) {
                size_t best = SIZE_MAX;

                for (size_t k = 0; k < c->n_codes; k++)
                        if (next[k].start != SIZE_MAX && (best == SIZE_MAX || next[k].start < next[best].start ||
                                                          (next[k].start == next[best].start && next[k].end > next[best].end)))
                                best = k;
                if (best == SIZE_MAX)
                        break;
                if (n < UINT32_MAX)
                        n++;
                pos = next[best].end;
                if (pos - checked >= RULES_CLOCK_STRIDE) {
                        if (deadline_passed(deadline_usec))
                                return -ETIME;
                        checked = pos;
                }
                for (size_t k = 0; k < c->n_codes; k++)
                        if (next[k].start != SIZE_MAX && next[k].start < pos &&
                            (r = next_match(rs, c->codes[k], text, len, MIN(pos, len), md, &next[k])) < 0)
                                return r;
        }
        *ret = n;
        return 0;
}

int rules_scan_custom_until(const RuleSet *rs, const char *text, size_t len, uint32_t *counts, uint64_t deadline_usec) {
        _cleanup_free_ Span *next = NULL;
        pcre2_match_data *md;
        int r = 0;

        if (!rs || rs->n_custom == 0)
                return 0;
        r = keywords_scan(rs->keywords, text, len, counts + _DETECT_TYPE_MAX, deadline_usec);
        if (r < 0 || rs->n_custom == rs->n_keyword_lists)
                return r;
        md = pcre2_match_data_create(1, NULL);
        next = calloc(rs->max_codes, sizeof *next);
        if (!md || !next) {
                pcre2_match_data_free(md);
                return -ENOMEM;
        }
        for (size_t i = rs->n_keyword_lists; i < rs->n_custom && r >= 0; i++) {
                uint32_t n = 0;

                if (deadline_passed(deadline_usec))
                        r = -ETIME;
                else
                        r = count_custom(rs, &rs->custom[i], text, len, md, next, deadline_usec, &n);
                if (r >= 0) {
                        uint32_t *slot = &counts[_DETECT_TYPE_MAX + i];

                        *slot = n > UINT32_MAX - *slot ? UINT32_MAX : *slot + n;
                }
        }
        pcre2_match_data_free(md);
        return r;
}

int rules_scan_custom(const RuleSet *rs, const char *text, size_t len, uint32_t *counts) {
        return rules_scan_custom_until(rs, text, len, counts, 0);
}

/* ---- evaluation ---- */

static bool labels_match(const cJSON *want, const cJSON *have) {
        const cJSON *w;

        cJSON_ArrayForEach(w, want) {
                const cJSON *h = cJSON_IsObject(have) ? cJSON_GetObjectItemCaseSensitive(have, w->string) : NULL;

                if (!cJSON_IsString(h) || !streq(h->valuestring, w->valuestring))
                        return false;
        }
        return true;
}

static bool models_match(const cJSON *models, const char *model) {
        const cJSON *m;

        if (!model)
                return false;
        cJSON_ArrayForEach(m, models) if (streq(m->valuestring, model)) return true;
        return false;
}

static bool rule_matches(const Rule *rule, const RulesInput *in) {
        if (rule->entities) {
                uint64_t sum = 0;

                for (size_t i = 0; i < rule->n_entities && in->counts; i++)
                        sum += in->counts[rule->entities[i]];
                if (sum < rule->min_count)
                        return false;
        }
        if (rule->key_labels && !labels_match(rule->key_labels, in->key_labels))
                return false;
        if (rule->models && !models_match(rule->models, in->model))
                return false;
        return true;
}

void rules_evaluate(const RuleSet *rs, const RulesInput *in, RulesVerdict *ret) {
        RulesVerdict v = { .cls = POLICY_PUBLIC };

        if (!rs) { /* nothing to go by: the safe answer */
                *ret = (RulesVerdict){ .cls = POLICY_SENSITIVE, .zones = POLICY_ZONE_PRIVATE };
                return;
        }
        for (size_t i = 0; i < rs->n_rules; i++) {
                const Rule *rule = &rs->rules[i];

                if (v.rule_id && rule->cls <= v.cls)
                        continue; /* cannot raise the class: the first rule that gave it stays */
                if (rule_matches(rule, in)) {
                        v.cls = rule->cls;
                        v.rule_id = rule->id;
                }
        }
        v.zones = rules_zones(rs, v.cls);
        *ret = v;
}

unsigned rules_zones(const RuleSet *rs, PolicyClass c) {
        if (!rs || (unsigned) c >= _POLICY_CLASS_MAX)
                return POLICY_ZONE_PRIVATE;
        return rs->zones[c];
}

/* ---- the shipped default ---- */

const char *rules_default_json(void) {
        return "{\n"
               "  \"description\": \"The shipped default: any built-in detector's entity makes a prompt sensitive "
               "(private zone only); everything else may spill to public.\",\n"
               "  \"spill_queue_depth\": 4,\n"
               "  \"rules\": [\n"
               "    {\"id\": \"pii-identity\", \"class\": \"sensitive\",\n"
               "     \"when\": {\"entities\": [\"cn_resident_id\", \"us_ssn\"]}},\n"
               "    {\"id\": \"pii-financial\", \"class\": \"sensitive\",\n"
               "     \"when\": {\"entities\": [\"bank_card\", \"iban\"]}},\n"
               "    {\"id\": \"pii-contact\", \"class\": \"sensitive\",\n"
               "     \"when\": {\"entities\": [\"cn_mobile\", \"email\"]}},\n"
               "    {\"id\": \"secrets\", \"class\": \"sensitive\",\n"
               "     \"when\": {\"entities\": [\"pem_private_key\", \"cloud_access_key\", \"jwt\", "
               "\"password_assignment\"]}}\n"
               "  ],\n"
               "  \"zones\": {\"public\": [\"private\", \"public\"], \"internal\": [\"private\", \"public\"], "
               "\"sensitive\": [\"private\"]}\n"
               "}\n";
}
