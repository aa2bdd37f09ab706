/* ruleset.c: see ruleset.h. A rule set becomes current only once it has compiled, been stored and
 * been checked as the "rules" frame agents get; what agents are sent is the stored text itself. */
#include "ruleset.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "inventory.h"
#include "json.h"
#include "log.h"
#include "rules.h"
#include "store-rules.h"
#include "strbuf.h"

_Static_assert(STORE_RULES_DOCUMENT_MAX == RULES_DOCUMENT_MAX, "the store keeps any document the policy accepts");

#define RULESET_DEFAULT_ACTOR "controller" /* who stores the shipped default on first start */

/* A rule set ready to become current: compiled, and in the compact text agents get. */
typedef struct Compiled {
        RuleSet *rules;
        char *json;
} Compiled;

static void compiled_done(Compiled *x) {
        x->rules = rules_free(x->rules);
        x->json = mfree(x->json);
}

/* Parses and compiles a document and checks the frame it would travel in as version; err names
 * the offending field. */
static int compile(Controller *c, const char *text, size_t len, uint64_t version, Compiled *ret, char *err,
                   size_t errsz) {
        _cleanup_json_ cJSON *doc = NULL, *frame = NULL;
        _cleanup_(compiled_done) Compiled x = {};
        char e[512];
        int r;

        if (len > RULES_DOCUMENT_MAX) {
                snprintf(err, errsz, "the rule set is %zu bytes, over the limit of %d (RULES_DOCUMENT_MAX)", len,
                         RULES_DOCUMENT_MAX);
                return -E2BIG;
        }
        r = json_parse(text, len, &doc, e, sizeof e);
        if (r < 0) {
                snprintf(err, errsz, "the rule set is not JSON: %s", e);
                return r;
        }
        if (!cJSON_IsObject(doc)) {
                snprintf(err, errsz, "the rule set must be a JSON object");
                return -EINVAL;
        }
        r = rules_from_json(doc, &x.rules, err, errsz);
        if (r < 0)
                return r;
        r = json_print(doc, &x.json);
        if (r < 0) {
                snprintf(err, errsz, "rule set: out of memory");
                return r;
        }
        if (strlen(x.json) > RULES_DOCUMENT_MAX) { /* "1e9" is stored as "1000000000" */
                snprintf(err, errsz,
                         "the rule set is %zu bytes in compact form, over the limit of %d (RULES_DOCUMENT_MAX)",
                         strlen(x.json), RULES_DOCUMENT_MAX);
                return -E2BIG;
        }
        frame = cJSON_CreateObject();
        if (!frame || !cJSON_AddStringToObject(frame, "type", "rules") ||
            !cJSON_AddNumberToObject(frame, "version", (double) version) ||
            !cJSON_AddItemReferenceToObject(frame, "rules", doc)) {
                snprintf(err, errsz, "rule set: out of memory");
                return -ENOMEM;
        }
        r = frame_check(c->frames, frame, e, sizeof e);
        if (r < 0) {
                snprintf(err, errsz, "the rules frame of version %" PRIu64 " would be invalid: %s", version, e);
                return r;
        }
        *ret = x;
        x = (Compiled){};
        return 0;
}

/* Makes x (version) the current rule set; frees the one it replaces. */
static void make_current(Controller *c, Compiled *x, uint64_t version) {
        rules_free(c->rules);
        free(c->rules_json);
        c->rules = TAKE_PTR(x->rules);
        c->rules_json = TAKE_PTR(x->json);
        c->rules_version = version;
}

/* Compiles json, stores it as the next version and makes it current. -EINVAL or -E2BIG only for a
 * problem in the document (nothing is stored then); a store that fails is -EIO or its own error. */
static int adopt(Controller *c, const char *json, size_t len, const StoreActor *actor, uint64_t *ret_version,
                 char *err, size_t errsz) {
        _cleanup_(compiled_done) Compiled x = {};
        uint64_t version;
        char e[512];
        int r;

        /* the version is only a guess for the frame check; the store picks the real one */
        r = compile(c, json, len, c->rules_version + 1, &x, err, errsz);
        if (r < 0)
                return r == -ENOMEM || r == -E2BIG ? r : -EINVAL;
        r = store_rules_add(c->store, x.json, actor, &version, e, sizeof e);
        if (r < 0) {
                snprintf(err, errsz, "cannot store the rule set: %s", e);
                return r == -EINVAL || r == -E2BIG ? -EIO : r; /* not the document's fault: compile() checked it */
        }
        make_current(c, &x, version);
        *ret_version = version;
        return 0;
}

