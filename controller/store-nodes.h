/* store-nodes.h: GPU nodes (zone, state, certificate, labels, capacity, telemetry) and revoked certificate serials. */
#pragma once

#include "store.h"

#define STORE_SERIAL_MAX 40 /* hex digits of an X.509 serial (at most 20 octets) */

/* enrolled -> online <-> lost; any -> revoked (store_node_revoke); revoked is final until the
 * name enrolls again with a new join token. */
typedef enum StoreNodeState {
        STORE_NODE_ENROLLED, /* has a certificate, never connected since */
        STORE_NODE_ONLINE,   /* its agent is connected */
        STORE_NODE_LOST,     /* its agent went away */
        STORE_NODE_REVOKED,  /* its certificate is revoked; refused everywhere */
        _STORE_NODE_STATE_MAX,
        _STORE_NODE_STATE_INVALID = -EINVAL,
} StoreNodeState;

const char *store_node_state_to_string(StoreNodeState s);
StoreNodeState store_node_state_from_string(const char *s);

typedef struct StoreNode {
        char *id;   /* UUID, fixed for the life of the name (the certificate is bound to it) */
        char *name; /* unique */
        StoreZone zone;
        StoreNodeState state;
        char *cert_serial;       /* lowercase hex without leading zeros; NULL before the first */
        uint64_t cert_not_after; /* 0: no certificate yet */
        uint64_t enrolled_at;
        uint64_t last_seen_at; /* 0: never */
        uint64_t revoked_at;   /* 0: not revoked */
        char *labels_json;     /* object of strings, set by admins */
        char *capacity_json;   /* object, reported by the agent at registration */
        char *telemetry_json;  /* object, the last heartbeat's telemetry */
} StoreNode;

typedef struct StoreRevokedCert {
        char *serial;
        char *node_id;
        char *node_name;
        uint64_t revoked_at;
        char *reason;
        uint64_t not_after; /* the certificate's expiry (0: unknown): a CRL may drop it after */
} StoreRevokedCert;

void store_node_done(StoreNode *n);
StoreNode *store_node_free(StoreNode *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(StoreNode *, store_node_free);
void store_nodes_free(StoreNode *a, size_t n);
void store_revoked_certs_free(StoreRevokedCert *a, size_t n);

/* Enrolls node name into zone (after its join token was redeemed): creates the node with a new
 * UUID, or, when the name exists (a rebuilt machine, or a revoked node let back in), keeps its id,
 * moves it to zone, revokes its previous certificate serial ("re-enrolled") and clears its
 * certificate, telemetry, capacity and deployment statuses. State becomes enrolled. Refuses more
 * than max_nodes nodes with -E2BIG. Audited as "node.enroll". ret (may be NULL) gets the node. */
int store_node_enroll(Store *s, const char *name, StoreZone zone, const StoreActor *actor, StoreNode **ret, char *err,
                      size_t errsz);

/* Records the certificate issued to the node (at enrollment and at each renewal; the previous one
 * stays valid until it expires). serial: 1..STORE_SERIAL_MAX hex digits, any case, stored
 * normalised. -EPERM for a revoked node or a revoked serial. */
int store_node_set_cert(Store *s, const char *name, const char *serial, uint64_t not_after, char *err, size_t errsz);

/* Moves the node along enrolled -> online <-> lost (same state: no-op). -EPERM for a revoked node,
 * -EINVAL for any other transition (revocation is store_node_revoke). */
int store_node_set_state(Store *s, const char *name, StoreNodeState state, char *err, size_t errsz);

/* A heartbeat: sets last_seen to now and, unless telemetry_json is NULL, the telemetry (an object
 * up to STORE_TELEMETRY_MAX bytes). -EPERM for a revoked node. */
int store_node_seen(Store *s, const char *name, const char *telemetry_json, char *err, size_t errsz);

/* Sets the capacity the agent reports (an object up to STORE_JSON_MAX bytes). -EPERM if revoked. */
int store_node_set_capacity(Store *s, const char *name, const char *capacity_json, char *err, size_t errsz);

/* Replaces the node's labels (an object of at most STORE_LABELS_MAX strings). Audited as
 * "node.labels". */
int store_node_set_labels(Store *s, const char *name, const char *labels_json, const StoreActor *actor, char *err,
                          size_t errsz);

/* Revokes a node: state revoked, its certificate serial added to the revoked list. reason (may be
 * NULL: "revoked") is text up to STORE_REASON_MAX bytes. -EALREADY if already revoked. Audited as
 * "node.revoke". */
int store_node_revoke(Store *s, const char *name, const char *reason, const StoreActor *actor, char *err,
                      size_t errsz);

/* Deletes a revoked node's row (its serials stay revoked). -EBUSY if it is not revoked. Audited as
 * "node.delete". */
int store_node_delete(Store *s, const char *name, const StoreActor *actor, char *err, size_t errsz);

/* Lookups: -ENOENT when there is no such node. The caller owns *ret. */
int store_node_get(Store *s, const char *name, StoreNode **ret, char *err, size_t errsz);
int store_node_get_by_id(Store *s, const char *id, StoreNode **ret, char *err, size_t errsz);
/* All nodes by name. The caller owns *ret (store_nodes_free). */
int store_node_list(Store *s, StoreNode **ret, size_t *ret_n, char *err, size_t errsz);

/* Whether serial (hex, any case, leading zeros ignored) was revoked. -EINVAL when malformed. */
int store_cert_serial_is_revoked(Store *s, const char *serial, bool *ret, char *err, size_t errsz);
/* All revoked serials, oldest first (for a CRL). The caller owns *ret (store_revoked_certs_free). */
int store_revoked_cert_list(Store *s, StoreRevokedCert **ret, size_t *ret_n, char *err, size_t errsz);
