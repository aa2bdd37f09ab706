/* protocols.h: the controller's wire protocols, one protocol_<name>.c each. */
#pragma once

#include <libwebsockets.h>

/* The API listener: HTTP/1.1 requests (protocol_http.c). */
int protocol_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);
/* The agent listener: WSS, subprotocol sluice-agent.v1, client certificates (protocol_agent.c). */
int protocol_agent_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

typedef struct Controller Controller;
/* Gives the agent protocol's TLS verification callback the controller to check revocation with. */
void protocol_agent_init(Controller *c);

#define PROTOCOL_AGENT_NAME "sluice-agent.v1"
