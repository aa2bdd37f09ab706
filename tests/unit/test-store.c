/* test-store.c: the controller's SQLite store: every operation and refusal, migrations, concurrency, kill -9. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "encode.h"
#include "random.h"
#include "store-audit.h"
#include "store-deployments.h"
#include "store-jobs.h"
#include "store-internal.h"
#include "store-keys.h"
#include "store-models.h"
#include "store-nodes.h"
#include "store-rules.h"
#include "store-tokens.h"
#include "test.h"

#define HOUR USEC_PER_HOUR
#define T0 (UINT64_C(1767225600) * USEC_PER_SEC) /* 2026-01-01T00:00:00Z */

static const StoreActor admin = { .key_id = "0123456789abcdef", .request_id = "req-1" };
static const char sha[] = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

static char *db_path(const char *name) {
        static char buf[8][512];
        static unsigned next;
        char *p = buf[next++ % 8];

        snprintf(p, sizeof buf[0], "%s/%s", test_tmpdir(), name);
        return p;
}

/* Removes a database with its -wal and -shm files. */
static void remove_db(const char *path) {
        char p[600];

        (void) unlink(path);
        snprintf(p, sizeof p, "%s-wal", path);
        (void) unlink(p);
        snprintf(p, sizeof p, "%s-shm", path);
        (void) unlink(p);
}

/* A fresh store at a fixed clock. */
static Store *open_fresh(const char *name) {
        char *path = db_path(name);
        char err[256];
        Store *s = NULL;

        remove_db(path);
        if (store_open(path, &s, err, sizeof err) < 0) {
                printf("# store_open(%s): %s\n", path, err);
                return NULL;
        }
        store_set_now(s, T0);
        return s;
}

/* The first column of the first row of constant SQL, as a number (-1 on error). */
static int64_t sql_int(sqlite3 *db, const char *sql) {
        sqlite3_stmt *st = NULL;
        int64_t v = -1;

        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
                v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return v;
}

/* Whether any text or blob cell of table contains needle. */
static bool table_contains(sqlite3 *db, const char *table, const char *needle) {
        char sql[128];
        sqlite3_stmt *st = NULL;
        bool found = false;

        snprintf(sql, sizeof sql, "SELECT * FROM %s", table);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
                return true;
        while (!found && sqlite3_step(st) == SQLITE_ROW)
                for (int i = 0; i < sqlite3_column_count(st); i++) {
                        const void *b = sqlite3_column_blob(st, i);
                        int n = sqlite3_column_bytes(st, i);
                        if (b && memmem(b, (size_t) n, needle, strlen(needle)))
                                found = true;
                }
        sqlite3_finalize(st);
        return found;
}

/* ---- open, pragmas, migrations ---- */

