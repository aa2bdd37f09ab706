/* rules.h: the routing rule set (schemas/rules.schema.json): admin keyword lists and regexes
 * (extra entity types next to the built-in detectors), rules mapping conditions to a data class,
 * and the zones each class may be served in. Parsed and compiled once per version, then read-only
 * (safe to share between threads). docs/ROUTING.md explains the semantics.
 *
 * The document:
 *   {
 *     "description": "...",                          optional
 *     "spill_queue_depth": 4,                         optional, default 4, 0..4096: private nodes are
 *                                                     preferred until each has this many generations in
 *                                                     flight; then classes that allow public spill there
 *     "keywords": [{"name": "patient_name", "terms": ["张三", "Jane Roe"], "case_insensitive": true}],
 *     "regexes":  [{"name": "project_code", "pattern": "PRJ-[0-9]{4}"}],
 *     "rules": [{"id": "secrets", "class": "sensitive",
 *                "when": {"entities": ["pem_private_key", "jwt"], "min_count": 1,
 *                         "key_labels": {"team": "finance"}, "models": ["llama-internal"]}}],
 *     "zones": {"public": ["private", "public"], "internal": ["private", "public"]}
 *   }
 * A rule matches when every condition it names holds ("entities": the counts of the listed types
 * add up to at least min_count (default 1); "key_labels": the caller's key has each label with that
 * value; "models": the request's model is listed); a rule without conditions always matches. The
 * class is the highest class of the matching rules ("public" when none matches). The zones of
 * "sensitive" are always ["private"] and cannot be configured; "zones" may narrow the others.
 * Every member is optional ({} is the empty rule set: everything public). Also checked: keyword
 * terms are literal substrings (valid UTF-8; matched as keywords.h says), case-insensitive unless
 * "case_insensitive": false; a regex that can match the empty string is refused; entity names are
 * unique and not a built-in detector's; rule ids are unique and not "fail_closed", "client_header"
 * or "default"; zones.internal may not allow a zone zones.public does not. A rule may carry a
 * "description". schemas/rules.schema.json is the shape; rules_from_json() checks the limits
 * first, then the schema, then the rest. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detect.h"
#include "macro.h"

#define RULES_DOCUMENT_MAX (512 * 1024) /* bytes of JSON: a rules frame must fit an agent's default max_frame_bytes (1 MiB) */
#define RULES_RULES_MAX 256
#define RULES_KEYWORD_LISTS_MAX 64
#define RULES_TERMS_MAX 10000            /* all keyword lists together */
#define RULES_TERM_BYTES_MAX 256
#define RULES_KEYWORD_AUTOMATON_BYTES_MAX (32 * 1024 * 1024) /* the keyword lists' automaton (keywords.h) */
#define RULES_REGEXES_MAX 64
#define RULES_REGEX_BYTES_MAX 1024
#define RULES_NAME_MAX 64                /* entity names and rule ids: [a-z0-9][a-z0-9_.-]{0,63} */
#define RULES_ENTITIES_MAX (_DETECT_TYPE_MAX + RULES_KEYWORD_LISTS_MAX + RULES_REGEXES_MAX)
#define RULES_DEFAULT_SPILL_QUEUE_DEPTH 4

typedef enum PolicyClass {
        POLICY_PUBLIC,
        POLICY_INTERNAL,
        POLICY_SENSITIVE,
        _POLICY_CLASS_MAX,
} PolicyClass;

enum {
        POLICY_ZONE_PRIVATE = 1 << 0,
        POLICY_ZONE_PUBLIC = 1 << 1,
};

typedef struct RuleSet RuleSet;

/* "public", "internal", "sensitive"; NULL out of range. */
const char *policy_class_name(PolicyClass c);
/* The class named name, or -EINVAL. */
int policy_class_from_name(const char *name);
/* "private" / "public" -> POLICY_ZONE_*, or -EINVAL. */
int policy_zone_from_name(const char *name);

/* Parses, checks and compiles a rule set document (regexes with PCRE2 JIT, match limits set).
 * -EINVAL with err naming the offending field ("rules[2].when.entities[0]: unknown entity type
 * \"emial\""), -E2BIG over a limit above (err names it), -ENOMEM. */
int rules_parse(const char *json, size_t len, RuleSet **ret, char *err, size_t errsz);
int rules_from_json(const cJSON *doc, RuleSet **ret, char *err, size_t errsz);
RuleSet *rules_free(RuleSet *rs);
DEFINE_TRIVIAL_CLEANUP_FUNC(RuleSet *, rules_free);
#define _cleanup_rules_ _cleanup_(rules_freep)

/* The shipped default rule set (every built-in detector makes a prompt sensitive), as JSON. */
const char *rules_default_json(void);

/* Entity types: the built-in detectors first (index = DetectType), then keyword lists and regexes
 * in document order. */
size_t rules_entity_count(const RuleSet *rs);
const char *rules_entity_name(const RuleSet *rs, size_t i);
uint32_t rules_spill_queue_depth(const RuleSet *rs);

/* Counts the matches of the admin's keyword lists and regexes in text (normalised) into
 * counts[_DETECT_TYPE_MAX ...]. 0, or -ERANGE when PCRE2 hit its match or depth limit, -ENOMEM. */
int rules_scan_custom(const RuleSet *rs, const char *text, size_t len, uint32_t *counts);
/* The same, giving up with -ETIME once time_mono_usec() passes deadline_usec (0: never); the clock
 * is read between entity types and every 64 KiB of progress through text. */
int rules_scan_custom_until(const RuleSet *rs, const char *text, size_t len, uint32_t *counts, uint64_t deadline_usec);

typedef struct RulesInput {
        const uint32_t *counts;   /* rules_entity_count() entries */
        const cJSON *key_labels;  /* the caller's key labels (object of strings), or NULL */
        const char *model;        /* may be NULL */
} RulesInput;

typedef struct RulesVerdict {
        PolicyClass cls;
        const char *rule_id;      /* the first rule that gave cls, NULL when none matched (valid while rs lives) */
        unsigned zones;           /* POLICY_ZONE_* allowed for cls */
} RulesVerdict;

/* Applies the rules to in. Never fails. */
void rules_evaluate(const RuleSet *rs, const RulesInput *in, RulesVerdict *ret);
/* The zones a class may be served in under rs (sensitive: always POLICY_ZONE_PRIVATE). */
unsigned rules_zones(const RuleSet *rs, PolicyClass c);
