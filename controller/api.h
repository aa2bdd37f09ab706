/* api.h: the controller's route table and the handlers behind it. */
#pragma once

#include <stddef.h>

#include "http.h"
#include "openai.h"
#include "routes.h"
#include "store.h"

extern const Route api_routes[];
extern const size_t api_n_routes;

/* Who an admin write is recorded as: the caller's key id and the request id. */
StoreActor api_actor(const HttpRequest *r);

/* Runs the handler of r->route; the handler fills r's response. */
void api_dispatch(HttpRequest *r);
/* Prints the route table as JSON (for --print-routes and the permission-matrix test). */
int api_print_routes(void);

/* Parses the body of a generation request of this kind, resolves the model (the only model the
 * key may use when a native request names none) and checks the key's model allow-list. On failure
 * it has replied (400/403/404) and returns a negative errno. The caller owns *ret_body, which
 * ret's strings point into, and ret->infer. */
int api_parse_generation(HttpRequest *r, OpenAIKind kind, cJSON **ret_body, OpenAIRequest *ret);
