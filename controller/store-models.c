/* store-models.c: adding, listing and removing models in the catalogue. */
#include "store-models.h"

#include "json.h"
#include "store-internal.h"

#define MODEL_COLUMNS "name, source, sha256, size, created_at, created_by"

void store_model_done(StoreModel *m) {
        if (!m)
                return;
        free(m->name);
        free(m->source);
        free(m->sha256);
        free(m->created_by);
        *m = (StoreModel){};
}

STORE_DEFINE_FREE(StoreModel, store_model)
STORE_DEFINE_ARRAY_FREE(StoreModel, store_model, store_models)

static int read_model(sqlite3_stmt *st, StoreModel *m) {
        StoreModel x = {};

        if (store_column_strdup(st, 0, &x.name) < 0 || store_column_strdup(st, 1, &x.source) < 0 ||
            store_column_strdup(st, 2, &x.sha256) < 0 || store_column_strdup(st, 5, &x.created_by) < 0) {
                store_model_done(&x);
                return -ENOMEM;
        }
        x.size = store_column_u64(st, 3);
        x.created_at = store_column_u64(st, 4);
        *m = x;
        return 0;
}

static int read_model_row(sqlite3_stmt *st, void *row, void *userdata) {
        return read_model(st, row);
}

static int get_model(Store *s, const char *name, StoreModel **ret, char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_(store_model_freep) StoreModel *m = NULL;
        int r;

        r = store_prepare(s->db, "SELECT " MODEL_COLUMNS " FROM models WHERE name = ?", &st, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(st, err, errsz, "t", name);
        if (r < 0)
                return r;
        r = store_step(st, err, errsz);
        if (r < 0)
                return r;
        if (r == 0)
                return errorf(err, errsz, -ENOENT, "model %s: not found", name);
        m = calloc(1, sizeof *m);
        if (!m || read_model(st, m) < 0)
                return errorf(err, errsz, -ENOMEM, "model: out of memory");
        *ret = TAKE_PTR(m);
        return 0;
}

static int check_source(const char *source, char *err, size_t errsz) {
        const char *colon;
        int r;

        r = store_check_text("source", source, STORE_SOURCE_MAX, err, errsz);
        if (r < 0)
                return r;
        if (source[0] == '/')
                return 0;
        colon = strstr(source, "://");
        if (colon && colon > source) {
                for (const char *p = source; p < colon; p++)
                        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                              (p > source && ((*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.'))))
                                goto bad;
                return 0;
        }
bad:
        return errorf(err, errsz, -EINVAL, "source: expected a URL (scheme://...) or an absolute path");
}

int store_model_add(Store *s, const char *name, const char *source, const char *sha256, uint64_t size,
                    const StoreActor *actor, StoreModel **ret, char *err, size_t errsz) {
        _cleanup_tx_ StoreTx tx = {};
        _cleanup_stmt_ sqlite3_stmt *ins = NULL;
        _cleanup_(cJSON_Deletep) cJSON *detail = NULL;
        char digest[65];
        int64_t n;
        int r;

        if (!s)
                return -EINVAL;
        r = store_check_name("model name", name, true, err, errsz);
        if (r < 0)
                return r;
        r = check_source(source, err, errsz);
        if (r < 0)
                return r;
        if (!sha256 || strnlen(sha256, 65) != 64)
                return errorf(err, errsz, -EINVAL, "sha256: expected 64 hex digits");
        for (size_t i = 0; i < 64; i++) {
                char c = sha256[i];
                if (c >= 'A' && c <= 'F')
                        c = (char) (c - 'A' + 'a');
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                        return errorf(err, errsz, -EINVAL, "sha256: expected 64 hex digits");
                digest[i] = c;
        }
        digest[64] = '\0';
        if (size == 0 || size > INT64_MAX)
                return errorf(err, errsz, -EINVAL, "size: must be 1..%lld bytes", (long long) INT64_MAX);
        r = store_check_actor(actor, err, errsz);
        if (r < 0)
                return r;

        r = store_tx_begin(s, &tx, err, errsz);
        if (r < 0)
                return r;
        r = store_count(s, "SELECT count(*) FROM models WHERE name = ?", &n, err, errsz, "t", name);
        if (r < 0)
                return r;
        if (n > 0)
                return errorf(err, errsz, -EEXIST, "model %s: already exists", name);
        r = store_count(s, "SELECT count(*) FROM models", &n, err, errsz, "");
        if (r < 0)
                return r;
        if (n >= (int64_t) s->limits.max_models)
                return errorf(err, errsz, -E2BIG, "too many models (limit %u)", s->limits.max_models);
        r = store_prepare(s->db,
                          "INSERT INTO models (name, source, sha256, size, created_at, created_by) "
                          "VALUES (?, ?, ?, ?, ?, ?)",
                          &ins, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(ins, err, errsz, "tttiit", name, source, digest, (int64_t) size, (int64_t) store_now(s),
                       actor->key_id);
        if (r < 0)
                return r;
        r = store_step(ins, err, errsz);
        if (r < 0)
                return r;
        detail = cJSON_CreateObject();
        if (!detail || !cJSON_AddStringToObject(detail, "source", source) ||
            !cJSON_AddStringToObject(detail, "sha256", digest) ||
            !cJSON_AddNumberToObject(detail, "size", (double) size))
                return errorf(err, errsz, -ENOMEM, "model: out of memory");
        r = store_audit_record(s, actor, "model.add", name, detail, err, errsz);
        if (r < 0)
                return r;
        if (ret) {
                r = get_model(s, name, ret, err, errsz);
                if (r < 0)
                        return r;
        }
        r = store_tx_commit(&tx, err, errsz);
        if (r < 0 && ret)
                *ret = store_model_free(*ret);
        return r;
}

int store_model_remove(Store *s, const char *name, const StoreActor *actor, char *err, size_t errsz) {
        _cleanup_tx_ StoreTx tx = {};
        _cleanup_stmt_ sqlite3_stmt *del = NULL;
        int64_t n;
        int r;

        if (!s)
                return -EINVAL;
        r = store_check_name("model name", name, true, err, errsz);
        if (r < 0)
                return r;
        r = store_check_actor(actor, err, errsz);
        if (r < 0)
                return r;
        r = store_tx_begin(s, &tx, err, errsz);
        if (r < 0)
                return r;
        r = store_count(s, "SELECT count(*) FROM deployments WHERE model = ?", &n, err, errsz, "t", name);
        if (r < 0)
                return r;
        if (n > 0)
                return errorf(err, errsz, -EBUSY, "model %s: used by %lld deployment(s); delete them first", name,
                              (long long) n);
        r = store_prepare(s->db, "DELETE FROM models WHERE name = ?", &del, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(del, err, errsz, "t", name);
        if (r < 0)
                return r;
        r = store_step(del, err, errsz);
        if (r < 0)
                return r;
        if (sqlite3_changes(s->db) == 0)
                return errorf(err, errsz, -ENOENT, "model %s: not found", name);
        r = store_audit_record(s, actor, "model.remove", name, NULL, err, errsz);
        if (r < 0)
                return r;
        return store_tx_commit(&tx, err, errsz);
}

int store_model_get(Store *s, const char *name, StoreModel **ret, char *err, size_t errsz) {
        int r;

        if (!s || !ret)
                return -EINVAL;
        r = store_check_name("model name", name, true, err, errsz);
        if (r < 0)
                return r;
        return get_model(s, name, ret, err, errsz);
}

int store_model_list(Store *s, bool deployed_only, StoreModel **ret, size_t *ret_n, char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        if (!s || !ret || !ret_n)
                return -EINVAL;
        r = store_prepare(s->db,
                          deployed_only ? "SELECT " MODEL_COLUMNS " FROM models WHERE name IN "
                                          "(SELECT model FROM deployments WHERE state != 'stopped') ORDER BY name"
                                        : "SELECT " MODEL_COLUMNS " FROM models ORDER BY name",
                          &st, err, errsz);
        if (r < 0)
                return r;
        return store_collect(st, sizeof **ret, read_model_row, NULL, store_models_free_rows, "models", (void **) ret,
                             ret_n, err, errsz);
}

bool store_model_deployed(Store *s, const char *name) {
        int64_t n = 0;
        char err[256];

        return store_count(s, "SELECT count(*) FROM deployments WHERE model = ? AND state != 'stopped'", &n, err,
                           sizeof err, "t", name) >= 0 &&
               n > 0;
}
