/* classify.h: the whole decision for one request: every text the model will see is normalised and
 * scanned (built-in detectors and the rule set's keyword lists and regexes), the counts go through
 * the rules, and the client's requested class can raise the result. It fails closed: an error, a
 * request over the size budget or a scan over the time budget makes the request sensitive. Used by
 * the controller (routing) and by the agents (their own re-check). */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "normalize.h"
#include "rules.h"

#define CLASSIFY_TEXTS_MAX 1033 /* a prompt, up to 1024 messages, up to 8 stop strings */

typedef struct ClassifyRequest {
        const char *texts[CLASSIFY_TEXTS_MAX]; /* everything the model will see */
        size_t lens[CLASSIFY_TEXTS_MAX];
        size_t n_texts;
        PolicyClass client_class;  /* X-Sluice-Data-Class (POLICY_PUBLIC when absent): raises, never lowers */
        const cJSON *key_labels;   /* or NULL */
        const char *model;         /* or NULL */
        size_t max_bytes;          /* size budget over all texts; 0: none */
        uint64_t budget_usec;      /* time budget of the scan; 0: none */
} ClassifyRequest;

typedef struct Classification {
        PolicyClass cls;
        const char *rule_id;       /* "fail_closed", "client_header", a rule's id, or "default" (no rule matched) */
        unsigned zones;            /* POLICY_ZONE_* */
        uint32_t spill_queue_depth;
        bool fail_closed;
        char reason[192];          /* set when fail_closed: why (names the budget or the error, never the text) */
        uint32_t counts[RULES_ENTITIES_MAX];
        size_t n_entities;         /* rules_entity_count(rs) */
        size_t bytes;              /* bytes scanned */
} Classification;

/* Fills req->texts from an infer frame (or a request body): "prompt", the "content" of every
 * element of "messages", and the stop strings of "params". -E2BIG over CLASSIFY_TEXTS_MAX texts,
 * -EINVAL when a content is not a string (the caller then fails closed). */
int classify_collect(const cJSON *frame, ClassifyRequest *req);

/* Classifies req under rs (rs NULL: fail closed). scratch, when not NULL, is reused for the
 * normalised text. Never fails: every error ends as a fail-closed sensitive classification. */
void classify_run(const RuleSet *rs, const ClassifyRequest *req, NormText *scratch, Classification *ret);

/* "email:2,cn_mobile:1" (entities with a non-zero count, in entity order), "" when none. Returns buf. */
char *classify_entities_format(const RuleSet *rs, const Classification *c, char *buf, size_t size);
/* Adds {"email": 2, ...} to obj as member name. 0 or -ENOMEM. */
int classify_entities_to_json(const RuleSet *rs, const Classification *c, cJSON *obj, const char *name);
