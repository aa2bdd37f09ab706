/* test-policy-classify.c: the whole decision for a request: texts collected from chat and prompt
 * frames, entities counted by the detectors and the rule set, the client's class raising (never
 * lowering) the result, fail closed on every cause, and the entity summaries, none of which ever
 * carries the text. */
#include <stdlib.h>

#include "classify.h"
#include "json.h"
#include "test.h"

#define MARKER "Zebulon-7741" /* in texts; must never show up in what classify returns */

static const char *const custom_rules =
        "{\"keywords\": [{\"name\": \"project_code\", \"terms\": [\"Bluebird\"]}],"
        " \"regexes\": [{\"name\": \"ticket\", \"pattern\": \"TCK-[0-9]{3}\"}, {\"name\": \"slow\", \"pattern\": \"^(a+)+$\"}],"
        " \"rules\": [{\"id\": \"code\", \"class\": \"internal\", \"when\": {\"entities\": [\"project_code\", \"ticket\"]}},"
        "            {\"id\": \"contact\", \"class\": \"sensitive\", \"when\": {\"entities\": [\"email\", \"bank_card\"]}},"
        "            {\"id\": \"finance-model\", \"class\": \"internal\", \"when\": {\"key_labels\": {\"team\": \"finance\"},"
        "                                                                  \"models\": [\"m1\"]}}]}";

static RuleSet *load(const char *json) {
        RuleSet *rs = NULL;
        char err[256];

        if (rules_parse(json, strlen(json), &rs, err, sizeof err) < 0)
                printf("# rules do not parse: %s\n", err);
        return rs;
}

static void request_of(ClassifyRequest *req, const char *text) {
        *req = (ClassifyRequest){ .n_texts = 1 };
        req->texts[0] = text;
        req->lens[0] = strlen(text);
}

/* Fails when anything classify returns carries the marker. */
static bool leaks(const RuleSet *rs, const Classification *c) {
        _cleanup_json_ cJSON *o = cJSON_CreateObject();
        _cleanup_free_ char *json = NULL;
        char buf[512];

        if (!o || classify_entities_to_json(rs, c, o, "entities") < 0 || json_print(o, &json) < 0)
                return true;
        return strstr(c->reason, MARKER) || strstr(c->rule_id, MARKER) || strstr(json, MARKER) ||
               strstr(classify_entities_format(rs, c, buf, sizeof buf), MARKER);
}

