/* guard.c: the agent's own check of the routing guarantee; see guard.h. */
#include "guard.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"

void guard_init(Guard *g, size_t max_bytes, uint64_t budget_usec) {
        *g = (Guard){ .max_bytes = max_bytes, .budget_usec = budget_usec };
}

void guard_done(Guard *g) {
        g->rules = rules_free(g->rules);
        normtext_done(&g->scratch);
}

int guard_set_rules(Guard *g, uint64_t version, const cJSON *doc, char *err, size_t errsz) {
        RuleSet *rs = NULL;
        int r;

        if (g->rules && g->have_version && g->version == version)
                return 0;
        r = rules_from_json(doc, &rs, err, errsz);
        if (r < 0)
                return r;
        rules_free(g->rules);
        g->rules = rs;
        g->version = version;
        g->have_version = true;
        return 0;
}

static void count_entity(Guard *g, const char *name) {
        for (size_t i = 0; i < g->n_by_entity; i++)
                if (streq(g->by_entity[i].name, name)) {
                        g->by_entity[i].n++;
                        return;
                }
        if (g->n_by_entity == ELEMENTSOF(g->by_entity)) {
                g->refused_other_entities++;
                return;
        }
        snprintf(g->by_entity[g->n_by_entity].name, sizeof g->by_entity[0].name, "%s", name);
        g->by_entity[g->n_by_entity++].n = 1;
}

uint64_t guard_refusals_of(const Guard *g, const char *entity) {
        for (size_t i = 0; i < g->n_by_entity; i++)
                if (streq(g->by_entity[i].name, entity))
                        return g->by_entity[i].n;
        return 0;
}

static void refuse(Guard *g, GuardDecision *d, GuardVerdict v, const char *fmt, ...) _printf_(4, 5);
static void refuse(Guard *g, GuardDecision *d, GuardVerdict v, const char *fmt, ...) {
        va_list ap;

        d->verdict = v;
        d->code = v == GUARD_REFUSE_STALE ? "stale_rules" : "sensitive_refused";
        va_start(ap, fmt);
        (void) vsnprintf(d->message, sizeof d->message, fmt, ap);
        va_end(ap);
        g->refused++;
}

/* Scans the frame's texts under the rules held; whether the result may run in the public zone. */
static bool classify_allows_public(Guard *g, const cJSON *infer, GuardDecision *d) {
        const cJSON *model = cJSON_GetObjectItemCaseSensitive(infer, "model");
        ClassifyRequest req = {
                .client_class = POLICY_PUBLIC, /* the controller's class was checked on its own */
                .model = cJSON_IsString(model) ? model->valuestring : NULL,
                .max_bytes = g->max_bytes,
                .budget_usec = g->budget_usec,
        };
        const RuleSet *rs = g->rules;
        Classification cl;

        if (classify_collect(infer, &req) < 0)
                rs = NULL; /* texts that cannot be read: fail closed */
        classify_run(rs, &req, &g->scratch, &cl);
        if (g->scratch.cap > (size_t) 1 << 20)
                normtext_done(&g->scratch); /* do not keep a huge prompt's buffer */
        d->classified = true;
        d->cls = cl.cls;
        if (rs)
                (void) classify_entities_format(rs, &cl, d->entities, sizeof d->entities);
        if (cl.zones & POLICY_ZONE_PUBLIC)
                return true;
        if (cl.fail_closed) {
                g->refused_fail_closed++;
                refuse(g, d, GUARD_REFUSE_SENSITIVE, "this public node treats the request as sensitive (fail closed: %s)",
                       cl.reason);
                return false;
        }
        for (size_t i = 0; rs && i < cl.n_entities; i++)
                if (cl.counts[i] > 0)
                        count_entity(g, rules_entity_name(rs, i));
        refuse(g, d, GUARD_REFUSE_SENSITIVE,
               "this public node classifies the request %s by rule %s (entities: %s); it may only be served in the "
               "private zone",
               policy_class_name(cl.cls), cl.rule_id, *d->entities ? d->entities : "none");
        return false;
}

void guard_check(Guard *g, const char *zone, const cJSON *infer, GuardDecision *ret) {
        const cJSON *dc = cJSON_GetObjectItemCaseSensitive(infer, "data_class"),
                    *rv = cJSON_GetObjectItemCaseSensitive(infer, "rules_version");
        GuardDecision d = { .verdict = GUARD_ADMIT, .cls = POLICY_PUBLIC };
        int cls;

        if (zone && streq(zone, "private")) {
                *ret = d; /* a private node may serve anything */
                return;
        }
        /* the controller's own class: what it says must stay private stays private */
        cls = cJSON_IsString(dc) ? policy_class_from_name(dc->valuestring) : -EINVAL;
        if (cls < 0 || cls == POLICY_SENSITIVE || (g->rules && !(rules_zones(g->rules, cls) & POLICY_ZONE_PUBLIC))) {
                d.cls = POLICY_SENSITIVE;
                g->refused_data_class++;
                refuse(g, &d, GUARD_REFUSE_SENSITIVE, "this public node does not serve data class %s",
                       cls < 0 ? "(missing or unknown)" : policy_class_name(cls));
        } else if (!g->have_version || !cJSON_IsNumber(rv) || rv->valuedouble > (double) g->version) {
                g->refused_stale++;
                if (g->have_version)
                        refuse(g, &d, GUARD_REFUSE_STALE, "this node holds rule set version %" PRIu64 ", the request was "
                               "classified under version %.0f", g->version, cJSON_IsNumber(rv) ? rv->valuedouble : -1.0);
                else
                        refuse(g, &d, GUARD_REFUSE_STALE, "this node holds no rule set yet");
        } else
                (void) classify_allows_public(g, infer, &d);
        *ret = d;
}
