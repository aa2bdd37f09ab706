/* cli-admin-deployments.c: `sluice admin deployment create|list|delete`: models deployed onto
 * zones or nodes. A deployment names its model's source and sha256: the controller adds the model
 * to its catalogue on the first deployment of that name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli-admin.h"
#include "json.h"
#include "strbuf.h"

#define REPLICAS_MAX 1024 /* the controller's STORE_REPLICAS_MAX */

typedef struct DeploymentCreate {
        const char *model, *source, *sha256;
        long long size, replicas;
        cJSON *zones, *nodes;
} DeploymentCreate;

static bool is_sha256(const char *s) {
        return strlen(s) == 64 && strspn(s, "0123456789abcdefABCDEF") == 64;
}

static int deployment_create_option(AdminCmd *cmd, int opt, const char *arg, void *userdata) {
        DeploymentCreate *d = userdata;

        switch (opt) {
        case 'm':
                d->model = arg;
                return CLI_EXIT_OK;
        case 's':
                d->source = arg;
                return CLI_EXIT_OK;
        case 'S':
                if (!is_sha256(arg))
                        return admin_usage_error(cmd, "--sha256 must be 64 hex digits, not \"%s\"", arg);
                d->sha256 = arg;
                return CLI_EXIT_OK;
        case 'b':
                if (!admin_parse_int(arg, 1, INT64_MAX, &d->size))
                        return admin_usage_error(cmd, "--size must be a number of bytes, not \"%s\"", arg);
                return CLI_EXIT_OK;
        case 'r':
                if (!admin_parse_int(arg, 1, REPLICAS_MAX, &d->replicas))
                        return admin_usage_error(cmd, "--replicas must be a number from 1 to %d, not \"%s\"",
                                                 REPLICAS_MAX, arg);
                return CLI_EXIT_OK;
        case 'z':
                if (!streq(arg, "private") && !streq(arg, "public"))
                        return admin_usage_error(cmd, "--zone must be \"private\" or \"public\", not \"%s\"", arg);
                return cJSON_AddItemToArray(d->zones, cJSON_CreateString(arg)) ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
        case 'N':
                if (isempty(arg))
                        return admin_usage_error(cmd, "--node needs a node name");
                return cJSON_AddItemToArray(d->nodes, cJSON_CreateString(arg)) ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
        }
        return CLI_EXIT_USAGE;
}

static int deployment_create(AdminCmd *cmd) {
        _cleanup_(http_response_done) HttpResponse resp = {};
        _cleanup_json_ cJSON *body = cJSON_CreateObject(), *zones = cJSON_CreateArray(), *nodes = cJSON_CreateArray();
        DeploymentCreate d = { .zones = zones, .nodes = nodes };
        int r;

        if (!body || !zones || !nodes)
                return CLI_EXIT_FAILURE;
        r = admin_parse(cmd, deployment_create_option, &d);
        if (r != ADMIN_PARSED)
                return r;
        if (isempty(d.model))
                return admin_usage_error(cmd, "--model NAME is required");
        if (isempty(d.source))
                return admin_usage_error(cmd, "--source URL|PATH is required");
        if (!d.sha256)
                return admin_usage_error(cmd, "--sha256 HEX is required");
        if (!cJSON_AddStringToObject(body, "model", d.model) || !cJSON_AddStringToObject(body, "source", d.source) ||
            !cJSON_AddStringToObject(body, "sha256", d.sha256) ||
            (d.size && !cJSON_AddNumberToObject(body, "size", (double) d.size)) ||
            (d.replicas && !cJSON_AddNumberToObject(body, "replicas", (double) d.replicas)))
                return CLI_EXIT_FAILURE;
        if (zones->child && !cJSON_AddItemToObject(body, "zones", TAKE_PTR(zones)))
                return CLI_EXIT_FAILURE;
        if (nodes->child && !cJSON_AddItemToObject(body, "nodes", TAKE_PTR(nodes)))
                return CLI_EXIT_FAILURE;
        r = admin_call(cmd, NULL, body, &resp);
        if (r != CLI_EXIT_OK)
                return r;
        if (!cmd->json)
                fprintf(stderr,
                        "deployment %s of model %s created (state %s); 'sluice admin deployment list' shows "
                        "its replicas\n",
                        admin_str(resp.json, "id") ?: "-", admin_str(resp.json, "model") ?: d.model,
                        admin_str(resp.json, "state") ?: "-");
        return admin_print_field(cmd, &resp, "id");
}

