/* api.c: the route table (who may call what) and the REST handlers of the controller. */
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "controller.h"
#include "deploy.h"
#include "dispatch.h"
#include "explain.h"
#include "openai.h"
#include "enroll.h"
#include "inventory.h"
#include "jobs.h"
#include "json.h"
#include "rules-api.h"
#include "store-audit.h"
#include "store-keys.h"
#include "store-models.h"
#include "store-nodes.h"
#include "store-tokens.h"
#include "timeutil.h"

enum {
        H_HEALTHZ,
        H_READYZ,
        H_MODELS,
        H_JOIN_TOKEN_CREATE,
        H_JOIN_TOKEN_LIST,
        H_ENROLL,
        H_NODE_LIST,
        H_NODE_REVOKE,
        H_KEY_CREATE,
        H_KEY_LIST,
        H_KEY_REVOKE,
        H_AUDIT_LIST,
        H_CHAT,
        H_COMPLETIONS,
        H_DEPLOY_CREATE,
        H_DEPLOY_LIST,
        H_DEPLOY_DELETE,
        H_GENERATE,
        H_ROUTE_EXPLAIN,
        H_JOB_CREATE,
        H_JOB_LIST,
        H_JOB_GET,
        H_JOB_CANCEL,
        H_RULES_GET,
        H_RULES_VERSIONS,
        H_RULES_PUT,
};

#define ADMIN PRINCIPAL_ADMIN
#define DEV PRINCIPAL_DEVELOPER
#define AUDITOR PRINCIPAL_AUDITOR

const Route api_routes[] = {
        { "GET", "/healthz", PRINCIPAL_PUBLIC, "liveness", H_HEALTHZ },
        { "GET", "/readyz", PRINCIPAL_PUBLIC, "readiness (database reachable)", H_READYZ },
        { "GET", "/v1/models", DEV | ADMIN, "models (OpenAI)", H_MODELS },
        { "POST", "/v1/chat/completions", DEV | ADMIN, "chat completion (OpenAI), SSE when stream is true", H_CHAT },
        { "POST", "/v1/completions", DEV | ADMIN, "text completion (OpenAI), SSE when stream is true", H_COMPLETIONS },
        { "POST", "/v1/generate", DEV | ADMIN, "generation in sluice's native form, SSE when stream is true", H_GENERATE },
        { "POST", "/api/v1/route/explain", DEV | ADMIN | AUDITOR, "dry run: how a generation request would be classified and routed", H_ROUTE_EXPLAIN },
        { "POST", "/v1/jobs", DEV | ADMIN, "queue an asynchronous generation (202 + job id)", H_JOB_CREATE },
        { "GET", "/v1/jobs", DEV | ADMIN, "the caller's jobs (an admin's: all), newest first", H_JOB_LIST },
        { "GET", "/v1/jobs/{id}", DEV | ADMIN, "a job: state, and output when done", H_JOB_GET },
        { "DELETE", "/v1/jobs/{id}", DEV | ADMIN, "cancel a queued or running job", H_JOB_CANCEL },
        { "POST", "/api/v1/deployments", ADMIN, "deploy a model onto nodes", H_DEPLOY_CREATE },
        { "GET", "/api/v1/deployments", ADMIN | AUDITOR, "deployments and their replicas", H_DEPLOY_LIST },
        { "DELETE", "/api/v1/deployments/{id}", ADMIN, "undeploy: stop a deployment and unload its replicas", H_DEPLOY_DELETE },
        { "POST", "/api/v1/join-tokens", ADMIN, "create a single-use join token", H_JOIN_TOKEN_CREATE },
        { "GET", "/api/v1/join-tokens", ADMIN, "list join tokens (no secrets)", H_JOIN_TOKEN_LIST },
        { "POST", "/api/v1/enroll", PRINCIPAL_PUBLIC, "enroll an agent with a join token and a CSR", H_ENROLL },
        { "GET", "/api/v1/nodes", ADMIN | AUDITOR, "the node inventory", H_NODE_LIST },
        { "POST", "/api/v1/nodes/{name}/revoke", ADMIN, "revoke a node's certificate and disconnect it", H_NODE_REVOKE },
        { "POST", "/api/v1/keys", ADMIN, "create an API key (shown once)", H_KEY_CREATE },
        { "GET", "/api/v1/keys", ADMIN, "list API keys (no secrets)", H_KEY_LIST },
        { "DELETE", "/api/v1/keys/{id}", ADMIN, "revoke an API key", H_KEY_REVOKE },
        { "GET", "/api/v1/audit", ADMIN | AUDITOR, "the audit trail", H_AUDIT_LIST },
        { "GET", "/api/v1/rules", ADMIN | AUDITOR, "the routing rule set (?version=N: an older one)", H_RULES_GET },
        { "PUT", "/api/v1/rules", ADMIN, "replace the routing rule set (a new version, pushed to agents)", H_RULES_PUT },
        { "GET", "/api/v1/rules/versions", ADMIN | AUDITOR, "the rule set's versions, newest first", H_RULES_VERSIONS },
};
const size_t api_n_routes = ELEMENTSOF(api_routes);

