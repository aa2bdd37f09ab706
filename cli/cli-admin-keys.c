/* cli-admin-keys.c: `sluice admin key create|list|revoke`: API keys and their roles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli-admin.h"
#include "json.h"

typedef struct KeyCreate {
        const char *name, *role, *ttl;
        cJSON *models, *labels;
} KeyCreate;

static int key_create_option(AdminCmd *cmd, int opt, const char *arg, void *userdata) {
        _cleanup_free_ char *k = NULL;
        KeyCreate *key = userdata;
        const char *eq;
        uint64_t usec;

        switch (opt) {
        case 'n':
                key->name = arg;
                return CLI_EXIT_OK;
        case 'r':
                if (!streq(arg, "admin") && !streq(arg, "developer") && !streq(arg, "auditor"))
                        return admin_usage_error(cmd, "--role must be admin, developer or auditor, not \"%s\"", arg);
                key->role = arg;
                return CLI_EXIT_OK;
        case 't':
                if (!admin_parse_duration(arg, &usec))
                        return admin_usage_error(cmd, "--ttl \"%s\" is not a duration like 30d or 12h", arg);
                key->ttl = arg;
                return CLI_EXIT_OK;
        case 'm':
                if (isempty(arg))
                        return admin_usage_error(cmd, "--model needs a model name");
                return cJSON_AddItemToArray(key->models, cJSON_CreateString(arg)) ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
        case 'l':
                eq = strchr(arg, '=');
                if (!eq || eq == arg)
                        return admin_usage_error(cmd, "--label \"%s\" is not KEY=VALUE", arg);
                k = strndup(arg, (size_t) (eq - arg));
                if (!k)
                        return CLI_EXIT_FAILURE;
                if (cJSON_HasObjectItem(key->labels, k))
                        return admin_usage_error(cmd, "label \"%s\" given twice", k);
                return cJSON_AddStringToObject(key->labels, k, eq + 1) ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
        }
        return CLI_EXIT_USAGE;
}

static int key_create(AdminCmd *cmd) {
        _cleanup_(http_response_done) HttpResponse resp = {};
        _cleanup_json_ cJSON *body = cJSON_CreateObject(), *models = cJSON_CreateArray(),
                             *labels = cJSON_CreateObject();
        KeyCreate k = { .models = models, .labels = labels };
        int r;

        if (!body || !models || !labels)
                return CLI_EXIT_FAILURE;
        r = admin_parse(cmd, key_create_option, &k);
        if (r != ADMIN_PARSED)
                return r;
        if (isempty(k.name))
                return admin_usage_error(cmd, "--name NAME is required");
        if (!k.role)
                return admin_usage_error(cmd, "--role admin|developer|auditor is required");
        if (!cJSON_AddStringToObject(body, "name", k.name) || !cJSON_AddStringToObject(body, "role", k.role) ||
            (k.ttl && !cJSON_AddStringToObject(body, "ttl", k.ttl)))
                return CLI_EXIT_FAILURE;
        if (models->child && !cJSON_AddItemToObject(body, "models", TAKE_PTR(models)))
                return CLI_EXIT_FAILURE;
        if (labels->child && !cJSON_AddItemToObject(body, "labels", TAKE_PTR(labels)))
                return CLI_EXIT_FAILURE;
        r = admin_call(cmd, NULL, body, &resp);
        if (r != CLI_EXIT_OK)
                return r;
        if (!cmd->json) {
                _cleanup_free_ char *expires = admin_cell(
                        resp.json, &(AdminColumn){ .field = "expires_at", .format = ADMIN_TIME, .missing = "never" });
                fprintf(stderr,
                        "API key %s \"%s\" (role %s, expires %s) created; it is not shown again: store it "
                        "now\n",
                        admin_str(resp.json, "id") ?: "-", admin_str(resp.json, "name") ?: k.name,
                        admin_str(resp.json, "role") ?: k.role, expires ?: "-");
        }
        return admin_print_field(cmd, &resp, "key");
}

/* active, revoked or expired */
static char *key_state(const cJSON *k) {
        return strdup(admin_str(k, "revoked_at") ? "revoked" : admin_past(k, "expires_at") ? "expired" : "active");
}

static int key_list(AdminCmd *cmd) {
        static const AdminColumn cols[] = {
                { "ID", "id" },
                { "NAME", "name" },
                { "PREFIX", "prefix" },
                { "ROLE", "role" },
                { "STATE", .derive = key_state },
                { "CREATED", "created_at", ADMIN_TIME },
                { "EXPIRES", "expires_at", ADMIN_TIME, "never" },
                { "MODELS", "models", ADMIN_LIST, "*" },
                { "LABELS", "labels", ADMIN_MAP },
        };
        return admin_list(cmd, cols, ELEMENTSOF(cols), "API keys");
}

static int key_revoke(AdminCmd *cmd) {
        _cleanup_(http_response_done) HttpResponse resp = {};
        int r;

        r = admin_fetch(cmd, &resp);
        if (r != ADMIN_PARSED)
                return r;
        return admin_print_message(cmd, &resp, "revoked API key %s: it stops working at once", cmd->args[0]);
}

static const struct option key_create_options[] = {
        { "name", required_argument, NULL, 'n' },  { "role", required_argument, NULL, 'r' },
        { "ttl", required_argument, NULL, 't' },   { "model", required_argument, NULL, 'm' },
        { "label", required_argument, NULL, 'l' }, {},
};

const AdminGroup admin_group_keys = {
        "key",
        "API keys",
        (const AdminVerb[]){
                { "create", "POST", "/api/v1/keys",
                  "--name NAME --role admin|developer|auditor [--ttl 30d] [--model M]... [--label K=V]...",
                  "create an API key (printed once)",
                  "Creates an API key. --ttl sets an expiry (default: none); each --model adds a\n"
                  "model the key may use (default: all); each --label adds a label that routing\n"
                  "rules can match. The key is printed once, alone on stdout; the details go to\n"
                  "stderr. With --json, the controller's whole answer is printed.",
                  key_create_options, key_create },
                { "list", "GET", "/api/v1/keys", "", "list API keys",
                  "Lists API keys (never their secrets), revoked and expired ones included.", NULL, key_list },
                { "revoke", "DELETE", "/api/v1/keys/{id}", "", "revoke an API key",
                  "Revokes the API key ID (as 'admin key list' shows it); it stops working at once.", NULL,
                  key_revoke },
                {},
        },
};
