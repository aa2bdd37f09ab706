/* test-placement.c: the routing guarantee as a property: over random (request, inventory) pairs,
 * no request that carries sensitive data, asks for the sensitive class, or could not be classified
 * is ever placed on a public node, and no request goes to a public node whose rules are stale.
 *
 * Requests: ordinary text (Chinese and English filler), with or without an injected sensitive value
 * (made here with the check digits computed independently of policy/checksum.c), plainly or
 * obfuscated (full-width digits, zero-width characters); some ask for a class by header; some are
 * forced to fail closed (no rule set, over the size budget, an admin regex that hits PCRE2's match
 * limit). Inventories: 0-8
 * nodes, private and public (and zone strings that are neither), up or lost, with rule versions
 * current or stale, any load, one maybe excluded (the node that just failed).
 *
 * SLUICE_PROPERTY_COUNT sets the number of pairs (CI default 200 000; the documented full run is
 * 1 000 000: SLUICE_PROPERTY_COUNT=1000000 build/tests/test-placement). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "placement.h"
#include "random.h"
#include "test.h"

#define NODES_MAX 8
#define CURRENT_RULES 7

typedef struct Rng {
        uint64_t s;
} Rng;

static uint64_t rng_next(Rng *r) { /* splitmix64: reproducible from the printed seed */
        uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));
        z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
        return z ^ (z >> 31);
}

static unsigned rng_below(Rng *r, unsigned n) {
        return (unsigned) (rng_next(r) % n);
}

static void digits(Rng *r, char *out, size_t n) {
        for (size_t i = 0; i < n; i++)
                out[i] = (char) ('0' + rng_below(r, 10));
        out[n] = '\0';
}