StoreActor api_actor(const HttpRequest *r) {
        return (StoreActor){ .key_id = r->key ? r->key->id : "anonymous", .request_id = r->request_id };
}

/* Maps a store error to a status: unknown -> 404, conflicts -> 409, limits -> 413/429, else 400/500. */
static void reply_store_error(HttpRequest *r, int k, const char *err) {
        int status = k == -ENOENT ? 404 : k == -EEXIST || k == -EALREADY || k == -EBUSY ? 409 : k == -E2BIG ? 422
                   : k == -EINVAL || k == -EPERM ? 400 : 500;
        http_reply_error(r, status, NULL, status == 500 ? "internal" : "invalid_request", "%s", err);
}

static void h_healthz(HttpRequest *r) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "status", "ok");
        http_reply_json(r, 200, o);
}

static void h_readyz(HttpRequest *r) {
        char err[256];
        int64_t n;
        StoreModel *models = NULL;
        size_t count;
        int k = store_model_list(r->ctl->store, false, &models, &count, err, sizeof err);

        (void) n;
        store_models_free(models, k >= 0 ? count : 0);
        if (k < 0) {
                http_reply_error(r, 503, NULL, "not_ready", "database: %s", err);
                return;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "status", "ready");
        cJSON_AddNumberToObject(o, "agents_connected", (double) inventory_count(r->ctl->inventory));
        http_reply_json(r, 200, o);
}

static void h_models(HttpRequest *r) {
        StoreModel *models = NULL;
        size_t n = 0;
        char err[256];
        int k = store_model_list(r->ctl->store, true, &models, &n, err, sizeof err);
        cJSON *o, *data;

        if (k < 0) {
                reply_store_error(r, k, err);
                return;
        }
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "object", "list");
        data = cJSON_AddArrayToObject(o, "data");
        for (size_t i = 0; i < n; i++) {
                if (r->key && !store_api_key_allows_model(r->key, models[i].name))
                        continue;
                cJSON *m = cJSON_CreateObject();
                cJSON_AddStringToObject(m, "id", models[i].name);
                cJSON_AddStringToObject(m, "object", "model");
                cJSON_AddNumberToObject(m, "created", (double) (models[i].created_at / USEC_PER_SEC));
                cJSON_AddStringToObject(m, "owned_by", "sluice");
                cJSON_AddItemToArray(data, m);
        }
        store_models_free(models, n);
        http_reply_json(r, 200, o);
}

