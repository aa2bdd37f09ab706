/* store-audit.h: the audit table: who changed what, when, under which request; hash-chained, never a secret. */
#pragma once

#include "store.h"

#define STORE_AUDIT_ACTION_MAX 64  /* "api_key.create" */
#define STORE_AUDIT_TARGET_MAX 256 /* what was changed: a name or an id */
#define STORE_AUDIT_LIST_DEFAULT 100
#define STORE_AUDIT_LIST_MAX 1000

typedef struct StoreAuditEntry {
        int64_t id;        /* increasing; never reused */
        uint64_t time;     /* usec since the epoch */
        char *actor;       /* StoreActor.key_id */
        char *action;      /* "<resource>.<verb>", e.g. "node.revoke" */
        char *target;      /* may be NULL */
        char *request_id;  /* may be NULL */
        char *detail_json; /* a JSON object, "{}" when there is nothing to add */
} StoreAuditEntry;

/* Filters for store_audit_list; NULL/0 fields do not filter. */
typedef struct StoreAuditFilter {
        const char *actor;
        const char *action;
        const char *target;
        uint64_t since;    /* time >= since */
        uint64_t until;    /* time < until */
        int64_t before_id; /* id < before_id: the next page after the last id seen */
        unsigned limit;    /* 0: STORE_AUDIT_LIST_DEFAULT; more than STORE_AUDIT_LIST_MAX is -EINVAL */
} StoreAuditFilter;

void store_audit_entry_done(StoreAuditEntry *e);
void store_audit_entries_free(StoreAuditEntry *a, size_t n);

/* Appends a row for an event the store does not record itself (the store's own writes already
 * do). action is 1..STORE_AUDIT_ACTION_MAX bytes of [a-z0-9._]; target (may be NULL) is text up to
 * STORE_AUDIT_TARGET_MAX bytes; detail_json (may be NULL) is a JSON object up to STORE_JSON_MAX
 * bytes. Refuses a detail or target that holds something shaped like a join token or API key
 * (-EINVAL), so that no secret is ever written here. Durable on return (unless in store_begin). */
int store_audit_append(Store *s, const StoreActor *actor, const char *action, const char *target,
                       const char *detail_json, char *err, size_t errsz);

/* Lists rows newest first, filtered. The caller owns *ret (store_audit_entries_free). */
int store_audit_list(Store *s, const StoreAuditFilter *filter, StoreAuditEntry **ret, size_t *ret_n, char *err,
                     size_t errsz);

/* Recomputes the hash chain over all rows: each row's hash covers its fields and the previous
 * row's hash, so an edited, inserted or removed row (other than the newest) breaks it. 0 with the
 * number of rows checked, or -EBADMSG naming the first bad row. */
int store_audit_verify(Store *s, uint64_t *ret_rows, char *err, size_t errsz);
