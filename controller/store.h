/* store.h: the controller's inventory in SQLite (WAL, synchronous=FULL, versioned migrations); tables in store-*.h. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

typedef struct Store Store;

/* Limits on single values. A value past one is refused with -EINVAL (or -E2BIG for sizes) and an
 * error line naming the field; nothing is written. */
#define STORE_NAME_MAX 64         /* node, API key and model names; ids */
#define STORE_ACTOR_MAX 64        /* StoreActor.key_id */
#define STORE_REQUEST_ID_MAX 128  /* StoreActor.request_id */
#define STORE_LABELS_MAX 32       /* entries in a labels object */
#define STORE_LABEL_KEY_MAX 63    /* bytes of a label key */
#define STORE_LABEL_VALUE_MAX 255 /* bytes of a label value */
#define STORE_JSON_MAX 4096       /* labels, capacity, audit detail (canonical JSON) */
#define STORE_TELEMETRY_MAX 16384 /* a node's last telemetry (canonical JSON) */
#define STORE_REASON_MAX 256      /* revocation and failure reasons */
#define STORE_SOURCE_MAX 2048     /* a model's source URL or path */
#define STORE_TOKEN_MAX 256       /* a presented join token or API key (longer is malformed) */

/* Limits on counts and the lock wait; defaults below, changed with store_set_limits(). */
typedef struct StoreLimits {
        unsigned max_nodes;       /* node rows, revoked included */
        unsigned max_api_keys;    /* keys not revoked */
        unsigned max_join_tokens; /* tokens neither used nor expired */
        unsigned max_models;
        unsigned max_deployments;
        unsigned busy_timeout_ms; /* how long a write waits for another connection's lock */
} StoreLimits;

#define STORE_LIMITS_DEFAULT                                                                                          \
        ((StoreLimits){ .max_nodes = 10000,                                                                           \
                        .max_api_keys = 10000,                                                                        \
                        .max_join_tokens = 1000,                                                                      \
                        .max_models = 1000,                                                                           \
                        .max_deployments = 1000,                                                                      \
                        .busy_timeout_ms = 5000 })

typedef enum StoreZone {
        STORE_ZONE_PRIVATE,
        STORE_ZONE_PUBLIC,
        _STORE_ZONE_MAX,
        _STORE_ZONE_INVALID = -EINVAL,
} StoreZone;

/* "private" / "public"; NULL for a value out of range. */
const char *store_zone_to_string(StoreZone z);
/* The zone named s, or _STORE_ZONE_INVALID (also for NULL). */
StoreZone store_zone_from_string(const char *s);

/* Who performs a write that the audit table records. key_id is the API key id (or a fixed actor
 * such as "bootstrap" or "join-token:<id>"): 1..STORE_ACTOR_MAX bytes of [A-Za-z0-9._:-].
 * request_id may be NULL; else 1..STORE_REQUEST_ID_MAX printable ASCII bytes. The audit row is
 * written in the same transaction as the change, so one never exists without the other. */
typedef struct StoreActor {
        const char *key_id;
        const char *request_id;
} StoreActor;

/* Opens or creates the database at path (created 0600), switches it to WAL with
 * synchronous=FULL (a write is on disk when the call returns), foreign keys on, and applies the
 * missing schema migrations, each in its own transaction. Refuses with a message in err: a file
 * that is not SQLite or not a sluice database (-EBADMSG), a schema newer than this code
 * (-EPROTONOSUPPORT), and SQLite failures (mapped to -EIO, -EACCES, -EBUSY, ...). The caller owns
 * *ret (store_close). */
int store_open(const char *path, Store **ret, char *err, size_t errsz);
/* Closes the connection; accepts NULL, returns NULL. An open store_begin() is rolled back. */
Store *store_close(Store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_close);
#define _cleanup_store_ _cleanup_(store_closep)

/* Runs PRAGMA integrity_check (slow on big files: call it at start when asked to). 0 when "ok",
 * else -EBADMSG with the first problem in err. */
int store_integrity_check(Store *s, char *err, size_t errsz);
/* The schema version the database is at (== STORE_SCHEMA_VERSION after store_open). */
unsigned store_schema_version(Store *s);

/* Replaces the count limits and the lock wait (zero fields are left as they were). */
void store_set_limits(Store *s, const StoreLimits *limits);
/* Fixes the store's clock to usec since the epoch (for tests); 0 returns to the real clock. */
void store_set_now(Store *s, uint64_t usec);
/* The store's clock: microseconds since the epoch. */
uint64_t store_now(Store *s);

/* A transaction around several calls (e.g. redeem a join token, enroll the node, set its
 * certificate): BEGIN IMMEDIATE takes the write lock at once. Calls made inside it nest as
 * savepoints and no longer commit on their own; store_commit makes them durable together, and
 * store_rollback undoes them. -EBUSY when a transaction is already open or the lock is held
 * longer than busy_timeout_ms. */
int store_begin(Store *s, char *err, size_t errsz);
int store_commit(Store *s, char *err, size_t errsz);
int store_rollback(Store *s);
