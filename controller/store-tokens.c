/* store-tokens.c: join tokens: creation (secret shown once), atomic single-use redemption, listing. */
#include "store-tokens.h"

#include <openssl/crypto.h>

#include "json.h"
#include "store-internal.h"

#define TOKEN_COLUMNS "id, node_name, zone, created_at, expires_at, used_at, created_by"

void store_join_token_done(StoreJoinToken *t) {
        if (!t)
                return;
        free(t->id);
        free(t->node_name);
        free(t->created_by);
        *t = (StoreJoinToken){};
}

STORE_DEFINE_FREE(StoreJoinToken, store_join_token)
STORE_DEFINE_ARRAY_FREE(StoreJoinToken, store_join_token, store_join_tokens)

/* Reads the TOKEN_COLUMNS of the current row into *t. */
static int read_token(sqlite3_stmt *st, int first, StoreJoinToken *t) {
        StoreJoinToken x = {};

        if (store_column_strdup(st, first, &x.id) < 0 || store_column_strdup(st, first + 1, &x.node_name) < 0 ||
            store_column_strdup(st, first + 6, &x.created_by) < 0) {
                store_join_token_done(&x);
                return -ENOMEM;
        }
        x.zone = store_zone_from_string((const char *) sqlite3_column_text(st, first + 2));
        x.created_at = store_column_u64(st, first + 3);
        x.expires_at = store_column_u64(st, first + 4);
        x.used_at = store_column_u64(st, first + 5);
        *t = x;
        return 0;
}

static int read_token_row(sqlite3_stmt *st, void *row, void *userdata) {
        return read_token(st, 0, row);
}

