/* cli-policy.c: `sluice policy scan|check-rules|default-rules|eval`: the classifier and rule sets
 * of policy/ run locally, with no controller. What is printed is the decision and the entity
 * counts, never the text that matched. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "cli-policy.h"
#include "fileio.h"
#include "json.h"
#include "rules.h"

#define POLICY_SCAN_FILE_MAX ((size_t) 64 << 20) /* the text (or request body) policy scan reads */

static const char *input_path(const char *path) {
        return streq(path, "-") ? "/dev/stdin" : path;
}

/* Reads path ("-": stdin) of at most max bytes; prints why not. */
static int read_input(const char *verb, const char *path, size_t max, char **ret, size_t *ret_size) {
        int r = file_read_all(input_path(path), max, ret, ret_size);

        if (r == -EFBIG)
                fprintf(stderr, "sluice: policy %s: %s: larger than %zu bytes\n", verb, path, max);
        else if (r < 0)
                fprintf(stderr, "sluice: policy %s: %s: %s\n", verb, path, strerror(-r));
        return r;
}

/* The rule set in path, or the shipped default when path is NULL; prints why not. */
static int load_rules(const char *verb, const char *path, RuleSet **ret) {
        _cleanup_free_ char *text = NULL;
        const char *json = rules_default_json();
        size_t len = strlen(json);
        char err[512];
        int r;

        if (path) {
                r = read_input(verb, path, RULES_DOCUMENT_MAX, &text, &len);
                if (r == -EFBIG)
                        fprintf(stderr, "sluice: policy %s: %s: the limit is RULES_DOCUMENT_MAX\n", verb, path);
                if (r < 0)
                        return r;
                json = text;
        }
        r = rules_parse(json, len, ret, err, sizeof err);
        if (r < 0)
                fprintf(stderr, "sluice: policy %s: %s: %s\n", verb, path ?: "(default rules)", err);
        return r;
}

static const char *zones_text(unsigned zones) {
        switch (zones) {
        case POLICY_ZONE_PRIVATE:
                return "private";
        case POLICY_ZONE_PUBLIC:
                return "public";
        case POLICY_ZONE_PRIVATE | POLICY_ZONE_PUBLIC:
                return "private, public";
        default:
                return "none";
        }
}

static int print_json(const RuleSet *rs, const Classification *c) {
        _cleanup_json_ cJSON *o = cJSON_CreateObject();
        _cleanup_free_ char *text = NULL;
        cJSON *zones;

        if (!o || !cJSON_AddStringToObject(o, "class", policy_class_name(c->cls)) ||
            !cJSON_AddStringToObject(o, "rule", c->rule_id) || !cJSON_AddBoolToObject(o, "fail_closed", c->fail_closed) ||
            (c->fail_closed && !cJSON_AddStringToObject(o, "reason", c->reason)) ||
            !(zones = cJSON_AddArrayToObject(o, "zones")) ||
            ((c->zones & POLICY_ZONE_PRIVATE) && !cJSON_AddItemToArray(zones, cJSON_CreateString("private"))) ||
            ((c->zones & POLICY_ZONE_PUBLIC) && !cJSON_AddItemToArray(zones, cJSON_CreateString("public"))) ||
            classify_entities_to_json(rs, c, o, "entities") < 0 ||
            !cJSON_AddNumberToObject(o, "spill_queue_depth", c->spill_queue_depth) ||
            !cJSON_AddNumberToObject(o, "bytes", (double) c->bytes) || json_print(o, &text) < 0)
                return -ENOMEM;
        printf("%s\n", text);
        return 0;
}

static void print_text(const RuleSet *rs, const Classification *c) {
        char entities[1024];

        printf("class     %s (rule %s%s%s)\n", policy_class_name(c->cls), c->rule_id, c->fail_closed ? ": " : "",
               c->fail_closed ? c->reason : "");
        printf("entities  %s\n", *classify_entities_format(rs, c, entities, sizeof entities) ? entities : "none");
        printf("zones     %s\n", zones_text(c->zones));
        printf("bytes     %zu\n", c->bytes);
}

