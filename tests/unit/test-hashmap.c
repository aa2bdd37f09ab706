/* test-hashmap.c: insert, replace, remove, iterate, growth, ownership, and SipHash test vectors. */
#include <stdio.h>

#include "hashmap.h"
#include "test.h"

TEST(siphash24_reference_vector) {
        /* From the SipHash paper (Aumasson & Bernstein), appendix A: key 00..0f, message 00..0e. */
        uint8_t key[16], msg[15];

        for (int i = 0; i < 16; i++)
                key[i] = (uint8_t) i;
        for (int i = 0; i < 15; i++)
                msg[i] = (uint8_t) i;
        ASSERT_UEQ(hashmap_siphash(msg, sizeof msg, key, 2, 4), UINT64_C(0xa129ca6149be45e5));
        /* the empty message, from the reference implementation's vectors.h (first entry) */
        ASSERT_UEQ(hashmap_siphash(msg, 0, key, 2, 4), UINT64_C(0x726fdb47dd0e0e31));
}

TEST(put_get_replace_remove) {
        _cleanup_(hashmap_freep) Hashmap *m = NULL;
        int a = 1, b = 2;
        void *old = NULL;

        ASSERT_OK(hashmap_new(NULL, &m));
        ASSERT_EQ(hashmap_size(m), 0);
        ASSERT_NULL(hashmap_get(m, "a"));
        ASSERT_EQ(hashmap_put(m, "a", &a, NULL), 0);
        ASSERT_TRUE(hashmap_get(m, "a") == &a);
        ASSERT_TRUE(hashmap_contains(m, "a"));
        ASSERT_EQ(hashmap_put(m, "a", &b, &old), 1);
        ASSERT_TRUE(old == &a);
        ASSERT_TRUE(hashmap_get(m, "a") == &b);
        ASSERT_EQ(hashmap_size(m), 1);
        ASSERT_TRUE(hashmap_remove(m, "a") == &b);
        ASSERT_NULL(hashmap_remove(m, "a"));
        ASSERT_FALSE(hashmap_contains(m, "a"));
        ASSERT_EQ(hashmap_size(m), 0);
        ASSERT_EQ(hashmap_put(m, "", &a, NULL), 0); /* the empty key is a key */
        ASSERT_TRUE(hashmap_get(m, "") == &a);
}

TEST(many_entries_and_iteration) {
        _cleanup_(hashmap_freep) Hashmap *m = NULL;
        static char seen[20000];
        const char *key;
        void *value;
        HashmapIter it = HASHMAP_ITER_INIT;
        size_t n = 0;

        ASSERT_OK(hashmap_new(free, &m));
        for (int i = 0; i < 20000; i++) {
                char k[32];
                int *v = malloc(sizeof *v);
                *v = i;
                snprintf(k, sizeof k, "node-%d", i);
                ASSERT_EQ(hashmap_put(m, k, v, NULL), 0);
        }
        ASSERT_EQ(hashmap_size(m), 20000);
        for (int i = 0; i < 20000; i += 997) {
                char k[32];
                snprintf(k, sizeof k, "node-%d", i);
                ASSERT_EQ(*(int *) hashmap_get(m, k), i);
        }
        while (hashmap_next(m, &it, &key, &value)) {
                int i = *(int *) value;
                char k[32];
                snprintf(k, sizeof k, "node-%d", i);
                ASSERT_STREQ(key, k);
                ASSERT_EQ(seen[i], 0);
                seen[i] = 1;
                n++;
        }
        ASSERT_EQ(n, 20000);
}

TEST(remove_while_iterating) {
        _cleanup_(hashmap_freep) Hashmap *m = NULL;
        HashmapIter it = HASHMAP_ITER_INIT;
        const char *key;
        char keybuf[16];
        void *value;

        ASSERT_OK(hashmap_new(free, &m));
        for (int i = 0; i < 100; i++) {
                int *v = malloc(sizeof *v);
                *v = i;
                snprintf(keybuf, sizeof keybuf, "%d", i);
                ASSERT_OK(hashmap_put(m, keybuf, v, NULL));
        }
        while (hashmap_next(m, &it, &key, &value))
                if (*(int *) value % 2 == 0) {
                        snprintf(keybuf, sizeof keybuf, "%s", key); /* key dies with the entry */
                        free(hashmap_remove(m, keybuf));
                }
        ASSERT_EQ(hashmap_size(m), 50);
        ASSERT_NULL(hashmap_get(m, "2"));
        ASSERT_NOT_NULL(hashmap_get(m, "3"));
}

static int freed;
static void count_free(void *p) {
        freed++;
        free(p);
}

TEST(owned_values_are_freed_once) {
        Hashmap *m = NULL;

        freed = 0;
        ASSERT_OK(hashmap_new(count_free, &m));
        ASSERT_OK(hashmap_put(m, "a", strdup("1"), NULL));
        ASSERT_OK(hashmap_put(m, "a", strdup("2"), NULL)); /* replaced value freed */
        ASSERT_EQ(freed, 1);
        ASSERT_OK(hashmap_put(m, "b", strdup("3"), NULL));
        m = hashmap_free(m);
        ASSERT_NULL(m);
        ASSERT_EQ(freed, 3);
        ASSERT_NULL(hashmap_free(NULL));
}

TEST(keys_are_seeded_per_map) {
        uint8_t k1[16] = { 1 }, k2[16] = { 2 };
        ASSERT_TRUE(hashmap_siphash("node", 4, k1, 1, 3) != hashmap_siphash("node", 4, k2, 1, 3));
}
