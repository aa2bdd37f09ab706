/* store-audit.c: appending, listing and verifying the hash-chained audit table. */
#include "store-audit.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "json.h"
#include "openssl-util.h"
#include "store-internal.h"

void store_audit_entry_done(StoreAuditEntry *e) {
        if (!e)
                return;
        free(e->actor);
        free(e->action);
        free(e->target);
        free(e->request_id);
        free(e->detail_json);
        *e = (StoreAuditEntry){};
}

STORE_DEFINE_ARRAY_FREE(StoreAuditEntry, store_audit_entry, store_audit_entries)

static int check_action(const char *action, char *err, size_t errsz) {
        size_t n;

        if (isempty(action))
                return errorf(err, errsz, -EINVAL, "audit action: must not be empty");
        n = strnlen(action, STORE_AUDIT_ACTION_MAX + 1);
        if (n > STORE_AUDIT_ACTION_MAX)
                return errorf(err, errsz, -EINVAL, "audit action: longer than %d bytes", STORE_AUDIT_ACTION_MAX);
        for (size_t i = 0; i < n; i++) {
                char c = action[i];
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_'))
                        return errorf(err, errsz, -EINVAL,
                                      "audit action: character 0x%02x is not allowed (a-z 0-9 . _)",
                                      (unsigned char) c);
        }
        return 0;
}

static int digest_field(EVP_MD_CTX *md, const char *v) {
        uint32_t n = v ? (uint32_t) strlen(v) : UINT32_MAX;
        uint8_t len[4] = { (uint8_t) (n >> 24), (uint8_t) (n >> 16), (uint8_t) (n >> 8), (uint8_t) n };

        if (EVP_DigestUpdate(md, len, sizeof len) != 1)
                return -EIO;
        if (v && n > 0 && EVP_DigestUpdate(md, v, n) != 1)
                return -EIO;
        return 0;
}

/* hash = SHA-256(prev_hash || be64(time) || each field as be32(length) + bytes, NULL as length ~0) */
static int row_hash(const uint8_t prev[static 32], uint64_t time, const char *actor, const char *action,
                    const char *target, const char *request_id, const char *detail, uint8_t ret[static 32]) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
        uint8_t t[8];
        unsigned len = 0;

        if (!md)
                return -ENOMEM;
        for (int i = 0; i < 8; i++)
                t[i] = (uint8_t) (time >> (56 - 8 * i));
        if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 || EVP_DigestUpdate(md, prev, 32) != 1 ||
            EVP_DigestUpdate(md, t, sizeof t) != 1)
                return -EIO;
        if (digest_field(md, actor) < 0 || digest_field(md, action) < 0 || digest_field(md, target) < 0 ||
            digest_field(md, request_id) < 0 || digest_field(md, detail) < 0)
                return -EIO;
        if (EVP_DigestFinal_ex(md, ret, &len) != 1 || len != 32)
                return -EIO;
        return 0;
}

/* Inserts one row; the caller holds the write transaction, so the previous hash cannot change. */
static int audit_insert(Store *s, const StoreActor *actor, const char *action, const char *target, const char *detail,
                        char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *last = NULL, *ins = NULL;
        uint8_t prev[32] = {}, hash[32];
        uint64_t now = store_now(s);
        int r;

        r = store_check_actor(actor, err, errsz);
        if (r < 0)
                return r;
        r = check_action(action, err, errsz);
        if (r < 0)
                return r;
        if (target) {
                r = store_check_text("audit target", target, STORE_AUDIT_TARGET_MAX, err, errsz);
                if (r < 0)
                        return r;
        }
        if (store_text_has_secret(target) || store_text_has_secret(detail))
                return errorf(err, errsz, -EINVAL, "audit %s: refusing to record a secret (token or key)", action);

        r = store_prepare(s->db, "SELECT hash FROM audit ORDER BY id DESC LIMIT 1", &last, err, errsz);
        if (r < 0)
                return r;
        r = store_step(last, err, errsz);
        if (r < 0)
                return r;
        if (r > 0) {
                if (sqlite3_column_bytes(last, 0) != 32)
                        return errorf(err, errsz, -EBADMSG, "audit: the newest row has a malformed hash");
                memcpy(prev, sqlite3_column_blob(last, 0), 32);
        }
        r = row_hash(prev, now, actor->key_id, action, target, actor->request_id, detail, hash);
        if (r < 0)
                return errorf(err, errsz, r, "audit: SHA-256 failed");

        r = store_prepare(s->db,
                          "INSERT INTO audit (time, actor, action, target, request_id, detail, prev_hash, hash) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                          &ins, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(ins, err, errsz, "ittttthh", (int64_t) now, actor->key_id, action, target, actor->request_id,
                       detail, prev, hash);
        if (r < 0)
                return r;
        r = store_step(ins, err, errsz);
        return r < 0 ? r : 0;
}

int store_audit_record(Store *s, const StoreActor *actor, const char *action, const char *target, const cJSON *detail,
                       char *err, size_t errsz) {
        _cleanup_free_ char *text = NULL;
        int r;

        if (detail) {
                r = json_print(detail, &text);
                if (r < 0)
                        return errorf(err, errsz, r, "audit: out of memory");
                if (strlen(text) > STORE_JSON_MAX)
                        return errorf(err, errsz, -E2BIG, "audit detail: longer than %d bytes", STORE_JSON_MAX);
        }
        return audit_insert(s, actor, action, target, text ?: "{}", err, errsz);
}

