/* explain.c: see explain.h. The decision is made by the same functions a real request goes
 * through (dispatch_classify_http, inventory_snapshot, placement_pick). */
#include "explain.h"

#include "api.h"
#include "controller.h"
#include "dispatch.h"
#include "inventory.h"
#include "json.h"
#include "store-models.h"

static cJSON *zones_json(unsigned zones) {
        cJSON *a = cJSON_CreateArray();

        if (zones & POLICY_ZONE_PRIVATE)
                cJSON_AddItemToArray(a, cJSON_CreateString("private"));
        if (zones & POLICY_ZONE_PUBLIC)
                cJSON_AddItemToArray(a, cJSON_CreateString("public"));
        return a;
}

/* eligible_nodes, node and outcome: where the request would go now. */
static void add_placement(HttpRequest *r, const Classification *cl, const char *model, cJSON *o) {
        PlacementRequest pr = {
                .zones = cl->zones,
                .spill_queue_depth = cl->spill_queue_depth,
                .rules_version = r->ctl->rules_version,
        };
        cJSON *eligible = cJSON_AddArrayToObject(o, "eligible_nodes");
        InventorySnapshot snap = {};
        char why[512];
        int pick = -1;

        if (inventory_snapshot(r->ctl->inventory, model, &snap) >= 0) {
                for (size_t i = 0; i < snap.n; i++) {
                        if (!placement_eligible(&snap.nodes[i], &pr))
                                continue;
                        cJSON *n = cJSON_CreateObject();
                        cJSON_AddStringToObject(n, "name", snap.nodes[i].name);
                        cJSON_AddStringToObject(n, "zone", snap.nodes[i].zone);
                        cJSON_AddNumberToObject(n, "inflight", snap.nodes[i].inflight);
                        cJSON_AddItemToArray(eligible, n);
                }
                pick = placement_pick(snap.nodes, snap.n, &pr);
        }
        if (!store_model_deployed(r->ctl->store, model))
                pick = -1; /* a real request is answered 404 first, whatever a node still has loaded */
        if (pick >= 0) {
                cJSON_AddStringToObject(o, "node", snap.nodes[pick].name);
                cJSON_AddStringToObject(o, "zone", snap.nodes[pick].zone);
                cJSON_AddStringToObject(o, "outcome", "route");
        } else {
                cJSON_AddNullToObject(o, "node");
                cJSON_AddNullToObject(o, "zone");
                if (!store_model_deployed(r->ctl->store, model)) {
                        cJSON_AddStringToObject(o, "outcome", "model_not_found");
                        snprintf(why, sizeof why, "the model \"%.128s\" is not deployed", model);
                } else {
                        cJSON_AddStringToObject(o, "outcome",
                                                cl->zones & POLICY_ZONE_PUBLIC ? "no_capacity" : "no_private_capacity");
                        dispatch_explain_unplaced(cl, model, why, sizeof why);
                }
                cJSON_AddStringToObject(o, "message", why);
        }
        inventory_snapshot_done(&snap);
}

void explain_handle(HttpRequest *r) {
        _cleanup_json_ cJSON *body = NULL, *infer = NULL;
        const cJSON *raw;
        OpenAIRequest oa;
        Classification cl;

        /* the body of the request to explain: chat when it has messages, else a prompt */
        if (http_body_json(r, &body) < 0)
                return;
        raw = cJSON_GetObjectItemCaseSensitive(body, "messages");
        bool chat = raw != NULL;
        cJSON_Delete(body); /* api_parse_generation reads it again */
        body = NULL;
        if (api_parse_generation(r, chat ? OPENAI_CHAT : OPENAI_GENERATE, &body, &oa) < 0)
                return;
        infer = oa.infer;
        char model[256];
        snprintf(model, sizeof model, "%s", oa.model);
        if (dispatch_classify_http(r, infer, model, &cl) < 0)
                return;

        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "rules_version", (double) r->ctl->rules_version);
        cJSON_AddStringToObject(o, "model", model);
        cJSON_AddStringToObject(o, "class", policy_class_name(cl.cls));
        cJSON_AddStringToObject(o, "rule", cl.rule_id);
        cJSON_AddBoolToObject(o, "fail_closed", cl.fail_closed);
        if (cl.fail_closed)
                cJSON_AddStringToObject(o, "reason", cl.reason);
        cJSON_AddNumberToObject(o, "bytes", (double) cl.bytes);
        if (classify_entities_to_json(r->ctl->rules, &cl, o, "entities") < 0)
                cJSON_AddObjectToObject(o, "entities");
        cJSON_AddItemToObject(o, "zones", zones_json(cl.zones));
        add_placement(r, &cl, model, o);
        http_reply_json(r, 200, o);
}
