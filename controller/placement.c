/* placement.c: see placement.h. */
#include "placement.h"

#include <errno.h>
#include <string.h>

#include "rules.h"

bool placement_is_private(const PlacementNode *n) {
        return n->zone && strcmp(n->zone, "private") == 0;
}

bool placement_eligible(const PlacementNode *n, const PlacementRequest *req) {
        if (!n->usable || (req->exclude && n->name && strcmp(n->name, req->exclude) == 0))
                return false;
        if (placement_is_private(n))
                return (req->zones & POLICY_ZONE_PRIVATE) != 0;
        /* public: allowed for this class, and holding the rules in force */
        return (req->zones & POLICY_ZONE_PUBLIC) != 0 && n->rules_version_acked == req->rules_version;
}

/* The least busy eligible node of one zone, below max_inflight when bounded; -ENODEV when none. */
static int least_busy(const PlacementNode *nodes, size_t n, const PlacementRequest *req, bool private_zone,
                      uint64_t max_inflight) {
        int best = -ENODEV;

        for (size_t i = 0; i < n; i++) {
                if (placement_is_private(&nodes[i]) != private_zone || !placement_eligible(&nodes[i], req) ||
                    nodes[i].inflight >= max_inflight)
                        continue;
                if (best < 0 || nodes[i].inflight < nodes[best].inflight)
                        best = (int) i;
        }
        return best;
}

int placement_pick(const PlacementNode *nodes, size_t n, const PlacementRequest *req) {
        int i;

        if ((i = least_busy(nodes, n, req, true, req->spill_queue_depth)) >= 0)
                return i;
        if ((i = least_busy(nodes, n, req, false, UINT64_MAX)) >= 0)
                return i;
        return least_busy(nodes, n, req, true, UINT64_MAX);
}