TEST(collect_chat_and_prompt) {
        _cleanup_json_ cJSON *chat = cJSON_Parse("{\"type\": \"infer\", \"model\": \"m\", \"messages\": ["
                                                 "{\"role\": \"system\", \"content\": \"be brief\"},"
                                                 "{\"role\": \"user\", \"content\": \"hello\"},"
                                                 "{\"role\": \"assistant\", \"content\": \"\"}]}");
        _cleanup_json_ cJSON *prompt = cJSON_Parse("{\"prompt\": \"once upon\"}");
        _cleanup_json_ cJSON *both = cJSON_Parse("{\"prompt\": \"p\", \"messages\": [{\"content\": \"c\"}]}");
        _cleanup_json_ cJSON *bad = cJSON_Parse("{\"messages\": [{\"content\": \"ok\"}, {\"content\": [1]}]}");
        _cleanup_json_ cJSON *nocontent = cJSON_Parse("{\"messages\": [{\"role\": \"user\"}]}");
        _cleanup_json_ cJSON *notarray = cJSON_Parse("{\"messages\": {\"content\": \"x\"}}");
        _cleanup_json_ cJSON *badprompt = cJSON_Parse("{\"prompt\": 5}");
        _cleanup_json_ cJSON *many = cJSON_CreateObject();
        static ClassifyRequest req;
        cJSON *msgs;

        ASSERT_OK(classify_collect(chat, &req));
        ASSERT_EQ(req.n_texts, 3);
        ASSERT_STREQ(req.texts[0], "be brief");
        ASSERT_STREQ(req.texts[1], "hello");
        ASSERT_EQ(req.lens[1], 5);
        ASSERT_EQ(req.lens[2], 0);
        ASSERT_OK(classify_collect(prompt, &req));
        ASSERT_EQ(req.n_texts, 1);
        ASSERT_STREQ(req.texts[0], "once upon");
        ASSERT_OK(classify_collect(both, &req));
        ASSERT_EQ(req.n_texts, 2);
        ASSERT_ERROR(classify_collect(bad, &req), -EINVAL);
        ASSERT_ERROR(classify_collect(nocontent, &req), -EINVAL);
        ASSERT_ERROR(classify_collect(notarray, &req), -EINVAL);
        ASSERT_ERROR(classify_collect(badprompt, &req), -EINVAL);
        /* the stop strings go to the node with the prompt: scanned too */
        _cleanup_json_ cJSON *stops = cJSON_Parse("{\"prompt\": \"p\", \"params\": {\"stop\": [\"a\", \"bc\"]}}");
        _cleanup_json_ cJSON *badstop = cJSON_Parse("{\"prompt\": \"p\", \"params\": {\"stop\": [7]}}");
        ASSERT_OK(classify_collect(stops, &req));
        ASSERT_EQ(req.n_texts, 3);
        ASSERT_STREQ(req.texts[2], "bc");
        ASSERT_ERROR(classify_collect(badstop, &req), -EINVAL);
        /* 1024 messages and a prompt fit (with 8 stop strings); one more does not */
        ASSERT_NOT_NULL(many);
        ASSERT_NOT_NULL(cJSON_AddStringToObject(many, "prompt", "p"));
        ASSERT_NOT_NULL(msgs = cJSON_AddArrayToObject(many, "messages"));
        for (size_t i = 0; i < CLASSIFY_TEXTS_MAX - 1 - 8; i++) {
                cJSON *m = cJSON_CreateObject();

                ASSERT_TRUE(m && cJSON_AddStringToObject(m, "content", "x") && cJSON_AddItemToArray(msgs, m));
        }
        cJSON *stop = cJSON_AddArrayToObject(cJSON_AddObjectToObject(many, "params"), "stop");
        for (size_t i = 0; i < 8; i++)
                ASSERT_TRUE(stop && cJSON_AddItemToArray(stop, cJSON_CreateString("s")));
        ASSERT_OK(classify_collect(many, &req));
        ASSERT_EQ(req.n_texts, CLASSIFY_TEXTS_MAX);
        cJSON *m = cJSON_CreateObject();
        ASSERT_TRUE(m && cJSON_AddStringToObject(m, "content", "x") && cJSON_AddItemToArray(msgs, m));
        ASSERT_ERROR(classify_collect(many, &req), -E2BIG);
}

TEST(default_rules) {
        _cleanup_rules_ RuleSet *rs = load(rules_default_json());
        ClassifyRequest req;
        Classification c;

        ASSERT_NOT_NULL(rs);
        request_of(&req, "What is the capital of France? " MARKER);
        classify_run(rs, &req, NULL, &c);
        ASSERT_EQ(c.cls, POLICY_PUBLIC);
        ASSERT_STREQ(c.rule_id, "default");
        ASSERT_EQ(c.zones, POLICY_ZONE_PRIVATE | POLICY_ZONE_PUBLIC);
        ASSERT_FALSE(c.fail_closed);
        ASSERT_EQ(c.spill_queue_depth, 4);
        ASSERT_EQ(c.n_entities, _DETECT_TYPE_MAX);
        ASSERT_EQ(c.bytes, req.lens[0]);
        /* an e-mail address in the last of several texts */
        req.texts[1] = "ok";
        req.lens[1] = 2;
        req.texts[2] = "write to jane.roe@example.com about " MARKER;
        req.lens[2] = strlen(req.texts[2]);
        req.n_texts = 3;
        classify_run(rs, &req, NULL, &c);
        ASSERT_EQ(c.cls, POLICY_SENSITIVE);
        ASSERT_STREQ(c.rule_id, "pii-contact");
        ASSERT_EQ(c.zones, POLICY_ZONE_PRIVATE);
        ASSERT_EQ(c.counts[DETECT_EMAIL], 1);
        ASSERT_FALSE(leaks(rs, &c));
        /* a Luhn-valid card number */
        request_of(&req, "card 4111 1111 1111 1111, " MARKER);
        classify_run(rs, &req, NULL, &c);
        ASSERT_STREQ(c.rule_id, "pii-financial");
        ASSERT_EQ(c.counts[DETECT_BANK_CARD], 1);
}

