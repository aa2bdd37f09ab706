/* hashmap.c: separate-chaining hash map with SipHash-1-3, doubling at load factor 1. */
#include "hashmap.h"

#include <errno.h>
#include <string.h>

#include "random.h"

typedef struct Entry {
        struct Entry *next;
        uint64_t hash;
        void *value;
        char key[]; /* NUL-terminated copy */
} Entry;

struct Hashmap {
        Entry **buckets;
        size_t n_buckets; /* power of two */
        size_t size;
        uint8_t sip_key[16];
        HashmapFreeFunc free_value;
};

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND(v0, v1, v2, v3)                                                                       \
        do {                                                                                           \
                v0 += v1, v1 = ROTL(v1, 13), v1 ^= v0, v0 = ROTL(v0, 32);                              \
                v2 += v3, v3 = ROTL(v3, 16), v3 ^= v2;                                                 \
                v0 += v3, v3 = ROTL(v3, 21), v3 ^= v0;                                                 \
                v2 += v1, v1 = ROTL(v1, 17), v1 ^= v2, v2 = ROTL(v2, 32);                              \
        } while (0)

static uint64_t load_le64(const uint8_t *p) {
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
                v = (v << 8) | p[i];
        return v;
}

uint64_t hashmap_siphash(const void *data, size_t len, const uint8_t key[16], int c_rounds, int d_rounds) {
        const uint8_t *in = data;
        uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
        uint64_t v0 = k0 ^ UINT64_C(0x736f6d6570736575), v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
        uint64_t v2 = k0 ^ UINT64_C(0x6c7967656e657261), v3 = k1 ^ UINT64_C(0x7465646279746573);
        uint64_t b = (uint64_t) len << 56, m;
        size_t full = len & ~(size_t) 7;

        for (size_t i = 0; i < full; i += 8) {
                m = load_le64(in + i);
                v3 ^= m;
                for (int r = 0; r < c_rounds; r++)
                        SIPROUND(v0, v1, v2, v3);
                v0 ^= m;
        }
        for (size_t i = 0; i < (len & 7); i++)
                b |= (uint64_t) in[full + i] << (8 * i);
        v3 ^= b;
        for (int r = 0; r < c_rounds; r++)
                SIPROUND(v0, v1, v2, v3);
        v0 ^= b;
        v2 ^= 0xff;
        for (int r = 0; r < d_rounds; r++)
                SIPROUND(v0, v1, v2, v3);
        return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t hash_key(const Hashmap *m, const char *key) {
        return hashmap_siphash(key, strlen(key), m->sip_key, 1, 3);
}

int hashmap_new(HashmapFreeFunc free_value, Hashmap **ret) {
        Hashmap *m = calloc(1, sizeof *m);
        int r;

        if (!m)
                return -ENOMEM;
        m->n_buckets = 16;
        m->buckets = calloc(m->n_buckets, sizeof *m->buckets);
        if (!m->buckets) {
                free(m);
                return -ENOMEM;
        }
        r = random_bytes(m->sip_key, sizeof m->sip_key);
        if (r < 0) {
                hashmap_free(m);
                return r;
        }
        m->free_value = free_value;
        *ret = m;
        return 0;
}

Hashmap *hashmap_free(Hashmap *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_buckets; i++)
                for (Entry *e = m->buckets[i], *next; e; e = next) {
                        next = e->next;
                        if (m->free_value)
                                m->free_value(e->value);
                        free(e);
                }
        free(m->buckets);
        free(m);
        return NULL;
}

static Entry **hashmap_slot(const Hashmap *m, const char *key, uint64_t hash) {
        Entry **p = &m->buckets[hash & (m->n_buckets - 1)];

        for (; *p; p = &(*p)->next)
                if ((*p)->hash == hash && streq((*p)->key, key))
                        break;
        return p;
}

/* Doubles the bucket array; on -ENOMEM the map stays as it was (only slower). */
static void hashmap_grow(Hashmap *m) {
        size_t n = m->n_buckets * 2;
        Entry **b = calloc(n, sizeof *b);

        if (!b)
                return;
        for (size_t i = 0; i < m->n_buckets; i++)
                for (Entry *e = m->buckets[i], *next; e; e = next) {
                        next = e->next;
                        e->next = b[e->hash & (n - 1)];
                        b[e->hash & (n - 1)] = e;
                }
        free(m->buckets);
        m->buckets = b;
        m->n_buckets = n;
}

int hashmap_put(Hashmap *m, const char *key, void *value, void **ret_old) {
        size_t klen = strlen(key);
        uint64_t hash = hashmap_siphash(key, klen, m->sip_key, 1, 3);
        Entry **slot = hashmap_slot(m, key, hash), *e;

        if (*slot) {
                if (ret_old)
                        *ret_old = (*slot)->value;
                else if (m->free_value && (*slot)->value != value)
                        m->free_value((*slot)->value);
                (*slot)->value = value;
                return 1;
        }
        e = malloc(sizeof *e + klen + 1);
        if (!e)
                return -ENOMEM;
        memcpy(e->key, key, klen + 1);
        e->hash = hash;
        e->value = value;
        e->next = NULL;
        *slot = e;
        if (++m->size > m->n_buckets)
                hashmap_grow(m);
        return 0;
}

void *hashmap_get(const Hashmap *m, const char *key) {
        Entry *e = *hashmap_slot(m, key, hash_key(m, key));
        return e ? e->value : NULL;
}

bool hashmap_contains(const Hashmap *m, const char *key) {
        return *hashmap_slot(m, key, hash_key(m, key)) != NULL;
}

void *hashmap_remove(Hashmap *m, const char *key) {
        Entry **slot = hashmap_slot(m, key, hash_key(m, key));
        Entry *e = *slot;
        void *value;

        if (!e)
                return NULL;
        *slot = e->next;
        value = e->value;
        free(e);
        m->size--;
        return value;
}

size_t hashmap_size(const Hashmap *m) {
        return m ? m->size : 0;
}

bool hashmap_next(const Hashmap *m, HashmapIter *it, const char **ret_key, void **ret_value) {
        Entry *e = it->entry;

        /* it->entry is the next entry to return (saved before handing out the current one, so the
         * caller may remove the entry it was just given) */
        while (!e && it->bucket < m->n_buckets)
                e = m->buckets[it->bucket++];
        if (!e)
                return false;
        it->entry = e->next;
        if (ret_key)
                *ret_key = e->key;
        if (ret_value)
                *ret_value = e->value;
        return true;
}