static int dup_token(const StoreJoinToken *t, StoreJoinToken **ret) {
        StoreJoinToken *c = calloc(1, sizeof *c);

        if (!c)
                return -ENOMEM;
        *c = *t;
        c->id = strdup(t->id);
        c->node_name = strdup(t->node_name);
        c->created_by = strdup(t->created_by);
        if (!c->id || !c->node_name || !c->created_by) {
                store_join_token_free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

int store_join_token_create(Store *s, const char *node_name, StoreZone zone, uint64_t ttl_usec,
                            const StoreActor *actor, char **ret_token, StoreJoinToken **ret_info, char *err,
                            size_t errsz) {
        _cleanup_tx_ StoreTx tx = {};
        _cleanup_stmt_ sqlite3_stmt *prune = NULL, *ins = NULL;
        _cleanup_(cJSON_Deletep) cJSON *detail = NULL;
        _cleanup_secret_ char *secret = NULL;
        char id[17], when[TIME_RFC3339_MAX];
        uint8_t hash[32];
        uint64_t now;
        int64_t live;
        int r;

        if (!s || !ret_token)
                return -EINVAL;
        r = store_check_name("node name", node_name, false, err, errsz);
        if (r < 0)
                return r;
        if (!store_zone_to_string(zone))
                return errorf(err, errsz, -EINVAL, "zone: must be private or public");
        if (ttl_usec == 0)
                ttl_usec = STORE_JOIN_TOKEN_TTL_DEFAULT;
        if (ttl_usec < STORE_JOIN_TOKEN_TTL_MIN || ttl_usec > STORE_JOIN_TOKEN_TTL_MAX)
                return errorf(err, errsz, -EINVAL, "ttl: must be between 1s and 7d");
        r = store_check_actor(actor, err, errsz);
        if (r < 0)
                return r;

        r = store_random_id(id);
        if (r < 0)
                return errorf(err, errsz, r, "join token: no random bytes: %s", strerror(-r));
        r = store_random_secret(STORE_JOIN_TOKEN_PREFIX, &secret);
        if (r < 0)
                return errorf(err, errsz, r, "join token: no random bytes: %s", strerror(-r));
        r = store_sha256(secret, strlen(secret), hash);
        if (r < 0)
                return errorf(err, errsz, r, "join token: SHA-256 failed");

        r = store_tx_begin(s, &tx, err, errsz);
        if (r < 0)
                return r;
        now = store_now(s);
        r = store_prepare(s->db, "DELETE FROM join_tokens WHERE expires_at < ?", /* used_at <= expires_at */
                          &prune, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(prune, err, errsz, "i",
                       (int64_t) (now > STORE_JOIN_TOKEN_RETENTION ? now - STORE_JOIN_TOKEN_RETENTION : 0));
        if (r < 0)
                return r;
        r = store_step(prune, err, errsz);
        if (r < 0)
                return r;
        r = store_count(s, "SELECT count(*) FROM join_tokens WHERE used_at IS NULL AND expires_at > ?", &live, err,
                        errsz, "i", (int64_t) now);
        if (r < 0)
                return r;
        if (live >= (int64_t) s->limits.max_join_tokens)
                return errorf(err, errsz, -E2BIG,
                              "too many unused join tokens (limit %u): delete some or let them expire",
                              s->limits.max_join_tokens);

        r = store_prepare(s->db,
                          "INSERT INTO join_tokens (id, hash, node_name, zone, created_at, expires_at, created_by) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)",
                          &ins, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(ins, err, errsz, "thttiit", id, hash, node_name, store_zone_to_string(zone), (int64_t) now,
                       (int64_t) (now + ttl_usec), actor->key_id);
        if (r < 0)
                return r;
        r = store_step(ins, err, errsz);
        if (r < 0)
                return r;

        detail = cJSON_CreateObject();
        if (!detail || !cJSON_AddStringToObject(detail, "id", id) ||
            !cJSON_AddStringToObject(detail, "zone", store_zone_to_string(zone)) ||
            !cJSON_AddStringToObject(detail, "expires_at", time_format_rfc3339(now + ttl_usec, when)))
                return errorf(err, errsz, -ENOMEM, "join token: out of memory");
        r = store_audit_record(s, actor, "join_token.create", node_name, detail, err, errsz);
        if (r < 0)
                return r;

        if (ret_info) {
                StoreJoinToken t = {
                        .id = id,
                        .node_name = (char *) node_name,
                        .zone = zone,
                        .created_at = now,
                        .expires_at = now + ttl_usec,
                        .created_by = (char *) actor->key_id,
                };
                r = dup_token(&t, ret_info);
                if (r < 0)
                        return errorf(err, errsz, r, "join token: out of memory");
        }
        r = store_tx_commit(&tx, err, errsz);
        if (r < 0) {
                if (ret_info)
                        *ret_info = store_join_token_free(*ret_info);
                return r;
        }
        *ret_token = TAKE_PTR(secret);
        return 0;
}

int store_join_token_redeem(Store *s, const char *token, const char *node_name, StoreZone zone, StoreJoinToken **ret,
                            char *err, size_t errsz) {
        _cleanup_tx_ StoreTx tx = {};
        _cleanup_stmt_ sqlite3_stmt *sel = NULL, *upd = NULL;
        _cleanup_(store_join_token_done) StoreJoinToken t = {};
        char when[TIME_RFC3339_MAX];
        uint8_t hash[32];
        uint64_t now;
        int r;

        if (!s)
                return -EINVAL;
        if (zone >= 0 && !store_zone_to_string(zone))
                return errorf(err, errsz, -EINVAL, "zone: must be private or public");
        r = store_check_presented("join token", token, STORE_JOIN_TOKEN_PREFIX, err, errsz);
        if (r < 0)
                return r;
        r = store_sha256(token, strlen(token), hash);
        if (r < 0)
                return errorf(err, errsz, r, "join token: SHA-256 failed");

        /* BEGIN IMMEDIATE: concurrent redeemers queue here, so the check and the update are one step */
        r = store_tx_begin(s, &tx, err, errsz);
        if (r < 0)
                return r;
        now = store_now(s);
        r = store_prepare(s->db, "SELECT hash, " TOKEN_COLUMNS " FROM join_tokens WHERE hash = ?", &sel, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(sel, err, errsz, "h", hash);
        if (r < 0)
                return r;
        r = store_step(sel, err, errsz);
        if (r < 0)
                return r;
        if (r == 0 || sqlite3_column_bytes(sel, 0) != 32 || CRYPTO_memcmp(sqlite3_column_blob(sel, 0), hash, 32) != 0)
                return errorf(err, errsz, -ENOENT, "unknown join token");
        if (read_token(sel, 1, &t) < 0)
                return errorf(err, errsz, -ENOMEM, "join token: out of memory");

        if (t.used_at)
                return errorf(err, errsz, -EALREADY, "join token %s: already used (at %s)", t.id,
                              time_format_rfc3339(t.used_at, when));
        if (t.expires_at <= now)
                return errorf(err, errsz, -ETIMEDOUT, "join token %s: expired (at %s)", t.id,
                              time_format_rfc3339(t.expires_at, when));
        if (node_name && !streq(node_name, t.node_name))
                return errorf(err, errsz, -EPERM, "join token %s: issued for node \"%s\", not this node", t.id,
                              t.node_name);
        if (zone >= 0 && zone != t.zone)
                return errorf(err, errsz, -EPERM, "join token %s: issued for zone %s, not %s", t.id,
                              store_zone_to_string(t.zone) ?: "?", store_zone_to_string(zone));

        r = store_prepare(s->db, "UPDATE join_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL", &upd, err,
                          errsz);
        if (r < 0)
                return r;
        r = store_bind(upd, err, errsz, "it", (int64_t) now, t.id);
        if (r < 0)
                return r;
        r = store_step(upd, err, errsz);
        if (r < 0)
                return r;
        if (sqlite3_changes(s->db) != 1)
                return errorf(err, errsz, -EALREADY, "join token %s: already used", t.id);
        t.used_at = now;
        r = store_tx_commit(&tx, err, errsz);
        if (r < 0)
                return r;
        if (ret) {
                StoreJoinToken *c = calloc(1, sizeof *c);
                if (!c)
                        return errorf(err, errsz, -ENOMEM, "join token: out of memory");
                *c = t;
                t = (StoreJoinToken){};
                *ret = c;
        }
        return 0;
}

int store_join_token_delete(Store *s, const char *id, const StoreActor *actor, char *err, size_t errsz) {
        _cleanup_tx_ StoreTx tx = {};
        _cleanup_stmt_ sqlite3_stmt *del = NULL;
        int r;

        if (!s)
                return -EINVAL;
        r = store_check_name("join token id", id, false, err, errsz);
        if (r < 0)
                return r;
        r = store_check_actor(actor, err, errsz);
        if (r < 0)
                return r;
        r = store_tx_begin(s, &tx, err, errsz);
        if (r < 0)
                return r;
        r = store_prepare(s->db, "DELETE FROM join_tokens WHERE id = ?", &del, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(del, err, errsz, "t", id);
        if (r < 0)
                return r;
        r = store_step(del, err, errsz);
        if (r < 0)
                return r;
        if (sqlite3_changes(s->db) == 0)
                return errorf(err, errsz, -ENOENT, "join token %s: not found", id);
        r = store_audit_record(s, actor, "join_token.delete", id, NULL, err, errsz);
        if (r < 0)
                return r;
        return store_tx_commit(&tx, err, errsz);
}

int store_join_token_list(Store *s, StoreJoinToken **ret, size_t *ret_n, char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        if (!s || !ret || !ret_n)
                return -EINVAL;
        r = store_prepare(s->db, "SELECT " TOKEN_COLUMNS " FROM join_tokens ORDER BY created_at DESC, id LIMIT ?", &st,
                          err, errsz);
        if (r < 0)
                return r;
        r = store_bind(st, err, errsz, "i", (int64_t) STORE_JOIN_TOKEN_LIST_MAX);
        if (r < 0)
                return r;
        return store_collect(st, sizeof **ret, read_token_row, NULL, store_join_tokens_free_rows, "join tokens",
                             (void **) ret, ret_n, err, errsz);
}