TEST(custom_entities_and_conditions) {
        _cleanup_rules_ RuleSet *rs = load(custom_rules);
        _cleanup_json_ cJSON *labels = cJSON_Parse("{\"team\": \"finance\"}");
        NormText scratch = {};
        ClassifyRequest req;
        Classification c;

        ASSERT_NOT_NULL(rs);
        /* full-width letters are normalised before the keyword lists run */
        request_of(&req, "status of ＢＬＵＥＢＩＲＤ and TCK-123, TCK-456 " MARKER);
        classify_run(rs, &req, &scratch, &c);
        ASSERT_EQ(c.cls, POLICY_INTERNAL);
        ASSERT_STREQ(c.rule_id, "code");
        ASSERT_EQ(c.n_entities, _DETECT_TYPE_MAX + 3);
        ASSERT_EQ(c.counts[_DETECT_TYPE_MAX], 1);
        ASSERT_EQ(c.counts[_DETECT_TYPE_MAX + 1], 2);
        ASSERT_FALSE(leaks(rs, &c));
        /* the scratch buffer is reused */
        request_of(&req, "nothing here");
        classify_run(rs, &req, &scratch, &c);
        ASSERT_STREQ(c.rule_id, "default");
        /* key labels and model both required */
        req.key_labels = labels;
        classify_run(rs, &req, &scratch, &c);
        ASSERT_STREQ(c.rule_id, "default");
        req.model = "m1";
        classify_run(rs, &req, &scratch, &c);
        ASSERT_STREQ(c.rule_id, "finance-model");
        normtext_done(&scratch);
}

TEST(client_header_raises_never_lowers) {
        _cleanup_rules_ RuleSet *rs = load(rules_default_json());
        ClassifyRequest req;
        Classification c;

        ASSERT_NOT_NULL(rs);
        request_of(&req, "hello");
        req.client_class = POLICY_INTERNAL;
        classify_run(rs, &req, NULL, &c);
        ASSERT_EQ(c.cls, POLICY_INTERNAL);
        ASSERT_STREQ(c.rule_id, "client_header");
        ASSERT_EQ(c.zones, POLICY_ZONE_PRIVATE | POLICY_ZONE_PUBLIC);
        req.client_class = POLICY_SENSITIVE;
        classify_run(rs, &req, NULL, &c);
        ASSERT_EQ(c.cls, POLICY_SENSITIVE);
        ASSERT_STREQ(c.rule_id, "client_header");
        ASSERT_EQ(c.zones, POLICY_ZONE_PRIVATE);
        ASSERT_FALSE(c.fail_closed);
        /* a client saying public (or internal) does not lower a sensitive prompt */
        request_of(&req, "mail jane.roe@example.com");
        req.client_class = POLICY_PUBLIC;
        classify_run(rs, &req, NULL, &c);
        ASSERT_EQ(c.cls, POLICY_SENSITIVE);
        ASSERT_STREQ(c.rule_id, "pii-contact");
        req.client_class = POLICY_INTERNAL;
        classify_run(rs, &req, NULL, &c);
        ASSERT_EQ(c.cls, POLICY_SENSITIVE);
        ASSERT_STREQ(c.rule_id, "pii-contact");
        /* under rules that keep internal private, the raised class gets internal's zones */
        _cleanup_rules_ RuleSet *narrow = load("{\"zones\": {\"internal\": [\"private\"]}}");
        ASSERT_NOT_NULL(narrow);
        request_of(&req, "hello");
        req.client_class = POLICY_INTERNAL;
        classify_run(narrow, &req, NULL, &c);
        ASSERT_EQ(c.zones, POLICY_ZONE_PRIVATE);
}

static void assert_failed_closed(const Classification *c) {
        ASSERT_TRUE(c->fail_closed);
        ASSERT_EQ(c->cls, POLICY_SENSITIVE);
        ASSERT_EQ(c->zones, POLICY_ZONE_PRIVATE);
        ASSERT_STREQ(c->rule_id, "fail_closed");
        ASSERT_TRUE(c->reason[0] != '\0');
        ASSERT_NULL(strstr(c->reason, MARKER));
}

