/* store-internal.h: what the store-*.c files share: the Store struct, statement and transaction helpers, checks. */
#pragma once

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdarg.h>

#include "errorf.h"
#include "store.h"

/* The schema this code writes; store_open migrates older databases up to it. */
#define STORE_SCHEMA_VERSION 4u

struct Store {
        sqlite3 *db;
        StoreLimits limits;
        uint64_t now; /* fixed clock (tests), 0: real time */
};

DEFINE_TRIVIAL_CLEANUP_FUNC(sqlite3_stmt *, sqlite3_finalize);
#define _cleanup_stmt_ _cleanup_(sqlite3_finalizep)

/* Maps an SQLite result code to a negative errno (unique/primary key: -EEXIST, busy: -EBUSY, full:
 * -ENOSPC, corrupt/not a database: -EBADMSG, ...) and writes "what: <sqlite3_errmsg>" to err. */
int store_sqlite_error(sqlite3 *db, int rc, const char *what, char *err, size_t errsz);

/* sqlite3_prepare_v2 of constant SQL (user data is only ever bound). */
int store_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret, char *err, size_t errsz);
/* Binds parameters 1.. from a format: 't' const char * (NULL binds NULL), 'i' int64_t, 'o' uint64_t
 * bound as NULL when 0 (optional timestamps), 'h' const uint8_t[32] (a SHA-256 blob). */
int store_bind(sqlite3_stmt *st, char *err, size_t errsz, const char *fmt, ...);
int store_vbind(sqlite3_stmt *st, char *err, size_t errsz, const char *fmt, va_list ap);
/* Prepares, binds (as store_bind) and steps one statement that returns no row: the number of rows
 * it changed, or a negative errno. */
int store_run(Store *s, const char *sql, char *err, size_t errsz, const char *fmt, ...);
/* sqlite3_step: 1 for a row, 0 when done, a negative errno (message names the statement). */
int store_step(sqlite3_stmt *st, char *err, size_t errsz);
/* Runs constant SQL (pragmas, BEGIN, migrations). */
int store_exec(sqlite3 *db, const char *sql, char *err, size_t errsz);

/* Makes room for need elements of elem_size in *array (zeroed), growing *allocated: 0 or -ENOMEM. */
int store_grow(void **array, size_t *allocated, size_t need, size_t elem_size);
/* Steps st to its end, collecting its rows into a new array of row_size elements: read_row fills the
 * next (zeroed) element from the current row, or returns a negative errno; free_rows frees n elements
 * and the array, and also gets the element a failed read_row left. On success the caller owns *ret
 * (NULL when there is no row) and *ret_n; on failure nothing is kept and err reads "what: out of memory"
 * ("what: malformed row" when read_row fails with another errno). */
int store_collect(sqlite3_stmt *st, size_t row_size, int (*read_row)(sqlite3_stmt *st, void *row, void *userdata),
                  void *userdata, void (*free_rows)(void *rows, size_t n), const char *what, void **ret, size_t *ret_n,
                  char *err, size_t errsz);

/* Copies a text column (NULL stays NULL) into *ret: 0 or -ENOMEM. */
int store_column_strdup(sqlite3_stmt *st, int i, char **ret);
/* An integer column as uint64_t; NULL and negative values read as 0. */
uint64_t store_column_u64(sqlite3_stmt *st, int i);

/* A write transaction owned by one store_*() call: BEGIN IMMEDIATE when none is open, else a
 * savepoint inside the caller's store_begin(). Unless committed it is rolled back at scope exit. */
typedef struct StoreTx {
        Store *store;
        bool open;
        bool savepoint;
} StoreTx;
int store_tx_begin(Store *s, StoreTx *tx, char *err, size_t errsz);
int store_tx_commit(StoreTx *tx, char *err, size_t errsz);
void store_tx_abort(StoreTx *tx);
#define _cleanup_tx_ _cleanup_(store_tx_abort)

/* Value checks; each writes "FIELD: problem" to err. A name is 1..STORE_NAME_MAX bytes of
 * [A-Za-z0-9._-] starting with a letter or digit (model names may also use ':' '/' '@' '+'). */
int store_check_name(const char *field, const char *v, bool model, char *err, size_t errsz);
/* 1..max bytes without control characters. */
int store_check_text(const char *field, const char *v, size_t max, char *err, size_t errsz);
int store_check_actor(const StoreActor *a, char *err, size_t errsz);
/* A presented join token or API key: prefix + 43 base64url characters, else -EINVAL "malformed what". */
int store_check_presented(const char *what, const char *v, const char *prefix, char *err, size_t errsz);
/* Parses JSON text that must be an object and returns its compact form (free() it), refused past
 * max bytes with -E2BIG. labels=true also requires string values and label-shaped keys. */
int store_canonical_object(const char *field, const char *json, size_t max, bool labels, char **ret, char *err,
                           size_t errsz);
/* The number from a "SELECT count(*) ..." statement with parameters bound by fmt (see store_bind). */
int store_count(Store *s, const char *sql, int64_t *ret, char *err, size_t errsz, const char *fmt, ...);

/* Secrets and ids from getrandom(2): 16 lowercase hex digits; an RFC 4122 version 4 UUID; a
 * prefix followed by 32 random bytes in unpadded base64url (free() it). */
int store_random_id(char buf[static 17]);
int store_random_uuid(char buf[static 37]);
int store_random_secret(const char *prefix, char **ret);
/* Wipes and frees a secret string at scope exit. */
static inline void store_secret_freep(char **p) {
        if (*p) {
                explicit_bzero(*p, strlen(*p));
                free(*p);
        }
}
#define _cleanup_secret_ _cleanup_(store_secret_freep)
/* SHA-256 of n bytes (OpenSSL EVP). */
int store_sha256(const void *data, size_t n, uint8_t ret[static 32]);
/* Whether text holds something shaped like a join token or API key (audit details must not). */
bool store_text_has_secret(const char *text);

/* Appends an audit row inside the caller's transaction; detail may be NULL (recorded as {}). */
int store_audit_record(Store *s, const StoreActor *actor, const char *action, const char *target, const cJSON *detail,
                       char *err, size_t errsz);

/* Brings db from its current schema version to target (<= STORE_SCHEMA_VERSION), one transaction
 * per migration; refuses newer databases and foreign ones. Exposed for the tests, which build old
 * versions by hand. *ret_version (may be NULL) is the version reached. */
int store_schema_migrate(sqlite3 *db, unsigned target, unsigned *ret_version, char *err, size_t errsz);
/* The version recorded in db (0 for an empty database), or a negative errno. */
int store_schema_read_version(sqlite3 *db, unsigned *ret, char *err, size_t errsz);

/* From name##_done(T *), which frees a record's fields and accepts NULL, defines name##_free(T *)
 * (NULL-safe, returns NULL) and the array form plural##_free(T *, size_t) for the lists the
 * store hands out, with plural##_free_rows(void *, size_t) for store_collect(). */
#define STORE_DEFINE_FREE(T, name)                                                                                    \
        T *name##_free(T *x) {                                                                                        \
                name##_done(x);                                                                                       \
                free(x);                                                                                              \
                return NULL;                                                                                          \
        }
#define STORE_DEFINE_ARRAY_FREE(T, name, plural)                                                                      \
        void plural##_free(T *a, size_t n) {                                                                          \
                for (size_t i = 0; a && i < n; i++)                                                                   \
                        name##_done(&a[i]);                                                                           \
                free(a);                                                                                              \
        }                                                                                                             \
        _unused_ static void plural##_free_rows(void *a, size_t n) {                                                  \
                plural##_free(a, n);                                                                                  \
        }
