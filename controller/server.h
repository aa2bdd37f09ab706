/* server.h: the controller's one libwebsockets event loop: the API listener and the agents' listener. */
#pragma once

#include "controller.h"

/* Creates both TLS 1.3-only listeners and serves until SIGINT/SIGTERM. Returns 0 on a clean stop,
 * a negative errno when a listener cannot be set up (err says which and why). */
int server_run(Controller *c, char *err, size_t errsz);
