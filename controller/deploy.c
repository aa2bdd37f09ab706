/* deploy.c: deployments of models onto agents: placement, model.load, status. */
#include "deploy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "api.h"
#include "frame.h"
#include "jobs.h"
#include "json.h"
#include "log.h"
#include "store-deployments.h"
#include "store-models.h"
#include "timeutil.h"

/* Whether placement {"zones":[...],"nodes":[...]} admits agent a. */
static bool placement_admits(const char *placement_json, const AgentConn *a) {
        _cleanup_json_ cJSON *p = cJSON_Parse(placement_json);
        const cJSON *zones = cJSON_GetObjectItemCaseSensitive(p, "zones");
        const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(p, "nodes"), *it;

        cJSON_ArrayForEach(it, nodes)
                if (cJSON_IsString(it) && streq(it->valuestring, a->id.name))
                        return true;
        cJSON_ArrayForEach(it, zones)
                if (cJSON_IsString(it) && streq(it->valuestring, a->id.zone))
                        return true;
        return false;
}

static char *model_url(const StoreModel *m) {
        char *url = NULL;
        if (m->source[0] == '/')
                return asprintf(&url, "file://%s", m->source) < 0 ? NULL : url;
        return strdup(m->source);
}

/* Validates and queues frame f for agent a (takes f); 0, or a negative errno (logged). */
static int send_frame(Controller *c, AgentConn *a, cJSON *f) {
        char err[512], *text;

        if (frame_check(c->frames, f, err, sizeof err) < 0) {
                log_error("refusing to send an invalid %s frame: %s", cJSON_GetObjectItemCaseSensitive(f, "type")->valuestring,
                          err);
                cJSON_Delete(f);
                return -EINVAL;
        }
        text = cJSON_PrintUnformatted(f);
        cJSON_Delete(f);
        return text ? agent_send(a, text) : -ENOMEM;
}

static void send_load(Controller *c, AgentConn *a, const StoreDeployment *d, const StoreModel *m) {
        _cleanup_free_ char *url = model_url(m);
        cJSON *f = cJSON_CreateObject(), *model;
        char err[256];

        cJSON_AddStringToObject(f, "type", "model.load");
        cJSON_AddStringToObject(f, "id", d->id);
        model = cJSON_AddObjectToObject(f, "model");
        cJSON_AddStringToObject(model, "name", m->name);
        cJSON_AddStringToObject(model, "url", url ? url : "");
        cJSON_AddStringToObject(model, "sha256", m->sha256);
        cJSON_AddNumberToObject(model, "size_bytes", (double) m->size);
        if (send_frame(c, a, f) >= 0) {
                (void) store_deployment_node_set(c->store, d->id, a->id.name, STORE_REPLICA_LOADING, NULL, err, sizeof err);
                log_with(LOG_INFO, LOG_FIELDS(LOG_STR("node", a->id.name), LOG_STR("model", m->name)),
                         "asked %s to load %s", a->id.name, m->name);
        }
}

/* Replicas of d that are ready or loading on nodes other than node. */
static unsigned replicas_elsewhere(Controller *c, const StoreDeployment *d, const char *node) {
        StoreDeploymentNode *nodes = NULL;
        size_t n = 0;
        unsigned used = 0;
        char err[256];

        if (store_deployment_node_list(c->store, d->id, &nodes, &n, err, sizeof err) < 0)
                return UINT32_MAX;
        for (size_t i = 0; i < n; i++)
                used += nodes[i].status != STORE_REPLICA_FAILED && !streq(nodes[i].node_name, node);
        store_deployment_nodes_free(nodes, n);
        return used;
}

static void reconcile_one(Controller *c, const StoreDeployment *d) {
        _cleanup_(store_model_freep) StoreModel *m = NULL;
        HashmapIter it = HASHMAP_ITER_INIT;
        char err[256];

        if (store_model_get(c->store, d->model, &m, err, sizeof err) < 0)
                return;
        for (AgentConn *a; (a = inventory_next(c->inventory, &it));) {
                /* an agent that does not report the model is told again (a restarted one forgot it;
                 * one still loading answers at once when its load completes) */
                if (!a->welcomed || !placement_admits(d->placement_json, a) || agent_has_model(a, d->model) ||
                    replicas_elsewhere(c, d, a->id.name) >= d->replicas)
                        continue;
                send_load(c, a, d, m);
        }
}

void deploy_reconcile(Controller *c) {
        StoreDeployment *d = NULL;
        size_t n = 0;
        char err[256];

        if (store_deployment_list(c->store, &d, &n, err, sizeof err) < 0) {
                log_warning("cannot read deployments: %s", err);
                return;
        }
        for (size_t i = 0; i < n; i++)
                if (d[i].state == STORE_DEPLOYMENT_ACTIVE || d[i].state == STORE_DEPLOYMENT_PENDING)
                        reconcile_one(c, &d[i]);
        store_deployments_free(d, n);
}

