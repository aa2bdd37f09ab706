/* hashmap.h: string-keyed hash map (SipHash-1-3 with a random per-map key, separate chaining). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

typedef struct Hashmap Hashmap;
/* Called on values when the map is freed or a value is replaced/removed without being returned. */
typedef void (*HashmapFreeFunc)(void *value);

typedef struct HashmapIter {
        size_t bucket;
        void *entry;
} HashmapIter;
#define HASHMAP_ITER_INIT { 0, NULL }

/* Creates an empty map. free_value may be NULL (values are not owned). The SipHash key comes from
 * the kernel's random source, so that attacker-chosen keys cannot force collisions. */
int hashmap_new(HashmapFreeFunc free_value, Hashmap **ret);
/* Frees the map, its key copies and (through free_value) its values. Accepts NULL, returns NULL. */
Hashmap *hashmap_free(Hashmap *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Hashmap *, hashmap_free);

/* Inserts or replaces. The key is copied; the value is owned by the map when free_value is set.
 * When the key existed and ret_old is not NULL, the old value is handed back instead of freed.
 * Returns 0 (inserted), 1 (replaced) or -ENOMEM (map unchanged). */
int hashmap_put(Hashmap *m, const char *key, void *value, void **ret_old);
/* The value for key, or NULL. */
void *hashmap_get(const Hashmap *m, const char *key);
bool hashmap_contains(const Hashmap *m, const char *key);
/* Removes key and hands its value back (not freed). Returns the value, or NULL when absent. */
void *hashmap_remove(Hashmap *m, const char *key);
size_t hashmap_size(const Hashmap *m);
/* Walks all entries in unspecified order. Returns false at the end. The map must not change during
 * the walk, except by hashmap_remove() of the key just returned. */
bool hashmap_next(const Hashmap *m, HashmapIter *it, const char **ret_key, void **ret_value);

/* SipHash-c-d of data under a 128-bit key (the map uses c=1, d=3; SipHash-2-4 is the reference
 * with published test vectors). Exposed for tests and for other hashed structures. */
uint64_t hashmap_siphash(const void *data, size_t len, const uint8_t key[16], int c_rounds, int d_rounds);
