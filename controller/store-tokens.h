/* store-tokens.h: single-use join tokens, each bound to one node name and zone, stored only as a SHA-256 hash. */
#pragma once

#include "store.h"
#include "timeutil.h"

#define STORE_JOIN_TOKEN_PREFIX "sjt-"
#define STORE_JOIN_TOKEN_TTL_DEFAULT USEC_PER_HOUR
#define STORE_JOIN_TOKEN_TTL_MIN USEC_PER_SEC
#define STORE_JOIN_TOKEN_TTL_MAX (7 * USEC_PER_DAY)
/* Used and expired tokens stay listed this long, then token creation deletes them. */
#define STORE_JOIN_TOKEN_RETENTION (30 * USEC_PER_DAY)
#define STORE_JOIN_TOKEN_LIST_MAX 10000

typedef struct StoreJoinToken {
        char *id;        /* public handle: 16 hex digits (not the secret) */
        char *node_name; /* the only node name that may redeem it */
        StoreZone zone;  /* the only zone it enrolls into */
        uint64_t created_at;
        uint64_t expires_at;
        uint64_t used_at; /* 0: not redeemed */
        char *created_by; /* actor key id */
} StoreJoinToken;

void store_join_token_done(StoreJoinToken *t);
StoreJoinToken *store_join_token_free(StoreJoinToken *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(StoreJoinToken *, store_join_token_free);
void store_join_tokens_free(StoreJoinToken *a, size_t n);

/* Creates a token for node_name (a name, see STORE_NAME_MAX) in zone, valid for ttl_usec (0: the
 * default hour; STORE_JOIN_TOKEN_TTL_MIN..MAX). *ret_token gets "sjt-" + 43 base64url characters
 * (256 random bits), the only copy of the secret: free() it after showing it once. ret_info (may
 * be NULL) gets the stored record. Refuses bad values with -EINVAL, more than max_join_tokens
 * unused and unexpired tokens with -E2BIG. Audited as "join_token.create". */
int store_join_token_create(Store *s, const char *node_name, StoreZone zone, uint64_t ttl_usec,
                            const StoreActor *actor, char **ret_token, StoreJoinToken **ret_info, char *err,
                            size_t errsz);

/* Redeems token in one transaction: afterwards no second redeem can succeed. node_name and zone are
 * what the enrolling node claims (NULL / a negative zone: not checked); a mismatch is -EPERM and
 * leaves the token unused. Errors: -EINVAL malformed, -ENOENT unknown, -EALREADY already used,
 * -ETIMEDOUT expired, -EPERM wrong node name or zone. ret (may be NULL) gets the record (owned by
 * the caller). Inside store_begin() it becomes durable with the enrollment that follows. */
int store_join_token_redeem(Store *s, const char *token, const char *node_name, StoreZone zone, StoreJoinToken **ret,
                            char *err, size_t errsz);

/* Deletes a token by id, used or not (-ENOENT if none). Audited as "join_token.delete". */
int store_join_token_delete(Store *s, const char *id, const StoreActor *actor, char *err, size_t errsz);

/* All tokens, newest first (at most STORE_JOIN_TOKEN_LIST_MAX); no secrets. The caller owns *ret
 * (store_join_tokens_free). */
int store_join_token_list(Store *s, StoreJoinToken **ret, size_t *ret_n, char *err, size_t errsz);
