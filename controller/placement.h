/* placement.h: which node serves a classified request: the routing guarantee's last step, kept a
 * pure function over a snapshot of the inventory so that a property test can drive it with
 * millions of random inventories (tests/unit/test-placement.c). ("route_" is the HTTP route
 * table's prefix, routes.h.)
 *
 * A node is eligible when it is usable (welcomed, not closing, has the model ready), is not the
 * excluded one, its zone is allowed (a zone that is not exactly "private" counts as public), and,
 * in the public zone, it has acked exactly the current rule set version: the controller never routes to a
 * public node whose rules are stale. Among eligible nodes: the least busy private node with fewer
 * than spill_queue_depth generations in flight; else the least busy public node; else the least
 * busy private node. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct PlacementNode {
        const char *name;
        const char *zone;              /* "private"; anything else is public */
        bool usable;
        uint64_t rules_version_acked;
        unsigned inflight;
} PlacementNode;

typedef struct PlacementRequest {
        unsigned zones;                /* POLICY_ZONE_* allowed by the classification */
        uint32_t spill_queue_depth;
        uint64_t rules_version;        /* the controller's current rule set */
        const char *exclude;           /* a node not to use (the one that just failed), or NULL */
} PlacementRequest;

bool placement_is_private(const PlacementNode *n);
bool placement_eligible(const PlacementNode *n, const PlacementRequest *req);
/* The index of the node to use, or -ENODEV when none is eligible. */
int placement_pick(const PlacementNode *nodes, size_t n, const PlacementRequest *req);
