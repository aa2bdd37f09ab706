/* cli-admin-tokens.c: `sluice admin join-token create|list`: the single-use tokens a node enrolls
 * with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli-admin.h"
#include "json.h"

typedef struct TokenCreate {
        const char *name, *zone, *ttl;
} TokenCreate;

static int token_create_option(AdminCmd *cmd, int opt, const char *arg, void *userdata) {
        TokenCreate *t = userdata;
        uint64_t usec;

        switch (opt) {
        case 'n':
                t->name = arg;
                return CLI_EXIT_OK;
        case 'z':
                if (!streq(arg, "private") && !streq(arg, "public"))
                        return admin_usage_error(cmd, "--zone must be \"private\" or \"public\", not \"%s\"", arg);
                t->zone = arg;
                return CLI_EXIT_OK;
        case 't':
                if (!admin_parse_duration(arg, &usec))
                        return admin_usage_error(cmd, "--ttl \"%s\" is not a duration like 30m or 1h", arg);
                t->ttl = arg;
                return CLI_EXIT_OK;
        }
        return CLI_EXIT_USAGE;
}

static int token_create(AdminCmd *cmd) {
        _cleanup_(http_response_done) HttpResponse resp = {};
        _cleanup_json_ cJSON *body = NULL;
        TokenCreate t = {};
        int r;

        r = admin_parse(cmd, token_create_option, &t);
        if (r != ADMIN_PARSED)
                return r;
        if (isempty(t.name))
                return admin_usage_error(cmd, "--name NAME is required");
        if (!t.zone)
                return admin_usage_error(cmd, "--zone private|public is required");
        body = cJSON_CreateObject();
        if (!body || !cJSON_AddStringToObject(body, "name", t.name) ||
            !cJSON_AddStringToObject(body, "zone", t.zone) || (t.ttl && !cJSON_AddStringToObject(body, "ttl", t.ttl)))
                return CLI_EXIT_FAILURE;
        r = admin_call(cmd, NULL, body, &resp);
        if (r != CLI_EXIT_OK)
                return r;
        if (!cmd->json) {
                _cleanup_free_ char *expires =
                        admin_cell(resp.json, &(AdminColumn){ .field = "expires_at", .format = ADMIN_TIME });
                fprintf(stderr,
                        "join token %s for node \"%s\" in zone %s, single use, expires %s; it is not shown "
                        "again\n",
                        admin_str(resp.json, "id") ?: "-", admin_str(resp.json, "name") ?: t.name,
                        admin_str(resp.json, "zone") ?: t.zone, expires ?: "-");
        }
        return admin_print_field(cmd, &resp, "token");
}

/* valid, used or expired */
static char *token_state(const cJSON *t) {
        return strdup(admin_str(t, "used_at") ? "used" : admin_past(t, "expires_at") ? "expired" : "valid");
}

static int token_list(AdminCmd *cmd) {
        static const AdminColumn cols[] = {
                { "ID", "id" },
                { "NAME", "name" },
                { "ZONE", "zone" },
                { "STATE", .derive = token_state },
                { "CREATED", "created_at", ADMIN_TIME },
                { "EXPIRES", "expires_at", ADMIN_TIME },
                { "USED", "used_at", ADMIN_TIME },
        };
        return admin_list(cmd, cols, ELEMENTSOF(cols), "join tokens");
}

static const struct option token_create_options[] = {
        { "name", required_argument, NULL, 'n' },
        { "zone", required_argument, NULL, 'z' },
        { "ttl", required_argument, NULL, 't' },
        {},
};

const AdminGroup admin_group_join_tokens = {
        "join-token",
        "join tokens, with which nodes enroll",
        (const AdminVerb[]){
                { "create", "POST", "/api/v1/join-tokens", "--name NAME --zone private|public [--ttl 1h]",
                  "create a single-use join token (printed once)",
                  "Creates a single-use join token for the node NAME in ZONE, valid for --ttl\n"
                  "(default 1h). The token is printed once, alone on stdout; the details go to\n"
                  "stderr. With --json, the controller's whole answer is printed.",
                  token_create_options, token_create },
                { "list", "GET", "/api/v1/join-tokens", "", "list join tokens",
                  "Lists join tokens (never their secrets): valid, used or expired.", NULL, token_list },
                {},
        },
};