TEST(open_sets_wal_full_sync_foreign_keys_and_0600) {
        _cleanup_store_ Store *s = open_fresh("pragmas.db");
        char err[256];
        struct stat st;

        ASSERT_NOT_NULL(s);
        ASSERT_TRUE(stat(db_path("pragmas.db"), &st) == 0);
        ASSERT_EQ(st.st_mode & 0777, 0600);
        ASSERT_TRUE(stat(db_path("pragmas.db-wal"), &st) == 0);
        ASSERT_EQ(st.st_mode & 0777, 0600);
        ASSERT_EQ(sql_int(s->db, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
        ASSERT_EQ(sql_int(s->db, "PRAGMA synchronous"), 2);
        ASSERT_EQ(sql_int(s->db, "PRAGMA foreign_keys"), 1);
        ASSERT_UEQ(store_schema_version(s), STORE_SCHEMA_VERSION);
        ASSERT_EQ(sql_int(s->db, "SELECT count(*) FROM schema_version"), STORE_SCHEMA_VERSION);
        ASSERT_OK(store_integrity_check(s, err, sizeof err));
        s = store_close(s);
        ASSERT_NULL(s);
        /* reopening applies nothing */
        ASSERT_OK(store_open(db_path("pragmas.db"), &s, err, sizeof err));
        ASSERT_EQ(sql_int(s->db, "SELECT count(*) FROM schema_version"), STORE_SCHEMA_VERSION);
        ASSERT_NULL(store_close(NULL));
}

TEST(open_refuses_non_sqlite_and_foreign_databases) {
        char *path = db_path("garbage.db"), err[256] = "";
        Store *s = NULL;
        sqlite3 *db = NULL;
        int fd;

        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ASSERT_TRUE(fd >= 0);
        for (int i = 0; i < 64; i++)
                ASSERT_TRUE(write(fd, "this is not a database file at all", 34) == 34);
        close(fd);
        ASSERT_ERROR(store_open(path, &s, err, sizeof err), -EBADMSG);
        ASSERT_CONTAINS(err, "not an SQLite database");
        ASSERT_NULL(s);

        path = db_path("foreign.db");
        ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE users (id INTEGER)", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
        ASSERT_ERROR(store_open(path, &s, err, sizeof err), -EBADMSG);
        ASSERT_CONTAINS(err, "not a sluice database");

        ASSERT_ERROR(store_open("", &s, err, sizeof err), -EINVAL);
        ASSERT_TRUE(store_open("/nonexistent-dir/x.db", &s, err, sizeof err) < 0);
        ASSERT_CONTAINS(err, "/nonexistent-dir/x.db");
}

TEST(migrates_a_version_1_database_and_keeps_its_rows) {
        char *path = db_path("v1.db"), err[256];
        _cleanup_store_ Store *s = NULL;
        _cleanup_(store_node_freep) StoreNode *n = NULL;
        sqlite3 *db = NULL;
        unsigned v = 0;

        remove_db(path);
        ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
        ASSERT_OK(store_schema_migrate(db, 1, &v, err, sizeof err));
        ASSERT_UEQ(v, 1);
        ASSERT_EQ(sql_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'models'"), 0);
        /* rows written by a version-1 controller, by hand */
        ASSERT_EQ(sqlite3_exec(db,
                               "INSERT INTO nodes (id, name, zone, state, enrolled_at, labels) VALUES "
                               "('11111111-2222-4333-8444-555555555555', 'gpu-old', 'private', 'online', 1, "
                               "'{\"rack\":\"r1\"}')",
                               NULL, NULL, NULL),
                  SQLITE_OK);
        sqlite3_close(db);

        ASSERT_OK(store_open(path, &s, err, sizeof err));
        ASSERT_UEQ(store_schema_version(s), STORE_SCHEMA_VERSION);
        ASSERT_EQ(sql_int(s->db, "SELECT count(*) FROM schema_version WHERE version IN (1, 2, 3)"), 3);
        ASSERT_OK(store_node_get(s, "gpu-old", &n, err, sizeof err));
        ASSERT_STREQ(n->labels_json, "{\"rack\":\"r1\"}");
        ASSERT_EQ(n->state, STORE_NODE_ONLINE);
        ASSERT_OK(store_model_add(s, "m1", "/models/m1.gguf", sha, 10, &admin, NULL, err, sizeof err));
        ASSERT_OK(store_integrity_check(s, err, sizeof err));
}

TEST(refuses_a_database_newer_than_the_code) {
        char *path = db_path("future.db"), err[256] = "";
        Store *s = open_fresh("future.db");

        ASSERT_NOT_NULL(s);
        ASSERT_EQ(sqlite3_exec(s->db, "INSERT INTO schema_version VALUES (99, 0)", NULL, NULL, NULL), SQLITE_OK);
        s = store_close(s);
        ASSERT_ERROR(store_open(path, &s, err, sizeof err), -EPROTONOSUPPORT);
        ASSERT_CONTAINS(err, "version 99 is newer");
        ASSERT_NULL(s);
}

TEST(migration_target_out_of_range_is_refused) {
        _cleanup_store_ Store *s = open_fresh("target.db");
        char err[256];

        ASSERT_NOT_NULL(s);
        ASSERT_ERROR(store_schema_migrate(s->db, STORE_SCHEMA_VERSION + 1, NULL, err, sizeof err), -EINVAL);
        ASSERT_OK(store_schema_migrate(s->db, 1, NULL, err, sizeof err)); /* already past: nothing to do */
}

/* ---- join tokens ---- */

TEST(join_token_create_redeem_once) {
        _cleanup_store_ Store *s = open_fresh("tokens.db");
        _cleanup_free_ char *token = NULL;
        _cleanup_free_ void *raw = NULL;
        _cleanup_(store_join_token_freep) StoreJoinToken *info = NULL, *used = NULL;
        StoreJoinToken *list = NULL;
        char err[256] = "";
        uint8_t hash[32];
        size_t n;

        ASSERT_NOT_NULL(s);
        ASSERT_OK(store_join_token_create(s, "gpu-1", STORE_ZONE_PRIVATE, 0, &admin, &token, &info, err, sizeof err));
        ASSERT_TRUE(strneq(token, "sjt-", 4));
        ASSERT_UEQ(strlen(token), 4 + 43);
        ASSERT_OK(decode_base64(token + 4, 43, true, &raw, &n));
        ASSERT_UEQ(n, 32); /* 256 bits of entropy */
        ASSERT_STREQ(info->node_name, "gpu-1");
        ASSERT_EQ(info->zone, STORE_ZONE_PRIVATE);
        ASSERT_UEQ(info->expires_at, T0 + HOUR);
        ASSERT_UEQ(info->used_at, 0);
        ASSERT_STREQ(info->created_by, admin.key_id);

        /* stored only as its hash */
        ASSERT_FALSE(table_contains(s->db, "join_tokens", token + 4));
        ASSERT_FALSE(table_contains(s->db, "audit", token + 4));
        ASSERT_OK(store_sha256(token, strlen(token), hash));
        ASSERT_EQ(sql_int(s->db, "SELECT count(*) FROM join_tokens WHERE length(hash) = 32"), 1);

        ASSERT_OK(store_join_token_redeem(s, token, "gpu-1", STORE_ZONE_PRIVATE, &used, err, sizeof err));
        ASSERT_STREQ(used->id, info->id);
        ASSERT_UEQ(used->used_at, T0);
        ASSERT_ERROR(store_join_token_redeem(s, token, "gpu-1", STORE_ZONE_PRIVATE, NULL, err, sizeof err), -EALREADY);
        ASSERT_CONTAINS(err, "already used");

        ASSERT_OK(store_join_token_list(s, &list, &n, err, sizeof err));
        ASSERT_UEQ(n, 1);
        ASSERT_STREQ(list[0].id, info->id);
        ASSERT_UEQ(list[0].used_at, T0);
        store_join_tokens_free(list, n);
}

TEST(join_token_refusals) {
        _cleanup_store_ Store *s = open_fresh("tokens2.db");
        _cleanup_free_ char *t1 = NULL, *t2 = NULL, *fake = NULL;
        char err[256] = "", long_name[80];
        char *t = NULL;

        ASSERT_NOT_NULL(s);
        ASSERT_OK(
                store_join_token_create(s, "gpu-2", STORE_ZONE_PUBLIC, 2 * HOUR, &admin, &t1, NULL, err, sizeof err));

        /* wrong name or zone: -EPERM, token stays usable */
        ASSERT_ERROR(store_join_token_redeem(s, t1, "gpu-3", STORE_ZONE_PUBLIC, NULL, err, sizeof err), -EPERM);
        ASSERT_CONTAINS(err, "issued for node \"gpu-2\"");
        ASSERT_ERROR(store_join_token_redeem(s, t1, "gpu-2", STORE_ZONE_PRIVATE, NULL, err, sizeof err), -EPERM);
        ASSERT_CONTAINS(err, "issued for zone public, not private");
        ASSERT_OK(store_join_token_redeem(s, t1, "gpu-2", STORE_ZONE_PUBLIC, NULL, err, sizeof err));

        /* expired */
        ASSERT_OK(store_join_token_create(s, "gpu-4", STORE_ZONE_PRIVATE, HOUR, &admin, &t2, NULL, err, sizeof err));
        store_set_now(s, T0 + HOUR);
        ASSERT_ERROR(store_join_token_redeem(s, t2, "gpu-4", STORE_ZONE_PRIVATE, NULL, err, sizeof err), -ETIMEDOUT);
        ASSERT_CONTAINS(err, "expired");
        store_set_now(s, T0);

        /* unknown and malformed */
        ASSERT_OK(store_random_secret("sjt-", &fake));
        ASSERT_ERROR(store_join_token_redeem(s, fake, NULL, -1, NULL, err, sizeof err), -ENOENT);
        ASSERT_CONTAINS(err, "unknown join token");
        ASSERT_ERROR(store_join_token_redeem(s, "sjt-short", NULL, -1, NULL, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_join_token_redeem(s, fake + 1, NULL, -1, NULL, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_join_token_redeem(s, NULL, NULL, -1, NULL, err, sizeof err), -EINVAL);
        fake[10] = '!';
        ASSERT_ERROR(store_join_token_redeem(s, fake, NULL, -1, NULL, err, sizeof err), -EINVAL);

        /* bad values at creation */
        ASSERT_ERROR(store_join_token_create(s, "bad name", STORE_ZONE_PRIVATE, 0, &admin, &t, NULL, err, sizeof err),
                     -EINVAL);
        ASSERT_CONTAINS(err, "node name");
        memset(long_name, 'a', 65);
        long_name[65] = '\0';
        ASSERT_ERROR(store_join_token_create(s, long_name, STORE_ZONE_PRIVATE, 0, &admin, &t, NULL, err, sizeof err),
                     -EINVAL);
        ASSERT_CONTAINS(err, "longer than 64");
        long_name[64] = '\0';
        ASSERT_OK(store_join_token_create(s, long_name, STORE_ZONE_PRIVATE, 0, &admin, &t, NULL, err, sizeof err));
        t = mfree(t);
        ASSERT_ERROR(store_join_token_create(s, "", STORE_ZONE_PRIVATE, 0, &admin, &t, NULL, err, sizeof err),
                     -EINVAL);
        ASSERT_ERROR(store_join_token_create(s, "-x", STORE_ZONE_PRIVATE, 0, &admin, &t, NULL, err, sizeof err),
                     -EINVAL);
        ASSERT_ERROR(store_join_token_create(s, "x", (StoreZone) 7, 0, &admin, &t, NULL, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_join_token_create(s, "x", STORE_ZONE_PRIVATE, 8 * USEC_PER_DAY, &admin, &t, NULL, err,
                                             sizeof err),
                     -EINVAL);
        ASSERT_CONTAINS(err, "ttl");
        ASSERT_ERROR(store_join_token_create(s, "x", STORE_ZONE_PRIVATE, 1000, &admin, &t, NULL, err, sizeof err),
                     -EINVAL);
        ASSERT_ERROR(store_join_token_create(s, "x", STORE_ZONE_PRIVATE, 0, NULL, &t, NULL, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "actor");
        ASSERT_ERROR(store_join_token_create(s, "x", STORE_ZONE_PRIVATE, 0, &(StoreActor){ .key_id = "a b" }, &t, NULL,
                                             err, sizeof err),
                     -EINVAL);
        ASSERT_ERROR(store_join_token_create(s, "x", STORE_ZONE_PRIVATE, 0,
                                             &(StoreActor){ .key_id = "a", .request_id = "new\nline" }, &t, NULL, err,
                                             sizeof err),
                     -EINVAL);
        ASSERT_NULL(t);
}

TEST(join_token_limit_delete_and_pruning) {
        _cleanup_store_ Store *s = open_fresh("tokens3.db");
        StoreJoinToken *list = NULL;
        char err[256] = "", *t = NULL;
        size_t n;

        ASSERT_NOT_NULL(s);
        store_set_limits(s, &(StoreLimits){ .max_join_tokens = 2 });
        for (int i = 0; i < 2; i++) {
                ASSERT_OK(store_join_token_create(s, "gpu", STORE_ZONE_PRIVATE, HOUR, &admin, &t, NULL, err,
                                                  sizeof err));
                t = mfree(t);
        }
        ASSERT_ERROR(store_join_token_create(s, "gpu", STORE_ZONE_PRIVATE, 0, &admin, &t, NULL, err, sizeof err),
                     -E2BIG);
        ASSERT_CONTAINS(err, "limit 2");
        /* expired tokens do not count, and are deleted 30 days after expiry */
        store_set_now(s, T0 + 2 * HOUR);
        ASSERT_OK(store_join_token_create(s, "gpu", STORE_ZONE_PRIVATE, 0, &admin, &t, NULL, err, sizeof err));
        t = mfree(t);
        ASSERT_OK(store_join_token_list(s, &list, &n, err, sizeof err));
        ASSERT_UEQ(n, 3);
        ASSERT_UEQ(list[0].created_at, T0 + 2 * HOUR); /* newest first */
        ASSERT_OK(store_join_token_delete(s, list[0].id, &admin, err, sizeof err));
        ASSERT_ERROR(store_join_token_delete(s, list[0].id, &admin, err, sizeof err), -ENOENT);
        store_join_tokens_free(list, n);
        store_set_now(s, T0 + 32 * USEC_PER_DAY);
        ASSERT_OK(store_join_token_create(s, "gpu", STORE_ZONE_PRIVATE, 0, &admin, &t, NULL, err, sizeof err));
        t = mfree(t);
        ASSERT_OK(store_join_token_list(s, &list, &n, err, sizeof err));
        ASSERT_UEQ(n, 1);
        store_join_tokens_free(list, n);
}

typedef struct RedeemRace {
        const char *path;
        const char *token;
        int result;
} RedeemRace;

static void *redeem_thread(void *arg) {
        RedeemRace *r = arg;
        Store *s = NULL;

        r->result = store_open(r->path, &s, NULL, 0);
        if (r->result >= 0)
                r->result = store_join_token_redeem(s, r->token, "gpu-race", STORE_ZONE_PRIVATE, NULL, NULL, 0);
        store_close(s);
        return NULL;
}

TEST(join_token_concurrent_redeem_succeeds_once) {
        _cleanup_store_ Store *s = open_fresh("race.db");
        _cleanup_free_ char *token = NULL;
        RedeemRace races[8];
        pthread_t threads[8];
        int ok = 0, already = 0;

        ASSERT_NOT_NULL(s);
        store_set_now(s, 0); /* the threads' stores use the real clock */
        ASSERT_OK(store_join_token_create(s, "gpu-race", STORE_ZONE_PRIVATE, 0, &admin, &token, NULL, NULL, 0));
        for (int i = 0; i < 8; i++) {
                races[i] = (RedeemRace){ .path = db_path("race.db"), .token = token };
                ASSERT_EQ(pthread_create(&threads[i], NULL, redeem_thread, &races[i]), 0);
        }
        for (int i = 0; i < 8; i++) {
                pthread_join(threads[i], NULL);
                if (races[i].result != 0 && races[i].result != -EALREADY)
                        printf("# thread %d: %s\n", i, strerror(-races[i].result));
                ok += races[i].result == 0;
                already += races[i].result == -EALREADY;
        }
        ASSERT_EQ(ok, 1);
        ASSERT_EQ(already, 7);
}

/* ---- API keys ---- */

TEST(api_key_create_lookup_revoke) {
        _cleanup_store_ Store *s = open_fresh("keys.db");
        _cleanup_free_ char *secret = NULL, *fake = NULL, *again = NULL;
        _cleanup_(store_api_key_freep) StoreApiKey *k = NULL, *found = NULL, *got = NULL;
        const char *models[] = { "qwen2.5-7b", "llama3:8b" };
        StoreApiKey *list = NULL;
        char err[256] = "";
        size_t n;

        ASSERT_NOT_NULL(s);
        ASSERT_OK(store_api_key_create(s,
                                       &(StoreApiKeyParams){ .name = "ci-bot",
                                                             .role = STORE_ROLE_DEVELOPER,
                                                             .ttl_usec = 24 * HOUR,
                                                             .models = models,
                                                             .n_models = 2,
                                                             .labels_json = "{ \"team\": \"ml\", \"env\":\"prod\" }" },
                                       &admin, &secret, &k, err, sizeof err));
        ASSERT_TRUE(strneq(secret, "sk-sluice-", 10));
        ASSERT_UEQ(strlen(secret), 10 + 43);
        ASSERT_UEQ(strlen(k->id), 16);
        ASSERT_TRUE(strneq(k->prefix, secret, STORE_API_KEY_DISPLAY_LEN));
        ASSERT_UEQ(strlen(k->prefix), STORE_API_KEY_DISPLAY_LEN);
        ASSERT_EQ(k->role, STORE_ROLE_DEVELOPER);
        ASSERT_UEQ(k->expires_at, T0 + 24 * HOUR);
        ASSERT_STREQ(k->labels_json, "{\"team\":\"ml\",\"env\":\"prod\"}");
        ASSERT_FALSE(table_contains(s->db, "api_keys", secret + 10));
        ASSERT_FALSE(table_contains(s->db, "audit", secret + 10));

        ASSERT_OK(store_api_key_lookup(s, secret, &found, err, sizeof err));
        ASSERT_STREQ(found->id, k->id);
        ASSERT_STREQ(found->name, "ci-bot");
        ASSERT_UEQ(found->n_models, 2);
        ASSERT_STREQ(found->models[1], "llama3:8b");
        ASSERT_NULL(found->models[2]);
        ASSERT_TRUE(store_api_key_allows_model(found, "qwen2.5-7b"));
        ASSERT_FALSE(store_api_key_allows_model(found, "other"));
        ASSERT_FALSE(store_api_key_allows_model(NULL, "other"));

        ASSERT_OK(store_random_secret("sk-sluice-", &fake));
        ASSERT_ERROR(store_api_key_lookup(s, fake, &got, err, sizeof err), -ENOENT);
        ASSERT_CONTAINS(err, "unknown API key");
        ASSERT_ERROR(store_api_key_lookup(s, "sk-sluice-", &got, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_api_key_lookup(s, "Bearer x", &got, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_api_key_lookup(s, NULL, &got, err, sizeof err), -EINVAL);

        /* expired, then revoked: reported distinctly */
        store_set_now(s, T0 + 24 * HOUR);
        ASSERT_ERROR(store_api_key_lookup(s, secret, &got, err, sizeof err), -EKEYEXPIRED);
        ASSERT_CONTAINS(err, "expired");
        store_set_now(s, T0);
        ASSERT_OK(store_api_key_revoke(s, k->id, &admin, err, sizeof err));
        ASSERT_ERROR(store_api_key_lookup(s, secret, &got, err, sizeof err), -EKEYREVOKED);
        ASSERT_CONTAINS(err, "revoked");
        ASSERT_ERROR(store_api_key_revoke(s, k->id, &admin, err, sizeof err), -EALREADY);
        ASSERT_ERROR(store_api_key_revoke(s, "ffffffffffffffff", &admin, err, sizeof err), -ENOENT);
        ASSERT_NULL(got);

        /* the name is free again once revoked */
        store_set_now(s, T0 + 1);
        ASSERT_OK(store_api_key_create(s, &(StoreApiKeyParams){ .name = "ci-bot", .role = STORE_ROLE_AUDITOR }, &admin,
                                       &again, NULL, err, sizeof err));
        ASSERT_OK(store_api_key_get(s, k->id, &got, err, sizeof err));
        ASSERT_UEQ(got->revoked_at, T0);
        ASSERT_OK(store_api_key_list(s, &list, &n, err, sizeof err));
        ASSERT_UEQ(n, 2);
        ASSERT_NULL(list[0].models); /* no allow-list: every model */
        ASSERT_TRUE(store_api_key_allows_model(&list[0], "anything"));
        ASSERT_STREQ(list[0].labels_json, "{}");
        store_api_keys_free(list, n);
}

TEST(api_key_refusals) {
        _cleanup_store_ Store *s = open_fresh("keys2.db");
        const char *many[STORE_API_KEY_MODELS_MAX + 1], *dup[] = { "m", "m" }, *bad[] = { "m m" };
        char err[256] = "", labels[4096], *secret = NULL;
        StoreApiKeyParams p = { .name = "k", .role = STORE_ROLE_ADMIN };
        size_t k = 0;

        ASSERT_NOT_NULL(s);
        for (size_t i = 0; i < ELEMENTSOF(many); i++)
                many[i] = "m";
        ASSERT_OK(store_api_key_create(s, &p, &admin, &secret, NULL, err, sizeof err));
        secret = mfree(secret);
        ASSERT_ERROR(store_api_key_create(s, &p, &admin, &secret, NULL, err, sizeof err), -EEXIST);
        ASSERT_CONTAINS(err, "named \"k\" exists");

#define REFUSED(params, e, text)                                                                                      \
        do {                                                                                                          \
                StoreApiKeyParams _p = params;                                                                        \
                ASSERT_ERROR(store_api_key_create(s, &_p, &admin, &secret, NULL, err, sizeof err), e);                \
                ASSERT_CONTAINS(err, text);                                                                           \
        } while (0)

        REFUSED(((StoreApiKeyParams){ .name = "x", .role = (StoreRole) 9 }), -EINVAL, "role");
        REFUSED(((StoreApiKeyParams){ .name = "x", .role = _STORE_ROLE_INVALID }), -EINVAL, "role");
        REFUSED(((StoreApiKeyParams){ .name = "x y" }), -EINVAL, "key name");
        REFUSED(((StoreApiKeyParams){ .name = "x", .ttl_usec = STORE_API_KEY_TTL_MAX + 1 }), -EINVAL, "ttl");
        REFUSED(((StoreApiKeyParams){ .name = "x", .models = many, .n_models = ELEMENTSOF(many) }), -E2BIG, "models");
        REFUSED(((StoreApiKeyParams){ .name = "x", .models = dup, .n_models = 2 }), -EINVAL, "listed twice");
        REFUSED(((StoreApiKeyParams){ .name = "x", .models = bad, .n_models = 1 }), -EINVAL, "models");
        REFUSED(((StoreApiKeyParams){ .name = "x", .labels_json = "[1]" }), -EINVAL, "expected a JSON object");
        REFUSED(((StoreApiKeyParams){ .name = "x", .labels_json = "{\"a\":1}" }), -EINVAL,
                "labels.a: expected string");
        REFUSED(((StoreApiKeyParams){ .name = "x", .labels_json = "{\"a\":\"1\",\"a\":\"2\"}" }), -EINVAL,
                "duplicate");
        REFUSED(((StoreApiKeyParams){ .name = "x", .labels_json = "{\"a b\":\"1\"}" }), -EINVAL, "not allowed");
        REFUSED(((StoreApiKeyParams){ .name = "x", .labels_json = "{\"a\":\"\\n\"}" }), -EINVAL, "control");
        REFUSED(((StoreApiKeyParams){ .name = "x", .labels_json = "{\"a\":" }), -EINVAL, "invalid JSON");
        /* 33 labels */
        k = (size_t) snprintf(labels, sizeof labels, "{");
        for (int i = 0; i <= STORE_LABELS_MAX; i++)
                k += (size_t) snprintf(labels + k, sizeof labels - k, "%s\"l%d\":\"v\"", i ? "," : "", i);
        snprintf(labels + k, sizeof labels - k, "}");
        REFUSED(((StoreApiKeyParams){ .name = "x", .labels_json = labels }), -E2BIG, "more than 32 labels");
        /* a value past 255 bytes */
        k = (size_t) snprintf(labels, sizeof labels, "{\"a\":\"");
        memset(labels + k, 'v', 256);
        snprintf(labels + k + 256, sizeof labels - k - 256, "\"}");
        REFUSED(((StoreApiKeyParams){ .name = "x", .labels_json = labels }), -E2BIG, "longer than 255");
        ASSERT_ERROR(store_api_key_create(s, &p, NULL, &secret, NULL, err, sizeof err), -EINVAL);
        ASSERT_NULL(secret);

        store_set_limits(s, &(StoreLimits){ .max_api_keys = 2 });
        ASSERT_OK(
                store_api_key_create(s, &(StoreApiKeyParams){ .name = "k2" }, &admin, &secret, NULL, err, sizeof err));
        secret = mfree(secret);
        REFUSED(((StoreApiKeyParams){ .name = "k3" }), -E2BIG, "too many API keys");
#undef REFUSED
}

static int publish_ok(const char *secret, const StoreApiKey *key, void *userdata) {
        char **out = userdata;

        if (key->role != STORE_ROLE_ADMIN)
                return -EINVAL;
        *out = strdup(secret);
        return *out ? 0 : -ENOMEM;
}

static int publish_fail(const char *secret, const StoreApiKey *key, void *userdata) {
        return -EACCES;
}

TEST(bootstrap_admin_key_once) {
        _cleanup_store_ Store *s = open_fresh("bootstrap.db");
        _cleanup_free_ char *secret = NULL;
        _cleanup_(store_api_key_freep) StoreApiKey *k = NULL;
        char err[256] = "";

        ASSERT_NOT_NULL(s);
        /* a failed hand-over leaves nothing behind */
        ASSERT_ERROR(store_api_key_bootstrap(s, publish_fail, NULL, err, sizeof err), -EACCES);
        ASSERT_CONTAINS(err, "could not be handed over");
        ASSERT_EQ(sql_int(s->db, "SELECT count(*) FROM api_keys"), 0);
        ASSERT_EQ(sql_int(s->db, "SELECT count(*) FROM audit"), 0);

        ASSERT_OK(store_api_key_bootstrap(s, publish_ok, &secret, err, sizeof err));
        ASSERT_NOT_NULL(secret);
        ASSERT_OK(store_api_key_lookup(s, secret, &k, err, sizeof err));
        ASSERT_EQ(k->role, STORE_ROLE_ADMIN);
        ASSERT_STREQ(k->name, STORE_BOOTSTRAP_KEY_NAME);
        ASSERT_STREQ(k->created_by, "bootstrap");
        ASSERT_ERROR(store_api_key_bootstrap(s, publish_ok, &secret, err, sizeof err), -EEXIST);
        ASSERT_CONTAINS(err, k->id);
        /* revoking it does not allow a second one */
        ASSERT_OK(store_api_key_revoke(s, k->id, &admin, err, sizeof err));
        ASSERT_ERROR(store_api_key_bootstrap(s, publish_ok, &secret, err, sizeof err), -EEXIST);
}

TEST(roles_and_zones_round_trip) {
        for (int i = 0; i < _STORE_ROLE_MAX; i++)
                ASSERT_EQ(store_role_from_string(store_role_to_string((StoreRole) i)), i);
        ASSERT_EQ(store_role_from_string("root"), _STORE_ROLE_INVALID);
        ASSERT_EQ(store_role_from_string(NULL), _STORE_ROLE_INVALID);
        ASSERT_NULL(store_role_to_string(_STORE_ROLE_MAX));
        ASSERT_EQ(store_zone_from_string("public"), STORE_ZONE_PUBLIC);
        ASSERT_EQ(store_zone_from_string("Public"), _STORE_ZONE_INVALID);
        ASSERT_NULL(store_zone_to_string((StoreZone) -1));
        for (int i = 0; i < _STORE_NODE_STATE_MAX; i++)
                ASSERT_EQ(store_node_state_from_string(store_node_state_to_string((StoreNodeState) i)), i);
        for (int i = 0; i < _STORE_DEPLOYMENT_STATE_MAX; i++)
                ASSERT_EQ(
                        store_deployment_state_from_string(store_deployment_state_to_string((StoreDeploymentState) i)),
                        i);
        for (int i = 0; i < _STORE_REPLICA_STATUS_MAX; i++)
                ASSERT_EQ(store_replica_status_from_string(store_replica_status_to_string((StoreReplicaStatus) i)), i);
}

/* ---- nodes ---- */

TEST(node_enroll_state_heartbeat_revoke) {
        _cleanup_store_ Store *s = open_fresh("nodes.db");
        _cleanup_(store_node_freep) StoreNode *n = NULL, *again = NULL, *byid = NULL;
        StoreRevokedCert *revoked = NULL;
        char err[256] = "";
        bool is;
        size_t k;

        ASSERT_NOT_NULL(s);
        ASSERT_OK(store_node_enroll(s, "gpu-a", STORE_ZONE_PRIVATE, &admin, &n, err, sizeof err));
        ASSERT_UEQ(strlen(n->id), 36);
        ASSERT_EQ(n->id[14], '4'); /* UUID version 4 */
        ASSERT_EQ(n->state, STORE_NODE_ENROLLED);
        ASSERT_NULL(n->cert_serial);
        ASSERT_STREQ(n->labels_json, "{}");
        ASSERT_OK(store_node_set_cert(s, "gpu-a", "00AB12", T0 + 24 * HOUR, err, sizeof err));
        ASSERT_ERROR(store_node_set_state(s, "gpu-a", STORE_NODE_LOST, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "cannot go from enrolled to lost");
        ASSERT_OK(store_node_set_state(s, "gpu-a", STORE_NODE_ONLINE, err, sizeof err));
        ASSERT_OK(store_node_set_state(s, "gpu-a", STORE_NODE_ONLINE, err, sizeof err));
        ASSERT_ERROR(store_node_set_state(s, "gpu-a", STORE_NODE_ENROLLED, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_node_set_state(s, "gpu-a", STORE_NODE_REVOKED, err, sizeof err), -EINVAL);
        store_set_now(s, T0 + 5);
        ASSERT_OK(store_node_seen(s, "gpu-a", "{\"gpu_util\": 0.5, \"mem\": [1, 2]}", err, sizeof err));
        ASSERT_OK(store_node_seen(s, "gpu-a", NULL, err, sizeof err));
        ASSERT_OK(store_node_set_capacity(s, "gpu-a", "{\"gpus\":2,\"vram_mib\":81920}", err, sizeof err));
        ASSERT_OK(store_node_set_labels(s, "gpu-a", "{\"rack\":\"r7\"}", &admin, err, sizeof err));
        ASSERT_OK(store_node_set_state(s, "gpu-a", STORE_NODE_LOST, err, sizeof err));
        ASSERT_OK(store_node_set_state(s, "gpu-a", STORE_NODE_ONLINE, err, sizeof err));

        ASSERT_OK(store_node_get(s, "gpu-a", &again, err, sizeof err));
        ASSERT_STREQ(again->cert_serial, "ab12");
        ASSERT_UEQ(again->cert_not_after, T0 + 24 * HOUR);
        ASSERT_UEQ(again->last_seen_at, T0 + 5);
        ASSERT_STREQ(again->telemetry_json, "{\"gpu_util\":0.5,\"mem\":[1,2]}");
        ASSERT_STREQ(again->capacity_json, "{\"gpus\":2,\"vram_mib\":81920}");
        ASSERT_STREQ(again->labels_json, "{\"rack\":\"r7\"}");
        ASSERT_EQ(again->state, STORE_NODE_ONLINE);
        ASSERT_OK(store_node_get_by_id(s, n->id, &byid, err, sizeof err));
        ASSERT_STREQ(byid->name, "gpu-a");

        /* revoke: the serial is revoked in any spelling; the node is refused everywhere */
        ASSERT_OK(store_node_revoke(s, "gpu-a", "disk stolen", &admin, err, sizeof err));
        ASSERT_OK(store_cert_serial_is_revoked(s, "AB12", &is, err, sizeof err));
        ASSERT_TRUE(is);
        ASSERT_OK(store_cert_serial_is_revoked(s, "000ab12", &is, err, sizeof err));
        ASSERT_TRUE(is);
        ASSERT_OK(store_cert_serial_is_revoked(s, "ab13", &is, err, sizeof err));
        ASSERT_FALSE(is);
        ASSERT_ERROR(store_cert_serial_is_revoked(s, "xyz", &is, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_node_revoke(s, "gpu-a", NULL, &admin, err, sizeof err), -EALREADY);
        ASSERT_ERROR(store_node_set_state(s, "gpu-a", STORE_NODE_ONLINE, err, sizeof err), -EPERM);
        ASSERT_ERROR(store_node_seen(s, "gpu-a", NULL, err, sizeof err), -EPERM);
        ASSERT_ERROR(store_node_set_capacity(s, "gpu-a", "{}", err, sizeof err), -EPERM);
        ASSERT_ERROR(store_node_set_cert(s, "gpu-a", "cd", T0 + HOUR, err, sizeof err), -EPERM);
        ASSERT_OK(store_revoked_cert_list(s, &revoked, &k, err, sizeof err));
        ASSERT_UEQ(k, 1);
        ASSERT_STREQ(revoked[0].serial, "ab12");
        ASSERT_STREQ(revoked[0].reason, "disk stolen");
        ASSERT_STREQ(revoked[0].node_name, "gpu-a");
        ASSERT_UEQ(revoked[0].not_after, T0 + 24 * HOUR);
        store_revoked_certs_free(revoked, k);

        /* enrolling the name again keeps its id, clears the certificate; the old serial stays revoked */
        again = store_node_free(again);
        ASSERT_OK(store_node_enroll(s, "gpu-a", STORE_ZONE_PUBLIC, &admin, &again, err, sizeof err));
        ASSERT_STREQ(again->id, n->id);
        ASSERT_EQ(again->state, STORE_NODE_ENROLLED);
        ASSERT_EQ(again->zone, STORE_ZONE_PUBLIC);
        ASSERT_NULL(again->cert_serial);
        ASSERT_STREQ(again->telemetry_json, "{}");
        ASSERT_STREQ(again->labels_json, "{\"rack\":\"r7\"}");
        ASSERT_ERROR(store_node_set_cert(s, "gpu-a", "ab12", T0 + HOUR, err, sizeof err), -EPERM);
        ASSERT_CONTAINS(err, "serial ab12: revoked");
        ASSERT_OK(store_node_set_cert(s, "gpu-a", "cd", T0 + HOUR, err, sizeof err));
        /* and once more: the certificate it had is revoked as superseded */
        ASSERT_OK(store_node_enroll(s, "gpu-a", STORE_ZONE_PUBLIC, &admin, NULL, err, sizeof err));
        ASSERT_OK(store_cert_serial_is_revoked(s, "cd", &is, err, sizeof err));
        ASSERT_TRUE(is);
}

TEST(node_refusals_limits_delete_list) {
        _cleanup_store_ Store *s = open_fresh("nodes2.db");
        _cleanup_(store_node_freep) StoreNode *n = NULL;
        _cleanup_free_ char *big = NULL;
        StoreNode *list = NULL;
        char err[256] = "";
        size_t k;

        ASSERT_NOT_NULL(s);
        store_set_limits(s, &(StoreLimits){ .max_nodes = 2 });
        ASSERT_OK(store_node_enroll(s, "b", STORE_ZONE_PUBLIC, &admin, NULL, err, sizeof err));
        ASSERT_OK(store_node_enroll(s, "a", STORE_ZONE_PRIVATE, &admin, NULL, err, sizeof err));
        ASSERT_ERROR(store_node_enroll(s, "c", STORE_ZONE_PRIVATE, &admin, NULL, err, sizeof err), -E2BIG);
        ASSERT_CONTAINS(err, "too many nodes");
        ASSERT_OK(store_node_enroll(s, "a", STORE_ZONE_PRIVATE, &admin, NULL, err, sizeof err)); /* existing name */
        ASSERT_ERROR(store_node_enroll(s, "a/b", STORE_ZONE_PRIVATE, &admin, NULL, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_node_enroll(s, "x", (StoreZone) 2, &admin, NULL, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_node_enroll(s, "x", STORE_ZONE_PRIVATE, NULL, NULL, err, sizeof err), -EINVAL);

        ASSERT_ERROR(store_node_get(s, "nope", &n, err, sizeof err), -ENOENT);
        ASSERT_ERROR(store_node_get_by_id(s, "00000000-0000-4000-8000-000000000000", &n, err, sizeof err), -ENOENT);
        ASSERT_ERROR(store_node_seen(s, "nope", NULL, err, sizeof err), -ENOENT);
        ASSERT_ERROR(store_node_set_state(s, "nope", STORE_NODE_ONLINE, err, sizeof err), -ENOENT);
        ASSERT_ERROR(store_node_set_labels(s, "nope", "{}", &admin, err, sizeof err), -ENOENT);
        ASSERT_ERROR(store_node_revoke(s, "nope", NULL, &admin, err, sizeof err), -ENOENT);
        ASSERT_ERROR(store_node_set_cert(s, "nope", "1", 1, err, sizeof err), -ENOENT);
        ASSERT_ERROR(store_node_set_cert(s, "a", "", 1, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_node_set_cert(s, "a", "12345678901234567890123456789012345678901", 1, err, sizeof err),
                     -EINVAL);
        ASSERT_ERROR(store_node_set_cert(s, "a", "1", 0, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_node_seen(s, "a", "[1]", err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_node_set_capacity(s, "a", NULL, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_node_set_labels(s, "a", "{\"k\":{}}", &admin, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_node_revoke(s, "a", "two\nlines", &admin, err, sizeof err), -EINVAL);
        big = malloc(STORE_TELEMETRY_MAX + 64);
        ASSERT_NOT_NULL(big);
        k = (size_t) snprintf(big, 16, "{\"x\":\"");
        memset(big + k, 'y', STORE_TELEMETRY_MAX);
        strcpy(big + k + STORE_TELEMETRY_MAX, "\"}");
        ASSERT_ERROR(store_node_seen(s, "a", big, err, sizeof err), -E2BIG);
        ASSERT_CONTAINS(err, "telemetry: longer than 16384");

        ASSERT_ERROR(store_node_delete(s, "a", &admin, err, sizeof err), -EBUSY);
        ASSERT_OK(store_node_revoke(s, "a", NULL, &admin, err, sizeof err));
        ASSERT_OK(store_node_delete(s, "a", &admin, err, sizeof err));
        ASSERT_ERROR(store_node_delete(s, "a", &admin, err, sizeof err), -ENOENT);
        ASSERT_OK(store_node_enroll(s, "c", STORE_ZONE_PRIVATE, &admin, NULL, err, sizeof err));
        ASSERT_OK(store_node_list(s, &list, &k, err, sizeof err));
        ASSERT_UEQ(k, 2);
        ASSERT_STREQ(list[0].name, "b");
        ASSERT_EQ(list[0].zone, STORE_ZONE_PUBLIC);
        ASSERT_STREQ(list[1].name, "c");
        store_nodes_free(list, k);
}

/* ---- models and deployments ---- */

TEST(models_add_get_remove) {
        _cleanup_store_ Store *s = open_fresh("models.db");
        _cleanup_(store_model_freep) StoreModel *m = NULL;
        StoreModel *list = NULL;
        char err[256] = "", upper[65];
        size_t n;

        ASSERT_NOT_NULL(s);
        for (int i = 0; i < 64; i++)
                upper[i] = (char) (sha[i] >= 'a' ? sha[i] - 32 : sha[i]);
        upper[64] = '\0';
        ASSERT_OK(store_model_add(s, "Qwen/Qwen2.5-7B:q4_k", "https://example.org/q.gguf", upper, 4 << 20, &admin, &m,
                                  err, sizeof err));
        ASSERT_STREQ(m->sha256, sha);
        ASSERT_UEQ(m->size, 4 << 20);
        ASSERT_OK(store_model_add(s, "a", "/srv/models/a.gguf", sha, 1, &admin, NULL, err, sizeof err));
        ASSERT_ERROR(store_model_add(s, "a", "/srv/a", sha, 1, &admin, NULL, err, sizeof err), -EEXIST);
        ASSERT_ERROR(store_model_add(s, "b", "relative/path", sha, 1, &admin, NULL, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "source");
        ASSERT_ERROR(store_model_add(s, "b", "://x", sha, 1, &admin, NULL, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_model_add(s, "b", "/x", "abc", 1, &admin, NULL, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "sha256");
        ASSERT_ERROR(store_model_add(s, "b", "/x", NULL, 1, &admin, NULL, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_model_add(s, "b", "/x", sha, 0, &admin, NULL, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_model_add(s, "b", "/x", sha, UINT64_MAX, &admin, NULL, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_model_add(s, "b c", "/x", sha, 1, &admin, NULL, err, sizeof err), -EINVAL);
        store_set_limits(s, &(StoreLimits){ .max_models = 2 });
        ASSERT_ERROR(store_model_add(s, "b", "/x", sha, 1, &admin, NULL, err, sizeof err), -E2BIG);

        ASSERT_OK(store_model_list(s, false, &list, &n, err, sizeof err));
        ASSERT_UEQ(n, 2);
        ASSERT_STREQ(list[1].name, "a");
        store_models_free(list, n);
        ASSERT_OK(store_model_remove(s, "a", &admin, err, sizeof err));
        ASSERT_ERROR(store_model_remove(s, "a", &admin, err, sizeof err), -ENOENT);
        m = store_model_free(m);
        ASSERT_ERROR(store_model_get(s, "a", &m, err, sizeof err), -ENOENT);
}

TEST(deployments_lifecycle_and_node_status) {
        _cleanup_store_ Store *s = open_fresh("deploy.db");
        _cleanup_(store_deployment_freep) StoreDeployment *d = NULL, *got = NULL;
        StoreDeploymentNode *nodes = NULL;
        StoreDeployment *list = NULL;
        char err[256] = "";
        size_t n;

        ASSERT_NOT_NULL(s);
        ASSERT_OK(store_model_add(s, "m", "/m.gguf", sha, 1, &admin, NULL, err, sizeof err));
        ASSERT_OK(store_node_enroll(s, "gpu-1", STORE_ZONE_PRIVATE, &admin, NULL, err, sizeof err));
        ASSERT_OK(store_node_enroll(s, "gpu-2", STORE_ZONE_PRIVATE, &admin, NULL, err, sizeof err));

#define PARAMS(pl, r, w)                                                                                              \
        (&(StoreDeploymentParams){ .model = "m", .placement_json = (pl), .replicas = (r), .canary_weight = (w) })
        ASSERT_ERROR(store_deployment_create(s,
                                             &(StoreDeploymentParams){ .model = "x",
                                                                       .placement_json = "{\"zones\":[\"private\"]}",
                                                                       .replicas = 1 },
                                             &admin, NULL, err, sizeof err),
                     -ENOENT);
        ASSERT_ERROR(store_deployment_create(s, PARAMS("{\"zones\":[\"moon\"]}", 1, 0), &admin, NULL, err, sizeof err),
                     -EINVAL);
        ASSERT_ERROR(store_deployment_create(s, PARAMS("{\"zones\":[]}", 1, 0), &admin, NULL, err, sizeof err),
                     -EINVAL);
        ASSERT_CONTAINS(err, "at least one");
        ASSERT_ERROR(store_deployment_create(s, PARAMS("{\"gpus\":[]}", 1, 0), &admin, NULL, err, sizeof err),
                     -EINVAL);
        ASSERT_CONTAINS(err, "unknown field");
        ASSERT_ERROR(
                store_deployment_create(s, PARAMS("{\"nodes\":[\"a\",\"a\"]}", 1, 0), &admin, NULL, err, sizeof err),
                -EINVAL);
        ASSERT_ERROR(store_deployment_create(s, PARAMS("{\"nodes\":\"a\"}", 1, 0), &admin, NULL, err, sizeof err),
                     -EINVAL);
        ASSERT_ERROR(store_deployment_create(s, PARAMS("{\"zones\":[\"private\",\"public\",\"private\"]}", 1, 0),
                                             &admin, NULL, err, sizeof err),
                     -E2BIG);
        ASSERT_ERROR(
                store_deployment_create(s, PARAMS("{\"zones\":[\"private\"]}", 0, 0), &admin, NULL, err, sizeof err),
                -EINVAL);
        ASSERT_ERROR(store_deployment_create(s, PARAMS("{\"zones\":[\"private\"]}", 1025, 0), &admin, NULL, err,
                                             sizeof err),
                     -EINVAL);
        ASSERT_ERROR(
                store_deployment_create(s, PARAMS("{\"zones\":[\"private\"]}", 1, 101), &admin, NULL, err, sizeof err),
                -EINVAL);
        ASSERT_OK(store_deployment_create(s, PARAMS("{ \"zones\": [\"private\"], \"nodes\": [\"gpu-1\"] }", 2, 10),
                                          &admin, &d, err, sizeof err));
#undef PARAMS
        ASSERT_UEQ(strlen(d->id), 36);
        ASSERT_STREQ(d->placement_json, "{\"zones\":[\"private\"],\"nodes\":[\"gpu-1\"]}");
        ASSERT_EQ(d->state, STORE_DEPLOYMENT_PENDING);
        ASSERT_UEQ(d->replicas, 2);
        ASSERT_UEQ(d->canary_weight, 10);

        ASSERT_OK(store_deployment_set_canary_weight(s, d->id, 50, &admin, err, sizeof err));
        ASSERT_ERROR(store_deployment_set_canary_weight(s, d->id, 101, &admin, err, sizeof err), -EINVAL);
        ASSERT_OK(store_deployment_set_replicas(s, d->id, 3, &admin, err, sizeof err));
        ASSERT_ERROR(store_deployment_set_replicas(s, d->id, 0, &admin, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_deployment_set_replicas(s, "nope", 1, &admin, err, sizeof err), -ENOENT);
        ASSERT_OK(store_deployment_set_state(s, d->id, STORE_DEPLOYMENT_ACTIVE, NULL, err, sizeof err));
        ASSERT_ERROR(store_deployment_set_state(s, d->id, STORE_DEPLOYMENT_PENDING, NULL, err, sizeof err), -EINVAL);

        ASSERT_OK(store_deployment_node_set(s, d->id, "gpu-1", STORE_REPLICA_LOADING, NULL, err, sizeof err));
        ASSERT_OK(store_deployment_node_set(s, d->id, "gpu-1", STORE_REPLICA_READY, NULL, err, sizeof err));
        ASSERT_OK(store_deployment_node_set(s, d->id, "gpu-2", STORE_REPLICA_FAILED, "out of GPU memory", err,
                                            sizeof err));
        ASSERT_ERROR(store_deployment_node_set(s, d->id, "gpu-9", STORE_REPLICA_READY, NULL, err, sizeof err),
                     -ENOENT);
        ASSERT_ERROR(store_deployment_node_set(s, "nope", "gpu-1", STORE_REPLICA_READY, NULL, err, sizeof err),
                     -ENOENT);
        ASSERT_ERROR(store_deployment_node_set(s, d->id, "gpu-1", (StoreReplicaStatus) 5, NULL, err, sizeof err),
                     -EINVAL);
        ASSERT_OK(store_deployment_node_list(s, d->id, &nodes, &n, err, sizeof err));
        ASSERT_UEQ(n, 2);
        ASSERT_STREQ(nodes[0].node_name, "gpu-1");
        ASSERT_EQ(nodes[0].status, STORE_REPLICA_READY);
        ASSERT_NULL(nodes[0].reason);
        ASSERT_EQ(nodes[1].status, STORE_REPLICA_FAILED);
        ASSERT_STREQ(nodes[1].reason, "out of GPU memory");
        store_deployment_nodes_free(nodes, n);
        ASSERT_OK(store_deployment_node_remove(s, d->id, "gpu-2", err, sizeof err));
        ASSERT_ERROR(store_deployment_node_remove(s, d->id, "gpu-2", err, sizeof err), -ENOENT);
        ASSERT_OK(store_node_revoke(s, "gpu-2", NULL, &admin, err, sizeof err));
        ASSERT_ERROR(store_deployment_node_set(s, d->id, "gpu-2", STORE_REPLICA_READY, NULL, err, sizeof err), -EPERM);

        ASSERT_OK(store_deployment_get(s, d->id, &got, err, sizeof err));
        ASSERT_UEQ(got->canary_weight, 50);
        ASSERT_UEQ(got->replicas, 3);
        ASSERT_EQ(got->state, STORE_DEPLOYMENT_ACTIVE);

        /* the model is in use; the deployment must be stopped before it is deleted */
        ASSERT_ERROR(store_model_remove(s, "m", &admin, err, sizeof err), -EBUSY);
        ASSERT_ERROR(store_deployment_delete(s, d->id, &admin, err, sizeof err), -EBUSY);
        ASSERT_OK(store_deployment_set_state(s, d->id, STORE_DEPLOYMENT_DRAINING, &admin, err, sizeof err));
        ASSERT_OK(store_deployment_set_state(s, d->id, STORE_DEPLOYMENT_STOPPED, &admin, err, sizeof err));
        ASSERT_ERROR(store_deployment_set_state(s, d->id, STORE_DEPLOYMENT_ACTIVE, &admin, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_deployment_set_canary_weight(s, d->id, 5, &admin, err, sizeof err), -EPERM);
        ASSERT_OK(store_deployment_list(s, &list, &n, err, sizeof err));
        ASSERT_UEQ(n, 1);
        store_deployments_free(list, n);
        ASSERT_OK(store_deployment_delete(s, d->id, &admin, err, sizeof err));
        ASSERT_EQ(sql_int(s->db, "SELECT count(*) FROM deployment_nodes"), 0); /* cascaded */
        ASSERT_OK(store_model_remove(s, "m", &admin, err, sizeof err));

        /* the count limit */
        ASSERT_OK(store_model_add(s, "m", "/m.gguf", sha, 1, &admin, NULL, err, sizeof err));
        store_set_limits(s, &(StoreLimits){ .max_deployments = 1 });
        ASSERT_OK(store_deployment_create(
                s,
                &(StoreDeploymentParams){ .model = "m", .placement_json = "{\"zones\":[\"public\"]}", .replicas = 1 },
                &admin, NULL, err, sizeof err));
        ASSERT_ERROR(store_deployment_create(s,
                                             &(StoreDeploymentParams){ .model = "m",
                                                                       .placement_json = "{\"zones\":[\"public\"]}",
                                                                       .replicas = 1 },
                                             &admin, NULL, err, sizeof err),
                     -E2BIG);
}

/* ---- audit ---- */

TEST(audit_records_every_admin_write_without_secrets) {
        _cleanup_store_ Store *s = open_fresh("audit.db");
        _cleanup_free_ char *token = NULL, *secret = NULL;
        StoreAuditEntry *e = NULL;
        const StoreActor other = { .key_id = "fedcba9876543210" };
        char err[256] = "";
        uint64_t rows;
        size_t n;

        ASSERT_NOT_NULL(s);
        ASSERT_OK(store_join_token_create(s, "gpu-1", STORE_ZONE_PRIVATE, 0, &admin, &token, NULL, err, sizeof err));
        store_set_now(s, T0 + 1);
        ASSERT_OK(store_api_key_create(s, &(StoreApiKeyParams){ .name = "dev", .role = STORE_ROLE_DEVELOPER }, &other,
                                       &secret, NULL, err, sizeof err));
        store_set_now(s, T0 + 2);
        ASSERT_OK(store_node_enroll(s, "gpu-1", STORE_ZONE_PRIVATE, &admin, NULL, err, sizeof err));
        ASSERT_OK(store_audit_append(s, &admin, "rules.update", "default", "{\"version\": 3}", err, sizeof err));

        ASSERT_OK(store_audit_list(s, NULL, &e, &n, err, sizeof err));
        ASSERT_UEQ(n, 4);
        ASSERT_STREQ(e[0].action, "rules.update");
        ASSERT_STREQ(e[0].detail_json, "{\"version\":3}");
        ASSERT_STREQ(e[1].action, "node.enroll");
        ASSERT_STREQ(e[2].action, "api_key.create");
        ASSERT_STREQ(e[2].actor, other.key_id);
        ASSERT_NULL(e[2].request_id);
        ASSERT_STREQ(e[3].action, "join_token.create");
        ASSERT_STREQ(e[3].target, "gpu-1");
        ASSERT_STREQ(e[3].request_id, "req-1");
        ASSERT_UEQ(e[3].time, T0);
        ASSERT_TRUE(e[3].id < e[2].id);
        store_audit_entries_free(e, n);
        ASSERT_FALSE(table_contains(s->db, "audit", token + 4));
        ASSERT_FALSE(table_contains(s->db, "audit", secret + 10));

        /* filters and pages */
        ASSERT_OK(store_audit_list(s, &(StoreAuditFilter){ .actor = admin.key_id }, &e, &n, err, sizeof err));
        ASSERT_UEQ(n, 3);
        store_audit_entries_free(e, n);
        ASSERT_OK(store_audit_list(s, &(StoreAuditFilter){ .action = "node.enroll", .target = "gpu-1" }, &e, &n, err,
                                   sizeof err));
        ASSERT_UEQ(n, 1);
        store_audit_entries_free(e, n);
        ASSERT_OK(
                store_audit_list(s, &(StoreAuditFilter){ .since = T0 + 1, .until = T0 + 2 }, &e, &n, err, sizeof err));
        ASSERT_UEQ(n, 1);
        ASSERT_STREQ(e[0].action, "api_key.create");
        store_audit_entries_free(e, n);
        ASSERT_OK(store_audit_list(s, &(StoreAuditFilter){ .limit = 2 }, &e, &n, err, sizeof err));
        ASSERT_UEQ(n, 2);
        {
                int64_t last = e[1].id;
                store_audit_entries_free(e, n);
                ASSERT_OK(store_audit_list(s, &(StoreAuditFilter){ .limit = 2, .before_id = last }, &e, &n, err,
                                           sizeof err));
                ASSERT_UEQ(n, 2);
                ASSERT_STREQ(e[1].action, "join_token.create");
                store_audit_entries_free(e, n);
        }
        ASSERT_ERROR(
                store_audit_list(s, &(StoreAuditFilter){ .limit = STORE_AUDIT_LIST_MAX + 1 }, &e, &n, err, sizeof err),
                -EINVAL);

        /* secrets and bad values are refused */
        {
                char detail[128];
                snprintf(detail, sizeof detail, "{\"oops\":\"%s\"}", secret);
                ASSERT_ERROR(store_audit_append(s, &admin, "x.y", NULL, detail, err, sizeof err), -EINVAL);
                ASSERT_CONTAINS(err, "secret");
                ASSERT_ERROR(store_audit_append(s, &admin, "x.y", token, NULL, err, sizeof err), -EINVAL);
        }
        ASSERT_OK(store_audit_append(s, &admin, "x.y", NULL, "{\"prefix\":\"sk-sluice-AbCdEf\"}", err, sizeof err));
        ASSERT_ERROR(store_audit_append(s, &admin, "X Y", NULL, NULL, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_audit_append(s, &admin, "", NULL, NULL, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_audit_append(s, NULL, "x.y", NULL, NULL, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_audit_append(s, &admin, "x.y", NULL, "[]", err, sizeof err), -EINVAL);
        ASSERT_OK(store_audit_verify(s, &rows, err, sizeof err));
        ASSERT_UEQ(rows, 5);
}

TEST(audit_chain_detects_edits_and_removals) {
        _cleanup_store_ Store *s = open_fresh("chain.db");
        char err[256] = "";
        uint64_t rows = 0;

        ASSERT_NOT_NULL(s);
        for (int i = 0; i < 5; i++) {
                store_set_now(s, T0 + (uint64_t) i);
                ASSERT_OK(store_audit_append(s, &admin, "test.event", "t", NULL, err, sizeof err));
        }
        ASSERT_OK(store_audit_verify(s, &rows, err, sizeof err));
        ASSERT_UEQ(rows, 5);
        ASSERT_EQ(sqlite3_exec(s->db, "UPDATE audit SET target = 'forged' WHERE id = 3", NULL, NULL, NULL), SQLITE_OK);
        ASSERT_ERROR(store_audit_verify(s, &rows, err, sizeof err), -EBADMSG);
        ASSERT_CONTAINS(err, "audit row 3: hash mismatch");
        ASSERT_EQ(sqlite3_exec(s->db, "UPDATE audit SET target = 't' WHERE id = 3", NULL, NULL, NULL), SQLITE_OK);
        ASSERT_OK(store_audit_verify(s, &rows, err, sizeof err));
        ASSERT_EQ(sqlite3_exec(s->db, "DELETE FROM audit WHERE id = 2", NULL, NULL, NULL), SQLITE_OK);
        ASSERT_ERROR(store_audit_verify(s, &rows, err, sizeof err), -EBADMSG);
        ASSERT_CONTAINS(err, "audit row 3: does not follow");
}

/* ---- the remaining field limits, each just past its bound ---- */

/* A string of n copies of c (free() it). */
static char *repeat(char c, size_t n) {
        char *p = malloc(n + 1);

        if (p) {
                memset(p, c, n);
                p[n] = '\0';
        }
        return p;
}

TEST(field_limits) {
        _cleanup_store_ Store *s = open_fresh("limits.db");
        _cleanup_free_ char *key64 = repeat('k', 64), *key63 = repeat('k', 63), *reason = repeat('r', 257),
                            *source = NULL, *rid = repeat('q', 129), *action = repeat('a', 65),
                            *target = repeat('t', 257), *pad = repeat('x', STORE_JSON_MAX);
        char err[256] = "", json[STORE_JSON_MAX + 128], nodes[STORE_PLACEMENT_MAX];
        size_t k;

        ASSERT_NOT_NULL(s);
        ASSERT_NOT_NULL(key64);
        ASSERT_NOT_NULL(pad);
        ASSERT_OK(store_node_enroll(s, "n", STORE_ZONE_PRIVATE, &admin, NULL, err, sizeof err));

        snprintf(json, sizeof json, "{\"%s\":\"v\"}", key64);
        ASSERT_ERROR(store_node_set_labels(s, "n", json, &admin, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "1..63 bytes");
        snprintf(json, sizeof json, "{\"%s\":\"v\"}", key63);
        ASSERT_OK(store_node_set_labels(s, "n", json, &admin, err, sizeof err));

        snprintf(json, sizeof json, "{\"a\":\"%s\"}", pad);
        ASSERT_ERROR(store_node_set_capacity(s, "n", json, err, sizeof err), -E2BIG);
        ASSERT_CONTAINS(err, "capacity: longer than 4096");
        ASSERT_ERROR(store_audit_append(s, &admin, "x.y", NULL, json, err, sizeof err), -E2BIG);

        ASSERT_ERROR(store_node_revoke(s, "n", reason, &admin, err, sizeof err), -E2BIG);
        ASSERT_CONTAINS(err, "reason: longer than 256");
        ASSERT_ERROR(store_audit_append(s, &(StoreActor){ .key_id = "a", .request_id = rid }, "x.y", NULL, NULL, err,
                                        sizeof err),
                     -EINVAL);
        ASSERT_CONTAINS(err, "request id");
        ASSERT_OK(store_audit_append(s, &(StoreActor){ .key_id = key64 }, "x.y", NULL, NULL, err, sizeof err));
        {
                _cleanup_free_ char *key65 = repeat('k', 65);
                ASSERT_ERROR(
                        store_audit_append(s, &(StoreActor){ .key_id = key65 }, "x.y", NULL, NULL, err, sizeof err),
                        -EINVAL);
                ASSERT_CONTAINS(err, "actor: longer than 64");
        }
        ASSERT_ERROR(store_audit_append(s, &admin, action, NULL, NULL, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_audit_append(s, &admin, "x.y", target, NULL, err, sizeof err), -E2BIG);

        source = malloc(STORE_SOURCE_MAX + 2);
        ASSERT_NOT_NULL(source);
        source[0] = '/';
        memset(source + 1, 's', STORE_SOURCE_MAX);
        source[STORE_SOURCE_MAX + 1] = '\0';
        ASSERT_ERROR(store_model_add(s, "m", source, sha, 1, &admin, NULL, err, sizeof err), -E2BIG);
        source[STORE_SOURCE_MAX] = '\0';
        ASSERT_OK(store_model_add(s, "m", source, sha, 1, &admin, NULL, err, sizeof err));

        k = (size_t) snprintf(nodes, sizeof nodes, "{\"nodes\":[");
        for (int i = 0; i <= STORE_PLACEMENT_NODES_MAX; i++)
                k += (size_t) snprintf(nodes + k, sizeof nodes - k, "%s\"n%d\"", i ? "," : "", i);
        snprintf(nodes + k, sizeof nodes - k, "]}");
        ASSERT_ERROR(store_deployment_create(
                             s, &(StoreDeploymentParams){ .model = "m", .placement_json = nodes, .replicas = 1 },
                             &admin, NULL, err, sizeof err),
                     -E2BIG);
        ASSERT_CONTAINS(err, "placement.nodes: too many");
}

/* ---- transactions, concurrency, durability ---- */

TEST(enrollment_in_one_transaction_commits_or_rolls_back_together) {
        _cleanup_store_ Store *s = open_fresh("tx.db");
        _cleanup_free_ char *token = NULL;
        _cleanup_(store_node_freep) StoreNode *n = NULL;
        _cleanup_(store_join_token_freep) StoreJoinToken *t = NULL;
        StoreJoinToken *list = NULL;
        char err[256] = "";
        size_t k;

        ASSERT_NOT_NULL(s);
        ASSERT_OK(store_join_token_create(s, "gpu-tx", STORE_ZONE_PRIVATE, 0, &admin, &token, NULL, err, sizeof err));

        /* a failure after the redeem (say, the CA could not sign) undoes it */
        ASSERT_OK(store_begin(s, err, sizeof err));
        ASSERT_ERROR(store_begin(s, err, sizeof err), -EBUSY);
        ASSERT_OK(store_join_token_redeem(s, token, "gpu-tx", STORE_ZONE_PRIVATE, NULL, err, sizeof err));
        ASSERT_OK(store_node_enroll(s, "gpu-tx", STORE_ZONE_PRIVATE, &admin, NULL, err, sizeof err));
        ASSERT_OK(store_rollback(s));
        ASSERT_ERROR(store_node_get(s, "gpu-tx", &n, err, sizeof err), -ENOENT);
        ASSERT_OK(store_join_token_list(s, &list, &k, err, sizeof err));
        ASSERT_UEQ(list[0].used_at, 0);
        store_join_tokens_free(list, k);

        /* a failing call inside the transaction undoes only itself */
        ASSERT_OK(store_begin(s, err, sizeof err));
        ASSERT_OK(store_join_token_redeem(s, token, "gpu-tx", STORE_ZONE_PRIVATE, &t, err, sizeof err));
        ASSERT_OK(store_node_enroll(s, "gpu-tx", STORE_ZONE_PRIVATE, &admin, &n, err, sizeof err));
        ASSERT_ERROR(store_node_set_cert(s, "gpu-tx", "zz", T0 + HOUR, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_node_set_state(s, "gpu-tx", STORE_NODE_LOST, err, sizeof err), -EINVAL);
        ASSERT_OK(store_node_set_cert(s, "gpu-tx", "01", T0 + HOUR, err, sizeof err));
        ASSERT_OK(store_commit(s, err, sizeof err));
        ASSERT_ERROR(store_commit(s, err, sizeof err), -EINVAL);
        n = store_node_free(n);
        ASSERT_OK(store_node_get(s, "gpu-tx", &n, err, sizeof err));
        ASSERT_STREQ(n->cert_serial, "1");
        ASSERT_ERROR(store_join_token_redeem(s, token, "gpu-tx", STORE_ZONE_PRIVATE, NULL, err, sizeof err),
                     -EALREADY);
        ASSERT_EQ(sql_int(s->db, "SELECT count(*) FROM audit WHERE action = 'node.enroll'"), 1);
}

TEST(two_connections_share_data_and_lock_writes) {
        _cleanup_store_ Store *a = open_fresh("wal.db"), *b = NULL;
        _cleanup_(store_model_freep) StoreModel *m = NULL;
        char err[256] = "";

        ASSERT_NOT_NULL(a);
        ASSERT_OK(store_open(db_path("wal.db"), &b, err, sizeof err));
        store_set_limits(b, &(StoreLimits){ .busy_timeout_ms = 50 });
        ASSERT_OK(store_model_add(a, "m1", "/m1", sha, 1, &admin, NULL, err, sizeof err));
        ASSERT_OK(store_model_get(b, "m1", &m, err, sizeof err));

        /* a holds the write lock: b still reads (WAL), and its write times out with -EBUSY */
        ASSERT_OK(store_begin(a, err, sizeof err));
        ASSERT_OK(store_model_add(a, "m2", "/m2", sha, 1, &admin, NULL, err, sizeof err));
        m = store_model_free(m);
        ASSERT_OK(store_model_get(b, "m1", &m, err, sizeof err));
        m = store_model_free(m);
        ASSERT_ERROR(store_model_get(b, "m2", &m, err, sizeof err), -ENOENT); /* not committed yet */
        ASSERT_ERROR(store_model_add(b, "m3", "/m3", sha, 1, &admin, NULL, err, sizeof err), -EBUSY);
        ASSERT_CONTAINS(err, "locked");
        ASSERT_OK(store_commit(a, err, sizeof err));
        ASSERT_OK(store_model_add(b, "m3", "/m3", sha, 1, &admin, NULL, err, sizeof err));
        ASSERT_OK(store_model_get(a, "m3", &m, err, sizeof err));
        ASSERT_OK(store_audit_verify(b, NULL, err, sizeof err));
}

/* The child writes audit rows and acknowledges each commit on the pipe, until it is killed. */
static _noreturn_ void durability_child(const char *path, int fd) {
        Store *s = NULL;

        if (store_open(path, &s, NULL, 0) < 0)
                _exit(2);
        for (uint32_t i = 0;; i++) {
                char target[32];

                snprintf(target, sizeof target, "row-%u", i);
                if (store_audit_append(s, &admin, "durability.write", target, NULL, NULL, 0) < 0)
                        _exit(3);
                if (write(fd, &i, sizeof i) != sizeof i)
                        _exit(4);
        }
}

TEST(acknowledged_writes_survive_kill_9) {
        char *path = db_path("kill.db"), err[256] = "";

        for (int iter = 0; iter < 20; iter++) {
                _cleanup_store_ Store *s = NULL;
                int fds[2], status;
                uint32_t acked = 0, got, want;
                uint64_t rows;
                pid_t pid;

                remove_db(path);
                ASSERT_OK(random_bytes(&want, sizeof want));
                want = 1 + want % 25;
                ASSERT_EQ(pipe(fds), 0);
                pid = fork();
                ASSERT_TRUE(pid >= 0);
                if (pid == 0) {
                        close(fds[0]);
                        durability_child(path, fds[1]);
                }
                close(fds[1]);
                while (acked < want && read(fds[0], &got, sizeof got) == sizeof got)
                        acked = got + 1;
                ASSERT_EQ(kill(pid, SIGKILL), 0);
                ASSERT_EQ(waitpid(pid, &status, 0), pid);
                /* acknowledgements written before the kill that we have not read yet count too */
                while (read(fds[0], &got, sizeof got) == sizeof got)
                        acked = got + 1;
                close(fds[0]);
                ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
                ASSERT_TRUE(acked >= want);

                ASSERT_OK(store_open(path, &s, err, sizeof err));
                ASSERT_OK(store_integrity_check(s, err, sizeof err));
                ASSERT_OK(store_audit_verify(s, &rows, err, sizeof err));
                ASSERT_TRUE(rows >= acked); /* one more may have committed before its ack was written */
                for (uint32_t i = 0; i < acked; i++) {
                        char target[32];
                        int64_t n;

                        snprintf(target, sizeof target, "row-%u", i);
                        ASSERT_OK(store_count(s, "SELECT count(*) FROM audit WHERE target = ?", &n, err, sizeof err,
                                              "t", target));
                        ASSERT_EQ(n, 1);
                }
        }
}

/* ---- jobs ---- */

static const char job_request[] = "{\"type\":\"infer\",\"model\":\"tiny\",\"prompt\":\"hi\",\"params\":{\"max_tokens\":4}}";

TEST(job_lifecycle_and_refused_moves) {
        _cleanup_store_ Store *s = open_fresh("jobs-life.db");
        _cleanup_(store_job_freep) StoreJob *j = NULL, *got = NULL;
        char err[256], id[STORE_JOB_ID_LEN + 1];

        ASSERT_NOT_NULL(s);
        ASSERT_OK(store_job_create(s, "key-a", "tiny", job_request, 10, 100, &j, err, sizeof err));
        ASSERT_UEQ(strlen(j->id), STORE_JOB_ID_LEN);
        ASSERT_TRUE(strncmp(j->id, "job-", 4) == 0);
        ASSERT_EQ(j->state, STORE_JOB_QUEUED);
        ASSERT_STREQ(j->request_json, job_request);
        ASSERT_UEQ(j->created_at, T0);
        snprintf(id, sizeof id, "%s", j->id);
        /* only a running job may finish or go back to the queue */
        ASSERT_ERROR(store_job_finish(s, id, "x", "stop", 1, 1, err, sizeof err), -ESTALE);
        ASSERT_ERROR(store_job_requeue(s, id, err, sizeof err), -ESTALE);
        ASSERT_OK(store_job_start(s, id, "gpu-1", "private", err, sizeof err));
        ASSERT_ERROR(store_job_start(s, id, "gpu-1", "private", err, sizeof err), -ESTALE);
        ASSERT_OK(store_job_requeue(s, id, err, sizeof err));
        ASSERT_OK(store_job_start(s, id, "gpu-2", "public", err, sizeof err));
        ASSERT_OK(store_job_finish(s, id, "answer", "length", 3, 4, err, sizeof err));
        ASSERT_OK(store_job_get(s, id, &got, err, sizeof err));
        ASSERT_EQ(got->state, STORE_JOB_DONE);
        ASSERT_UEQ(got->attempts, 2);
        ASSERT_STREQ(got->node, "gpu-2");
        ASSERT_STREQ(got->zone, "public");
        ASSERT_STREQ(got->output, "answer");
        ASSERT_STREQ(got->finish_reason, "length");
        ASSERT_UEQ(got->prompt_tokens, 3);
        ASSERT_UEQ(got->completion_tokens, 4);
        ASSERT_UEQ(got->finished_at, T0);
        /* an ended job cannot be cancelled, failed or started */
        ASSERT_ERROR(store_job_cancel(s, id, err, sizeof err), -EALREADY);
        ASSERT_ERROR(store_job_fail(s, id, "x", "y", err, sizeof err), -ESTALE);
        ASSERT_ERROR(store_job_start(s, id, "gpu-1", "private", err, sizeof err), -ESTALE);
        ASSERT_ERROR(store_job_get(s, "job-000000000000000000000000", &got, err, sizeof err), -ENOENT);
        ASSERT_ERROR(store_job_cancel(s, "job-nope", err, sizeof err), -ENOENT);
}

TEST(job_limits_per_key_and_in_total) {
        _cleanup_store_ Store *s = open_fresh("jobs-limits.db");
        _cleanup_(store_job_freep) StoreJob *j = NULL;
        char err[256];

        ASSERT_NOT_NULL(s);
        for (int i = 0; i < 3; i++)
                ASSERT_OK(store_job_create(s, "key-a", "tiny", job_request, 3, 5, i == 0 ? &j : NULL, err, sizeof err));
        ASSERT_ERROR(store_job_create(s, "key-a", "tiny", job_request, 3, 5, NULL, err, sizeof err), -E2BIG);
        ASSERT_CONTAINS(err, "limit 3");
        /* an ended job no longer counts against its key, but still against the total */
        ASSERT_OK(store_job_cancel(s, j->id, err, sizeof err));
        ASSERT_OK(store_job_create(s, "key-a", "tiny", job_request, 3, 5, NULL, err, sizeof err));
        ASSERT_OK(store_job_create(s, "key-b", "tiny", job_request, 3, 5, NULL, err, sizeof err));
        ASSERT_ERROR(store_job_create(s, "key-b", "tiny", job_request, 3, 5, NULL, err, sizeof err), -E2BIG);
        ASSERT_CONTAINS(err, "limit 5");
        ASSERT_ERROR(store_job_create(s, "key-b", "bad model name!", job_request, 3, 50, NULL, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_job_create(s, "key-b", "tiny", NULL, 3, 50, NULL, err, sizeof err), -E2BIG);
}

TEST(job_listing_is_per_key_newest_first_and_queue_oldest_first) {
        _cleanup_store_ Store *s = open_fresh("jobs-list.db");
        StoreJob *list = NULL;
        size_t n = 0;
        char err[256], ids[3][STORE_JOB_ID_LEN + 1];
        int64_t running;

        ASSERT_NOT_NULL(s);
        for (int i = 0; i < 3; i++) {
                _cleanup_(store_job_freep) StoreJob *j = NULL;
                store_set_now(s, T0 + (uint64_t) i * HOUR);
                ASSERT_OK(store_job_create(s, i == 1 ? "key-b" : "key-a", "tiny", job_request, 10, 100, &j, err, sizeof err));
                snprintf(ids[i], sizeof ids[i], "%s", j->id);
        }
        ASSERT_OK(store_job_list(s, "key-a", 10, &list, &n, err, sizeof err));
        ASSERT_UEQ(n, 2);
        ASSERT_STREQ(list[0].id, ids[2]);
        ASSERT_STREQ(list[1].id, ids[0]);
        ASSERT_NULL(list[0].request_json); /* listings carry no request and no output */
        store_jobs_free(list, n);
        ASSERT_OK(store_job_list(s, NULL, 10, &list, &n, err, sizeof err));
        ASSERT_UEQ(n, 3);
        store_jobs_free(list, n);
        ASSERT_OK(store_job_start(s, ids[0], "gpu-1", "private", err, sizeof err));
        ASSERT_OK(store_job_count_running(s, &running, err, sizeof err));
        ASSERT_EQ(running, 1);
        ASSERT_OK(store_job_list_queued(s, 10, &list, &n, err, sizeof err));
        ASSERT_UEQ(n, 2);
        ASSERT_STREQ(list[0].id, ids[1]);
        ASSERT_NULL(list[0].request_json);
        store_jobs_free(list, n);
}

TEST(job_recovery_after_restart_and_retention) {
        _cleanup_store_ Store *s = open_fresh("jobs-recover.db");
        _cleanup_(store_job_freep) StoreJob *a = NULL, *b = NULL, *c = NULL, *got = NULL;
        size_t requeued, failed, deleted, timed_out;
        char err[256];

        ASSERT_NOT_NULL(s);
        ASSERT_OK(store_job_create(s, "k", "tiny", job_request, 10, 100, &a, err, sizeof err));
        ASSERT_OK(store_job_create(s, "k", "tiny", job_request, 10, 100, &b, err, sizeof err));
        ASSERT_OK(store_job_create(s, "k", "tiny", job_request, 10, 100, &c, err, sizeof err));
        ASSERT_OK(store_job_start(s, a->id, "n", "private", err, sizeof err)); /* attempt 1 */
        ASSERT_OK(store_job_start(s, b->id, "n", "private", err, sizeof err));
        ASSERT_OK(store_job_requeue(s, b->id, err, sizeof err));
        ASSERT_OK(store_job_start(s, b->id, "n", "private", err, sizeof err)); /* attempt 2 */
        ASSERT_OK(store_job_recover(s, 2, &requeued, &failed, err, sizeof err));
        ASSERT_UEQ(requeued, 1);
        ASSERT_UEQ(failed, 1);
        ASSERT_OK(store_job_get(s, a->id, &got, err, sizeof err));
        ASSERT_EQ(got->state, STORE_JOB_QUEUED);
        got = store_job_free(got);
        ASSERT_OK(store_job_get(s, b->id, &got, err, sizeof err));
        ASSERT_EQ(got->state, STORE_JOB_FAILED);
        ASSERT_STREQ(got->error_code, "controller_restart");
        got = store_job_free(got);
        /* an hour later: c (queued since T0) times out after 30 min; b ended at T0 and is kept 2 h */
        store_set_now(s, T0 + HOUR);
        ASSERT_OK(store_job_start(s, a->id, "n", "private", err, sizeof err));
        ASSERT_OK(store_job_expire(s, 2 * HOUR, HOUR / 2, &deleted, &timed_out, err, sizeof err));
        ASSERT_UEQ(deleted, 0);
        ASSERT_UEQ(timed_out, 1);
        ASSERT_OK(store_job_get(s, c->id, &got, err, sizeof err));
        ASSERT_STREQ(got->error_code, "queue_timeout");
        got = store_job_free(got);
        store_set_now(s, T0 + 3 * HOUR + 1);
        ASSERT_OK(store_job_expire(s, 2 * HOUR, HOUR / 2, &deleted, &timed_out, err, sizeof err));
        ASSERT_UEQ(deleted, 2); /* b and c; a is still running */
        ASSERT_ERROR(store_job_get(s, b->id, &got, err, sizeof err), -ENOENT);
        ASSERT_OK(store_job_get(s, a->id, &got, err, sizeof err));
}

/* ---- rule set versions ---- */

TEST(rules_versions_add_get_latest_list) {
        _cleanup_store_ Store *s = open_fresh("rules.db");
        _cleanup_(store_rule_set_freep) StoreRuleSet *rs = NULL;
        StoreRuleSet *list = NULL;
        StoreAuditEntry *e = NULL;
        char err[256];
        uint64_t v = 0;
        size_t n = 0;

        ASSERT_NOT_NULL(s);
        /* none yet */
        ASSERT_ERROR(store_rules_latest(s, &rs, err, sizeof err), -ENOENT);
        ASSERT_CONTAINS(err, "not found");
        ASSERT_ERROR(store_rules_get(s, 1, &rs, err, sizeof err), -ENOENT);
        ASSERT_CONTAINS(err, "version 1");
        ASSERT_OK(store_rules_list(s, 0, &list, &n, err, sizeof err));
        ASSERT_UEQ(n, 0);
        store_rule_sets_free(list, n);

        /* stored compactly, numbered from 1, each audited in its own transaction */
        ASSERT_OK(store_rules_add(s, "{ \"rules\": [ ],\n \"spill_queue_depth\": 4 }",
                                  &(StoreActor){ .key_id = "controller" }, &v, err, sizeof err));
        ASSERT_UEQ(v, 1);
        store_set_now(s, T0 + HOUR);
        ASSERT_OK(store_rules_add(s, "{\"description\":\"second\"}", &admin, &v, err, sizeof err));
        ASSERT_UEQ(v, 2);

        ASSERT_OK(store_rules_latest(s, &rs, err, sizeof err));
        ASSERT_UEQ(rs->version, 2);
        ASSERT_STREQ(rs->document, "{\"description\":\"second\"}");
        ASSERT_STREQ(rs->actor, admin.key_id);
        ASSERT_UEQ(rs->created_at, T0 + HOUR);
        rs = store_rule_set_free(rs);
        ASSERT_OK(store_rules_get(s, 1, &rs, err, sizeof err));
        ASSERT_UEQ(rs->version, 1);
        ASSERT_STREQ(rs->document, "{\"rules\":[],\"spill_queue_depth\":4}");
        ASSERT_STREQ(rs->actor, "controller");
        ASSERT_UEQ(rs->created_at, T0);
        rs = store_rule_set_free(rs);
        ASSERT_ERROR(store_rules_get(s, 3, &rs, err, sizeof err), -ENOENT);
        ASSERT_ERROR(store_rules_get(s, 0, &rs, err, sizeof err), -EINVAL);
        ASSERT_NULL(rs);

        /* newest first, without documents; limits */
        ASSERT_OK(store_rules_list(s, 0, &list, &n, err, sizeof err));
        ASSERT_UEQ(n, 2);
        ASSERT_UEQ(list[0].version, 2);
        ASSERT_UEQ(list[1].version, 1);
        ASSERT_STREQ(list[1].actor, "controller");
        ASSERT_UEQ(list[1].created_at, T0);
        ASSERT_NULL(list[0].document);
        store_rule_sets_free(list, n);
        ASSERT_OK(store_rules_list(s, 1, &list, &n, err, sizeof err));
        ASSERT_UEQ(n, 1);
        ASSERT_UEQ(list[0].version, 2);
        store_rule_sets_free(list, n);
        ASSERT_ERROR(store_rules_list(s, STORE_RULES_LIST_MAX + 1, &list, &n, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "limit");

        ASSERT_OK(store_audit_list(s, &(StoreAuditFilter){ .action = "rules.set" }, &e, &n, err, sizeof err));
        ASSERT_UEQ(n, 2);
        ASSERT_STREQ(e[0].target, "2");
        ASSERT_STREQ(e[0].actor, admin.key_id);
        ASSERT_STREQ(e[0].request_id, "req-1");
        ASSERT_CONTAINS(e[0].detail_json, "\"version\":2");
        ASSERT_CONTAINS(e[0].detail_json, "\"previous\":1");
        ASSERT_STREQ(e[1].target, "1");
        ASSERT_STREQ(e[1].actor, "controller");
        store_audit_entries_free(e, n);
        ASSERT_OK(store_audit_verify(s, NULL, err, sizeof err));
}

TEST(rules_add_refusals_store_nothing) {
        _cleanup_store_ Store *s = open_fresh("rules-refused.db");
        _cleanup_free_ char *big = NULL;
        char err[256];
        uint64_t v = 0;
        size_t len = STORE_RULES_DOCUMENT_MAX + 1;

        ASSERT_NOT_NULL(s);
        ASSERT_ERROR(store_rules_add(s, "[]", &admin, &v, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "rule set: expected a JSON object");
        ASSERT_ERROR(store_rules_add(s, "{\"rules\": [", &admin, &v, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "rule set: line 1");
        ASSERT_ERROR(store_rules_add(s, NULL, &admin, &v, err, sizeof err), -EINVAL);
        ASSERT_ERROR(store_rules_add(s, "{}", &(StoreActor){ .key_id = "bad actor" }, &v, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "actor");
        ASSERT_ERROR(store_rules_add(s, "{}", NULL, &v, err, sizeof err), -EINVAL);

        /* one byte over the limit in compact form: {"description":"xxx..."} */
        big = malloc(len + 1);
        ASSERT_NOT_NULL(big);
        memset(big, 'x', len);
        memcpy(big, "{\"description\":\"", 16);
        memcpy(big + len - 2, "\"}", 3);
        ASSERT_ERROR(store_rules_add(s, big, &admin, &v, err, sizeof err), -E2BIG);
        ASSERT_CONTAINS(err, "longer than");
        /* exactly at the limit it is kept */
        memcpy(big + len - 3, "\"}", 3);
        ASSERT_OK(store_rules_add(s, big, &admin, &v, err, sizeof err));
        ASSERT_UEQ(v, 1);

        ASSERT_EQ(sql_int(s->db, "SELECT count(*) FROM rule_sets"), 1);
        ASSERT_EQ(sql_int(s->db, "SELECT count(*) FROM audit WHERE action = 'rules.set'"), 1);
}

TEST(rules_table_arrives_with_the_migration_from_version_3) {
        char *path = db_path("v3.db"), err[256];
        _cleanup_store_ Store *s = NULL;
        sqlite3 *db = NULL;
        uint64_t v = 0;
        unsigned got = 0;

        remove_db(path);
        ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
        ASSERT_OK(store_schema_migrate(db, 3, &got, err, sizeof err));
        ASSERT_UEQ(got, 3);
        ASSERT_EQ(sql_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'rule_sets'"), 0);
        sqlite3_close(db);

        ASSERT_OK(store_open(path, &s, err, sizeof err));
        ASSERT_UEQ(store_schema_version(s), 4);
        ASSERT_OK(store_rules_add(s, "{}", &admin, &v, err, sizeof err));
        ASSERT_UEQ(v, 1);
        /* versions are never edited in place: the primary key refuses a second version 1 */
        ASSERT_TRUE(sqlite3_exec(s->db, "INSERT INTO rule_sets VALUES (1, '{}', 'x', 0)", NULL, NULL, NULL) !=
                    SQLITE_OK);
        ASSERT_TRUE(sqlite3_exec(s->db, "INSERT INTO rule_sets VALUES (0, '{}', 'x', 0)", NULL, NULL, NULL) !=
                    SQLITE_OK);
}
