/* store-deployments.h: a model deployed onto zones or nodes (replicas, canary weight, state); per-node status. */
#pragma once

#include "store.h"

#define STORE_REPLICAS_MAX 1024
#define STORE_CANARY_WEIGHT_MAX 100   /* percent of the model's traffic */
#define STORE_PLACEMENT_MAX 16384     /* bytes of canonical placement JSON */
#define STORE_PLACEMENT_NODES_MAX 200 /* node names in a placement */

/* pending -> active <-> draining -> stopped (final); any state but stopped may also go to stopped. */
typedef enum StoreDeploymentState {
        STORE_DEPLOYMENT_PENDING,  /* created; replicas loading */
        STORE_DEPLOYMENT_ACTIVE,   /* serving */
        STORE_DEPLOYMENT_DRAINING, /* finishing requests, taking no new ones */
        STORE_DEPLOYMENT_STOPPED,  /* unloaded; kept for the record */
        _STORE_DEPLOYMENT_STATE_MAX,
        _STORE_DEPLOYMENT_STATE_INVALID = -EINVAL,
} StoreDeploymentState;

typedef enum StoreReplicaStatus {
        STORE_REPLICA_LOADING,
        STORE_REPLICA_READY,
        STORE_REPLICA_FAILED,
        _STORE_REPLICA_STATUS_MAX,
        _STORE_REPLICA_STATUS_INVALID = -EINVAL,
} StoreReplicaStatus;

const char *store_deployment_state_to_string(StoreDeploymentState s);
StoreDeploymentState store_deployment_state_from_string(const char *s);
const char *store_replica_status_to_string(StoreReplicaStatus s);
StoreReplicaStatus store_replica_status_from_string(const char *s);

typedef struct StoreDeployment {
        char *id;             /* UUID */
        char *model;          /* a model in the catalogue */
        char *placement_json; /* {"zones":["private"],"nodes":["gpu-1"]}: either list may be absent */
        unsigned replicas;
        unsigned canary_weight;
        StoreDeploymentState state;
        uint64_t created_at;
        uint64_t updated_at;
        char *created_by;
} StoreDeployment;

typedef struct StoreDeploymentParams {
        const char *model;
        const char *placement_json; /* an object with "zones" (private/public) and/or "nodes" (names),
                                     * not both empty; no other keys */
        unsigned replicas;          /* 1..STORE_REPLICAS_MAX */
        unsigned canary_weight;     /* 0..STORE_CANARY_WEIGHT_MAX */
} StoreDeploymentParams;

/* One node's replica of a deployment. */
typedef struct StoreDeploymentNode {
        char *deployment_id;
        char *node_id;
        char *node_name;
        StoreReplicaStatus status;
        char *reason; /* NULL unless given (a failure's cause) */
        uint64_t updated_at;
} StoreDeploymentNode;

void store_deployment_done(StoreDeployment *d);
StoreDeployment *store_deployment_free(StoreDeployment *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(StoreDeployment *, store_deployment_free);
void store_deployments_free(StoreDeployment *a, size_t n);
void store_deployment_nodes_free(StoreDeploymentNode *a, size_t n);

/* Creates a deployment in state pending. -ENOENT when the model is not in the catalogue, -EINVAL
 * for bad values, -E2BIG past max_deployments (stopped ones count until deleted). Audited as
 * "deployment.create". ret (may be NULL) gets the record. */
int store_deployment_create(Store *s, const StoreDeploymentParams *p, const StoreActor *actor, StoreDeployment **ret,
                            char *err, size_t errsz);
/* Changes the canary weight or the replica count of a deployment that is not stopped (-EPERM).
 * Audited as "deployment.canary" / "deployment.replicas". */
int store_deployment_set_canary_weight(Store *s, const char *id, unsigned weight, const StoreActor *actor, char *err,
                                       size_t errsz);
int store_deployment_set_replicas(Store *s, const char *id, unsigned replicas, const StoreActor *actor, char *err,
                                  size_t errsz);
/* Moves the deployment to state (same state: no-op). -EINVAL for a move out of stopped or back to
 * pending. actor: who asked (audited as "deployment.state"), or NULL for the controller's own
 * moves (pending -> active when replicas are ready), which are not admin writes. */
int store_deployment_set_state(Store *s, const char *id, StoreDeploymentState state, const StoreActor *actor,
                               char *err, size_t errsz);
/* Deletes a deployment and its per-node rows. -EBUSY unless it is stopped. Audited as
 * "deployment.delete". */
int store_deployment_delete(Store *s, const char *id, const StoreActor *actor, char *err, size_t errsz);
/* One deployment (-ENOENT), or all, oldest first; the caller owns the result. */
int store_deployment_get(Store *s, const char *id, StoreDeployment **ret, char *err, size_t errsz);
int store_deployment_list(Store *s, StoreDeployment **ret, size_t *ret_n, char *err, size_t errsz);

/* Sets a node's replica status for a deployment (insert or update). reason: NULL or text up to
 * STORE_REASON_MAX bytes. -ENOENT for an unknown deployment or node, -EPERM for a revoked node. */
int store_deployment_node_set(Store *s, const char *deployment_id, const char *node_name, StoreReplicaStatus status,
                              const char *reason, char *err, size_t errsz);
/* Forgets a node's replica (after model.unload). -ENOENT when there is none. */
int store_deployment_node_remove(Store *s, const char *deployment_id, const char *node_name, char *err, size_t errsz);
/* The replicas of a deployment, by node name; the caller owns *ret (store_deployment_nodes_free). */
int store_deployment_node_list(Store *s, const char *deployment_id, StoreDeploymentNode **ret, size_t *ret_n,
                               char *err, size_t errsz);
