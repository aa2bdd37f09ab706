/* api.h: the controller's route table and the handlers behind it. */
#pragma once

#include <stddef.h>

#include "http.h"
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