/* The texts of req: the whole input, or with as_request the "prompt"/"messages" of a JSON body. */
static int collect(const char *text, size_t size, bool as_request, cJSON **body, ClassifyRequest *req) {
        char err[256];
        int r;

        if (!as_request) {
                req->texts[0] = text;
                req->lens[0] = size;
                req->n_texts = 1;
                return 0;
        }
        r = json_parse(text, size, body, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "sluice: policy scan: the request is not JSON: %s\n", err);
                return r;
        }
        r = classify_collect(*body, req);
        if (r < 0)
                fprintf(stderr, "sluice: policy scan: %s\n",
                        r == -E2BIG ? "more than 1024 messages" : "\"prompt\" and every messages[].content must be strings");
        return r;
}

static int verb_scan(const CliGlobals *g, int argc, char **argv) {
        static const struct option options[] = {
                { "rules", required_argument, NULL, 'r' },
                { "data-class", required_argument, NULL, 'd' },
                { "model", required_argument, NULL, 'm' },
                { "request", no_argument, NULL, 'q' },
                { "json", no_argument, NULL, 'j' },
                {},
        };
        _cleanup_rules_ RuleSet *rs = NULL;
        _cleanup_json_ cJSON *body = NULL;
        _cleanup_free_ char *text = NULL;
        static ClassifyRequest req;
        const char *rules_path = NULL, *path = "-";
        bool json = g->json, as_request = false;
        Classification c;
        size_t size;
        int opt, cls;

        req = (ClassifyRequest){ .client_class = POLICY_PUBLIC };
        while ((opt = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (opt) {
                case 'r':
                        rules_path = optarg;
                        break;
                case 'd':
                        cls = policy_class_from_name(optarg);
                        if (cls < 0)
                                return cli_usage_error("policy scan: --data-class: expected public, internal or "
                                                       "sensitive, got \"%s\"", optarg);
                        req.client_class = (PolicyClass) cls;
                        break;
                case 'm':
                        req.model = optarg;
                        break;
                case 'q':
                        as_request = true;
                        break;
                case 'j':
                        json = true;
                        break;
                default:
                        return CLI_EXIT_USAGE;
                }
        if (optind + 1 < argc)
                return cli_usage_error("policy scan: expected at most one FILE");
        if (optind < argc)
                path = argv[optind];
        if (load_rules("scan", rules_path, &rs) < 0 || read_input("scan", path, POLICY_SCAN_FILE_MAX, &text, &size) < 0 ||
            collect(text, size, as_request, &body, &req) < 0)
                return CLI_EXIT_FAILURE;
        classify_run(rs, &req, NULL, &c);
        if (!json)
                print_text(rs, &c);
        else if (print_json(rs, &c) < 0)
                return CLI_EXIT_FAILURE;
        return CLI_EXIT_OK;
}

static int verb_check_rules(const CliGlobals *g, int argc, char **argv) {
        _cleanup_rules_ RuleSet *rs = NULL;

        if (argc != 2)
                return cli_usage_error("policy check-rules: expected one FILE");
        if (load_rules("check-rules", argv[1], &rs) < 0)
                return CLI_EXIT_FAILURE;
        if (!g->json)
                printf("%s: ok (%zu entity types)\n", argv[1], rules_entity_count(rs));
        return CLI_EXIT_OK;
}

static int verb_default_rules(const CliGlobals *g, int argc, char **argv) {
        (void) g, (void) argv;
        if (argc > 1)
                return cli_usage_error("policy default-rules: takes no arguments");
        fputs(rules_default_json(), stdout);
        return CLI_EXIT_OK;
}

int cli_policy(const CliGlobals *g, int argc, char **argv) {
        static const CliVerb verbs[] = {
                { "scan", verb_scan, "scan [--rules FILE] [--data-class C] [--model M] [--request] [--json] [FILE|-]",
                  "classify a text (or with --request a JSON request body): class, rule, zones, entity counts" },
                { "check-rules", verb_check_rules, "check-rules FILE", "check a rule set document" },
                { "default-rules", verb_default_rules, "default-rules", "print the shipped default rule set" },
                { "eval", cli_policy_eval, "eval [--min-recall R] [--min-precision P] [--json] CORPUS.jsonl",
                  "score the built-in detectors on a labeled corpus" },
                {},
        };
        return cli_dispatch(verbs, "policy", g, argc - 1, argv + 1);
}
