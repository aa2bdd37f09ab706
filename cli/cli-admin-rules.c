/* cli-admin-rules.c: `sluice admin rules show|history|set`: the routing rule set, its versions, and
 * replacing it with a new version (docs/ROUTING.md explains the document); `sluice admin route
 * explain`: how a request would be classified and routed under it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli-admin.h"
#include "fileio.h"
#include "json.h"

#define RULES_FILE_MAX (512 * 1024) /* the controller's RULES_DOCUMENT_MAX */
#define RULES_VERSION_MAX INT64_C(9007199254740991)
#define RULES_HISTORY_MAX 1000 /* the controller's STORE_RULES_LIST_MAX */
#define EXPLAIN_FILE_MAX (64 * 1024 * 1024) /* the controller's largest max_body_bytes */

/* --version N (show) and --limit N (history): the one number each takes, in *userdata. */
static int rules_option(AdminCmd *cmd, int opt, const char *arg, void *userdata) {
        long long *n = userdata;

        if (opt == 'v' && !admin_parse_int(arg, 1, RULES_VERSION_MAX, n))
                return admin_usage_error(cmd, "--version must be a rule set version (1 or more), not \"%s\"", arg);
        if (opt == 'n' && !admin_parse_int(arg, 1, RULES_HISTORY_MAX, n))
                return admin_usage_error(cmd, "--limit must be a number from 1 to %d, not \"%s\"", RULES_HISTORY_MAX,
                                         arg);
        return opt == 'v' || opt == 'n' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

/* Calls the verb's endpoint with ?name=n when n was given (not 0). */
static int fetch_with(AdminCmd *cmd, const char *name, long long n, HttpResponse *ret) {
        char query[64];

        snprintf(query, sizeof query, "%s=%lld", name, n);
        return admin_call(cmd, n ? query : NULL, NULL, ret);
}

static int rules_show(AdminCmd *cmd) {
        _cleanup_(http_response_done) HttpResponse resp = {};
        _cleanup_free_ char *text = NULL, *created = NULL;
        const cJSON *version;
        long long n = 0;
        int r;

        r = admin_parse(cmd, rules_option, &n);
        if (r != ADMIN_PARSED)
                return r; /* --help, or a usage error */
        r = fetch_with(cmd, "version", n, &resp);
        if (r != CLI_EXIT_OK)
                return r;
        if (cmd->json)
                return admin_print_raw(&resp);
        version = admin_field(resp.json, "version");
        text = cJSON_Print(admin_field(resp.json, "rules"));
        if (!cJSON_IsNumber(version) || !text) {
                fprintf(stderr,
                        "sluice: %s: unexpected answer from the controller: no \"version\" or \"rules\" "
                        "(request %s)\n",
                        cmd->title, resp.request_id);
                return CLI_EXIT_SERVER;
        }
        created = admin_cell(resp.json, &(const AdminColumn){ "CREATED", "created_at", ADMIN_TIME });
        if (!created)
                return CLI_EXIT_FAILURE;
        fprintf(stderr, "rule set version %.0f%s, set by %s at %s\n", version->valuedouble,
                cJSON_IsTrue(admin_field(resp.json, "current")) ? " (current)" : " (not current)",
                admin_str(resp.json, "actor") ?: "-", created);
        printf("%s\n", text);
        return admin_flush();
}

static int rules_history(AdminCmd *cmd) {
        static const AdminColumn cols[] = {
                { "VERSION", "version", ADMIN_NUMBER },
                { "CURRENT", "current", ADMIN_BOOL },
                { "CREATED", "created_at", ADMIN_TIME },
                { "ACTOR", "actor" },
        };
        _cleanup_(http_response_done) HttpResponse resp = {};
        long long n = 0;
        int r;

        r = admin_parse(cmd, rules_option, &n);
        if (r != ADMIN_PARSED)
                return r;
        r = fetch_with(cmd, "limit", n, &resp);
        if (r != CLI_EXIT_OK)
                return r;
        return admin_print_list(cmd, &resp, cols, ELEMENTSOF(cols), "rule set versions");
}

/* Reads and parses the JSON document in path ("-": stdin), of at most max bytes. */
static int read_document(AdminCmd *cmd, const char *path, size_t max, cJSON **ret) {
        _cleanup_free_ char *text = NULL;
        char err[256];
        size_t size;
        int r;

        r = file_read_all(streq(path, "-") ? "/dev/stdin" : path, max, &text, &size);
        if (r == -EFBIG) {
                fprintf(stderr, "sluice: %s: %s is larger than %zu KiB, the controller's limit\n", cmd->title, path,
                        max >> 10);
                return CLI_EXIT_FAILURE;
        }
        if (r < 0) {
                fprintf(stderr, "sluice: %s: cannot read %s: %s\n", cmd->title, path, strerror(-r));
                return CLI_EXIT_FAILURE;
        }
        r = json_parse(text, size, ret, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "sluice: %s: %s: %s\n", cmd->title, path, err);
                return CLI_EXIT_FAILURE;
        }
        return CLI_EXIT_OK;
}

