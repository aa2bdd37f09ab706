/* store-schema.c: the inventory's schema as numbered migrations, applied in order, one transaction each. */
#include <stdio.h>

#include "store-internal.h"
#include "timeutil.h"

/* Migration N brings the schema from version N-1 to N. Never edit a released migration: add one.
 * Times are microseconds since the epoch (NULL: never); hashes are raw SHA-256 (32 bytes); JSON
 * columns hold compact text that the store validated. */
static const char *const migrations[] = {
        [1] = /* the inventory of issue 4: nodes, certificates, join tokens, API keys, audit */
        "CREATE TABLE schema_version ("
        "        version INTEGER PRIMARY KEY,"
        "        applied_at INTEGER NOT NULL);"
        "CREATE TABLE meta ("
        "        key TEXT PRIMARY KEY,"
        "        value TEXT NOT NULL);"
        "CREATE TABLE nodes ("
        "        id TEXT PRIMARY KEY,"
        "        name TEXT NOT NULL UNIQUE,"
        "        zone TEXT NOT NULL CHECK (zone IN ('private', 'public')),"
        "        state TEXT NOT NULL CHECK (state IN ('enrolled', 'online', 'lost', 'revoked')),"
        "        cert_serial TEXT,"
        "        cert_not_after INTEGER,"
        "        enrolled_at INTEGER NOT NULL,"
        "        last_seen_at INTEGER,"
        "        revoked_at INTEGER,"
        "        labels TEXT NOT NULL DEFAULT '{}',"
        "        capacity TEXT NOT NULL DEFAULT '{}',"
        "        telemetry TEXT NOT NULL DEFAULT '{}');"
        "CREATE TABLE revoked_certs ("
        "        serial TEXT PRIMARY KEY,"
        "        node_id TEXT NOT NULL,"
        "        node_name TEXT NOT NULL,"
        "        revoked_at INTEGER NOT NULL,"
        "        reason TEXT NOT NULL,"
        "        not_after INTEGER);"
        "CREATE TABLE join_tokens ("
        "        id TEXT PRIMARY KEY,"
        "        hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),"
        "        node_name TEXT NOT NULL,"
        "        zone TEXT NOT NULL CHECK (zone IN ('private', 'public')),"
        "        created_at INTEGER NOT NULL,"
        "        expires_at INTEGER NOT NULL,"
        "        used_at INTEGER,"
        "        created_by TEXT NOT NULL);"
        "CREATE TABLE api_keys ("
        "        id TEXT PRIMARY KEY,"
        "        hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),"
        "        prefix TEXT NOT NULL,"
        "        name TEXT NOT NULL,"
        "        role TEXT NOT NULL CHECK (role IN ('admin', 'developer', 'auditor')),"
        "        created_at INTEGER NOT NULL,"
        "        expires_at INTEGER,"
        "        revoked_at INTEGER,"
        "        created_by TEXT NOT NULL,"
        "        models TEXT,"
        "        labels TEXT NOT NULL DEFAULT '{}');"
        "CREATE UNIQUE INDEX api_keys_active_name ON api_keys (name) WHERE revoked_at IS NULL;"
        "CREATE TABLE audit ("
        "        id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "        time INTEGER NOT NULL,"
        "        actor TEXT NOT NULL,"
        "        action TEXT NOT NULL,"
        "        target TEXT,"
        "        request_id TEXT,"
        "        detail TEXT NOT NULL DEFAULT '{}',"
        "        prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),"
        "        hash BLOB NOT NULL CHECK (length(hash) = 32));"
        "CREATE INDEX audit_time ON audit (time);",

        [2] = /* models and deployments of issue 5 */
        "CREATE TABLE models ("
        "        name TEXT PRIMARY KEY,"
        "        source TEXT NOT NULL,"
        "        sha256 TEXT NOT NULL CHECK (length(sha256) = 64),"
        "        size INTEGER NOT NULL CHECK (size >= 0),"
        "        created_at INTEGER NOT NULL,"
        "        created_by TEXT NOT NULL);"
        "CREATE TABLE deployments ("
        "        id TEXT PRIMARY KEY,"
        "        model TEXT NOT NULL REFERENCES models (name) ON DELETE RESTRICT,"
        "        placement TEXT NOT NULL,"
        "        replicas INTEGER NOT NULL CHECK (replicas BETWEEN 1 AND 1024),"
        "        canary_weight INTEGER NOT NULL CHECK (canary_weight BETWEEN 0 AND 100),"
        "        state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'draining', 'stopped')),"
        "        created_at INTEGER NOT NULL,"
        "        updated_at INTEGER NOT NULL,"
        "        created_by TEXT NOT NULL);"
        "CREATE INDEX deployments_model ON deployments (model);"
        "CREATE TABLE deployment_nodes ("
        "        deployment_id TEXT NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,"
        "        node_id TEXT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,"
        "        status TEXT NOT NULL CHECK (status IN ('loading', 'ready', 'failed')),"
        "        reason TEXT,"
        "        updated_at INTEGER NOT NULL,"
        "        PRIMARY KEY (deployment_id, node_id)) WITHOUT ROWID;"
        "CREATE INDEX deployment_nodes_node ON deployment_nodes (node_id);",

        [3] = /* asynchronous generations (POST /v1/jobs) of issue 5 */
        "CREATE TABLE jobs ("
        "        id TEXT PRIMARY KEY,"
        "        key_id TEXT NOT NULL,"
        "        model TEXT NOT NULL,"
        "        request TEXT NOT NULL,"
        "        state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),"
        "        attempts INTEGER NOT NULL DEFAULT 0,"
        "        node TEXT,"
        "        zone TEXT,"
        "        output TEXT,"
        "        finish_reason TEXT,"
        "        prompt_tokens INTEGER,"
        "        completion_tokens INTEGER,"
        "        error_code TEXT,"
        "        error_message TEXT,"
        "        created_at INTEGER NOT NULL,"
        "        started_at INTEGER,"
        "        finished_at INTEGER);"
        "CREATE INDEX jobs_state ON jobs (state, created_at);"
        "CREATE INDEX jobs_key ON jobs (key_id, created_at);",

        [4] = /* the routing rule set's versions of issue 6 (store-rules.h): append-only */
        "CREATE TABLE rule_sets ("
        "        version INTEGER PRIMARY KEY CHECK (version >= 1),"
        "        document TEXT NOT NULL,"
        "        actor TEXT NOT NULL,"
        "        created_at INTEGER NOT NULL);",
};

