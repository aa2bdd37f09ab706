/* explain.h: POST /api/v1/route/explain: the routing decision for a generation request body,
 * without running it: entities and counts, class, the rule that decided, allowed zones, eligible
 * nodes and the node it would go to now. Never echoes the matched text. */
#pragma once

#include "http.h"

void explain_handle(HttpRequest *r);