TEST(fail_closed_without_rules) {
        ClassifyRequest req;
        Classification c;

        request_of(&req, "hello " MARKER);
        classify_run(NULL, &req, NULL, &c);
        assert_failed_closed(&c);
        ASSERT_CONTAINS(c.reason, "no rule set");
        ASSERT_FALSE(leaks(NULL, &c));
}

TEST(fail_closed_over_max_bytes) {
        _cleanup_rules_ RuleSet *rs = load(rules_default_json());
        ClassifyRequest req;
        Classification c;

        ASSERT_NOT_NULL(rs);
        request_of(&req, "0123456789" MARKER);
        req.texts[1] = "abcdef";
        req.lens[1] = 6;
        req.n_texts = 2;
        req.max_bytes = req.lens[0] + req.lens[1];
        classify_run(rs, &req, NULL, &c);
        ASSERT_FALSE(c.fail_closed); /* exactly at the budget */
        req.max_bytes--;
        classify_run(rs, &req, NULL, &c);
        assert_failed_closed(&c);
        ASSERT_CONTAINS(c.reason, "size budget");
        ASSERT_EQ(c.bytes, 0);
}

TEST(fail_closed_over_time_budget) {
        _cleanup_rules_ RuleSet *rs = load(custom_rules);
        _cleanup_free_ char *big = NULL;
        size_t n = 8 << 20;
        ClassifyRequest req;
        Classification c;

        ASSERT_NOT_NULL(rs);
        big = malloc(n + 1);
        ASSERT_NOT_NULL(big);
        for (size_t i = 0; i < n; i++) /* words and digits: work for every detector and regex */
                big[i] = "Bluebird 12345 TCK-1 x@y "[i % 25];
        big[n] = '\0';
        request_of(&req, big);
        req.budget_usec = 1;
        classify_run(rs, &req, NULL, &c);
        assert_failed_closed(&c);
        ASSERT_CONTAINS(c.reason, "time budget of 1 us");
        /* the same scan with a generous budget completes */
        req.budget_usec = 60 * 1000000ULL;
        classify_run(rs, &req, NULL, &c);
        ASSERT_FALSE(c.fail_closed);
        ASSERT_UEQ(c.bytes, n);
}

TEST(fail_closed_on_regex_limit) {
        _cleanup_rules_ RuleSet *rs = load(custom_rules);
        ClassifyRequest req;
        Classification c;

        ASSERT_NOT_NULL(rs);
        request_of(&req, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab");
        classify_run(rs, &req, NULL, &c);
        assert_failed_closed(&c);
        ASSERT_CONTAINS(c.reason, "match limit");
}

TEST(entities_format_and_json) {
        _cleanup_rules_ RuleSet *rs = load(custom_rules);
        _cleanup_json_ cJSON *o = cJSON_CreateObject();
        _cleanup_free_ char *json = NULL;
        Classification c = {};
        char buf[64], tiny[12];

        ASSERT_NOT_NULL(rs);
        ASSERT_NOT_NULL(o);
        c.n_entities = rules_entity_count(rs);
        ASSERT_STREQ(classify_entities_format(rs, &c, buf, sizeof buf), "");
        c.counts[DETECT_CN_MOBILE] = 1;
        c.counts[DETECT_EMAIL] = 2;
        c.counts[_DETECT_TYPE_MAX + 1] = 7;
        ASSERT_STREQ(classify_entities_format(rs, &c, buf, sizeof buf), "cn_mobile:1,email:2,ticket:7");
        /* cut before an entry that does not fit, never in its middle */
        ASSERT_STREQ(classify_entities_format(rs, &c, tiny, sizeof tiny), "cn_mobile:1");
        ASSERT_OK(classify_entities_to_json(rs, &c, o, "entities"));
        ASSERT_OK(json_print(o, &json));
        ASSERT_STREQ(json, "{\"entities\":{\"cn_mobile\":1,\"email\":2,\"ticket\":7}}");
}
