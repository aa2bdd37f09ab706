/* test-agent-guard.c: the agent's own check of the routing guarantee (agent/guard.h) with the real
 * policy library: rule sets swapped in or refused, and what a public node admits and refuses. */
#include <stdlib.h>

#include "guard.h"
#include "json.h"
#include "test.h"

#define MAX_BYTES (1024 * 1024)
#define BUDGET_USEC (200 * 1000)

static cJSON *parse(const char *text) {
        cJSON *j = cJSON_Parse(text);
        if (!j)
                printf("# cannot parse %s\n", text);
        return j;
}

/* An infer frame for model "tiny" with prompt, data class and rules version. */
static cJSON *infer(const char *prompt, const char *data_class, double rules_version) {
        cJSON *f = cJSON_CreateObject();

        cJSON_AddStringToObject(f, "type", "infer");
        cJSON_AddStringToObject(f, "id", "req-1.1");
        cJSON_AddStringToObject(f, "model", "tiny");
        cJSON_AddStringToObject(f, "prompt", prompt);
        cJSON_AddObjectToObject(f, "params");
        cJSON_AddStringToObject(f, "data_class", data_class);
        cJSON_AddNumberToObject(f, "rules_version", rules_version);
        return f;
}

/* A guard holding the shipped default rule set as version. */
static int guard_with_default(Guard *g, size_t max_bytes, uint64_t version) {
        _cleanup_json_ cJSON *doc = parse(rules_default_json());
        char err[256];
        int r;

        guard_init(g, max_bytes, BUDGET_USEC);
        if (!doc)
                return -EINVAL;
        r = guard_set_rules(g, version, doc, err, sizeof err);
        if (r < 0)
                printf("# the default rule set does not compile: %s\n", err);
        return r;
}

static GuardVerdict check(Guard *g, const char *zone, cJSON *frame, GuardDecision *d) {
        _cleanup_json_ cJSON *f = frame;

        guard_check(g, zone, f, d);
        return d->verdict;
}

TEST(rules_swap_and_refusal) {
        _cleanup_json_ cJSON *bad = parse("{\"rules\": [{\"id\": \"x\", \"class\": \"sensitive\", "
                                          "\"when\": {\"entities\": [\"emial\"]}}]}");
        _cleanup_json_ cJSON *def = parse(rules_default_json());
        Guard g;
        char err[256] = "";

        guard_init(&g, MAX_BYTES, BUDGET_USEC);
        ASSERT_NOT_NULL(bad);
        ASSERT_NOT_NULL(def);
        /* nothing held: a bad document leaves nothing held */
        ASSERT_TRUE(guard_set_rules(&g, 3, bad, err, sizeof err) < 0);
        ASSERT_CONTAINS(err, "emial");
        ASSERT_FALSE(g.have_version);
        ASSERT_NULL(g.rules);
        ASSERT_OK(guard_set_rules(&g, 3, def, err, sizeof err));
        ASSERT_TRUE(g.have_version);
        ASSERT_UEQ(g.version, 3);
        RuleSet *held = g.rules;
        ASSERT_NOT_NULL(held);
        /* a bad version 4 is refused; version 3 stays in force */
        err[0] = '\0';
        ASSERT_TRUE(guard_set_rules(&g, 4, bad, err, sizeof err) < 0);
        ASSERT_CONTAINS(err, "rules[0].when.entities[0]");
        ASSERT_UEQ(g.version, 3);
        ASSERT_TRUE(g.rules == held);
        /* the version held is not compiled again (versions are immutable) */
        ASSERT_OK(guard_set_rules(&g, 3, bad, err, sizeof err));
        ASSERT_TRUE(g.rules == held);
        /* a good version 4 replaces it */
        ASSERT_OK(guard_set_rules(&g, 4, def, err, sizeof err));
        ASSERT_UEQ(g.version, 4);
        ASSERT_TRUE(g.rules != NULL);
        guard_done(&g);
        ASSERT_NULL(g.rules);
}

