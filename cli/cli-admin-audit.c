/* cli-admin-audit.c: `sluice admin audit`: the audit trail, newest first. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli-admin.h"
#include "json.h"

#define AUDIT_LIMIT_MAX 1000 /* the controller's STORE_AUDIT_LIST_MAX */

static int audit_option(AdminCmd *cmd, int opt, const char *arg, void *userdata) {
        long long *limit = userdata;

        if (opt != 'n')
                return CLI_EXIT_USAGE;
        if (!admin_parse_int(arg, 1, AUDIT_LIMIT_MAX, limit))
                return admin_usage_error(cmd, "--limit must be a number from 1 to %d, not \"%s\"", AUDIT_LIMIT_MAX,
                                         arg);
        return CLI_EXIT_OK;
}

/* Keeps the newest limit entries of a list answer, for a controller that ignores ?limit; the body
 * is written anew when entries go, so that --json prints what is shown. */
static int trim(HttpResponse *resp, long long limit) {
        cJSON *data = cJSON_GetObjectItemCaseSensitive(resp->json, "data");
        char *text;

        if (!cJSON_IsArray(data) || cJSON_GetArraySize(data) <= limit)
                return 0;
        while (cJSON_GetArraySize(data) > limit)
                cJSON_DeleteItemFromArray(data, cJSON_GetArraySize(data) - 1);
        if (json_print(resp->json, &text) < 0)
                return -ENOMEM;
        free(resp->body);
        resp->body = text;
        resp->body_len = strlen(text);
        return 0;
}

static int audit(AdminCmd *cmd) {
        static const AdminColumn cols[] = {
                { "ID", "id", ADMIN_NUMBER },
                { "TIME", "time", ADMIN_TIME },
                { "ACTOR", "actor" },
                { "ACTION", "action" },
                { "TARGET", "target" },
                { "REQUEST-ID", "request_id" },
                { "DETAIL", "detail", ADMIN_JSON },
        };
        _cleanup_(http_response_done) HttpResponse resp = {};
        char query[32];
        long long limit = 0;
        int r;

        r = admin_parse(cmd, audit_option, &limit);
        if (r != ADMIN_PARSED)
                return r;
        snprintf(query, sizeof query, "limit=%lld", limit);
        r = admin_call(cmd, limit ? query : NULL, NULL, &resp);
        if (r != CLI_EXIT_OK)
                return r;
        if (limit && trim(&resp, limit) < 0)
                return CLI_EXIT_FAILURE;
        return admin_print_list(cmd, &resp, cols, ELEMENTSOF(cols), "audit entries");
}

static const struct option audit_options[] = {
        { "limit", required_argument, NULL, 'n' },
        {},
};

const AdminGroup admin_group_audit = {
        "audit",
        "the audit trail",
        (const AdminVerb[]){
                { NULL, "GET", "/api/v1/audit", "[--limit N]", "show the audit trail, newest first",
                  "Shows the audit trail, newest first: who changed what, when, under which\n"
                  "request. --limit N shows the newest N entries, 1 to 1000 (default: the\n"
                  "controller's, 100).",
                  audit_options, audit },
                {},
        },
};
