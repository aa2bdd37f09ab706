/* store-deployments.c: deployments (placement, replicas, canary weight, state) and per-node replica status. */
#include "store-deployments.h"

#include "json.h"
#include "store-internal.h"

#define DEPLOYMENT_COLUMNS "id, model, placement, replicas, canary_weight, state, created_at, updated_at, created_by"

static const char *const state_names[_STORE_DEPLOYMENT_STATE_MAX] = {
        [STORE_DEPLOYMENT_PENDING] = "pending",
        [STORE_DEPLOYMENT_ACTIVE] = "active",
        [STORE_DEPLOYMENT_DRAINING] = "draining",
        [STORE_DEPLOYMENT_STOPPED] = "stopped",
};

static const char *const status_names[_STORE_REPLICA_STATUS_MAX] = {
        [STORE_REPLICA_LOADING] = "loading",
        [STORE_REPLICA_READY] = "ready",
        [STORE_REPLICA_FAILED] = "failed",
};

const char *store_deployment_state_to_string(StoreDeploymentState s) {
        return s >= 0 && s < _STORE_DEPLOYMENT_STATE_MAX ? state_names[s] : NULL;
}

StoreDeploymentState store_deployment_state_from_string(const char *s) {
        return (StoreDeploymentState) string_table_lookup(state_names, _STORE_DEPLOYMENT_STATE_MAX, s);
}

const char *store_replica_status_to_string(StoreReplicaStatus s) {
        return s >= 0 && s < _STORE_REPLICA_STATUS_MAX ? status_names[s] : NULL;
}

StoreReplicaStatus store_replica_status_from_string(const char *s) {
        return (StoreReplicaStatus) string_table_lookup(status_names, _STORE_REPLICA_STATUS_MAX, s);
}

void store_deployment_done(StoreDeployment *d) {
        if (!d)
                return;
        free(d->id);
        free(d->model);
        free(d->placement_json);
        free(d->created_by);
        *d = (StoreDeployment){};
}

STORE_DEFINE_FREE(StoreDeployment, store_deployment)
STORE_DEFINE_ARRAY_FREE(StoreDeployment, store_deployment, store_deployments)

void store_deployment_nodes_free(StoreDeploymentNode *a, size_t n) {
        for (size_t i = 0; a && i < n; i++) {
                free(a[i].deployment_id);
                free(a[i].node_id);
                free(a[i].node_name);
                free(a[i].reason);
        }
        free(a);
}

static int read_deployment(sqlite3_stmt *st, StoreDeployment *d) {
        StoreDeployment x = {};

        if (store_column_strdup(st, 0, &x.id) < 0 || store_column_strdup(st, 1, &x.model) < 0 ||
            store_column_strdup(st, 2, &x.placement_json) < 0 || store_column_strdup(st, 8, &x.created_by) < 0) {
                store_deployment_done(&x);
                return -ENOMEM;
        }
        x.replicas = (unsigned) store_column_u64(st, 3);
        x.canary_weight = (unsigned) store_column_u64(st, 4);
        x.state = store_deployment_state_from_string((const char *) sqlite3_column_text(st, 5));
        x.created_at = store_column_u64(st, 6);
        x.updated_at = store_column_u64(st, 7);
        *d = x;
        return 0;
}

static int read_deployment_row(sqlite3_stmt *st, void *row, void *userdata) {
        return read_deployment(st, row);
}