static void h_join_token_create(HttpRequest *r) {
        _cleanup_json_ cJSON *body = NULL;
        _cleanup_(store_join_token_freep) StoreJoinToken *info = NULL;
        _cleanup_free_ char *token = NULL;
        const char *name, *zone, *ttl = "1h";
        uint64_t ttl_usec;
        StoreActor actor = api_actor(r);
        char err[256];
        int k;

        if (http_body_json(r, &body) < 0)
                return;
        if (json_get_string(body, "name", &name, err, sizeof err) < 0 || json_get_string(body, "zone", &zone, err, sizeof err) < 0 ||
            (cJSON_HasObjectItem(body, "ttl") && json_get_string(body, "ttl", &ttl, err, sizeof err) < 0)) {
                http_reply_error(r, 400, NULL, "invalid_request", "%s", err);
                return;
        }
        if (store_zone_from_string(zone) < 0) {
                http_reply_error(r, 400, NULL, "invalid_request", "zone: must be \"private\" or \"public\"");
                return;
        }
        if (time_parse_duration(ttl, &ttl_usec) < 0) {
                http_reply_error(r, 400, NULL, "invalid_request", "ttl: \"%s\" is not a duration like 30m or 1h", ttl);
                return;
        }
        k = store_join_token_create(r->ctl->store, name, store_zone_from_string(zone), ttl_usec, &actor, &token, &info, err,
                                    sizeof err);
        if (k < 0) {
                reply_store_error(r, k, err);
                return;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "token", token);
        cJSON_AddStringToObject(o, "id", info->id);
        cJSON_AddStringToObject(o, "name", info->node_name);
        cJSON_AddStringToObject(o, "zone", store_zone_to_string(info->zone));
        http_json_add_time(o, "expires_at", info->expires_at);
        http_reply_json(r, 201, o);
}

static void h_join_token_list(HttpRequest *r) {
        StoreJoinToken *t = NULL;
        size_t n = 0;
        char err[256];
        int k = store_join_token_list(r->ctl->store, &t, &n, err, sizeof err);

        if (k < 0) {
                reply_store_error(r, k, err);
                return;
        }
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < n; i++) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "id", t[i].id);
                cJSON_AddStringToObject(o, "name", t[i].node_name);
                cJSON_AddStringToObject(o, "zone", store_zone_to_string(t[i].zone));
                http_json_add_time(o, "created_at", t[i].created_at);
                http_json_add_time(o, "expires_at", t[i].expires_at);
                http_json_add_time(o, "used_at", t[i].used_at);
                cJSON_AddItemToArray(arr, o);
        }
        store_join_tokens_free(t, n);
        http_reply_list(r, arr);
}

static void h_node_list(HttpRequest *r) {
        StoreNode *nodes = NULL;
        size_t n = 0;
        char err[256];
        int k = store_node_list(r->ctl->store, &nodes, &n, err, sizeof err);

        if (k < 0) {
                reply_store_error(r, k, err);
                return;
        }
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < n; i++) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "id", nodes[i].id);
                cJSON_AddStringToObject(o, "name", nodes[i].name);
                cJSON_AddStringToObject(o, "zone", store_zone_to_string(nodes[i].zone));
                cJSON_AddStringToObject(o, "state", store_node_state_to_string(nodes[i].state));
                cJSON_AddBoolToObject(o, "connected", inventory_find(r->ctl->inventory, nodes[i].name) != NULL);
                http_json_add_time(o, "enrolled_at", nodes[i].enrolled_at);
                http_json_add_time(o, "last_seen_at", nodes[i].last_seen_at);
                http_json_add_time(o, "cert_not_after", nodes[i].cert_not_after);
                cJSON_AddItemToObject(o, "labels", cJSON_Parse(nodes[i].labels_json ? nodes[i].labels_json : "{}"));
                cJSON_AddItemToObject(o, "telemetry", cJSON_Parse(nodes[i].telemetry_json ? nodes[i].telemetry_json : "{}"));
                cJSON_AddItemToArray(arr, o);
        }
        store_nodes_free(nodes, n);
        http_reply_list(r, arr);
}

static void h_node_revoke(HttpRequest *r) {
        const char *name = route_param(&r->params, "name");
        StoreActor actor = api_actor(r);
        char err[256];
        int k = store_node_revoke(r->ctl->store, name, "revoked by an admin", &actor, err, sizeof err);

        if (k < 0) {
                reply_store_error(r, k, err);
                return;
        }
        inventory_disconnect(r->ctl->inventory, name, "certificate revoked");
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "state", "revoked");
        http_reply_json(r, 200, o);
}