static int rules_set(AdminCmd *cmd) {
        _cleanup_(http_response_done) HttpResponse resp = {};
        _cleanup_json_ cJSON *doc = NULL;
        const cJSON *version;
        int r;

        r = admin_parse(cmd, NULL, NULL);
        if (r != ADMIN_PARSED)
                return r;
        r = read_document(cmd, cmd->args[0], RULES_FILE_MAX, &doc);
        if (r != CLI_EXIT_OK)
                return r;
        r = admin_call(cmd, NULL, doc, &resp);
        if (r != CLI_EXIT_OK)
                return r;
        version = admin_field(resp.json, "version");
        if (!cmd->json && !cJSON_IsNumber(version)) {
                fprintf(stderr, "sluice: %s: unexpected answer from the controller: no \"version\" (request %s)\n",
                        cmd->title, resp.request_id);
                return CLI_EXIT_SERVER;
        }
        return admin_print_message(cmd, &resp, "rule set version %.0f is current; connected agents are sent it",
                                   cJSON_IsNumber(version) ? version->valuedouble : 0);
}

static const struct option rules_show_options[] = {
        { "version", required_argument, NULL, 'v' },
        {},
};

static const struct option rules_history_options[] = {
        { "limit", required_argument, NULL, 'n' },
        {},
};

const AdminGroup admin_group_rules = {
        "rules",
        "the routing rule set and its versions",
        (const AdminVerb[]){
                { "show", "GET", "/api/v1/rules", "[--version N]", "show the routing rule set",
                  "Prints the current routing rule set (the JSON document of docs/ROUTING.md) on\n"
                  "stdout, and its version, who set it and when on stderr. --version N shows an\n"
                  "older version instead (exit code 4 when there is no such version).",
                  rules_show_options, rules_show },
                { "history", "GET", "/api/v1/rules/versions", "[--limit N]", "list the rule set's versions",
                  "Lists the versions of the routing rule set, newest first: who set each and when,\n"
                  "and which is current. Version 1 is the shipped default, stored by \"controller\"\n"
                  "at its first start. --limit N lists the newest N, 1 to 1000 (default 100).",
                  rules_history_options, rules_history },
                { "set", "PUT", "/api/v1/rules", "", "replace the routing rule set",
                  "Replaces the routing rule set with the JSON document in FILE (\"-\": stdin), at\n"
                  "most 512 KiB. The controller checks and compiles it first: a document it refuses\n"
                  "(exit code 6, the message names the field) changes nothing. Otherwise it becomes\n"
                  "the next version, is recorded in the audit trail, and is sent to every connected\n"
                  "agent; public nodes get traffic again once they acknowledge it.",
                  NULL, rules_set, "FILE" },
                {},
        },
};

static int route_explain(AdminCmd *cmd) {
        _cleanup_(http_response_done) HttpResponse resp = {};
        _cleanup_json_ cJSON *body = NULL;
        _cleanup_free_ char *entities = NULL, *zones = NULL;
        int r;

        r = admin_parse(cmd, NULL, NULL);
        if (r != ADMIN_PARSED)
                return r;
        r = read_document(cmd, cmd->args[0], EXPLAIN_FILE_MAX, &body);
        if (r != CLI_EXIT_OK)
                return r;
        r = admin_call(cmd, NULL, body, &resp);
        if (r != CLI_EXIT_OK)
                return r;
        if (cmd->json)
                return admin_print_raw(&resp);
        entities = cJSON_PrintUnformatted(admin_field(resp.json, "entities"));
        zones = cJSON_PrintUnformatted(admin_field(resp.json, "zones"));
        printf("class     %s (rule %s%s%s)\n", admin_str(resp.json, "class") ?: "-", admin_str(resp.json, "rule") ?: "-",
               admin_str(resp.json, "reason") ? ": " : "", admin_str(resp.json, "reason") ?: "");
        printf("entities  %s\n", entities ?: "-");
        printf("zones     %s\n", zones ?: "-");
        printf("outcome   %s", admin_str(resp.json, "outcome") ?: "-");
        if (admin_str(resp.json, "node"))
                printf(": node %s (%s zone)", admin_str(resp.json, "node"), admin_str(resp.json, "zone") ?: "-");
        printf("\n");
        if (admin_str(resp.json, "message"))
                printf("          %s\n", admin_str(resp.json, "message"));
        return admin_flush();
}

const AdminGroup admin_group_route = {
        "route",
        "how requests are classified and routed",
        (const AdminVerb[]){
                { "explain", "POST", "/api/v1/route/explain", "", "explain how a request would be routed",
                  "Sends the generation request body in FILE (\"-\": stdin; a chat body with\n"
                  "\"messages\", or one with \"prompt\") to the controller's dry run and prints its\n"
                  "decision: the class, the rule that decided it, the entities found (types and\n"
                  "counts, never the text), the zones allowed, and the node it would go to now.\n"
                  "Nothing is generated.",
                  NULL, route_explain, "FILE" },
                {},
        },
};