static int get_deployment(Store *s, const char *id, StoreDeployment **ret, char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_(store_deployment_freep) StoreDeployment *d = NULL;
        int r;

        r = store_prepare(s->db, "SELECT " DEPLOYMENT_COLUMNS " FROM deployments WHERE id = ?", &st, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(st, err, errsz, "t", id);
        if (r < 0)
                return r;
        r = store_step(st, err, errsz);
        if (r < 0)
                return r;
        if (r == 0)
                return errorf(err, errsz, -ENOENT, "deployment %s: not found", id);
        d = calloc(1, sizeof *d);
        if (!d || read_deployment(st, d) < 0)
                return errorf(err, errsz, -ENOMEM, "deployment: out of memory");
        *ret = TAKE_PTR(d);
        return 0;
}

/* Checks a placement object and returns its compact form. */
static int canonical_placement(const char *json, char **ret, char *err, size_t errsz) {
        _cleanup_(cJSON_Deletep) cJSON *obj = NULL;
        _cleanup_free_ char *text = NULL;
        const cJSON *item, *e;
        unsigned entries = 0;
        int r;

        r = store_canonical_object("placement", json, STORE_PLACEMENT_MAX, false, &text, err, errsz);
        if (r < 0)
                return r;
        obj = cJSON_Parse(text);
        if (!obj)
                return errorf(err, errsz, -ENOMEM, "placement: out of memory");
        cJSON_ArrayForEach(item, obj) {
                bool zones = streq(item->string, "zones");
                unsigned n = 0;

                if (!zones && !streq(item->string, "nodes"))
                        return errorf(err, errsz, -EINVAL, "placement.%s: unknown field (zones, nodes)", item->string);
                for (const cJSON *prev = obj->child; prev != item; prev = prev->next)
                        if (streq(prev->string, item->string))
                                return errorf(err, errsz, -EINVAL, "placement.%s: given twice", item->string);
                if (!cJSON_IsArray(item))
                        return errorf(err, errsz, -EINVAL, "placement.%s: expected an array", item->string);
                cJSON_ArrayForEach(e, item) {
                        if (++n > (zones ? (unsigned) _STORE_ZONE_MAX : STORE_PLACEMENT_NODES_MAX))
                                return errorf(err, errsz, -E2BIG, "placement.%s: too many entries", item->string);
                        if (!cJSON_IsString(e))
                                return errorf(err, errsz, -EINVAL, "placement.%s[%u]: expected string", item->string,
                                              n - 1);
                        if (zones && store_zone_from_string(e->valuestring) < 0)
                                return errorf(err, errsz, -EINVAL, "placement.zones[%u]: must be private or public",
                                              n - 1);
                        if (!zones) {
                                r = store_check_name("placement.nodes", e->valuestring, false, err, errsz);
                                if (r < 0)
                                        return r;
                        }
                        for (const cJSON *prev = item->child; prev != e; prev = prev->next)
                                if (streq(prev->valuestring, e->valuestring))
                                        return errorf(err, errsz, -EINVAL, "placement.%s: \"%s\" listed twice",
                                                      item->string, e->valuestring);
                }
                entries += n;
        }
        if (entries == 0)
                return errorf(err, errsz, -EINVAL, "placement: name at least one zone or node");
        *ret = TAKE_PTR(text);
        return 0;
}

int store_deployment_create(Store *s, const StoreDeploymentParams *p, const StoreActor *actor, StoreDeployment **ret,
                            char *err, size_t errsz) {
        _cleanup_tx_ StoreTx tx = {};
        _cleanup_stmt_ sqlite3_stmt *ins = NULL;
        _cleanup_(cJSON_Deletep) cJSON *detail = NULL;
        _cleanup_free_ char *placement = NULL;
        char id[37];
        uint64_t now;
        int64_t n;
        int r;

        if (!s || !p)
                return -EINVAL;
        r = store_check_name("model", p->model, true, err, errsz);
        if (r < 0)
                return r;
        r = canonical_placement(p->placement_json, &placement, err, errsz);
        if (r < 0)
                return r;
        if (p->replicas < 1 || p->replicas > STORE_REPLICAS_MAX)
                return errorf(err, errsz, -EINVAL, "replicas: must be 1..%d", STORE_REPLICAS_MAX);
        if (p->canary_weight > STORE_CANARY_WEIGHT_MAX)
                return errorf(err, errsz, -EINVAL, "canary weight: must be 0..%d", STORE_CANARY_WEIGHT_MAX);
        r = store_check_actor(actor, err, errsz);
        if (r < 0)
                return r;
        r = store_random_uuid(id);
        if (r < 0)
                return errorf(err, errsz, r, "deployment id: no random bytes: %s", strerror(-r));

        r = store_tx_begin(s, &tx, err, errsz);
        if (r < 0)
                return r;
        r = store_count(s, "SELECT count(*) FROM models WHERE name = ?", &n, err, errsz, "t", p->model);
        if (r < 0)
                return r;
        if (n == 0)
                return errorf(err, errsz, -ENOENT, "model %s: not found", p->model);
        r = store_count(s, "SELECT count(*) FROM deployments", &n, err, errsz, "");
        if (r < 0)
                return r;
        if (n >= (int64_t) s->limits.max_deployments)
                return errorf(err, errsz, -E2BIG, "too many deployments (limit %u): delete stopped ones",
                              s->limits.max_deployments);
        now = store_now(s);
        r = store_prepare(s->db,
                          "INSERT INTO deployments (id, model, placement, replicas, canary_weight, state, created_at, "
                          "updated_at, created_by) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
                          &ins, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(ins, err, errsz, "tttiiiit", id, p->model, placement, (int64_t) p->replicas,
                       (int64_t) p->canary_weight, (int64_t) now, (int64_t) now, actor->key_id);
        if (r < 0)
                return r;
        r = store_step(ins, err, errsz);
        if (r < 0)
                return r;
        detail = cJSON_CreateObject();
        if (!detail || !cJSON_AddStringToObject(detail, "model", p->model) ||
            !cJSON_AddItemToObject(detail, "placement", cJSON_Parse(placement)) ||
            !cJSON_AddNumberToObject(detail, "replicas", p->replicas) ||
            !cJSON_AddNumberToObject(detail, "canary_weight", p->canary_weight))
                return errorf(err, errsz, -ENOMEM, "deployment: out of memory");
        r = store_audit_record(s, actor, "deployment.create", id, detail, err, errsz);
        if (r < 0)
                return r;
        if (ret) {
                r = get_deployment(s, id, ret, err, errsz);
                if (r < 0)
                        return r;
        }
        r = store_tx_commit(&tx, err, errsz);
        if (r < 0 && ret)
                *ret = store_deployment_free(*ret);
        return r;
}

/* Sets one integer column of a deployment that is not stopped; column is a constant. */
static int set_number(Store *s, const char *id, bool canary, unsigned value, const StoreActor *actor, char *err,
                      size_t errsz) {
        _cleanup_tx_ StoreTx tx = {};
        _cleanup_stmt_ sqlite3_stmt *upd = NULL;
        _cleanup_(store_deployment_freep) StoreDeployment *d = NULL;
        _cleanup_(cJSON_Deletep) cJSON *detail = NULL;
        const char *field = canary ? "canary_weight" : "replicas";
        int r;

        if (!s)
                return -EINVAL;
        r = store_check_name("deployment id", id, false, err, errsz);
        if (r < 0)
                return r;
        if (canary && value > STORE_CANARY_WEIGHT_MAX)
                return errorf(err, errsz, -EINVAL, "canary weight: must be 0..%d", STORE_CANARY_WEIGHT_MAX);
        if (!canary && (value < 1 || value > STORE_REPLICAS_MAX))
                return errorf(err, errsz, -EINVAL, "replicas: must be 1..%d", STORE_REPLICAS_MAX);
        r = store_check_actor(actor, err, errsz);
        if (r < 0)
                return r;
        r = store_tx_begin(s, &tx, err, errsz);
        if (r < 0)
                return r;
        r = get_deployment(s, id, &d, err, errsz);
        if (r < 0)
                return r;
        if (d->state == STORE_DEPLOYMENT_STOPPED)
                return errorf(err, errsz, -EPERM, "deployment %s: stopped", id);
        r = store_prepare(s->db,
                          canary ? "UPDATE deployments SET canary_weight = ?, updated_at = ? WHERE id = ?"
                                 : "UPDATE deployments SET replicas = ?, updated_at = ? WHERE id = ?",
                          &upd, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(upd, err, errsz, "iit", (int64_t) value, (int64_t) store_now(s), id);
        if (r < 0)
                return r;
        r = store_step(upd, err, errsz);
        if (r < 0)
                return r;
        detail = cJSON_CreateObject();
        if (!detail || !cJSON_AddNumberToObject(detail, field, value) ||
            !cJSON_AddNumberToObject(detail, "previous", canary ? d->canary_weight : d->replicas))
                return errorf(err, errsz, -ENOMEM, "deployment: out of memory");
        r = store_audit_record(s, actor, canary ? "deployment.canary" : "deployment.replicas", id, detail, err, errsz);
        if (r < 0)
                return r;
        return store_tx_commit(&tx, err, errsz);
}

int store_deployment_set_canary_weight(Store *s, const char *id, unsigned weight, const StoreActor *actor, char *err,
                                       size_t errsz) {
        return set_number(s, id, true, weight, actor, err, errsz);
}

int store_deployment_set_replicas(Store *s, const char *id, unsigned replicas, const StoreActor *actor, char *err,
                                  size_t errsz) {
        return set_number(s, id, false, replicas, actor, err, errsz);
}

int store_deployment_set_state(Store *s, const char *id, StoreDeploymentState state, const StoreActor *actor,
                               char *err, size_t errsz) {
        _cleanup_tx_ StoreTx tx = {};
        _cleanup_stmt_ sqlite3_stmt *upd = NULL;
        _cleanup_(store_deployment_freep) StoreDeployment *d = NULL;
        _cleanup_(cJSON_Deletep) cJSON *detail = NULL;
        int r;

        if (!s)
                return -EINVAL;
        r = store_check_name("deployment id", id, false, err, errsz);
        if (r < 0)
                return r;
        if (!store_deployment_state_to_string(state))
                return errorf(err, errsz, -EINVAL, "deployment state: out of range");
        if (actor) {
                r = store_check_actor(actor, err, errsz);
                if (r < 0)
                        return r;
        }
        r = store_tx_begin(s, &tx, err, errsz);
        if (r < 0)
                return r;
        r = get_deployment(s, id, &d, err, errsz);
        if (r < 0)
                return r;
        if (d->state == state)
                return 0;
        if (d->state == STORE_DEPLOYMENT_STOPPED || state == STORE_DEPLOYMENT_PENDING)
                return errorf(err, errsz, -EINVAL, "deployment %s: cannot go from %s to %s", id,
                              store_deployment_state_to_string(d->state) ?: "?",
                              store_deployment_state_to_string(state));
        r = store_prepare(s->db, "UPDATE deployments SET state = ?, updated_at = ? WHERE id = ?", &upd, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(upd, err, errsz, "tit", store_deployment_state_to_string(state), (int64_t) store_now(s), id);
        if (r < 0)
                return r;
        r = store_step(upd, err, errsz);
        if (r < 0)
                return r;
        if (actor) {
                detail = cJSON_CreateObject();
                if (!detail || !cJSON_AddStringToObject(detail, "state", store_deployment_state_to_string(state)) ||
                    !cJSON_AddStringToObject(detail, "previous", store_deployment_state_to_string(d->state) ?: "?"))
                        return errorf(err, errsz, -ENOMEM, "deployment: out of memory");
                r = store_audit_record(s, actor, "deployment.state", id, detail, err, errsz);
                if (r < 0)
                        return r;
        }
        return store_tx_commit(&tx, err, errsz);
}

int store_deployment_delete(Store *s, const char *id, const StoreActor *actor, char *err, size_t errsz) {
        _cleanup_tx_ StoreTx tx = {};
        _cleanup_stmt_ sqlite3_stmt *del = NULL;
        _cleanup_(store_deployment_freep) StoreDeployment *d = NULL;
        _cleanup_(cJSON_Deletep) cJSON *detail = NULL;
        int r;

        if (!s)
                return -EINVAL;
        r = store_check_name("deployment id", id, false, err, errsz);
        if (r < 0)
                return r;
        r = store_check_actor(actor, err, errsz);
        if (r < 0)
                return r;
        r = store_tx_begin(s, &tx, err, errsz);
        if (r < 0)
                return r;
        r = get_deployment(s, id, &d, err, errsz);
        if (r < 0)
                return r;
        if (d->state != STORE_DEPLOYMENT_STOPPED)
                return errorf(err, errsz, -EBUSY, "deployment %s: %s; stop it before deleting it", id,
                              store_deployment_state_to_string(d->state) ?: "?");
        r = store_prepare(s->db, "DELETE FROM deployments WHERE id = ?", &del, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(del, err, errsz, "t", id);
        if (r < 0)
                return r;
        r = store_step(del, err, errsz);
        if (r < 0)
                return r;
        detail = cJSON_CreateObject();
        if (!detail || !cJSON_AddStringToObject(detail, "model", d->model))
                return errorf(err, errsz, -ENOMEM, "deployment: out of memory");
        r = store_audit_record(s, actor, "deployment.delete", id, detail, err, errsz);
        if (r < 0)
                return r;
        return store_tx_commit(&tx, err, errsz);
}

int store_deployment_get(Store *s, const char *id, StoreDeployment **ret, char *err, size_t errsz) {
        int r;

        if (!s || !ret)
                return -EINVAL;
        r = store_check_name("deployment id", id, false, err, errsz);
        if (r < 0)
                return r;
        return get_deployment(s, id, ret, err, errsz);
}

int store_deployment_list(Store *s, StoreDeployment **ret, size_t *ret_n, char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        if (!s || !ret || !ret_n)
                return -EINVAL;
        r = store_prepare(s->db, "SELECT " DEPLOYMENT_COLUMNS " FROM deployments ORDER BY created_at, id", &st, err,
                          errsz);
        if (r < 0)
                return r;
        return store_collect(st, sizeof **ret, read_deployment_row, NULL, store_deployments_free_rows, "deployments",
                             (void **) ret, ret_n, err, errsz);
}

/* The id of a node by name, refusing revoked ones. */
static int node_id(Store *s, const char *name, char buf[static 37], char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        const char *state;
        int r;

        r = store_prepare(s->db, "SELECT id, state FROM nodes WHERE name = ?", &st, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(st, err, errsz, "t", name);
        if (r < 0)
                return r;
        r = store_step(st, err, errsz);
        if (r < 0)
                return r;
        if (r == 0)
                return errorf(err, errsz, -ENOENT, "node %s: not found", name);
        state = (const char *) sqlite3_column_text(st, 1);
        if (state && streq(state, "revoked"))
                return errorf(err, errsz, -EPERM, "node %s: revoked", name);
        snprintf(buf, 37, "%s", (const char *) sqlite3_column_text(st, 0));
        return 0;
}

int store_deployment_node_set(Store *s, const char *deployment_id, const char *node_name, StoreReplicaStatus status,
                              const char *reason, char *err, size_t errsz) {
        _cleanup_tx_ StoreTx tx = {};
        _cleanup_stmt_ sqlite3_stmt *up = NULL;
        char nid[37];
        int64_t n;
        int r;

        if (!s)
                return -EINVAL;
        r = store_check_name("deployment id", deployment_id, false, err, errsz);
        if (r < 0)
                return r;
        r = store_check_name("node name", node_name, false, err, errsz);
        if (r < 0)
                return r;
        if (!store_replica_status_to_string(status))
                return errorf(err, errsz, -EINVAL, "replica status: out of range");
        if (reason) {
                r = store_check_text("reason", reason, STORE_REASON_MAX, err, errsz);
                if (r < 0)
                        return r;
        }
        r = store_tx_begin(s, &tx, err, errsz);
        if (r < 0)
                return r;
        r = store_count(s, "SELECT count(*) FROM deployments WHERE id = ?", &n, err, errsz, "t", deployment_id);
        if (r < 0)
                return r;
        if (n == 0)
                return errorf(err, errsz, -ENOENT, "deployment %s: not found", deployment_id);
        r = node_id(s, node_name, nid, err, errsz);
        if (r < 0)
                return r;
        r = store_prepare(s->db,
                          "INSERT INTO deployment_nodes (deployment_id, node_id, status, reason, updated_at) "
                          "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (deployment_id, node_id) DO UPDATE SET "
                          "status = ?3, reason = ?4, updated_at = ?5",
                          &up, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(up, err, errsz, "tttti", deployment_id, nid, store_replica_status_to_string(status), reason,
                       (int64_t) store_now(s));
        if (r < 0)
                return r;
        r = store_step(up, err, errsz);
        if (r < 0)
                return r;
        return store_tx_commit(&tx, err, errsz);
}

int store_deployment_node_remove(Store *s, const char *deployment_id, const char *node_name, char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *del = NULL;
        int r;

        if (!s)
                return -EINVAL;
        r = store_check_name("deployment id", deployment_id, false, err, errsz);
        if (r < 0)
                return r;
        r = store_check_name("node name", node_name, false, err, errsz);
        if (r < 0)
                return r;
        r = store_prepare(s->db,
                          "DELETE FROM deployment_nodes WHERE deployment_id = ? "
                          "AND node_id = (SELECT id FROM nodes WHERE name = ?)",
                          &del, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(del, err, errsz, "tt", deployment_id, node_name);
        if (r < 0)
                return r;
        r = store_step(del, err, errsz);
        if (r < 0)
                return r;
        if (sqlite3_changes(s->db) == 0)
                return errorf(err, errsz, -ENOENT, "deployment %s has no replica on node %s", deployment_id,
                              node_name);
        return 0;
}

static int read_deployment_node(sqlite3_stmt *st, void *row, void *userdata) {
        StoreDeploymentNode *e = row;

        e->status = store_replica_status_from_string((const char *) sqlite3_column_text(st, 3));
        e->updated_at = store_column_u64(st, 5);
        if (store_column_strdup(st, 0, &e->deployment_id) < 0 || store_column_strdup(st, 1, &e->node_id) < 0 ||
            store_column_strdup(st, 2, &e->node_name) < 0 || store_column_strdup(st, 4, &e->reason) < 0)
                return -ENOMEM;
        return 0;
}

static void deployment_nodes_free_rows(void *a, size_t n) {
        store_deployment_nodes_free(a, n);
}

int store_deployment_node_list(Store *s, const char *deployment_id, StoreDeploymentNode **ret, size_t *ret_n,
                               char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        if (!s || !ret || !ret_n)
                return -EINVAL;
        r = store_check_name("deployment id", deployment_id, false, err, errsz);
        if (r < 0)
                return r;
        r = store_prepare(s->db,
                          "SELECT dn.deployment_id, dn.node_id, n.name, dn.status, dn.reason, dn.updated_at "
                          "FROM deployment_nodes dn JOIN nodes n ON n.id = dn.node_id "
                          "WHERE dn.deployment_id = ? ORDER BY n.name",
                          &st, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(st, err, errsz, "t", deployment_id);
        if (r < 0)
                return r;
        return store_collect(st, sizeof **ret, read_deployment_node, NULL, deployment_nodes_free_rows,
                             "deployment nodes", (void **) ret, ret_n, err, errsz);
}