void deploy_on_status(Controller *c, AgentConn *a, const cJSON *f) {
        const char *name = cJSON_GetObjectItemCaseSensitive(f, "name")->valuestring;
        const char *state = cJSON_GetObjectItemCaseSensitive(f, "state")->valuestring;
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(f, "id"), *e = cJSON_GetObjectItemCaseSensitive(f, "error");
        StoreReplicaStatus st = streq(state, "ready") ? STORE_REPLICA_READY : streq(state, "failed") ? STORE_REPLICA_FAILED
                                                                                               : STORE_REPLICA_LOADING;
        char err[256];

        agent_set_model(a, name, streq(state, "ready"));
        if (streq(state, "ready"))
                jobs_kick(c); /* queued jobs may have waited for this model */
        if (streq(state, "ready") && cJSON_IsString(id)) {
                /* the first ready replica makes a pending deployment active */
                _cleanup_(store_deployment_freep) StoreDeployment *d = NULL;
                /* the controller's own move, not an admin write: no actor */
                if (store_deployment_get(c->store, id->valuestring, &d, err, sizeof err) >= 0 &&
                    d->state == STORE_DEPLOYMENT_PENDING &&
                    store_deployment_set_state(c->store, d->id, STORE_DEPLOYMENT_ACTIVE, NULL, err, sizeof err) < 0)
                        log_warning("cannot mark deployment %s active: %s", d->id, err);
        }
        if (cJSON_IsString(id) && !streq(state, "unloaded") &&
            store_deployment_node_set(c->store, id->valuestring, a->id.name, st, cJSON_IsString(e) ? e->valuestring : NULL,
                                      err, sizeof err) < 0)
                log_debug("model.status from %s: %s", a->id.name, err);
        log_with(streq(state, "failed") ? LOG_WARNING : LOG_INFO,
                 LOG_FIELDS(LOG_STR("node", a->id.name), LOG_STR("model", name), LOG_STR("state", state)),
                 "%s: model %s %s%s%s", a->id.name, name, state, cJSON_IsString(e) ? ": " : "",
                 cJSON_IsString(e) ? e->valuestring : "");
}

/* {"zones":[...],"nodes":[...]} from the request's "zones" and "nodes"; at least one. */
static int placement_of(HttpRequest *r, const cJSON *body, char **ret) {
        cJSON *p = cJSON_CreateObject();
        const char *keys[] = { "zones", "nodes" };

        for (size_t i = 0; i < 2; i++) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, keys[i]);
                if (v)
                        cJSON_AddItemToObject(p, keys[i], cJSON_Duplicate(v, true));
        }
        if (cJSON_GetArraySize(p) == 0)
                cJSON_AddItemToObject(p, "zones", cJSON_CreateStringArray((const char *[]){ "private", "public" }, 2));
        *ret = cJSON_PrintUnformatted(p);
        cJSON_Delete(p);
        (void) r;
        return *ret ? 0 : -ENOMEM;
}

static cJSON *deployment_json(Controller *c, const StoreDeployment *d) {
        cJSON *o = cJSON_CreateObject(), *arr;
        StoreDeploymentNode *nodes = NULL;
        size_t n = 0;
        char err[256];

        cJSON_AddStringToObject(o, "id", d->id);
        cJSON_AddStringToObject(o, "model", d->model);
        cJSON_AddItemToObject(o, "placement", cJSON_Parse(d->placement_json));
        cJSON_AddNumberToObject(o, "replicas", d->replicas);
        cJSON_AddNumberToObject(o, "canary_weight", d->canary_weight);
        cJSON_AddStringToObject(o, "state", store_deployment_state_to_string(d->state));
        arr = cJSON_AddArrayToObject(o, "nodes");
        if (store_deployment_node_list(c->store, d->id, &nodes, &n, err, sizeof err) >= 0)
                for (size_t i = 0; i < n; i++) {
                        cJSON *x = cJSON_CreateObject();
                        cJSON_AddStringToObject(x, "node", nodes[i].node_name);
                        cJSON_AddStringToObject(x, "status", store_replica_status_to_string(nodes[i].status));
                        if (nodes[i].reason)
                                cJSON_AddStringToObject(x, "reason", nodes[i].reason);
                        cJSON_AddItemToArray(arr, x);
                }
        store_deployment_nodes_free(nodes, n);
        return o;
}