TEST(private_node_serves_anything) {
        Guard g;
        GuardDecision d;

        guard_init(&g, MAX_BYTES, BUDGET_USEC); /* not even a rule set */
        ASSERT_EQ(check(&g, "private", infer("mail jane.doe@example.com", "sensitive", 99), &d), GUARD_ADMIT);
        ASSERT_NULL(d.code);
        ASSERT_FALSE(d.classified);
        ASSERT_UEQ(g.refused, 0);
        guard_done(&g);
}

TEST(public_node_without_rules_refuses_everything) {
        Guard g;
        GuardDecision d;

        guard_init(&g, MAX_BYTES, BUDGET_USEC);
        ASSERT_EQ(check(&g, "public", infer("Say hello.", "public", 0), &d), GUARD_REFUSE_STALE);
        ASSERT_STREQ(d.code, "stale_rules");
        ASSERT_CONTAINS(d.message, "no rule set");
        ASSERT_UEQ(g.refused_stale, 1);
        guard_done(&g);
}

TEST(public_node_admits_ordinary_prompts) {
        Guard g;
        GuardDecision d;

        ASSERT_OK(guard_with_default(&g, MAX_BYTES, 5));
        ASSERT_EQ(check(&g, "public", infer("Say hello. Order 20240105123456789012 ships today.", "public", 5), &d),
                  GUARD_ADMIT);
        ASSERT_TRUE(d.classified);
        ASSERT_EQ(d.cls, POLICY_PUBLIC);
        ASSERT_STREQ(d.entities, "");
        /* a frame made under an older version is classified under the newer one held */
        ASSERT_EQ(check(&g, "public", infer("Say hello.", "internal", 2), &d), GUARD_ADMIT);
        ASSERT_UEQ(g.refused, 0);
        guard_done(&g);
}

TEST(public_node_refuses_sensitive_text) {
        static const struct {
                const char *prompt, *entity;
        } cases[] = {
                { "write to jane.doe@example.com please", "email" },
                /* full-width digits with an ideographic space */
                { "call me on \xef\xbc\x91\xef\xbc\x93\xef\xbc\x98\xe3\x80\x80\xef\xbc\x90\xef\xbc\x90\xef\xbc\x91"
                  "\xef\xbc\x93\xe3\x80\x80\xef\xbc\x98\xef\xbc\x90\xef\xbc\x90\xef\xbc\x90",
                  "cn_mobile" },
                /* zero-width spaces inside an ID number */
                { "ID 110105\xe2\x80\x8b" "19491231\xe2\x80\x8b" "002X", "cn_resident_id" },
                { "card 4111 1111 1111 1111 exp 12/29", "bank_card" },
                { "IBAN GB82 WEST 1234 5698 7654 32", "iban" },
        };
        Guard g;
        GuardDecision d;

        ASSERT_OK(guard_with_default(&g, MAX_BYTES, 5));
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ASSERT_EQ(check(&g, "public", infer(cases[i].prompt, "public", 5), &d), GUARD_REFUSE_SENSITIVE);
                ASSERT_STREQ(d.code, "sensitive_refused");
                ASSERT_EQ(d.cls, POLICY_SENSITIVE);
                ASSERT_CONTAINS(d.entities, cases[i].entity);
                ASSERT_CONTAINS(d.message, cases[i].entity);
                ASSERT_UEQ(guard_refusals_of(&g, cases[i].entity), 1);
                ASSERT_UEQ(g.refused, i + 1);
        }
        /* the message names types and counts, never the text */
        ASSERT_EQ(check(&g, "public", infer("write to jane.doe@example.com and bob@example.org", "public", 5), &d),
                  GUARD_REFUSE_SENSITIVE);
        ASSERT_CONTAINS(d.entities, "email:2");
        ASSERT_TRUE(!strstr(d.message, "jane.doe") && !strstr(d.message, "example"));
        ASSERT_UEQ(guard_refusals_of(&g, "email"), 2);
        ASSERT_UEQ(guard_refusals_of(&g, "us_ssn"), 0);
        /* a node whose zone is missing or unknown is held to the public zone's check */
        ASSERT_EQ(check(&g, "", infer("write to jane.doe@example.com", "public", 5), &d), GUARD_REFUSE_SENSITIVE);
        ASSERT_EQ(check(&g, NULL, infer("write to jane.doe@example.com", "public", 5), &d), GUARD_REFUSE_SENSITIVE);
        ASSERT_EQ(check(&g, "Private", infer("write to jane.doe@example.com", "public", 5), &d), GUARD_REFUSE_SENSITIVE);
        guard_done(&g);
}