/* GB 11643-1999, computed here independently of the library. */
static void make_resident_id(Rng *r, char out[19]) {
        static const int w[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
        static const char check[] = "10X98765432";
        int sum = 0;

        snprintf(out, 19, "%06u%04u%02u%02u%03u", 110101 + rng_below(r, 500000), 1950 + rng_below(r, 70),
                 1 + rng_below(r, 12), 1 + rng_below(r, 28), rng_below(r, 1000));
        for (int i = 0; i < 17; i++)
                sum += (out[i] - '0') * w[i];
        out[17] = check[sum % 11];
        out[18] = '\0';
}

static void make_card(Rng *r, char out[20]) {
        int sum = 0;

        memcpy(out, "62", 2);
        digits(r, out + 2, 13); /* 16 digits: 62 + 13 + check */
        for (int i = 14, dbl = 1; i >= 0; i--, dbl = !dbl) {
                int d = (out[i] - '0') * (dbl ? 2 : 1);
                sum += d > 9 ? d - 9 : d;
        }
        out[15] = (char) ('0' + (10 - sum % 10) % 10);
        out[16] = '\0';
}

static void make_mobile(Rng *r, char out[12]) {
        out[0] = '1';
        out[1] = (char) ('3' + rng_below(r, 7));
        digits(r, out + 2, 9);
}

static void make_aws_key(Rng *r, char out[21]) {
        static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        memcpy(out, "AKIA", 4);
        for (int i = 4; i < 20; i++)
                out[i] = b32[rng_below(r, 32)];
        out[20] = '\0';
}

/* Appends s to buf, obfuscated: 0 plain, 1 full-width digits, 2 a zero-width space after every
 * character (ASCII values only). */
static void append_obfuscated(char *buf, size_t size, const char *s, unsigned how) {
        size_t n = strlen(buf);

        for (; *s && n + 8 < size; s++) {
                if (how == 1 && *s >= '0' && *s <= '9') {
                        buf[n++] = (char) 0xEF; /* U+FF10 + d */
                        buf[n++] = (char) 0xBC;
                        buf[n++] = (char) (0x90 + (*s - '0'));
                } else {
                        buf[n++] = *s;
                        if (how == 2 && s[1]) {
                                buf[n++] = (char) 0xE2; /* U+200B */
                                buf[n++] = (char) 0x80;
                                buf[n++] = (char) 0x8B;
                        }
                }
        }
        buf[n] = '\0';
}

typedef struct Req {
        char text[1024];
        bool carries;          /* an injected sensitive value */
        PolicyClass header;
        int fail;              /* 0 none, 1 no rule set, 2 over the size budget, 3 a regex past its match limit */
} Req;

static const char *const filler[] = {
        "请帮我总结一下这份季度报告的要点。",
        "Summarise the attached meeting notes in three bullet points. ",
        "订单号 2024061512345678 已发货，预计三天内送达。",
        "The build 1.24.3 passed on 2024-06-15 at 12:30:45. ",
        "UUID 123e4567-e89b-12d3-a456-426614174000 refers to the test run. ",
        "价格为 19.99 元，库存 1200 件。",
};

static void make_request(Rng *r, Req *q) {
        char v[64];

        *q = (Req){};
        for (unsigned i = 0, n = 1 + rng_below(r, 4); i < n; i++)
                strncat(q->text, filler[rng_below(r, ELEMENTSOF(filler))], sizeof q->text - strlen(q->text) - 1);
        if (rng_below(r, 3) == 0) {
                q->carries = true;
                switch (rng_below(r, 5)) {
                case 0: make_resident_id(r, v); break;
                case 1: make_card(r, v); break;
                case 2: make_mobile(r, v); break;
                case 3: make_aws_key(r, v); break;
                default: snprintf(v, sizeof v, "user%u@example.com", rng_below(r, 100000)); break;
                }
                strncat(q->text, " ", sizeof q->text - strlen(q->text) - 1);
                append_obfuscated(q->text, sizeof q->text, v, rng_below(r, 3));
                strncat(q->text, " 请核对。", sizeof q->text - strlen(q->text) - 1);
        }
        q->header = rng_below(r, 8) == 0 ? (PolicyClass) rng_below(r, _POLICY_CLASS_MAX) : POLICY_PUBLIC;
        q->fail = rng_below(r, 20) == 0 ? 1 + (int) rng_below(r, 3) : 0;
        if (q->fail == 3) /* catastrophic backtracking for EVIL_RULES' regex */
                strncat(q->text, " aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", sizeof q->text - strlen(q->text) - 1);
}

static const char *const zones[] = { "private", "public", "public", "Private", "", NULL };

static size_t make_inventory(Rng *r, PlacementNode *nodes, char names[][8]) {
        size_t n = rng_below(r, NODES_MAX + 1);

        for (size_t i = 0; i < n; i++) {
                snprintf(names[i], sizeof names[i], "n%u", (unsigned) i % 100);
                nodes[i] = (PlacementNode){
                        .name = names[i],
                        .zone = zones[rng_below(r, ELEMENTSOF(zones))],
                        .usable = rng_below(r, 4) != 0,                                  /* up, or lost/closing */
                        .rules_version_acked = CURRENT_RULES - (rng_below(r, 4) == 0 ? 1 + rng_below(r, 3) : 0),
                        .inflight = rng_below(r, 4) == 0 ? rng_below(r, 50) : rng_below(r, 6),
                };
        }
        return n;
}

/* The default rules plus an admin regex that backtracks catastrophically on "aaa...!". */
#define EVIL_RULES                                                                                              \
        "{\"regexes\": [{\"name\": \"evil\", \"pattern\": \"(a+)+$\"}], \"rules\": [{\"id\": \"pii\", "       \
        "\"class\": \"sensitive\", \"when\": {\"entities\": [\"cn_resident_id\", \"bank_card\", \"cn_mobile\", "  \
        "\"cloud_access_key\", \"email\", \"evil\"]}}]}"

static void classify_req(const RuleSet *rs, const RuleSet *evil, const Req *q, Classification *cl) {
        ClassifyRequest cr = {
                .n_texts = 1,
                .client_class = q->header,
                .max_bytes = q->fail == 2 ? 16 : 1 << 20,
                .budget_usec = 1000000,
        };

        cr.texts[0] = q->text;
        cr.lens[0] = strlen(q->text);
        classify_run(q->fail == 1 ? NULL : q->fail == 3 ? evil : rs, &cr, NULL, cl);
}

static bool exact_private(const PlacementNode *n) {
        return n->zone && strcmp(n->zone, "private") == 0;
}

TEST(no_sensitive_request_is_placed_on_a_public_node) {
        const char *env = getenv("SLUICE_PROPERTY_COUNT");
        unsigned long count = env ? strtoul(env, NULL, 10) : 200000;
        uint64_t seed = 0;
        RuleSet *rs = NULL, *evil = NULL;
        char err[256];
        unsigned long sensitive = 0, placed_public = 0, placed_private = 0, refused = 0;

        ASSERT_OK(rules_parse(rules_default_json(), strlen(rules_default_json()), &rs, err, sizeof err));
        ASSERT_OK(rules_parse(EVIL_RULES, strlen(EVIL_RULES), &evil, err, sizeof err));
        ASSERT_OK(random_bytes(&seed, sizeof seed));
        printf("# seed %llu, %lu pairs\n", (unsigned long long) seed, count);
        Rng r = { seed };

        for (unsigned long it = 0; it < count; it++) {
                PlacementNode nodes[NODES_MAX];
                char names[NODES_MAX][8];
                Classification cl;
                Req q;

                make_request(&r, &q);
                size_t n = make_inventory(&r, nodes, names);
                classify_req(rs, evil, &q, &cl);
                PlacementRequest pr = {
                        .zones = cl.zones,
                        .spill_queue_depth = cl.spill_queue_depth,
                        .rules_version = CURRENT_RULES,
                        .exclude = n > 0 && rng_below(&r, 5) == 0 ? names[rng_below(&r, (unsigned) n)] : NULL,
                };
                int pick = placement_pick(nodes, n, &pr);
                bool must_be_sensitive = q.carries || q.header == POLICY_SENSITIVE || q.fail;

                if (must_be_sensitive && (cl.cls != POLICY_SENSITIVE || cl.zones != POLICY_ZONE_PRIVATE)) {
                        printf("# seed %llu pair %lu: class %s zones %u for a request that must be sensitive "
                               "(carries %d, header %s, fail %d): %s\n",
                               (unsigned long long) seed, it, policy_class_name(cl.cls), cl.zones, q.carries,
                               policy_class_name(q.header), q.fail, q.text);
                        ASSERT_TRUE(false);
                }
                sensitive += cl.cls == POLICY_SENSITIVE;
                /* an eligible private node exists: a sensitive request must not be refused */
                bool private_available = false;
                for (size_t i = 0; i < n; i++)
                        private_available |= exact_private(&nodes[i]) && nodes[i].usable &&
                                             !(pr.exclude && strcmp(pr.exclude, nodes[i].name) == 0);
                if (pick < 0) {
                        refused++;
                        if (cl.cls == POLICY_SENSITIVE)
                                ASSERT_FALSE(private_available);
                        continue;
                }
                const PlacementNode *p = &nodes[pick];
                ASSERT_TRUE(p->usable);
                ASSERT_FALSE(pr.exclude && strcmp(pr.exclude, p->name) == 0);
                if (exact_private(p)) {
                        placed_private++;
                        continue;
                }
                placed_public++;
                if (cl.cls == POLICY_SENSITIVE || must_be_sensitive) {
                        printf("# seed %llu pair %lu: a sensitive request was placed on public node %s\n",
                               (unsigned long long) seed, it, p->name);
                        ASSERT_TRUE(false);
                }
                ASSERT_TRUE(cl.zones & POLICY_ZONE_PUBLIC);
                ASSERT_UEQ(p->rules_version_acked, CURRENT_RULES);
        }
        printf("# %lu sensitive, placed: %lu private, %lu public; %lu without an eligible node\n", sensitive,
               placed_private, placed_public, refused);
        /* the generator must exercise both sides, or the property proves nothing */
        ASSERT_TRUE(count < 1000 || (sensitive > count / 10 && placed_public > count / 10 && placed_private > count / 10));
        rules_free(rs);
        rules_free(evil);
}

TEST(spill_prefers_private_until_its_queue_depth) {
        PlacementNode nodes[] = {
                { .name = "p", .zone = "private", .usable = true, .rules_version_acked = 1, .inflight = 3 },
                { .name = "q", .zone = "public", .usable = true, .rules_version_acked = 1, .inflight = 0 },
        };
        PlacementRequest pr = { .zones = POLICY_ZONE_PRIVATE | POLICY_ZONE_PUBLIC, .spill_queue_depth = 4, .rules_version = 1 };

        ASSERT_EQ(placement_pick(nodes, 2, &pr), 0);
        nodes[0].inflight = 4; /* at its depth: spill */
        ASSERT_EQ(placement_pick(nodes, 2, &pr), 1);
        nodes[1].rules_version_acked = 0; /* the public node's rules are stale: back to private */
        ASSERT_EQ(placement_pick(nodes, 2, &pr), 0);
        pr.zones = POLICY_ZONE_PRIVATE;
        nodes[1].rules_version_acked = 1;
        ASSERT_EQ(placement_pick(nodes, 2, &pr), 0);
        nodes[0].usable = false; /* private lost: a private-only request has nowhere to go */
        ASSERT_EQ(placement_pick(nodes, 2, &pr), -ENODEV);
        pr.exclude = "q";
        pr.zones |= POLICY_ZONE_PUBLIC;
        ASSERT_EQ(placement_pick(nodes, 2, &pr), -ENODEV);
}
