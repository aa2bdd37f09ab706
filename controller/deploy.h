/* deploy.h: deployments: which agents should load which model, told with model.load frames, and
 * what they report back with model.status. */
#pragma once

#include <cjson/cJSON.h>

#include "controller.h"
#include "http.h"
#include "inventory.h"

/* Sends model.load to connected agents that a deployment places a replica on and that do not have
 * it yet, up to each deployment's replica count. Called after a deployment is made and whenever an
 * agent says hello. */
void deploy_reconcile(Controller *c);
/* A model.status frame from agent a. */
void deploy_on_status(Controller *c, AgentConn *a, const cJSON *frame);

/* POST /api/v1/deployments and GET /api/v1/deployments. */
void deploy_handle_create(HttpRequest *r);
void deploy_handle_list(HttpRequest *r);
/* DELETE /api/v1/deployments/{id}: undeploy (state stopped; model.unload to the nodes that have a
 * replica and no other deployment of the model). Audited as "deployment.state". */
void deploy_handle_delete(HttpRequest *r);
