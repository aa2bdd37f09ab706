/* store-keys.c: API keys: creation (secret shown once), constant-time lookup, revocation, the bootstrap key. */
#include "store-keys.h"

#include <openssl/crypto.h>

#include "json.h"
#include "store-internal.h"

#define KEY_COLUMNS "id, name, prefix, role, created_at, expires_at, revoked_at, created_by, models, labels"

static const char *const role_names[_STORE_ROLE_MAX] = {
        [STORE_ROLE_ADMIN] = "admin",
        [STORE_ROLE_DEVELOPER] = "developer",
        [STORE_ROLE_AUDITOR] = "auditor",
};

const char *store_role_to_string(StoreRole r) {
        return r >= 0 && r < _STORE_ROLE_MAX ? role_names[r] : NULL;
}

StoreRole store_role_from_string(const char *s) {
        return (StoreRole) string_table_lookup(role_names, _STORE_ROLE_MAX, s);
}

static void strv_free(char **v) {
        for (char **p = v; p && *p; p++)
                free(*p);
        free(v);
}

void store_api_key_done(StoreApiKey *k) {
        if (!k)
                return;
        free(k->id);
        free(k->name);
        free(k->prefix);
        free(k->created_by);
        strv_free(k->models);
        free(k->labels_json);
        *k = (StoreApiKey){};
}

STORE_DEFINE_FREE(StoreApiKey, store_api_key)
STORE_DEFINE_ARRAY_FREE(StoreApiKey, store_api_key, store_api_keys)

bool store_api_key_allows_model(const StoreApiKey *k, const char *model) {
        if (!k || !model)
                return false;
        if (!k->models)
                return true;
        for (char **m = k->models; *m; m++)
                if (streq(*m, model))
                        return true;
        return false;
}

