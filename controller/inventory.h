/* inventory.h: the agents connected right now (the live part of the node inventory; the durable
 * part is in the store). Touched only from the service thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hashmap.h"
#include "pki.h"
#include "placement.h"
#include "strbuf.h"

struct lws;

#define AGENT_QUEUE_MAX 1024 /* frames waiting to be written to one agent */
#define AGENT_MODELS_MAX 32  /* models one agent reports ready */
#define AGENT_MODEL_NAME_MAX 128

typedef struct AgentConn {
        struct lws *wsi;
        PkiIdentity id;          /* from the client certificate, never from frames */
        char serial[PKI_SERIAL_HEX_MAX];
        uint64_t connected_usec, last_frame_usec;
        bool welcomed;
        uint64_t rules_version_acked;
        StrBuf rx;               /* the frame being received, limited to max_frame_bytes */
        bool rx_overflow;
        char *queue[AGENT_QUEUE_MAX]; /* serialised frames, oldest first */
        size_t q_head, q_len;
        const char *close_reason; /* set: close at the next writeable callback */
        uint64_t frames_rejected;
        char models[AGENT_MODELS_MAX][AGENT_MODEL_NAME_MAX]; /* ready models, as the agent reports them */
        size_t n_models;
        unsigned inflight;       /* generations routed here and not finished */
        double frame_budget;     /* frames it may still send now (agent_max_frames_per_sec) */
        uint64_t frame_budget_usec;
        bool counted;            /* counted in the inventory's open connections */
} AgentConn;

typedef struct Inventory Inventory;

int inventory_new(Inventory **ret);
Inventory *inventory_free(Inventory *inv);

/* Registers a connection under its node name; an earlier connection of the same node is told to
 * close (the newer one wins). -ENOMEM. */
int inventory_add(Inventory *inv, AgentConn *a);
void inventory_remove(Inventory *inv, AgentConn *a);
/* Counts a new connection of node name: -EMFILE when it already has max open (closing ones
 * included), else 0 (or -ENOMEM). inventory_conn_closed() undoes it. */
int inventory_conn_open(Inventory *inv, const char *name, unsigned max);
void inventory_conn_closed(Inventory *inv, const char *name);
/* Token bucket: whether agent a may send one more frame now at per_sec frames per second (with a
 * burst of one second's worth). */
bool agent_frame_allowed(AgentConn *a, uint32_t per_sec, uint64_t now_usec);
AgentConn *inventory_find(const Inventory *inv, const char *name);
/* Walks the connections: for (AgentConn *a; (a = inventory_next(inv, &it));) with a
 * HASHMAP_ITER_INIT iterator. The inventory must not change during the walk. */
AgentConn *inventory_next(const Inventory *inv, HashmapIter *it);
size_t inventory_count(const Inventory *inv);
/* Asks the node's connection to close with reason (e.g. after revocation). */
void inventory_disconnect(Inventory *inv, const char *name, const char *reason);
/* Closes connections silent for longer than timeout_usec; returns how many. */
size_t inventory_reap(Inventory *inv, uint64_t now_usec, uint64_t timeout_usec);

/* Records that the agent has model ready (or no longer has it). */
void agent_set_model(AgentConn *a, const char *model, bool ready);
bool agent_has_model(const AgentConn *a, const char *model);

/* The connections as placement sees them for model: nodes[i] describes conns[i] (usable: welcomed,
 * not closing, model ready). Valid until the inventory changes. */
typedef struct InventorySnapshot {
        PlacementNode *nodes;
        AgentConn **conns;
        size_t n;
} InventorySnapshot;

/* Whether some usable connection has model ready (in any zone, or only in the private zone). */
bool inventory_has_model_in(const Inventory *inv, const char *model, bool private_only);
#define inventory_has_model(inv, model) inventory_has_model_in(inv, model, false)
int inventory_snapshot(const Inventory *inv, const char *model, InventorySnapshot *ret);
void inventory_snapshot_done(InventorySnapshot *s);

/* Queues a serialised frame for the agent (takes ownership of text) and asks for a writeable
 * callback. -ENOBUFS when the queue is full (text is freed). */
int agent_send(AgentConn *a, char *text);
/* Frees the queue and buffers of a closed connection. */
void agent_conn_done(AgentConn *a);
