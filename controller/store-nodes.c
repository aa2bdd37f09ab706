/* store-nodes.c: node enrollment, state, heartbeats, labels, revocation and the revoked serial list. */
#include "store-nodes.h"

#include "json.h"
#include "store-internal.h"

#define NODE_COLUMNS                                                                                                  \
        "id, name, zone, state, cert_serial, cert_not_after, enrolled_at, last_seen_at, revoked_at, "                 \
        "labels, capacity, telemetry"

static const char *const state_names[_STORE_NODE_STATE_MAX] = {
        [STORE_NODE_ENROLLED] = "enrolled",
        [STORE_NODE_ONLINE] = "online",
        [STORE_NODE_LOST] = "lost",
        [STORE_NODE_REVOKED] = "revoked",
};

const char *store_node_state_to_string(StoreNodeState s) {
        return s >= 0 && s < _STORE_NODE_STATE_MAX ? state_names[s] : NULL;
}

StoreNodeState store_node_state_from_string(const char *s) {
        return (StoreNodeState) string_table_lookup(state_names, _STORE_NODE_STATE_MAX, s);
}

void store_node_done(StoreNode *n) {
        if (!n)
                return;
        free(n->id);
        free(n->name);
        free(n->cert_serial);
        free(n->labels_json);
        free(n->capacity_json);
        free(n->telemetry_json);
        *n = (StoreNode){};
}

STORE_DEFINE_FREE(StoreNode, store_node)
STORE_DEFINE_ARRAY_FREE(StoreNode, store_node, store_nodes)

void store_revoked_certs_free(StoreRevokedCert *a, size_t n) {
        for (size_t i = 0; a && i < n; i++) {
                free(a[i].serial);
                free(a[i].node_id);
                free(a[i].node_name);
                free(a[i].reason);
        }
        free(a);
}

static int read_node(sqlite3_stmt *st, StoreNode *n) {
        StoreNode x = {};

        if (store_column_strdup(st, 0, &x.id) < 0 || store_column_strdup(st, 1, &x.name) < 0 ||
            store_column_strdup(st, 4, &x.cert_serial) < 0 || store_column_strdup(st, 9, &x.labels_json) < 0 ||
            store_column_strdup(st, 10, &x.capacity_json) < 0 || store_column_strdup(st, 11, &x.telemetry_json) < 0) {
                store_node_done(&x);
                return -ENOMEM;
        }
        x.zone = store_zone_from_string((const char *) sqlite3_column_text(st, 2));
        x.state = store_node_state_from_string((const char *) sqlite3_column_text(st, 3));
        x.cert_not_after = store_column_u64(st, 5);
        x.enrolled_at = store_column_u64(st, 6);
        x.last_seen_at = store_column_u64(st, 7);
        x.revoked_at = store_column_u64(st, 8);
        *n = x;
        return 0;
}

static int read_node_row(sqlite3_stmt *st, void *row, void *userdata) {
        return read_node(st, row);
}