/* The models column (a JSON array of names, or NULL) as a NULL-terminated list. */
static int parse_models(const char *json, char ***ret, size_t *ret_n) {
        _cleanup_(cJSON_Deletep) cJSON *arr = NULL;
        const cJSON *item;
        char **v;
        size_t n = 0;

        if (!json) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        arr = cJSON_Parse(json);
        if (!cJSON_IsArray(arr))
                return arr ? -EBADMSG : -ENOMEM;
        v = calloc((size_t) cJSON_GetArraySize(arr) + 1, sizeof *v);
        if (!v)
                return -ENOMEM;
        cJSON_ArrayForEach(item, arr) {
                if (!cJSON_IsString(item)) {
                        strv_free(v);
                        return -EBADMSG;
                }
                v[n] = strdup(item->valuestring);
                if (!v[n]) {
                        strv_free(v);
                        return -ENOMEM;
                }
                n++;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* Reads the KEY_COLUMNS of the current row. */
static int read_key(sqlite3_stmt *st, int first, StoreApiKey *k) {
        StoreApiKey x = {};
        int r;

        if (store_column_strdup(st, first, &x.id) < 0 || store_column_strdup(st, first + 1, &x.name) < 0 ||
            store_column_strdup(st, first + 2, &x.prefix) < 0 ||
            store_column_strdup(st, first + 7, &x.created_by) < 0 ||
            store_column_strdup(st, first + 9, &x.labels_json) < 0) {
                store_api_key_done(&x);
                return -ENOMEM;
        }
        x.role = store_role_from_string((const char *) sqlite3_column_text(st, first + 3));
        x.created_at = store_column_u64(st, first + 4);
        x.expires_at = store_column_u64(st, first + 5);
        x.revoked_at = store_column_u64(st, first + 6);
        r = parse_models((const char *) sqlite3_column_text(st, first + 8), &x.models, &x.n_models);
        if (r < 0) {
                store_api_key_done(&x);
                return r;
        }
        *k = x;
        return 0;
}

static int read_key_row(sqlite3_stmt *st, void *row, void *userdata) {
        return read_key(st, 0, row);
}

/* Fetches one key by id into a new record. */
static int get_key(Store *s, const char *id, StoreApiKey **ret, char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_(store_api_key_freep) StoreApiKey *k = NULL;
        int r;

        r = store_prepare(s->db, "SELECT " KEY_COLUMNS " FROM api_keys WHERE id = ?", &st, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(st, err, errsz, "t", id);
        if (r < 0)
                return r;
        r = store_step(st, err, errsz);
        if (r < 0)
                return r;
        if (r == 0)
                return errorf(err, errsz, -ENOENT, "API key %s: not found", id);
        k = calloc(1, sizeof *k);
        if (!k)
                return errorf(err, errsz, -ENOMEM, "API key: out of memory");
        r = read_key(st, 0, k);
        if (r < 0)
                return errorf(err, errsz, r, "API key %s: %s", id, r == -ENOMEM ? "out of memory" : "malformed row");
        *ret = TAKE_PTR(k);
        return 0;
}

/* Checks the allow-list and returns it as a JSON array (NULL for "all models"). */
static int models_json(const StoreApiKeyParams *p, char **ret, char *err, size_t errsz) {
        _cleanup_(cJSON_Deletep) cJSON *arr = NULL;
        int r;

        if (!p->models || p->n_models == 0) {
                *ret = NULL;
                return 0;
        }
        if (p->n_models > STORE_API_KEY_MODELS_MAX)
                return errorf(err, errsz, -E2BIG, "models: more than %d entries", STORE_API_KEY_MODELS_MAX);
        arr = cJSON_CreateArray();
        if (!arr)
                return errorf(err, errsz, -ENOMEM, "models: out of memory");
        for (size_t i = 0; i < p->n_models; i++) {
                r = store_check_name("models", p->models[i], true, err, errsz);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < i; j++)
                        if (streq(p->models[i], p->models[j]))
                                return errorf(err, errsz, -EINVAL, "models: \"%s\" listed twice", p->models[i]);
                if (!cJSON_AddItemToArray(arr, cJSON_CreateString(p->models[i])))
                        return errorf(err, errsz, -ENOMEM, "models: out of memory");
        }
        r = json_print(arr, ret);
        if (r < 0)
                return errorf(err, errsz, r, "models: out of memory");
        return 0;
}

int store_api_key_create(Store *s, const StoreApiKeyParams *p, const StoreActor *actor, char **ret_secret,
                         StoreApiKey **ret_key, char *err, size_t errsz) {
        _cleanup_tx_ StoreTx tx = {};
        _cleanup_stmt_ sqlite3_stmt *ins = NULL;
        _cleanup_(cJSON_Deletep) cJSON *detail = NULL;
        _cleanup_secret_ char *secret = NULL;
        _cleanup_free_ char *models = NULL, *labels = NULL;
        char id[17], prefix[STORE_API_KEY_DISPLAY_LEN + 1], when[TIME_RFC3339_MAX];
        uint8_t hash[32];
        uint64_t now, expires = 0;
        int64_t n;
        int r;

        if (!s || !p || !ret_secret)
                return -EINVAL;
        r = store_check_name("key name", p->name, false, err, errsz);
        if (r < 0)
                return r;
        if (!store_role_to_string(p->role))
                return errorf(err, errsz, -EINVAL, "role: must be admin, developer or auditor");
        if (p->ttl_usec != 0 && (p->ttl_usec < USEC_PER_SEC || p->ttl_usec > STORE_API_KEY_TTL_MAX))
                return errorf(err, errsz, -EINVAL, "ttl: must be between 1s and 3650d (or none)");
        r = models_json(p, &models, err, errsz);
        if (r < 0)
                return r;
        r = store_canonical_object("labels", p->labels_json ?: "{}", STORE_JSON_MAX, true, &labels, err, errsz);
        if (r < 0)
                return r;
        r = store_check_actor(actor, err, errsz);
        if (r < 0)
                return r;

        r = store_random_id(id);
        if (r >= 0)
                r = store_random_secret(STORE_API_KEY_PREFIX, &secret);
        if (r < 0)
                return errorf(err, errsz, r, "API key: no random bytes: %s", strerror(-r));
        r = store_sha256(secret, strlen(secret), hash);
        if (r < 0)
                return errorf(err, errsz, r, "API key: SHA-256 failed");
        snprintf(prefix, sizeof prefix, "%s", secret);

        r = store_tx_begin(s, &tx, err, errsz);
        if (r < 0)
                return r;
        now = store_now(s);
        if (p->ttl_usec)
                expires = now + p->ttl_usec;
        r = store_count(s, "SELECT count(*) FROM api_keys WHERE revoked_at IS NULL", &n, err, errsz, "");
        if (r < 0)
                return r;
        if (n >= (int64_t) s->limits.max_api_keys)
                return errorf(err, errsz, -E2BIG, "too many API keys (limit %u): revoke unused ones",
                              s->limits.max_api_keys);
        r = store_count(s, "SELECT count(*) FROM api_keys WHERE revoked_at IS NULL AND name = ?", &n, err, errsz, "t",
                        p->name);
        if (r < 0)
                return r;
        if (n > 0)
                return errorf(err, errsz, -EEXIST, "an API key named \"%s\" exists: revoke it or pick another name",
                              p->name);

        r = store_prepare(s->db,
                          "INSERT INTO api_keys (id, hash, prefix, name, role, created_at, expires_at, created_by, "
                          "models, labels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          &ins, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(ins, err, errsz, "thtttiottt", id, hash, prefix, p->name, store_role_to_string(p->role),
                       (int64_t) now, expires, actor->key_id, models, labels);
        if (r < 0)
                return r;
        r = store_step(ins, err, errsz);
        if (r < 0)
                return r;

        detail = cJSON_CreateObject();
        if (!detail || !cJSON_AddStringToObject(detail, "name", p->name) ||
            !cJSON_AddStringToObject(detail, "role", store_role_to_string(p->role)) ||
            (expires && !cJSON_AddStringToObject(detail, "expires_at", time_format_rfc3339(expires, when))) ||
            (models && !cJSON_AddItemToObject(detail, "models", cJSON_Parse(models))) ||
            !cJSON_AddItemToObject(detail, "labels", cJSON_Parse(labels)))
                return errorf(err, errsz, -ENOMEM, "API key: out of memory");
        r = store_audit_record(s, actor, "api_key.create", id, detail, err, errsz);
        if (r < 0)
                return r;

        if (ret_key) {
                r = get_key(s, id, ret_key, err, errsz);
                if (r < 0)
                        return r;
        }
        r = store_tx_commit(&tx, err, errsz);
        if (r < 0) {
                if (ret_key)
                        *ret_key = store_api_key_free(*ret_key);
                return r;
        }
        *ret_secret = TAKE_PTR(secret);
        return 0;
}

int store_api_key_lookup(Store *s, const char *presented, StoreApiKey **ret, char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_(store_api_key_freep) StoreApiKey *k = NULL;
        char when[TIME_RFC3339_MAX];
        uint8_t hash[32];
        int r;

        if (!s || !ret)
                return -EINVAL;
        r = store_check_presented("API key", presented, STORE_API_KEY_PREFIX, err, errsz);
        if (r < 0)
                return r;
        r = store_sha256(presented, strlen(presented), hash);
        if (r < 0)
                return errorf(err, errsz, r, "API key: SHA-256 failed");
        r = store_prepare(s->db, "SELECT hash, " KEY_COLUMNS " FROM api_keys WHERE hash = ?", &st, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(st, err, errsz, "h", hash);
        if (r < 0)
                return r;
        r = store_step(st, err, errsz);
        if (r < 0)
                return r;
        if (r == 0 || sqlite3_column_bytes(st, 0) != 32 || CRYPTO_memcmp(sqlite3_column_blob(st, 0), hash, 32) != 0)
                return errorf(err, errsz, -ENOENT, "unknown API key");
        k = calloc(1, sizeof *k);
        if (!k)
                return errorf(err, errsz, -ENOMEM, "API key: out of memory");
        r = read_key(st, 1, k);
        if (r < 0)
                return errorf(err, errsz, r, "API key: %s", r == -ENOMEM ? "out of memory" : "malformed row");
        if (k->role < 0) /* deny by default: a role this code does not know grants nothing */
                return errorf(err, errsz, -EPERM, "API key %s: unknown role", k->id);
        if (k->revoked_at)
                return errorf(err, errsz, -EKEYREVOKED, "API key %s: revoked at %s", k->id,
                              time_format_rfc3339(k->revoked_at, when));
        if (k->expires_at && k->expires_at <= store_now(s))
                return errorf(err, errsz, -EKEYEXPIRED, "API key %s: expired at %s", k->id,
                              time_format_rfc3339(k->expires_at, when));
        *ret = TAKE_PTR(k);
        return 0;
}

int store_api_key_get(Store *s, const char *id, StoreApiKey **ret, char *err, size_t errsz) {
        int r;

        if (!s || !ret)
                return -EINVAL;
        r = store_check_name("key id", id, false, err, errsz);
        if (r < 0)
                return r;
        return get_key(s, id, ret, err, errsz);
}

int store_api_key_revoke(Store *s, const char *id, const StoreActor *actor, char *err, size_t errsz) {
        _cleanup_tx_ StoreTx tx = {};
        _cleanup_stmt_ sqlite3_stmt *upd = NULL;
        _cleanup_(store_api_key_freep) StoreApiKey *k = NULL;
        int r;

        if (!s)
                return -EINVAL;
        r = store_check_name("key id", id, false, err, errsz);
        if (r < 0)
                return r;
        r = store_check_actor(actor, err, errsz);
        if (r < 0)
                return r;
        r = store_tx_begin(s, &tx, err, errsz);
        if (r < 0)
                return r;
        r = get_key(s, id, &k, err, errsz);
        if (r < 0)
                return r;
        if (k->revoked_at)
                return errorf(err, errsz, -EALREADY, "API key %s: already revoked", id);
        r = store_prepare(s->db, "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", &upd, err,
                          errsz);
        if (r < 0)
                return r;
        r = store_bind(upd, err, errsz, "it", (int64_t) store_now(s), id);
        if (r < 0)
                return r;
        r = store_step(upd, err, errsz);
        if (r < 0)
                return r;
        r = store_audit_record(s, actor, "api_key.revoke", id, NULL, err, errsz);
        if (r < 0)
                return r;
        return store_tx_commit(&tx, err, errsz);
}

int store_api_key_list(Store *s, StoreApiKey **ret, size_t *ret_n, char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        if (!s || !ret || !ret_n)
                return -EINVAL;
        r = store_prepare(s->db, "SELECT " KEY_COLUMNS " FROM api_keys ORDER BY created_at DESC, id LIMIT ?", &st, err,
                          errsz);
        if (r < 0)
                return r;
        r = store_bind(st, err, errsz, "i", (int64_t) STORE_API_KEY_LIST_MAX);
        if (r < 0)
                return r;
        return store_collect(st, sizeof **ret, read_key_row, NULL, store_api_keys_free_rows, "API keys", (void **) ret,
                             ret_n, err, errsz);
}

int store_api_key_bootstrap(Store *s, StoreSecretPublish publish, void *userdata, char *err, size_t errsz) {
        static const StoreActor actor = { .key_id = "bootstrap" };
        const StoreApiKeyParams params = { .name = STORE_BOOTSTRAP_KEY_NAME, .role = STORE_ROLE_ADMIN };
        _cleanup_tx_ StoreTx tx = {};
        _cleanup_stmt_ sqlite3_stmt *sel = NULL, *ins = NULL;
        _cleanup_secret_ char *secret = NULL;
        _cleanup_(store_api_key_freep) StoreApiKey *k = NULL;
        char e[256];
        int r;

        if (!s || !publish)
                return -EINVAL;
        r = store_tx_begin(s, &tx, err, errsz);
        if (r < 0)
                return r;
        r = store_prepare(s->db, "SELECT value FROM meta WHERE key = 'bootstrap_key_id'", &sel, err, errsz);
        if (r < 0)
                return r;
        r = store_step(sel, err, errsz);
        if (r < 0)
                return r;
        if (r > 0)
                return errorf(err, errsz, -EEXIST, "the bootstrap admin key was already created (id %s)",
                              (const char *) sqlite3_column_text(sel, 0));
        r = store_api_key_create(s, &params, &actor, &secret, &k, err, errsz);
        if (r < 0)
                return r;
        r = store_prepare(s->db, "INSERT INTO meta (key, value) VALUES ('bootstrap_key_id', ?)", &ins, err, errsz);
        if (r < 0)
                return r;
        r = store_bind(ins, err, errsz, "t", k->id);
        if (r < 0)
                return r;
        r = store_step(ins, err, errsz);
        if (r < 0)
                return r;
        r = publish(secret, k, userdata);
        if (r < 0)
                return errorf(err, errsz, r, "bootstrap admin key: could not be handed over: %s",
                              strerror_r(-r, e, sizeof e));
        return store_tx_commit(&tx, err, errsz);
}