void deploy_handle_create(HttpRequest *r) {
        _cleanup_json_ cJSON *body = NULL;
        _cleanup_(store_deployment_freep) StoreDeployment *d = NULL;
        _cleanup_free_ char *placement = NULL;
        StoreActor actor = api_actor(r);
        const char *model, *source, *sha256;
        int64_t replicas = 1, size = 0;
        char err[512];
        int k;

        if (http_body_json(r, &body) < 0)
                return;
        if (json_get_string(body, "model", &model, err, sizeof err) < 0 ||
            json_get_string(body, "source", &source, err, sizeof err) < 0 ||
            json_get_string(body, "sha256", &sha256, err, sizeof err) < 0 ||
            (cJSON_HasObjectItem(body, "replicas") && json_get_int(body, "replicas", 1, 1024, &replicas, err, sizeof err) < 0) ||
            (cJSON_HasObjectItem(body, "size") && json_get_int(body, "size", 0, INT64_MAX, &size, err, sizeof err) < 0) ||
            placement_of(r, body, &placement) < 0) {
                http_reply_error(r, 400, NULL, "invalid_request", "%s", err);
                return;
        }
        if (size == 0) {
                struct stat st;
                if (source[0] != '/' || stat(source, &st) < 0) {
                        http_reply_error(r, 400, NULL, "invalid_request",
                                         "size: required unless source is a file on the controller's machine");
                        return;
                }
                size = st.st_size;
        }
        k = store_model_add(r->ctl->store, model, source, sha256, (uint64_t) size, &actor, NULL, err, sizeof err);
        if (k < 0 && k != -EEXIST) {
                http_reply_error(r, k == -EINVAL ? 400 : 500, NULL, "invalid_request", "%s", err);
                return;
        }
        StoreDeploymentParams p = { .model = model, .placement_json = placement, .replicas = (unsigned) replicas };
        k = store_deployment_create(r->ctl->store, &p, &actor, &d, err, sizeof err);
        if (k < 0) {
                http_reply_error(r, k == -EINVAL || k == -E2BIG ? 400 : k == -EEXIST ? 409 : 500, NULL, "invalid_request", "%s", err);
                return;
        }
        deploy_reconcile(r->ctl);
        http_reply_json(r, 201, deployment_json(r->ctl, d));
}

void deploy_handle_list(HttpRequest *r) {
        StoreDeployment *d = NULL;
        size_t n = 0;
        char err[256];

        if (store_deployment_list(r->ctl->store, &d, &n, err, sizeof err) < 0) {
                http_reply_error(r, 500, NULL, "internal", "%s", err);
                return;
        }
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < n; i++)
                cJSON_AddItemToArray(arr, deployment_json(r->ctl, &d[i]));
        store_deployments_free(d, n);
        http_reply_list(r, arr);
}

/* Whether another deployment that is not stopped keeps model on agent a. */
static bool model_kept_elsewhere(Controller *c, const StoreDeployment *gone, const AgentConn *a) {
        StoreDeployment *d = NULL;
        size_t n = 0;
        bool kept = false;
        char err[256];

        if (store_deployment_list(c->store, &d, &n, err, sizeof err) < 0)
                return true; /* unsure: leave the model loaded */
        for (size_t i = 0; i < n && !kept; i++)
                kept = !streq(d[i].id, gone->id) && d[i].state != STORE_DEPLOYMENT_STOPPED && streq(d[i].model, gone->model) &&
                       placement_admits(d[i].placement_json, a);
        store_deployments_free(d, n);
        return kept;
}

/* Tells the connected agents with a replica of d to unload it, and forgets the replicas. */
static void unload_replicas(Controller *c, const StoreDeployment *d) {
        StoreDeploymentNode *nodes = NULL;
        size_t n = 0;
        char err[256];

        if (store_deployment_node_list(c->store, d->id, &nodes, &n, err, sizeof err) < 0) {
                log_warning("cannot read the replicas of %s: %s", d->id, err);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                AgentConn *a = inventory_find(c->inventory, nodes[i].node_name);
                if (a && !model_kept_elsewhere(c, d, a)) {
                        cJSON *f = cJSON_CreateObject();
                        cJSON_AddStringToObject(f, "type", "model.unload");
                        cJSON_AddStringToObject(f, "id", d->id);
                        cJSON_AddStringToObject(f, "name", d->model);
                        agent_set_model(a, d->model, false); /* no new requests go there from now on */
                        if (send_frame(c, a, f) >= 0)
                                log_with(LOG_INFO, LOG_FIELDS(LOG_STR("node", a->id.name), LOG_STR("model", d->model)),
                                         "asked %s to unload %s", a->id.name, d->model);
                }
                (void) store_deployment_node_remove(c->store, d->id, nodes[i].node_name, err, sizeof err);
        }
        store_deployment_nodes_free(nodes, n);
}

void deploy_handle_delete(HttpRequest *r) {
        _cleanup_(store_deployment_freep) StoreDeployment *d = NULL, *after = NULL;
        const char *id = route_param(&r->params, "id");
        StoreActor actor = api_actor(r);
        char err[256];
        int k = store_deployment_get(r->ctl->store, id, &d, err, sizeof err);

        if (k == -ENOENT) {
                http_reply_error(r, 404, NULL, "deployment_not_found", "no deployment %.64s (GET /api/v1/deployments lists them)", id);
                return;
        }
        if (k >= 0 && d->state == STORE_DEPLOYMENT_STOPPED) {
                http_reply_error(r, 409, NULL, "already_stopped", "deployment %s is already stopped", d->id);
                return;
        }
        if (k < 0 || (k = store_deployment_set_state(r->ctl->store, d->id, STORE_DEPLOYMENT_STOPPED, &actor, err, sizeof err)) < 0 ||
            (k = store_deployment_get(r->ctl->store, d->id, &after, err, sizeof err)) < 0) {
                http_reply_error(r, 500, NULL, "internal", "%s", err);
                return;
        }
        unload_replicas(r->ctl, d);
        http_reply_json(r, 200, deployment_json(r->ctl, after));
}
