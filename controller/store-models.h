/* store-models.h: the model catalogue: name, where the GGUF file comes from, its SHA-256 and size. */
#pragma once

#include "store.h"

typedef struct StoreModel {
        char *name;    /* unique; A-Z a-z 0-9 . _ - : / @ + */
        char *source;  /* a URL ("scheme://...") or an absolute path */
        char *sha256;  /* 64 lowercase hex digits */
        uint64_t size; /* bytes */
        uint64_t created_at;
        char *created_by;
} StoreModel;

void store_model_done(StoreModel *m);
StoreModel *store_model_free(StoreModel *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(StoreModel *, store_model_free);
void store_models_free(StoreModel *a, size_t n);

/* Adds a model. source: up to STORE_SOURCE_MAX bytes, a URL or an absolute path; sha256: 64 hex
 * digits (any case); size: 1..INT64_MAX. -EEXIST for a name in use, -E2BIG past max_models.
 * Audited as "model.add". ret (may be NULL) gets the record. */
int store_model_add(Store *s, const char *name, const char *source, const char *sha256, uint64_t size,
                    const StoreActor *actor, StoreModel **ret, char *err, size_t errsz);
/* Removes a model: -ENOENT unknown, -EBUSY while a deployment refers to it. Audited as
 * "model.remove". */
int store_model_remove(Store *s, const char *name, const StoreActor *actor, char *err, size_t errsz);
/* One model (-ENOENT), or all by name (deployed_only: those with a deployment not stopped); the
 * caller owns the result. */
int store_model_get(Store *s, const char *name, StoreModel **ret, char *err, size_t errsz);
int store_model_list(Store *s, bool deployed_only, StoreModel **ret, size_t *ret_n, char *err, size_t errsz);
/* Whether the model has a deployment that is not stopped (false also when the store fails). */
bool store_model_deployed(Store *s, const char *name);
