/* dispatch.h: generations in flight: an OpenAI request sent to an agent as an infer frame, its
 * token/done/error frames turned back into the HTTP response (JSON, or SSE when streaming),
 * cancellation when the client goes away, one retry on another node before the first token. */
#pragma once

#include <cjson/cJSON.h>

#include "classify.h"
#include "controller.h"
#include "http.h"
#include "inventory.h"
#include "openai.h"

typedef struct InferRequest InferRequest;

/* Classifies what the model will see in infer (classify.h) with floor as the least class, and
 * records the class in the frame's data_class. Never fails: errors end fail-closed (sensitive). */
void dispatch_classify(Controller *c, cJSON *infer, PolicyClass floor, const cJSON *key_labels, const char *model,
                       Classification *ret);
/* The same for an HTTP request: the floor from X-Sluice-Data-Class, the labels of the caller's key.
 * -EINVAL (a 400 is sent) when the header is not a class name. */
int dispatch_classify_http(HttpRequest *r, cJSON *infer, const char *model, Classification *ret);
/* Why no node can take a request of class cl for model now (never any prompt text). */
void dispatch_explain_unplaced(const Classification *cl, const char *model, char *buf, size_t size);

int dispatch_init(Controller *c);
void dispatch_done(Controller *c);

/* Starts the generation of r (parsed into oa, whose infer frame it takes). Replies at once when it
 * cannot start: 404 model_not_found (no deployment of the model), 429 too_many_streams (the key has
 * max_streams_per_key generations in flight), 400 invalid_data_class (X-Sluice-Data-Class),
 * 503 no_private_capacity (its class may only be served in the private zone and no private node
 * serves it now; never spilled to public), 503 no_capacity (no ready node serves it). Otherwise the
 * response follows as frames come in. */
void dispatch_start(HttpRequest *r, OpenAIRequest *oa);
/* Starts one attempt of a job (kind OPENAI_GENERATE; takes infer, whose data_class, set at
 * submission by dispatch_classify_http, is the least class). 0 with the node and zone it went to,
 * -ENODEV when no eligible node serves the model now, -ENOMEM. The outcome goes to jobs_on_done()
 * or jobs_on_error(). */
int dispatch_start_job(Controller *c, const char *job_id, const char *model, cJSON *infer, char *ret_node,
                       size_t node_size, char *ret_zone, size_t zone_size);
/* Tells the node running the job to stop, and forgets the attempt. */
void dispatch_cancel_job(Controller *c, const char *job_id);
/* A token, done or error frame from agent a. */
void dispatch_on_frame(Controller *c, AgentConn *a, const char *type, const cJSON *frame);
/* The agent went away: its generations are retried elsewhere (before their first token) or end
 * with an error. */
void dispatch_agent_gone(Controller *c, AgentConn *a);
/* The client went away: the agent is told to cancel. */
void dispatch_http_closed(HttpRequest *r);
/* Writes what the generation has for the client; returns -1 to close the connection. */
int dispatch_http_writeable(HttpRequest *r);