/* One node by a column: "name" or "id" (constant SQL, the value is bound). */
static int get_node(Store *s, bool by_id, const char *key, StoreNode **ret, char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_(store_node_freep) StoreNode *n = NULL;
        int r;

        r = store_prepare(s->db,
                          by_id ? "SELECT " NODE_COLUMNS " FROM nodes WHERE id = ?"
                                : "SELECT " NODE_COLUMNS " FROM nodes WHERE name = ?",
                          &st, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(st, err, errsz, "t", key);
        if (r < 0)
                return r;
        r = store_step(st, err, errsz);
        if (r < 0)
                return r;
        if (r == 0)
                return errorf(err, errsz, -ENOENT, "node %s%s: not found", by_id ? "id " : "", key);
        n = calloc(1, sizeof *n);
        if (!n || read_node(st, n) < 0)
                return errorf(err, errsz, -ENOMEM, "node: out of memory");
        *ret = TAKE_PTR(n);
        return 0;
}

int store_node_get(Store *s, const char *name, StoreNode **ret, char *err, size_t errsz) {
        int r;

        if (!s || !ret)
                return -EINVAL;
        r = store_check_name("node name", name, false, err, errsz);
        if (r < 0)
                return r;
        return get_node(s, false, name, ret, err, errsz);
}

int store_node_get_by_id(Store *s, const char *id, StoreNode **ret, char *err, size_t errsz) {
        int r;

        if (!s || !ret)
                return -EINVAL;
        r = store_check_name("node id", id, false, err, errsz);
        if (r < 0)
                return r;
        return get_node(s, true, id, ret, err, errsz);
}

int store_node_list(Store *s, StoreNode **ret, size_t *ret_n, char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        if (!s || !ret || !ret_n)
                return -EINVAL;
        r = store_prepare(s->db, "SELECT " NODE_COLUMNS " FROM nodes ORDER BY name", &st, err, errsz);
        if (r < 0)
                return r;
        return store_collect(st, sizeof **ret, read_node_row, NULL, store_nodes_free_rows, "nodes", (void **) ret,
                             ret_n, err, errsz);
}

/* Why an UPDATE ... WHERE name = ? AND state != 'revoked' changed nothing. */
static int explain_no_change(Store *s, const char *name, char *err, size_t errsz) {
        _cleanup_(store_node_freep) StoreNode *n = NULL;
        int r;

        r = get_node(s, false, name, &n, err, errsz);
        if (r < 0)
                return r;
        if (n->state == STORE_NODE_REVOKED)
                return errorf(err, errsz, -EPERM, "node %s: revoked", name);
        return errorf(err, errsz, -EIO, "node %s: not updated", name);
}

/* Normalises a certificate serial: lowercase hex, no leading zeros. */
static int normalize_serial(const char *in, char out[static STORE_SERIAL_MAX + 1], char *err, size_t errsz) {
        size_t n;

        if (isempty(in))
                return errorf(err, errsz, -EINVAL, "certificate serial: must not be empty");
        while (in[0] == '0' && in[1])
                in++;
        n = strnlen(in, STORE_SERIAL_MAX + 1);
        if (n > STORE_SERIAL_MAX)
                return errorf(err, errsz, -EINVAL, "certificate serial: more than %d hex digits", STORE_SERIAL_MAX);
        for (size_t i = 0; i < n; i++) {
                char c = in[i];
                if (c >= 'A' && c <= 'F')
                        c = (char) (c - 'A' + 'a');
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                        return errorf(err, errsz, -EINVAL, "certificate serial: not hex");
                out[i] = c;
        }
        out[n] = '\0';
        return 0;
}

static int revoke_serial(Store *s, const StoreNode *n, const char *reason, char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *ins = NULL;
        int r;

        if (!n->cert_serial)
                return 0;
        r = store_prepare(s->db,
                          "INSERT OR IGNORE INTO revoked_certs (serial, node_id, node_name, revoked_at, reason, "
                          "not_after) VALUES (?, ?, ?, ?, ?, ?)",
                          &ins, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(ins, err, errsz, "tttito", n->cert_serial, n->id, n->name, (int64_t) store_now(s), reason,
                       n->cert_not_after);
        if (r < 0)
                return r;
        r = store_step(ins, err, errsz);
        return r < 0 ? r : 0;
}

/* Runs a constant statement whose parameters are all text, in order. */
static int exec_text(Store *s, const char *sql, const char *a, const char *b, char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = store_prepare(s->db, sql, &st, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(st, err, errsz, b ? "tt" : "t", a, b);
        if (r < 0)
                return r;
        r = store_step(st, err, errsz);
        return r < 0 ? r : 0;
}

int store_node_enroll(Store *s, const char *name, StoreZone zone, const StoreActor *actor, StoreNode **ret, char *err,
                      size_t errsz) {
        _cleanup_tx_ StoreTx tx = {};
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_(store_node_freep) StoreNode *old = NULL;
        _cleanup_(cJSON_Deletep) cJSON *detail = NULL;
        char id[37];
        uint64_t now;
        int r;

        if (!s)
                return -EINVAL;
        r = store_check_name("node name", name, false, err, errsz);
        if (r < 0)
                return r;
        if (!store_zone_to_string(zone))
                return errorf(err, errsz, -EINVAL, "zone: must be private or public");
        r = store_check_actor(actor, err, errsz);
        if (r < 0)
                return r;

        r = store_tx_begin(s, &tx, err, errsz);
        if (r < 0)
                return r;
        now = store_now(s);
        r = get_node(s, false, name, &old, err, errsz);
        if (r < 0 && r != -ENOENT)
                return r;
        detail = cJSON_CreateObject();
        if (!detail)
                return errorf(err, errsz, -ENOMEM, "node: out of memory");

        if (old) {
                snprintf(id, sizeof id, "%s", old->id);
                r = revoke_serial(s, old, "re-enrolled", err, errsz);
                if (r < 0)
                        return r;
                r = store_prepare(s->db,
                                  "UPDATE nodes SET zone = ?, state = 'enrolled', cert_serial = NULL, "
                                  "cert_not_after = NULL, enrolled_at = ?, last_seen_at = NULL, revoked_at = NULL, "
                                  "capacity = '{}', telemetry = '{}' WHERE id = ?",
                                  &st, err, errsz);
                if (r < 0)
                        return r;
                r = store_bind(st, err, errsz, "tit", store_zone_to_string(zone), (int64_t) now, id);
                if (r < 0)
                        return r;
                r = store_step(st, err, errsz);
                if (r < 0)
                        return r;
                r = exec_text(s, "DELETE FROM deployment_nodes WHERE node_id = ?", id, NULL, err, errsz);
                if (r < 0)
                        return r;
                if (!cJSON_AddBoolToObject(detail, "reenrolled", true) ||
                    (old->zone != zone &&
                     !cJSON_AddStringToObject(detail, "previous_zone", store_zone_to_string(old->zone) ?: "?")) ||
                    (old->cert_serial && !cJSON_AddStringToObject(detail, "revoked_serial", old->cert_serial)))
                        return errorf(err, errsz, -ENOMEM, "node: out of memory");
        } else {
                int64_t count;

                r = store_count(s, "SELECT count(*) FROM nodes", &count, err, errsz, "");
                if (r < 0)
                        return r;
                if (count >= (int64_t) s->limits.max_nodes)
                        return errorf(err, errsz, -E2BIG, "too many nodes (limit %u): delete revoked ones",
                                      s->limits.max_nodes);
                r = store_random_uuid(id);
                if (r < 0)
                        return errorf(err, errsz, r, "node id: no random bytes: %s", strerror(-r));
                r = store_prepare(
                        s->db,
                        "INSERT INTO nodes (id, name, zone, state, enrolled_at) VALUES (?, ?, ?, 'enrolled', ?)", &st,
                        err, errsz);
                if (r < 0)
                        return r;
                r = store_bind(st, err, errsz, "ttti", id, name, store_zone_to_string(zone), (int64_t) now);
                if (r < 0)
                        return r;
                r = store_step(st, err, errsz);
                if (r < 0)
                        return r;
        }
        if (!cJSON_AddStringToObject(detail, "id", id) ||
            !cJSON_AddStringToObject(detail, "zone", store_zone_to_string(zone)))
                return errorf(err, errsz, -ENOMEM, "node: out of memory");
        r = store_audit_record(s, actor, "node.enroll", name, detail, err, errsz);
        if (r < 0)
                return r;
        if (ret) {
                r = get_node(s, false, name, ret, err, errsz);
                if (r < 0)
                        return r;
        }
        r = store_tx_commit(&tx, err, errsz);
        if (r < 0 && ret)
                *ret = store_node_free(*ret);
        return r;
}

int store_node_set_cert(Store *s, const char *name, const char *serial, uint64_t not_after, char *err, size_t errsz) {
        _cleanup_tx_ StoreTx tx = {};
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_(store_node_freep) StoreNode *n = NULL;
        char norm[STORE_SERIAL_MAX + 1];
        int64_t revoked;
        int r;

        if (!s)
                return -EINVAL;
        r = store_check_name("node name", name, false, err, errsz);
        if (r < 0)
                return r;
        r = normalize_serial(serial, norm, err, errsz);
        if (r < 0)
                return r;
        if (not_after == 0 || not_after > INT64_MAX)
                return errorf(err, errsz, -EINVAL, "certificate not-after: out of range");
        r = store_tx_begin(s, &tx, err, errsz);
        if (r < 0)
                return r;
        r = get_node(s, false, name, &n, err, errsz);
        if (r < 0)
                return r;
        if (n->state == STORE_NODE_REVOKED)
                return errorf(err, errsz, -EPERM, "node %s: revoked", name);
        r = store_count(s, "SELECT count(*) FROM revoked_certs WHERE serial = ?", &revoked, err, errsz, "t", norm);
        if (r < 0)
                return r;
        if (revoked > 0)
                return errorf(err, errsz, -EPERM, "certificate serial %s: revoked", norm);
        r = store_prepare(s->db, "UPDATE nodes SET cert_serial = ?, cert_not_after = ? WHERE id = ?", &st, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(st, err, errsz, "tit", norm, (int64_t) not_after, n->id);
        if (r < 0)
                return r;
        r = store_step(st, err, errsz);
        if (r < 0)
                return r;
        return store_tx_commit(&tx, err, errsz);
}

static bool transition_ok(StoreNodeState from, StoreNodeState to) {
        switch (to) {
        case STORE_NODE_ONLINE:
                return from == STORE_NODE_ENROLLED || from == STORE_NODE_ONLINE || from == STORE_NODE_LOST;
        case STORE_NODE_LOST:
                return from == STORE_NODE_ONLINE || from == STORE_NODE_LOST;
        default:
                return false;
        }
}

int store_node_set_state(Store *s, const char *name, StoreNodeState state, char *err, size_t errsz) {
        _cleanup_tx_ StoreTx tx = {};
        _cleanup_(store_node_freep) StoreNode *n = NULL;
        int r;

        if (!s)
                return -EINVAL;
        r = store_check_name("node name", name, false, err, errsz);
        if (r < 0)
                return r;
        if (!store_node_state_to_string(state))
                return errorf(err, errsz, -EINVAL, "node state: out of range");
        if (state == STORE_NODE_REVOKED)
                return errorf(err, errsz, -EINVAL, "node %s: revocation goes through store_node_revoke", name);
        r = store_tx_begin(s, &tx, err, errsz);
        if (r < 0)
                return r;
        r = get_node(s, false, name, &n, err, errsz);
        if (r < 0)
                return r;
        if (n->state == STORE_NODE_REVOKED)
                return errorf(err, errsz, -EPERM, "node %s: revoked", name);
        if (n->state == state)
                return 0; /* the cleanup ends the (empty) transaction */
        if (!transition_ok(n->state, state))
                return errorf(err, errsz, -EINVAL, "node %s: cannot go from %s to %s", name,
                              store_node_state_to_string(n->state), store_node_state_to_string(state));
        r = exec_text(s, "UPDATE nodes SET state = ? WHERE id = ?", store_node_state_to_string(state), n->id, err,
                      errsz);
        if (r < 0)
                return r;
        return store_tx_commit(&tx, err, errsz);
}

int store_node_seen(Store *s, const char *name, const char *telemetry_json, char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *telemetry = NULL;
        int r;

        if (!s)
                return -EINVAL;
        r = store_check_name("node name", name, false, err, errsz);
        if (r < 0)
                return r;
        if (telemetry_json) {
                r = store_canonical_object("telemetry", telemetry_json, STORE_TELEMETRY_MAX, false, &telemetry, err,
                                           errsz);
                if (r < 0)
                        return r;
        }
        /* one statement: atomic and durable on its own */
        r = store_prepare(s->db,
                          "UPDATE nodes SET last_seen_at = ?, telemetry = coalesce(?, telemetry) "
                          "WHERE name = ? AND state != 'revoked'",
                          &st, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(st, err, errsz, "itt", (int64_t) store_now(s), telemetry, name);
        if (r < 0)
                return r;
        r = store_step(st, err, errsz);
        if (r < 0)
                return r;
        if (sqlite3_changes(s->db) == 0)
                return explain_no_change(s, name, err, errsz);
        return 0;
}

int store_node_set_capacity(Store *s, const char *name, const char *capacity_json, char *err, size_t errsz) {
        _cleanup_free_ char *capacity = NULL;
        int r;

        if (!s)
                return -EINVAL;
        r = store_check_name("node name", name, false, err, errsz);
        if (r < 0)
                return r;
        r = store_canonical_object("capacity", capacity_json, STORE_JSON_MAX, false, &capacity, err, errsz);
        if (r < 0)
                return r;
        r = exec_text(s, "UPDATE nodes SET capacity = ? WHERE name = ? AND state != 'revoked'", capacity, name, err,
                      errsz);
        if (r < 0)
                return r;
        if (sqlite3_changes(s->db) == 0)
                return explain_no_change(s, name, err, errsz);
        return 0;
}

int store_node_set_labels(Store *s, const char *name, const char *labels_json, const StoreActor *actor, char *err,
                          size_t errsz) {
        _cleanup_tx_ StoreTx tx = {};
        _cleanup_free_ char *labels = NULL;
        _cleanup_(cJSON_Deletep) cJSON *detail = NULL;
        int r;

        if (!s)
                return -EINVAL;
        r = store_check_name("node name", name, false, err, errsz);
        if (r < 0)
                return r;
        r = store_canonical_object("labels", labels_json, STORE_JSON_MAX, true, &labels, err, errsz);
        if (r < 0)
                return r;
        r = store_check_actor(actor, err, errsz);
        if (r < 0)
                return r;
        r = store_tx_begin(s, &tx, err, errsz);
        if (r < 0)
                return r;
        r = exec_text(s, "UPDATE nodes SET labels = ? WHERE name = ?", labels, name, err, errsz);
        if (r < 0)
                return r;
        if (sqlite3_changes(s->db) == 0)
                return errorf(err, errsz, -ENOENT, "node %s: not found", name);
        detail = cJSON_CreateObject();
        if (!detail || !cJSON_AddItemToObject(detail, "labels", cJSON_Parse(labels)))
                return errorf(err, errsz, -ENOMEM, "node: out of memory");
        r = store_audit_record(s, actor, "node.labels", name, detail, err, errsz);
        if (r < 0)
                return r;
        return store_tx_commit(&tx, err, errsz);
}

int store_node_revoke(Store *s, const char *name, const char *reason, const StoreActor *actor, char *err,
                      size_t errsz) {
        _cleanup_tx_ StoreTx tx = {};
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_(store_node_freep) StoreNode *n = NULL;
        _cleanup_(cJSON_Deletep) cJSON *detail = NULL;
        int r;

        if (!s)
                return -EINVAL;
        r = store_check_name("node name", name, false, err, errsz);
        if (r < 0)
                return r;
        if (!reason)
                reason = "revoked";
        r = store_check_text("reason", reason, STORE_REASON_MAX, err, errsz);
        if (r < 0)
                return r;
        r = store_check_actor(actor, err, errsz);
        if (r < 0)
                return r;
        r = store_tx_begin(s, &tx, err, errsz);
        if (r < 0)
                return r;
        r = get_node(s, false, name, &n, err, errsz);
        if (r < 0)
                return r;
        if (n->state == STORE_NODE_REVOKED)
                return errorf(err, errsz, -EALREADY, "node %s: already revoked", name);
        r = store_prepare(s->db, "UPDATE nodes SET state = 'revoked', revoked_at = ? WHERE id = ?", &st, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(st, err, errsz, "it", (int64_t) store_now(s), n->id);
        if (r < 0)
                return r;
        r = store_step(st, err, errsz);
        if (r < 0)
                return r;
        r = revoke_serial(s, n, reason, err, errsz);
        if (r < 0)
                return r;
        detail = cJSON_CreateObject();
        if (!detail || !cJSON_AddStringToObject(detail, "id", n->id) ||
            (n->cert_serial && !cJSON_AddStringToObject(detail, "serial", n->cert_serial)) ||
            !cJSON_AddStringToObject(detail, "reason", reason))
                return errorf(err, errsz, -ENOMEM, "node: out of memory");
        r = store_audit_record(s, actor, "node.revoke", name, detail, err, errsz);
        if (r < 0)
                return r;
        return store_tx_commit(&tx, err, errsz);
}

int store_node_delete(Store *s, const char *name, const StoreActor *actor, char *err, size_t errsz) {
        _cleanup_tx_ StoreTx tx = {};
        _cleanup_(store_node_freep) StoreNode *n = NULL;
        _cleanup_(cJSON_Deletep) cJSON *detail = NULL;
        int r;

        if (!s)
                return -EINVAL;
        r = store_check_name("node name", name, false, err, errsz);
        if (r < 0)
                return r;
        r = store_check_actor(actor, err, errsz);
        if (r < 0)
                return r;
        r = store_tx_begin(s, &tx, err, errsz);
        if (r < 0)
                return r;
        r = get_node(s, false, name, &n, err, errsz);
        if (r < 0)
                return r;
        if (n->state != STORE_NODE_REVOKED)
                return errorf(err, errsz, -EBUSY, "node %s: revoke it before deleting it", name);
        r = exec_text(s, "DELETE FROM nodes WHERE id = ?", n->id, NULL, err, errsz);
        if (r < 0)
                return r;
        detail = cJSON_CreateObject();
        if (!detail || !cJSON_AddStringToObject(detail, "id", n->id))
                return errorf(err, errsz, -ENOMEM, "node: out of memory");
        r = store_audit_record(s, actor, "node.delete", name, detail, err, errsz);
        if (r < 0)
                return r;
        return store_tx_commit(&tx, err, errsz);
}

int store_cert_serial_is_revoked(Store *s, const char *serial, bool *ret, char *err, size_t errsz) {
        char norm[STORE_SERIAL_MAX + 1];
        int64_t n;
        int r;

        if (!s || !ret)
                return -EINVAL;
        r = normalize_serial(serial, norm, err, errsz);
        if (r < 0)
                return r;
        r = store_count(s, "SELECT count(*) FROM revoked_certs WHERE serial = ?", &n, err, errsz, "t", norm);
        if (r < 0)
                return r;
        *ret = n > 0;
        return 0;
}

static int read_revoked_cert(sqlite3_stmt *st, void *row, void *userdata) {
        StoreRevokedCert *c = row;

        c->revoked_at = store_column_u64(st, 3);
        c->not_after = store_column_u64(st, 5);
        if (store_column_strdup(st, 0, &c->serial) < 0 || store_column_strdup(st, 1, &c->node_id) < 0 ||
            store_column_strdup(st, 2, &c->node_name) < 0 || store_column_strdup(st, 4, &c->reason) < 0)
                return -ENOMEM;
        return 0;
}

static void revoked_certs_free_rows(void *a, size_t n) {
        store_revoked_certs_free(a, n);
}

int store_revoked_cert_list(Store *s, StoreRevokedCert **ret, size_t *ret_n, char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        if (!s || !ret || !ret_n)
                return -EINVAL;
        r = store_prepare(s->db,
                          "SELECT serial, node_id, node_name, revoked_at, reason, not_after FROM revoked_certs "
                          "ORDER BY revoked_at, serial",
                          &st, err, errsz);
        if (r < 0)
                return r;
        return store_collect(st, sizeof **ret, read_revoked_cert, NULL, revoked_certs_free_rows,
                             "revoked certificates", (void **) ret, ret_n, err, errsz);
}