/* First start: the shipped default becomes version 1, stored by "controller". */
static int adopt_default(Controller *c, char *err, size_t errsz) {
        const StoreActor actor = { .key_id = RULESET_DEFAULT_ACTOR };
        const char *json = rules_default_json();
        uint64_t version;
        char e[512];
        int r;

        r = adopt(c, json, strlen(json), &actor, &version, e, sizeof e);
        if (r < 0) {
                snprintf(err, errsz, "cannot make the shipped default rule set current: %s", e);
                return r;
        }
        log_with(LOG_NOTICE, LOG_FIELDS(LOG_INT("rules_version", version)),
                 "stored the shipped default rule set as version %" PRIu64, version);
        return 0;
}

int ruleset_load(Controller *c, char *err, size_t errsz) {
        _cleanup_(store_rule_set_freep) StoreRuleSet *rs = NULL;
        _cleanup_(compiled_done) Compiled x = {};
        char e[512];
        int r;

        r = store_rules_latest(c->store, &rs, e, sizeof e);
        if (r == -ENOENT)
                return adopt_default(c, err, errsz);
        if (r < 0) {
                snprintf(err, errsz, "cannot read the rule set: %s", e);
                return r;
        }
        r = compile(c, rs->document, strlen(rs->document), rs->version, &x, e, sizeof e);
        if (r < 0) {
                snprintf(err, errsz,
                         "rule set version %" PRIu64 " (stored by %s) does not compile: %s; restore a backup of "
                         "the database, or run the sluice-controller that stored it",
                         rs->version, rs->actor, e);
                return r;
        }
        make_current(c, &x, rs->version);
        log_with(LOG_INFO, LOG_FIELDS(LOG_INT("rules_version", rs->version)),
                 "rule set version %" PRIu64 " is current", rs->version);
        return 0;
}

void ruleset_done(Controller *c) {
        c->rules = rules_free(c->rules);
        c->rules_json = mfree(c->rules_json);
        c->rules_version = 0;
}

int ruleset_replace(Controller *c, const char *json, size_t len, const StoreActor *actor, uint64_t *ret_version,
                    char *err, size_t errsz) {
        HashmapIter it = HASHMAP_ITER_INIT;
        uint64_t version;
        size_t sent = 0;
        int r;

        r = adopt(c, json, len, actor, &version, err, errsz);
        if (r < 0)
                return r;
        for (AgentConn *a; (a = inventory_next(c->inventory, &it));)
                if (a->welcomed && !a->close_reason) {
                        ruleset_send(c, a);
                        sent++;
                }
        log_with(LOG_NOTICE, LOG_FIELDS(LOG_INT("rules_version", version), LOG_STR("actor", actor->key_id)),
                 "rule set version %" PRIu64 " is current (set by %s); sent to %zu agent(s)", version, actor->key_id,
                 sent);
        if (ret_version)
                *ret_version = version;
        return 0;
}

void ruleset_send(Controller *c, AgentConn *a) {
        StrBuf b = STRBUF_INIT;
        int r;

        if (!c->rules_json)
                return;
        if (strbuf_printf(&b, "{\"type\":\"rules\",\"version\":%" PRIu64 ",\"rules\":", c->rules_version) < 0 ||
            strbuf_puts(&b, c->rules_json) < 0 || strbuf_putc(&b, '}') < 0) {
                strbuf_done(&b);
                log_error("cannot send rule set version %" PRIu64 " to %s: out of memory", c->rules_version,
                          a->id.name);
                return;
        }
        r = agent_send(a, strbuf_take(&b));
        if (r == -ENOBUFS)
                log_warning("frame queue of %s is full: it did not get rule set version %" PRIu64
                            " (public routing to it waits for its ack)",
                            a->id.name, c->rules_version);
}