/* Appends "KEY=a,b" for the strings in array v (nothing for an empty one), ';' after earlier text. */
static int put_list(StrBuf *b, const char *key, const cJSON *v) {
        const cJSON *it;
        bool first = true;
        int r = 0;

        cJSON_ArrayForEach(it, v) {
                if (!cJSON_IsString(it))
                        continue;
                if (first)
                        r = strbuf_printf(b, "%s%s=", b->len ? ";" : "", key);
                else
                        r = strbuf_putc(b, ',');
                if (r < 0 || (r = strbuf_puts(b, it->valuestring)) < 0)
                        return r;
                first = false;
        }
        return r;
}

/* "zones=private,public;nodes=gpu-1" */
static char *deployment_placement(const cJSON *d) {
        StrBuf b = {};

        if (put_list(&b, "zones", admin_field(d, "placement.zones")) < 0 ||
            put_list(&b, "nodes", admin_field(d, "placement.nodes")) < 0) {
                strbuf_done(&b);
                return NULL;
        }
        return strbuf_take(&b);
}

/* "gpu-1:ready,gpu-2:failed" */
static char *deployment_nodes(const cJSON *d) {
        const cJSON *it;
        StrBuf b = {};

        cJSON_ArrayForEach(it, admin_field(d, "nodes")) if (strbuf_printf(&b, "%s%s:%s", b.len ? "," : "",
                                                                          admin_str(it, "node") ?: "?",
                                                                          admin_str(it, "status") ?: "?") < 0) {
                strbuf_done(&b);
                return NULL;
        }
        return strbuf_take(&b);
}

static int deployment_list(AdminCmd *cmd) {
        static const AdminColumn cols[] = {
                { "ID", "id" },
                { "MODEL", "model" },
                { "STATE", "state" },
                { "REPLICAS", "replicas", ADMIN_NUMBER },
                { "CANARY", "canary_weight", ADMIN_NUMBER },
                { "PLACEMENT", .derive = deployment_placement },
                { "NODES", .derive = deployment_nodes },
        };
        return admin_list(cmd, cols, ELEMENTSOF(cols), "deployments");
}

static int deployment_delete(AdminCmd *cmd) {
        _cleanup_(http_response_done) HttpResponse resp = {};
        int r;

        r = admin_fetch(cmd, &resp);
        if (r != ADMIN_PARSED)
                return r;
        return admin_print_message(cmd, &resp, "stopped deployment %s (model %s, state %s): its nodes unload it",
                                   cmd->args[0], admin_str(resp.json, "model") ?: "-",
                                   admin_str(resp.json, "state") ?: "-");
}

static const struct option deployment_create_options[] = {
        { "model", required_argument, NULL, 'm' },    { "source", required_argument, NULL, 's' },
        { "sha256", required_argument, NULL, 'S' },   { "size", required_argument, NULL, 'b' },
        { "replicas", required_argument, NULL, 'r' }, { "zone", required_argument, NULL, 'z' },
        { "node", required_argument, NULL, 'N' },     {},
};

const AdminGroup admin_group_deployments = {
        "deployment",
        "models deployed onto zones or nodes",
        (const AdminVerb[]){
                { "create", "POST", "/api/v1/deployments",
                  "--model NAME --source URL|PATH --sha256 HEX [--size BYTES] [--replicas N] [--zone Z]... "
                  "[--node NAME]...",
                  "deploy a model onto nodes",
                  "Deploys the model NAME, downloaded by the nodes from --source (a URL, or an\n"
                  "absolute path on the controller's machine) and checked against --sha256.\n"
                  "--size is the file's size in bytes (required unless --source is a file on the\n"
                  "controller's machine). A model name is added to the controller's catalogue on\n"
                  "its first deployment; later deployments of that name use the catalogued file.\n"
                  "Placement: each --zone (private, public) and --node adds where replicas may\n"
                  "run (default: both zones); --replicas N (1 to 1024, default 1) is how many.\n"
                  "The new deployment's id is printed alone on stdout; the details go to stderr.",
                  deployment_create_options, deployment_create },
                { "list", "GET", "/api/v1/deployments", "", "list deployments and their replicas",
                  "Lists deployments: model, state (pending, active, draining, stopped), replica\n"
                  "count, canary weight (percent of the model's traffic), placement, and the\n"
                  "replica of each node (loading, ready, failed).",
                  NULL, deployment_list },
                { "delete", "DELETE", "/api/v1/deployments/{id}", "", "undeploy: stop a deployment",
                  "Stops the deployment ID (as 'admin deployment list' shows it): its nodes are\n"
                  "told to unload the model, and it stays listed in state stopped.",
                  NULL, deployment_delete },
                {},
        },
};
