/* guard.h: the agent's own check of the routing guarantee (defence in depth, docs/ROUTING.md). It
 * holds the rule set the controller pushed (compiled once per version) and, on a node outside the
 * private zone, re-classifies every infer frame with the same library as the controller before it
 * reaches the engine: what must stay private is refused, and so is a frame made under rules newer
 * than the ones held. Runs on the connection's service thread; it never logs and never sees the
 * network. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classify.h"

#define GUARD_CLASSIFY_TIMEOUT_MS_DEFAULT 200 /* config classify_timeout_ms: the controller's default too */

typedef enum GuardVerdict {
        GUARD_ADMIT,
        GUARD_REFUSE_SENSITIVE, /* error code "sensitive_refused" */
        GUARD_REFUSE_STALE,     /* error code "stale_rules" */
} GuardVerdict;

typedef struct GuardCount {
        char name[RULES_NAME_MAX + 1];
        uint64_t n;
} GuardCount;

typedef struct Guard {
        RuleSet *rules;       /* NULL until a rule set compiles: a public node then refuses everything */
        bool have_version;
        uint64_t version;     /* of rules */
        size_t max_bytes;     /* the classifier's size budget (the agent's max_frame_bytes) */
        uint64_t budget_usec; /* its time budget */
        NormText scratch;
        /* refusals: in all, by reason, and by entity type (a refused frame counts once per type in it) */
        uint64_t refused, refused_data_class, refused_fail_closed, refused_stale;
        GuardCount by_entity[RULES_ENTITIES_MAX];
        size_t n_by_entity;
        uint64_t refused_other_entities; /* types that found by_entity full */
} Guard;

typedef struct GuardDecision {
        GuardVerdict verdict;
        const char *code;      /* the error frame's code when refused, else NULL */
        char message[512];     /* why, for the error frame: classes, rule, entity types, budgets; never the text */
        char entities[512];    /* "email:2,cn_mobile:1" (classify_entities_format), "" when none or not scanned */
        PolicyClass cls;       /* the class the guard arrived at (POLICY_PUBLIC when not classified) */
        bool classified;       /* the text was scanned (a public node, past the header and version checks) */
} GuardDecision;

void guard_init(Guard *g, size_t max_bytes, uint64_t budget_usec);
void guard_done(Guard *g);

/* Compiles doc (the "rules" member of a rules frame) as rule set version and swaps it in. On
 * failure the rule set held before stays in force and err names the problem; the caller must not
 * acknowledge the version. A version already held is not compiled again (versions are immutable). */
int guard_set_rules(Guard *g, uint64_t version, const cJSON *doc, char *err, size_t errsz);

/* Decides whether the infer frame (checked against its schema) may run on a node in zone. A node
 * whose zone is not "private" (an unknown or missing zone included) refuses, in this order: a
 * data_class the rules do not allow in the public zone ("sensitive" never is); a rules_version newer
 * than the one held (or none held); a frame its own classification (every text, the frame's model,
 * no key labels, the size and time budgets) does not allow in the public zone, fail closed
 * included. Refusals are counted. Never fails. */
void guard_check(Guard *g, const char *zone, const cJSON *infer, GuardDecision *ret);

/* Refusals counted for an entity type (by name), 0 when none. */
uint64_t guard_refusals_of(const Guard *g, const char *entity);