static cJSON *key_json(const StoreApiKey *k) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", k->id);
        cJSON_AddStringToObject(o, "name", k->name);
        cJSON_AddStringToObject(o, "prefix", k->prefix);
        cJSON_AddStringToObject(o, "role", store_role_to_string(k->role));
        http_json_add_time(o, "created_at", k->created_at);
        http_json_add_time(o, "expires_at", k->expires_at);
        http_json_add_time(o, "revoked_at", k->revoked_at);
        cJSON *models = cJSON_AddArrayToObject(o, "models");
        for (size_t i = 0; i < k->n_models; i++)
                cJSON_AddItemToArray(models, cJSON_CreateString(k->models[i]));
        cJSON_AddItemToObject(o, "labels", cJSON_Parse(k->labels_json ? k->labels_json : "{}"));
        return o;
}

/* Reads the optional "models" (array of strings) of a key request into a NULL-terminated list. */
static int read_models(HttpRequest *r, const cJSON *body, const char ***ret, size_t *ret_n) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(body, "models"), *it;
        size_t n = 0;

        *ret = NULL, *ret_n = 0;
        if (!arr)
                return 0;
        if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > 64) {
                http_reply_error(r, 400, NULL, "invalid_request", "models: expected an array of at most 64 model names");
                return -EINVAL;
        }
        *ret = calloc((size_t) cJSON_GetArraySize(arr) + 1, sizeof(char *));
        if (!*ret)
                return -ENOMEM;
        cJSON_ArrayForEach(it, arr) {
                if (!cJSON_IsString(it)) {
                        free(*ret);
                        http_reply_error(r, 400, NULL, "invalid_request", "models[%zu]: expected string", n);
                        return -EINVAL;
                }
                (*ret)[n++] = it->valuestring;
        }
        *ret_n = n;
        return 0;
}

static void h_key_create(HttpRequest *r) {
        _cleanup_json_ cJSON *body = NULL;
        _cleanup_(store_api_key_freep) StoreApiKey *key = NULL;
        _cleanup_free_ char *secret = NULL, *labels = NULL;
        _cleanup_free_ const char **models = NULL;
        StoreApiKeyParams p = {};
        StoreActor actor = api_actor(r);
        const char *role, *ttl = NULL;
        char err[256];
        int k;

        if (http_body_json(r, &body) < 0)
                return;
        if (json_get_string(body, "name", &p.name, err, sizeof err) < 0 || json_get_string(body, "role", &role, err, sizeof err) < 0 ||
            (cJSON_HasObjectItem(body, "ttl") && json_get_string(body, "ttl", &ttl, err, sizeof err) < 0)) {
                http_reply_error(r, 400, NULL, "invalid_request", "%s", err);
                return;
        }
        p.role = store_role_from_string(role);
        if ((int) p.role < 0) {
                http_reply_error(r, 400, NULL, "invalid_request", "role: must be admin, developer or auditor");
                return;
        }
        if (ttl && time_parse_duration(ttl, &p.ttl_usec) < 0) {
                http_reply_error(r, 400, NULL, "invalid_request", "ttl: \"%s\" is not a duration like 30d or 12h", ttl);
                return;
        }
        if (read_models(r, body, &models, &p.n_models) < 0)
                return;
        p.models = models;
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(body, "labels");
        if (l && !(labels = cJSON_PrintUnformatted(l))) {
                http_reply_error(r, 500, NULL, "internal", "out of memory");
                return;
        }
        p.labels_json = labels;
        k = store_api_key_create(r->ctl->store, &p, &actor, &secret, &key, err, sizeof err);
        if (k < 0) {
                reply_store_error(r, k, err);
                return;
        }
        cJSON *o = key_json(key);
        cJSON_AddStringToObject(o, "key", secret);
        http_reply_json(r, 201, o);
}

