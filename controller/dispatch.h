/* dispatch.h: generations in flight: an OpenAI request sent to an agent as an infer frame, its
 * token/done/error frames turned back into the HTTP response (JSON, or SSE when streaming),
 * cancellation when the client goes away, one retry on another node before the first token. */
#pragma once

#include <cjson/cJSON.h>

#include "controller.h"
#include "http.h"
#include "inventory.h"
#include "openai.h"

typedef struct InferRequest InferRequest;

int dispatch_init(Controller *c);
void dispatch_done(Controller *c);

/* Starts the generation of r (parsed into oa, whose infer frame it takes). Replies at once when it
 * cannot start: 404 model_not_found (no deployment of the model), 503 no_capacity (no ready node
 * serves it). Otherwise the response follows as frames come in. */
void dispatch_start(HttpRequest *r, OpenAIRequest *oa);
/* A token, done or error frame from agent a. */
void dispatch_on_frame(Controller *c, AgentConn *a, const char *type, const cJSON *frame);
/* The agent went away: its generations are retried elsewhere (before their first token) or end
 * with an error. */
void dispatch_agent_gone(Controller *c, AgentConn *a);
/* The client went away: the agent is told to cancel. */
void dispatch_http_closed(HttpRequest *r);
/* Writes what the generation has for the client; returns -1 to close the connection. */
int dispatch_http_writeable(HttpRequest *r);
