/* store-rules.h: the routing rule set's versions (issue 6): each replacement is a new row, never an
 * edit, so that every version an agent may have acknowledged stays readable. The store keeps the
 * document as compact JSON text; checking it against the rule set's grammar is policy/rules.h's
 * work (controller/ruleset.c calls it before storing). */
#pragma once

#include "store.h"

#define STORE_RULES_DOCUMENT_MAX (512 * 1024) /* bytes of canonical JSON; policy/rules.h RULES_DOCUMENT_MAX */
#define STORE_RULES_LIST_DEFAULT 100
#define STORE_RULES_LIST_MAX 1000

typedef struct StoreRuleSet {
        uint64_t version;    /* 1, 2, ...: one more than the newest before it */
        char *document;      /* compact JSON object; NULL in store_rules_list() results */
        char *actor;         /* the key id that stored it, or "controller" for the shipped default */
        uint64_t created_at; /* usec since the epoch */
} StoreRuleSet;

void store_rule_set_done(StoreRuleSet *r);
StoreRuleSet *store_rule_set_free(StoreRuleSet *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(StoreRuleSet *, store_rule_set_free);
void store_rule_sets_free(StoreRuleSet *a, size_t n);

/* The newest version: -ENOENT when none is stored yet. The caller owns *ret. */
int store_rules_latest(Store *s, StoreRuleSet **ret, char *err, size_t errsz);
/* Version version: -ENOENT when there is no such version. The caller owns *ret. */
int store_rules_get(Store *s, uint64_t version, StoreRuleSet **ret, char *err, size_t errsz);
/* Stores document (a JSON object, kept in its compact form; -EINVAL when it is not one, -E2BIG
 * past STORE_RULES_DOCUMENT_MAX) as the next version, audited as "rules.set" in the same
 * transaction. *ret_version (may be NULL) is the new version. */
int store_rules_add(Store *s, const char *document, const StoreActor *actor, uint64_t *ret_version, char *err,
                    size_t errsz);
/* The newest limit versions (0: STORE_RULES_LIST_DEFAULT; past STORE_RULES_LIST_MAX: -EINVAL),
 * newest first, without their documents. The caller owns *ret (store_rule_sets_free). */
int store_rules_list(Store *s, unsigned limit, StoreRuleSet **ret, size_t *ret_n, char *err, size_t errsz);
