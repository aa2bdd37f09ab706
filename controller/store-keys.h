/* store-keys.h: API keys ("sk-sluice-..."): role, optional expiry, model allow-list, labels; stored as SHA-256. */
#pragma once

#include "store.h"
#include "timeutil.h"

#define STORE_API_KEY_PREFIX "sk-sluice-"
#define STORE_API_KEY_DISPLAY_LEN 16 /* "sk-sluice-" + 6 characters, kept for display */
#define STORE_API_KEY_TTL_MAX (3650 * USEC_PER_DAY)
#define STORE_API_KEY_MODELS_MAX 64 /* entries in a model allow-list */
#define STORE_API_KEY_LIST_MAX 10000
#define STORE_BOOTSTRAP_KEY_NAME "bootstrap-admin"

/* Roles; anything else (or none) is denied. */
typedef enum StoreRole {
        STORE_ROLE_ADMIN,     /* deploy models, manage nodes, rules and keys */
        STORE_ROLE_DEVELOPER, /* call the inference API */
        STORE_ROLE_AUDITOR,   /* read the audit log, logs and metrics */
        _STORE_ROLE_MAX,
        _STORE_ROLE_INVALID = -EINVAL,
} StoreRole;

const char *store_role_to_string(StoreRole r);
StoreRole store_role_from_string(const char *s);

typedef struct StoreApiKey {
        char *id;     /* public id: 16 hex digits; the actor in audit rows */
        char *name;   /* unique among keys not revoked */
        char *prefix; /* the secret's first STORE_API_KEY_DISPLAY_LEN characters */
        StoreRole role;
        uint64_t created_at;
        uint64_t expires_at; /* 0: never */
        uint64_t revoked_at; /* 0: not revoked */
        char *created_by;
        char **models; /* NULL-terminated allow-list; NULL: every model */
        size_t n_models;
        char *labels_json; /* a JSON object of string values, "{}" when none */
} StoreApiKey;

typedef struct StoreApiKeyParams {
        const char *name; /* see STORE_NAME_MAX */
        StoreRole role;
        uint64_t ttl_usec;         /* 0: never expires; else 1s..STORE_API_KEY_TTL_MAX */
        const char *const *models; /* allow-list of model names; NULL or n_models == 0: all */
        size_t n_models;
        const char *labels_json; /* NULL, or an object of at most STORE_LABELS_MAX string values */
} StoreApiKeyParams;

void store_api_key_done(StoreApiKey *k);
StoreApiKey *store_api_key_free(StoreApiKey *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(StoreApiKey *, store_api_key_free);
void store_api_keys_free(StoreApiKey *a, size_t n);

/* Creates a key. *ret_secret gets "sk-sluice-" + 43 base64url characters (256 random bits): the
 * only copy, to show once and free(). ret_key (may be NULL) gets the record. Refuses bad values
 * with -EINVAL/-E2BIG, a name held by another key not revoked with -EEXIST, more than
 * max_api_keys keys not revoked with -E2BIG. Audited as "api_key.create". */
int store_api_key_create(Store *s, const StoreApiKeyParams *p, const StoreActor *actor, char **ret_secret,
                         StoreApiKey **ret_key, char *err, size_t errsz);

/* Finds the key a client presented: hashes it, fetches the row by hash and compares the hashes in
 * constant time. -EINVAL malformed, -ENOENT unknown, -EKEYREVOKED revoked, -EKEYEXPIRED expired;
 * else *ret (owned by the caller). Never writes to the database. */
int store_api_key_lookup(Store *s, const char *presented, StoreApiKey **ret, char *err, size_t errsz);

/* The key with this id, revoked or not (-ENOENT if none). */
int store_api_key_get(Store *s, const char *id, StoreApiKey **ret, char *err, size_t errsz);

/* Revokes a key by id: -ENOENT unknown, -EALREADY already revoked. Audited as "api_key.revoke". */
int store_api_key_revoke(Store *s, const char *id, const StoreActor *actor, char *err, size_t errsz);

/* Keys newest first, revoked ones included (at most STORE_API_KEY_LIST_MAX); no secrets. The
 * caller owns *ret (store_api_keys_free). */
int store_api_key_list(Store *s, StoreApiKey **ret, size_t *ret_n, char *err, size_t errsz);

/* Whether the key's allow-list admits model (always, when it has none). */
bool store_api_key_allows_model(const StoreApiKey *k, const char *model);

/* Receives the bootstrap secret before the transaction commits (e.g. writes it to a 0600 file);
 * a negative return rolls the key back. */
typedef int (*StoreSecretPublish)(const char *secret, const StoreApiKey *key, void *userdata);

/* Creates the first admin key (STORE_BOOTSTRAP_KEY_NAME, actor "bootstrap") once per database:
 * -EEXIST when it was already created. The secret goes only to publish(); the key commits only
 * after publish() succeeded, so a crash in between leaves no key that nobody knows (the next
 * start makes a new one). */
int store_api_key_bootstrap(Store *s, StoreSecretPublish publish, void *userdata, char *err, size_t errsz);