TEST(public_node_refuses_what_the_controller_called_sensitive) {
        Guard g;
        GuardDecision d;

        ASSERT_OK(guard_with_default(&g, MAX_BYTES, 5));
        /* the header alone: nothing in the text */
        ASSERT_EQ(check(&g, "public", infer("Say hello.", "sensitive", 5), &d), GUARD_REFUSE_SENSITIVE);
        ASSERT_STREQ(d.code, "sensitive_refused");
        ASSERT_CONTAINS(d.message, "data class sensitive");
        ASSERT_UEQ(g.refused_data_class, 1);
        /* before the version check: it is sensitive whatever the rules */
        ASSERT_EQ(check(&g, "public", infer("Say hello.", "sensitive", 6), &d), GUARD_REFUSE_SENSITIVE);
        guard_done(&g);
}

TEST(public_node_refuses_newer_rules) {
        Guard g;
        GuardDecision d;

        ASSERT_OK(guard_with_default(&g, MAX_BYTES, 5));
        ASSERT_EQ(check(&g, "public", infer("Say hello.", "public", 6), &d), GUARD_REFUSE_STALE);
        ASSERT_STREQ(d.code, "stale_rules");
        ASSERT_CONTAINS(d.message, "version 5");
        ASSERT_CONTAINS(d.message, "version 6");
        ASSERT_FALSE(d.classified);
        ASSERT_UEQ(g.refused_stale, 1);
        guard_done(&g);
}

TEST(public_node_fails_closed) {
        _cleanup_free_ char *big = malloc(4097);
        Guard g;
        GuardDecision d;

        ASSERT_NOT_NULL(big);
        memset(big, 'a', 4096);
        big[4096] = '\0';
        /* over the size budget (the agent's max_frame_bytes) */
        ASSERT_OK(guard_with_default(&g, 1024, 5));
        ASSERT_EQ(check(&g, "public", infer(big, "public", 5), &d), GUARD_REFUSE_SENSITIVE);
        ASSERT_CONTAINS(d.message, "fail closed");
        ASSERT_UEQ(g.refused_fail_closed, 1);
        ASSERT_TRUE(strlen(d.message) < 300); /* names the budget, not the text */
        ASSERT_EQ(check(&g, "public", infer("Say hello.", "public", 5), &d), GUARD_ADMIT);
        guard_done(&g);
}

TEST(zones_narrowed_by_the_rules) {
        /* internal may only be served privately, and every request is internal */
        _cleanup_json_ cJSON *doc = parse("{\"rules\": [{\"id\": \"everything-internal\", \"class\": \"internal\"}],"
                                          " \"zones\": {\"internal\": [\"private\"]},"
                                          " \"keywords\": [{\"name\": \"project_code\", \"terms\": [\"Bluebird\"]}]}");
        Guard g;
        GuardDecision d;
        char err[256];

        ASSERT_NOT_NULL(doc);
        guard_init(&g, MAX_BYTES, BUDGET_USEC);
        ASSERT_OK(guard_set_rules(&g, 9, doc, err, sizeof err));
        ASSERT_EQ(check(&g, "public", infer("Say hello.", "public", 9), &d), GUARD_REFUSE_SENSITIVE);
        ASSERT_EQ(d.cls, POLICY_INTERNAL);
        ASSERT_CONTAINS(d.message, "everything-internal");
        /* the controller's class, checked against the same zones */
        ASSERT_EQ(check(&g, "public", infer("Say hello.", "internal", 9), &d), GUARD_REFUSE_SENSITIVE);
        ASSERT_CONTAINS(d.message, "data class internal");
        /* the admin's keyword lists are entity types like the built-in ones */
        ASSERT_EQ(check(&g, "public", infer("status of Bluebird?", "public", 9), &d), GUARD_REFUSE_SENSITIVE);
        ASSERT_CONTAINS(d.entities, "project_code:1");
        ASSERT_UEQ(guard_refusals_of(&g, "project_code"), 1);
        guard_done(&g);
}