static void h_key_list(HttpRequest *r) {
        StoreApiKey *keys = NULL;
        size_t n = 0;
        char err[256];
        int k = store_api_key_list(r->ctl->store, &keys, &n, err, sizeof err);

        if (k < 0) {
                reply_store_error(r, k, err);
                return;
        }
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < n; i++)
                cJSON_AddItemToArray(arr, key_json(&keys[i]));
        store_api_keys_free(keys, n);
        http_reply_list(r, arr);
}

static void h_key_revoke(HttpRequest *r) {
        StoreActor actor = api_actor(r);
        char err[256];
        int k = store_api_key_revoke(r->ctl->store, route_param(&r->params, "id"), &actor, err, sizeof err);

        if (k < 0) {
                reply_store_error(r, k, err);
                return;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", route_param(&r->params, "id"));
        cJSON_AddBoolToObject(o, "revoked", true);
        http_reply_json(r, 200, o);
}

static void h_audit_list(HttpRequest *r) {
        StoreAuditFilter f = {};
        StoreAuditEntry *e = NULL;
        size_t n = 0;
        char err[256];
        int k = store_audit_list(r->ctl->store, &f, &e, &n, err, sizeof err);

        if (k < 0) {
                reply_store_error(r, k, err);
                return;
        }
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < n; i++) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddNumberToObject(o, "id", (double) e[i].id);
                http_json_add_time(o, "time", e[i].time);
                cJSON_AddStringToObject(o, "actor", e[i].actor);
                cJSON_AddStringToObject(o, "action", e[i].action);
                if (e[i].target)
                        cJSON_AddStringToObject(o, "target", e[i].target);
                if (e[i].request_id)
                        cJSON_AddStringToObject(o, "request_id", e[i].request_id);
                cJSON_AddItemToObject(o, "detail", cJSON_Parse(e[i].detail_json ? e[i].detail_json : "{}"));
                cJSON_AddItemToArray(arr, o);
        }
        store_audit_entries_free(e, n);
        http_reply_list(r, arr);
}

/* A native request that names no model gets the only model its key may use. */
static int resolve_model(HttpRequest *r, OpenAIRequest *oa) {
        StoreModel *models = NULL;
        size_t n = 0, usable = 0;
        const char *only = NULL;
        char err[256];
        int k = store_model_list(r->ctl->store, true, &models, &n, err, sizeof err);

        if (k < 0) {
                reply_store_error(r, k, err);
                return k;
        }
        for (size_t i = 0; i < n; i++)
                if (!r->key || store_api_key_allows_model(r->key, models[i].name)) {
                        usable++;
                        only = models[i].name;
                }
        if (usable == 1) {
                cJSON_AddStringToObject(oa->infer, "model", only);
                oa->model = cJSON_GetObjectItemCaseSensitive(oa->infer, "model")->valuestring;
        } else
                http_reply_error(r, 400, NULL, "invalid_request",
                                 "model: required, as %zu models are available to this key (GET /v1/models lists them)",
                                 usable);
        store_models_free(models, n);
        return usable == 1 ? 0 : -EINVAL;
}

int api_parse_generation(HttpRequest *r, OpenAIKind kind, cJSON **ret_body, OpenAIRequest *ret) {
        _cleanup_json_ cJSON *body = NULL;
        const ControllerConfig *cfg = &r->ctl->config;
        OpenAIRequest oa;
        char err[512];
        int k;

        if ((k = http_body_json(r, &body)) < 0)
                return k;
        if ((k = openai_parse(kind, body, cfg->default_max_tokens, cfg->max_tokens_limit, &oa, err, sizeof err)) < 0) {
                http_reply_error(r, 400, NULL, "invalid_request", "%s", err);
                return k;
        }
        if (!oa.model && (k = resolve_model(r, &oa)) < 0) {
                cJSON_Delete(oa.infer);
                return k;
        }
        if (r->key && !store_api_key_allows_model(r->key, oa.model)) {
                http_reply_error(r, 403, NULL, "model_not_allowed", "this API key may not use the model \"%.128s\"", oa.model);
                cJSON_Delete(oa.infer);
                return -EPERM;
        }
        *ret = oa;
        *ret_body = TAKE_PTR(body);
        return 0;
}

