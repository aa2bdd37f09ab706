/* inventory.c: connected agents by node name, their outgoing frame queues, and silence detection. */
#include "inventory.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "timeutil.h"

struct Inventory {
        Hashmap *by_name; /* name -> AgentConn (not owned: it is the wsi's session data) */
        Hashmap *open;    /* name -> count of its connections open, closing ones included (uintptr_t) */
};

int inventory_new(Inventory **ret) {
        Inventory *inv = calloc(1, sizeof *inv);
        int r;

        if (!inv)
                return -ENOMEM;
        r = hashmap_new(NULL, &inv->by_name);
        if (r >= 0)
                r = hashmap_new(NULL, &inv->open);
        if (r < 0) {
                inventory_free(inv);
                return r;
        }
        *ret = inv;
        return 0;
}

Inventory *inventory_free(Inventory *inv) {
        if (!inv)
                return NULL;
        hashmap_free(inv->by_name);
        hashmap_free(inv->open);
        free(inv);
        return NULL;
}

int inventory_add(Inventory *inv, AgentConn *a) {
        void *old = NULL;
        int r = hashmap_put(inv->by_name, a->id.name, a, &old);

        if (r < 0)
                return r;
        if (old && old != a) {
                AgentConn *prev = old;
                prev->close_reason = "replaced by a newer connection of the same node";
                lws_callback_on_writable(prev->wsi);
        }
        return 0;
}

int inventory_conn_open(Inventory *inv, const char *name, unsigned max) {
        uintptr_t n = (uintptr_t) hashmap_get(inv->open, name);

        if (n >= max)
                return -EMFILE;
        return hashmap_put(inv->open, name, (void *) (n + 1), NULL);
}

void inventory_conn_closed(Inventory *inv, const char *name) {
        uintptr_t n = (uintptr_t) hashmap_get(inv->open, name);

        if (n <= 1)
                (void) hashmap_remove(inv->open, name);
        else
                (void) hashmap_put(inv->open, name, (void *) (n - 1), NULL);
}

bool agent_frame_allowed(AgentConn *a, uint32_t per_sec, uint64_t now_usec) {
        double refill = (double) (now_usec - a->frame_budget_usec) * per_sec / USEC_PER_SEC;

        a->frame_budget = MIN(a->frame_budget + refill, (double) per_sec); /* a burst of one second at most */
        a->frame_budget_usec = now_usec;
        if (a->frame_budget < 1)
                return false;
        a->frame_budget -= 1;
        return true;
}

void inventory_remove(Inventory *inv, AgentConn *a) {
        if (inventory_find(inv, a->id.name) == a)
                (void) hashmap_remove(inv->by_name, a->id.name);
}

AgentConn *inventory_find(const Inventory *inv, const char *name) {
        return inv ? hashmap_get(inv->by_name, name) : NULL;
}

AgentConn *inventory_next(const Inventory *inv, HashmapIter *it) {
        void *value;
        return hashmap_next(inv->by_name, it, NULL, &value) ? value : NULL;
}

size_t inventory_count(const Inventory *inv) {
        return inv ? hashmap_size(inv->by_name) : 0;
}

void inventory_disconnect(Inventory *inv, const char *name, const char *reason) {
        AgentConn *a = inventory_find(inv, name);

        if (!a)
                return;
        a->close_reason = reason;
        lws_callback_on_writable(a->wsi);
}

size_t inventory_reap(Inventory *inv, uint64_t now_usec, uint64_t timeout_usec) {
        HashmapIter it = HASHMAP_ITER_INIT;
        size_t n = 0;

        for (AgentConn *a; (a = inventory_next(inv, &it));) {
                if (!a->close_reason && now_usec - a->last_frame_usec > timeout_usec) {
                        a->close_reason = "no heartbeat";
                        lws_callback_on_writable(a->wsi);
                        n++;
                }
        }
        return n;
}

bool agent_has_model(const AgentConn *a, const char *model) {
        for (size_t i = 0; i < a->n_models; i++)
                if (streq(a->models[i], model))
                        return true;
        return false;
}

void agent_set_model(AgentConn *a, const char *model, bool ready) {
        for (size_t i = 0; i < a->n_models; i++)
                if (streq(a->models[i], model)) {
                        if (!ready)
                                memmove(a->models[i], a->models[i + 1], (a->n_models-- - i - 1) * sizeof a->models[0]);
                        return;
                }
        if (ready && a->n_models < AGENT_MODELS_MAX && strlen(model) < AGENT_MODEL_NAME_MAX)
                snprintf(a->models[a->n_models++], AGENT_MODEL_NAME_MAX, "%s", model);
}

bool inventory_has_model_in(const Inventory *inv, const char *model, bool private_only) {
        HashmapIter it = HASHMAP_ITER_INIT;

        for (AgentConn *a; (a = inventory_next(inv, &it));)
                if (a->welcomed && !a->close_reason && agent_has_model(a, model) &&
                    (!private_only || placement_is_private(&(PlacementNode){ .zone = a->id.zone })))
                        return true;
        return false;
}

int inventory_snapshot(const Inventory *inv, const char *model, InventorySnapshot *ret) {
        size_t max = inventory_count(inv), n = 0;
        HashmapIter it = HASHMAP_ITER_INIT;
        InventorySnapshot s = {
                .nodes = calloc(max ? max : 1, sizeof *s.nodes),
                .conns = calloc(max ? max : 1, sizeof *s.conns),
        };

        if (!s.nodes || !s.conns) {
                inventory_snapshot_done(&s);
                return -ENOMEM;
        }
        for (AgentConn *a; (a = inventory_next(inv, &it)) && n < max; n++) {
                s.conns[n] = a;
                s.nodes[n] = (PlacementNode){
                        .name = a->id.name,
                        .zone = a->id.zone,
                        .usable = a->welcomed && !a->close_reason && agent_has_model(a, model),
                        .rules_version_acked = a->rules_version_acked,
                        .inflight = a->inflight,
                };
        }
        s.n = n;
        *ret = s;
        return 0;
}

void inventory_snapshot_done(InventorySnapshot *s) {
        free(s->nodes);
        free(s->conns);
        *s = (InventorySnapshot){};
}

int agent_send(AgentConn *a, char *text) {
        if (a->q_len == AGENT_QUEUE_MAX) {
                free(text);
                return -ENOBUFS;
        }
        a->queue[(a->q_head + a->q_len++) % AGENT_QUEUE_MAX] = text;
        lws_callback_on_writable(a->wsi);
        return 0;
}

void agent_conn_done(AgentConn *a) {
        while (a->q_len > 0) {
                free(a->queue[a->q_head]);
                a->q_head = (a->q_head + 1) % AGENT_QUEUE_MAX;
                a->q_len--;
        }
        strbuf_done(&a->rx);
}
