/* store-rules.c: the routing rule set's versions: append-only, audited, newest wins. */
#include "store-rules.h"

#include <inttypes.h>
#include <stdio.h>

#include "json.h"
#include "store-internal.h"

void store_rule_set_done(StoreRuleSet *r) {
        if (!r)
                return;
        free(r->document);
        free(r->actor);
        *r = (StoreRuleSet){};
}

STORE_DEFINE_FREE(StoreRuleSet, store_rule_set)
STORE_DEFINE_ARRAY_FREE(StoreRuleSet, store_rule_set, store_rule_sets)

/* Reads a row of "version, actor, created_at[, document]". */
static int read_rule_set(sqlite3_stmt *st, bool with_document, StoreRuleSet *ret) {
        StoreRuleSet x = {
                .version = store_column_u64(st, 0),
                .created_at = store_column_u64(st, 2),
        };

        if (store_column_strdup(st, 1, &x.actor) < 0 ||
            (with_document && store_column_strdup(st, 3, &x.document) < 0)) {
                store_rule_set_done(&x);
                return -ENOMEM;
        }
        *ret = x;
        return 0;
}

static int read_rule_set_row(sqlite3_stmt *st, void *row, void *userdata) {
        return read_rule_set(st, false, row);
}

/* One row of a query that selects "version, actor, created_at, document", bound by fmt. */
static int get_one(Store *s, const char *sql, const char *what, StoreRuleSet **ret, char *err, size_t errsz,
                   const char *fmt, int64_t arg) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_(store_rule_set_freep) StoreRuleSet *rs = NULL;
        int r;

        r = store_prepare(s->db, sql, &st, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(st, err, errsz, fmt, arg);
        if (r < 0)
                return r;
        r = store_step(st, err, errsz);
        if (r < 0)
                return r;
        if (r == 0)
                return errorf(err, errsz, -ENOENT, "%s: not found", what);
        rs = calloc(1, sizeof *rs);
        if (!rs || read_rule_set(st, true, rs) < 0)
                return errorf(err, errsz, -ENOMEM, "rule set: out of memory");
        *ret = TAKE_PTR(rs);
        return 0;
}

int store_rules_latest(Store *s, StoreRuleSet **ret, char *err, size_t errsz) {
        if (!s || !ret)
                return -EINVAL;
        return get_one(s, "SELECT version, actor, created_at, document FROM rule_sets ORDER BY version DESC LIMIT 1",
                       "rule set", ret, err, errsz, "", 0);
}

int store_rules_get(Store *s, uint64_t version, StoreRuleSet **ret, char *err, size_t errsz) {
        char what[64];

        if (!s || !ret)
                return -EINVAL;
        if (version == 0 || version > INT64_MAX)
                return errorf(err, errsz, -EINVAL, "rule set version: must be 1 or more");
        snprintf(what, sizeof what, "rule set version %" PRIu64, version);
        return get_one(s, "SELECT version, actor, created_at, document FROM rule_sets WHERE version = ?", what, ret,
                       err, errsz, "i", (int64_t) version);
}

int store_rules_add(Store *s, const char *document, const StoreActor *actor, uint64_t *ret_version, char *err,
                    size_t errsz) {
        _cleanup_tx_ StoreTx tx = {};
        _cleanup_(cJSON_Deletep) cJSON *detail = NULL;
        _cleanup_free_ char *text = NULL;
        char target[24];
        int64_t latest;
        int r;

        if (!s)
                return -EINVAL;
        r = store_canonical_object("rule set", document, STORE_RULES_DOCUMENT_MAX, false, &text, err, errsz);
        if (r < 0)
                return r;
        r = store_check_actor(actor, err, errsz);
        if (r < 0)
                return r;

        r = store_tx_begin(s, &tx, err, errsz);
        if (r < 0)
                return r;
        r = store_count(s, "SELECT coalesce(max(version), 0) FROM rule_sets", &latest, err, errsz, "");
        if (r < 0)
                return r;
        r = store_run(s, "INSERT INTO rule_sets (version, document, actor, created_at) VALUES (?, ?, ?, ?)", err,
                      errsz, "itti", latest + 1, text, actor->key_id, (int64_t) store_now(s));
        if (r < 0)
                return r;
        snprintf(target, sizeof target, "%" PRId64, latest + 1);
        detail = cJSON_CreateObject();
        if (!detail || !cJSON_AddNumberToObject(detail, "version", (double) (latest + 1)) ||
            !cJSON_AddNumberToObject(detail, "previous", (double) latest) ||
            !cJSON_AddNumberToObject(detail, "bytes", (double) strlen(text)))
                return errorf(err, errsz, -ENOMEM, "rule set: out of memory");
        r = store_audit_record(s, actor, "rules.set", target, detail, err, errsz);
        if (r < 0)
                return r;
        r = store_tx_commit(&tx, err, errsz);
        if (r < 0)
                return r;
        if (ret_version)
                *ret_version = (uint64_t) latest + 1;
        return 0;
}

int store_rules_list(Store *s, unsigned limit, StoreRuleSet **ret, size_t *ret_n, char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        if (!s || !ret || !ret_n)
                return -EINVAL;
        if (limit > STORE_RULES_LIST_MAX)
                return errorf(err, errsz, -EINVAL, "limit: at most %d", STORE_RULES_LIST_MAX);
        r = store_prepare(s->db, "SELECT version, actor, created_at FROM rule_sets ORDER BY version DESC LIMIT ?", &st,
                          err, errsz);
        if (r < 0)
                return r;
        r = store_bind(st, err, errsz, "i", (int64_t) (limit ?: STORE_RULES_LIST_DEFAULT));
        if (r < 0)
                return r;
        return store_collect(st, sizeof **ret, read_rule_set_row, NULL, store_rule_sets_free_rows, "rule sets",
                             (void **) ret, ret_n, err, errsz);
}