_Static_assert(ELEMENTSOF(migrations) == STORE_SCHEMA_VERSION + 1, "one migration per schema version");

int store_schema_read_version(sqlite3 *db, unsigned *ret, char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *probe = NULL, *st = NULL;
        int64_t v;
        int r;

        r = store_prepare(
                db,
                "SELECT (SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'),"
                "       (SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\')",
                &probe, err, errsz);
        if (r < 0)
                return r;
        r = store_step(probe, err, errsz);
        if (r < 0)
                return r;
        if (r == 0)
                return errorf(err, errsz, -EIO, "schema probe: no row");
        if (sqlite3_column_int64(probe, 0) == 0) {
                if (sqlite3_column_int64(probe, 1) > 0)
                        return errorf(err, errsz, -EBADMSG,
                                      "not a sluice database: it has tables but no schema_version");
                *ret = 0;
                return 0;
        }
        r = store_prepare(db, "SELECT coalesce(max(version), 0) FROM schema_version", &st, err, errsz);
        if (r < 0)
                return r;
        r = store_step(st, err, errsz);
        if (r < 0)
                return r;
        v = r > 0 ? sqlite3_column_int64(st, 0) : 0;
        if (v < 0 || v > UINT32_MAX)
                return errorf(err, errsz, -EBADMSG, "schema_version holds an invalid version %lld", (long long) v);
        *ret = (unsigned) v;
        return 0;
}

static int refuse_newer(unsigned v, char *err, size_t errsz) {
        return errorf(err, errsz, -EPROTONOSUPPORT,
                      "database schema version %u is newer than this build understands (%u): "
                      "run a newer sluice-controller, or restore a backup",
                      v, STORE_SCHEMA_VERSION);
}

static int apply(sqlite3 *db, unsigned n, char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        char e[256];
        unsigned v;
        int r;

        r = store_exec(db, "BEGIN IMMEDIATE", err, errsz);
        if (r < 0)
                return r;
        /* another process may have migrated while we waited for the lock */
        r = store_schema_read_version(db, &v, err, errsz);
        if (r < 0)
                goto rollback;
        if (v > STORE_SCHEMA_VERSION) {
                r = refuse_newer(v, err, errsz);
                goto rollback;
        }
        if (v < n) {
                if (v != n - 1) {
                        r = errorf(err, errsz, -EIO, "migration %u: database is at version %u", n, v);
                        goto rollback;
                }
                r = store_exec(db, migrations[n], e, sizeof e);
                if (r < 0) {
                        r = errorf(err, errsz, r, "migration %u: %s", n, e);
                        goto rollback;
                }
                r = store_prepare(db, "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", &st, err,
                                  errsz);
                if (r < 0)
                        goto rollback;
                r = store_bind(st, err, errsz, "ii", (int64_t) n, (int64_t) time_real_usec());
                if (r < 0)
                        goto rollback;
                r = store_step(st, err, errsz);
                if (r < 0)
                        goto rollback;
        }
        r = store_exec(db, "COMMIT", e, sizeof e);
        if (r < 0) {
                r = errorf(err, errsz, r, "migration %u: %s", n, e);
                goto rollback;
        }
        return 0;

rollback:
        (void) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return r;
}

int store_schema_migrate(sqlite3 *db, unsigned target, unsigned *ret_version, char *err, size_t errsz) {
        unsigned v;
        int r;

        if (target > STORE_SCHEMA_VERSION)
                return errorf(err, errsz, -EINVAL, "no migration to version %u", target);
        if (!sqlite3_get_autocommit(db))
                return errorf(err, errsz, -EBUSY, "migration inside an open transaction");
        r = store_schema_read_version(db, &v, err, errsz);
        if (r < 0)
                return r;
        if (v > STORE_SCHEMA_VERSION)
                return refuse_newer(v, err, errsz);
        for (unsigned n = v + 1; n <= target; n++) {
                r = apply(db, n, err, errsz);
                if (r < 0)
                        return r;
        }
        if (ret_version) {
                r = store_schema_read_version(db, &v, err, errsz);
                if (r < 0)
                        return r;
                *ret_version = v;
        }
        return 0;
}
