/* ruleset.h: the controller's current routing rule set: loaded from the store at start (the
 * shipped default is stored as version 1 on first start), replaced by PUT /api/v1/rules, and
 * pushed to every connected agent, which acks it. Service thread only. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "controller.h"

/* Loads the newest stored rule set (storing the default first when there is none). */
int ruleset_load(Controller *c, char *err, size_t errsz);
void ruleset_done(Controller *c);

/* Checks and compiles json, stores it as the next version (audited as actor: the key id and the
 * request id), makes it current and sends it to every welcomed agent. 0 with *ret_version;
 * -EINVAL or -E2BIG with err naming the problem in the document (nothing is stored); another
 * negative errno when it cannot be stored (nothing changes). */
int ruleset_replace(Controller *c, const char *json, size_t len, const StoreActor *actor, uint64_t *ret_version,
                    char *err, size_t errsz);

/* Sends the current rule set to agent a (a "rules" frame). */
struct AgentConn;
void ruleset_send(Controller *c, struct AgentConn *a);