int store_audit_append(Store *s, const StoreActor *actor, const char *action, const char *target,
                       const char *detail_json, char *err, size_t errsz) {
        _cleanup_tx_ StoreTx tx = {};
        _cleanup_free_ char *detail = NULL;
        int r;

        if (!s)
                return -EINVAL;
        if (detail_json) {
                r = store_canonical_object("audit detail", detail_json, STORE_JSON_MAX, false, &detail, err, errsz);
                if (r < 0)
                        return r;
        }
        r = store_tx_begin(s, &tx, err, errsz);
        if (r < 0)
                return r;
        r = audit_insert(s, actor, action, target, detail ?: "{}", err, errsz);
        if (r < 0)
                return r;
        return store_tx_commit(&tx, err, errsz);
}

/* Reads a row of "id, time, actor, action, target, request_id, detail". */
static int read_entry(sqlite3_stmt *st, void *row, void *userdata) {
        StoreAuditEntry *e = row;

        e->id = sqlite3_column_int64(st, 0);
        e->time = store_column_u64(st, 1);
        if (store_column_strdup(st, 2, &e->actor) < 0 || store_column_strdup(st, 3, &e->action) < 0 ||
            store_column_strdup(st, 4, &e->target) < 0 || store_column_strdup(st, 5, &e->request_id) < 0 ||
            store_column_strdup(st, 6, &e->detail_json) < 0)
                return -ENOMEM;
        return 0;
}

int store_audit_list(Store *s, const StoreAuditFilter *filter, StoreAuditEntry **ret, size_t *ret_n, char *err,
                     size_t errsz) {
        static const StoreAuditFilter none = {};
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        unsigned limit;
        int r;

        if (!s || !ret || !ret_n)
                return -EINVAL;
        if (!filter)
                filter = &none;
        limit = filter->limit ?: STORE_AUDIT_LIST_DEFAULT;
        if (limit > STORE_AUDIT_LIST_MAX)
                return errorf(err, errsz, -EINVAL, "limit: at most %d rows per page", STORE_AUDIT_LIST_MAX);
        if (filter->before_id < 0)
                return errorf(err, errsz, -EINVAL, "before_id: must not be negative");

        r = store_prepare(s->db,
                          "SELECT id, time, actor, action, target, request_id, detail FROM audit "
                          "WHERE (?1 IS NULL OR actor = ?1) AND (?2 IS NULL OR action = ?2) "
                          "  AND (?3 IS NULL OR target = ?3) AND (?4 IS NULL OR time >= ?4) "
                          "  AND (?5 IS NULL OR time < ?5) AND (?6 IS NULL OR id < ?6) "
                          "ORDER BY id DESC LIMIT ?7",
                          &st, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(st, err, errsz, "tttoooi", filter->actor, filter->action, filter->target, filter->since,
                       filter->until, (uint64_t) filter->before_id, (int64_t) limit);
        if (r < 0)
                return r;
        return store_collect(st, sizeof **ret, read_entry, NULL, store_audit_entries_free_rows, "audit", (void **) ret,
                             ret_n, err, errsz);
}

int store_audit_verify(Store *s, uint64_t *ret_rows, char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        uint8_t prev[32] = {}, hash[32];
        uint64_t rows = 0;
        int r;

        if (!s)
                return -EINVAL;
        r = store_prepare(s->db,
                          "SELECT id, time, actor, action, target, request_id, detail, prev_hash, hash "
                          "FROM audit ORDER BY id",
                          &st, err, errsz);
        if (r < 0)
                return r;
        while ((r = store_step(st, err, errsz)) > 0) {
                int64_t id = sqlite3_column_int64(st, 0);

                if (sqlite3_column_bytes(st, 7) != 32 || sqlite3_column_bytes(st, 8) != 32)
                        return errorf(err, errsz, -EBADMSG, "audit row %lld: malformed hash", (long long) id);
                if (CRYPTO_memcmp(sqlite3_column_blob(st, 7), prev, 32) != 0)
                        return errorf(err, errsz, -EBADMSG,
                                      "audit row %lld: does not follow the row before it (rows removed or inserted)",
                                      (long long) id);
                r = row_hash(prev, store_column_u64(st, 1), (const char *) sqlite3_column_text(st, 2),
                             (const char *) sqlite3_column_text(st, 3), (const char *) sqlite3_column_text(st, 4),
                             (const char *) sqlite3_column_text(st, 5), (const char *) sqlite3_column_text(st, 6),
                             hash);
                if (r < 0)
                        return errorf(err, errsz, r, "audit: SHA-256 failed");
                if (CRYPTO_memcmp(sqlite3_column_blob(st, 8), hash, 32) != 0)
                        return errorf(err, errsz, -EBADMSG, "audit row %lld: hash mismatch (row edited)",
                                      (long long) id);
                memcpy(prev, hash, 32);
                rows++;
        }
        if (r < 0)
                return r;
        if (ret_rows)
                *ret_rows = rows;
        return 0;
}