/* /v1/chat/completions, /v1/completions and /v1/generate: validate, check the key's model
 * allow-list, dispatch. */
static void generate(HttpRequest *r, OpenAIKind kind) {
        _cleanup_json_ cJSON *body = NULL;
        OpenAIRequest oa;

        if (api_parse_generation(r, kind, &body, &oa) >= 0)
                dispatch_start(r, &oa);
}

static void h_chat(HttpRequest *r) {
        generate(r, OPENAI_CHAT);
}

static void h_completions(HttpRequest *r) {
        generate(r, OPENAI_COMPLETION);
}

static void h_generate(HttpRequest *r) {
        generate(r, OPENAI_GENERATE);
}

static void (*const handlers[])(HttpRequest *r) = {
        [H_HEALTHZ] = h_healthz,
        [H_READYZ] = h_readyz,
        [H_MODELS] = h_models,
        [H_JOIN_TOKEN_CREATE] = h_join_token_create,
        [H_JOIN_TOKEN_LIST] = h_join_token_list,
        [H_ENROLL] = enroll_handle,
        [H_NODE_LIST] = h_node_list,
        [H_NODE_REVOKE] = h_node_revoke,
        [H_KEY_CREATE] = h_key_create,
        [H_KEY_LIST] = h_key_list,
        [H_KEY_REVOKE] = h_key_revoke,
        [H_AUDIT_LIST] = h_audit_list,
        [H_CHAT] = h_chat,
        [H_COMPLETIONS] = h_completions,
        [H_DEPLOY_CREATE] = deploy_handle_create,
        [H_DEPLOY_LIST] = deploy_handle_list,
        [H_DEPLOY_DELETE] = deploy_handle_delete,
        [H_GENERATE] = h_generate,
        [H_ROUTE_EXPLAIN] = explain_handle,
        [H_JOB_CREATE] = jobs_handle_create,
        [H_JOB_LIST] = jobs_handle_list,
        [H_JOB_GET] = jobs_handle_get,
        [H_JOB_CANCEL] = jobs_handle_cancel,
        [H_RULES_GET] = rules_api_get,
        [H_RULES_VERSIONS] = rules_api_versions,
        [H_RULES_PUT] = rules_api_put,
};

_Static_assert(ELEMENTSOF(handlers) == H_RULES_PUT + 1, "a handler for every route");

void api_dispatch(HttpRequest *r) {
        handlers[r->route->handler](r);
}

static const char *principal_name(unsigned bit) {
        switch (bit) {
        case PRINCIPAL_ADMIN: return "admin";
        case PRINCIPAL_DEVELOPER: return "developer";
        case PRINCIPAL_AUDITOR: return "auditor";
        case PRINCIPAL_AGENT: return "agent";
        default: return "public";
        }
}

int api_print_routes(void) {
        cJSON *arr = cJSON_CreateArray();

        for (size_t i = 0; i < api_n_routes; i++) {
                cJSON *o = cJSON_CreateObject(), *allowed = cJSON_CreateArray();
                cJSON_AddStringToObject(o, "method", api_routes[i].method);
                cJSON_AddStringToObject(o, "path", api_routes[i].pattern);
                for (unsigned bit = 1; bit <= PRINCIPAL_PUBLIC; bit <<= 1)
                        if (api_routes[i].allowed & bit)
                                cJSON_AddItemToArray(allowed, cJSON_CreateString(principal_name(bit)));
                cJSON_AddItemToObject(o, "allowed", allowed);
                cJSON_AddStringToObject(o, "summary", api_routes[i].summary);
                cJSON_AddItemToArray(arr, o);
        }
        char *s = cJSON_Print(arr);
        cJSON_Delete(arr);
        if (!s)
                return -ENOMEM;
        printf("%s\n", s);
        free(s);
        return 0;
}
