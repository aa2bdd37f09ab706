/* test-policy-keywords.c: the keyword lists' automaton (policy/keywords.h): overlapping terms,
 * prefixes and suffixes, leftmost-longest counting, ASCII case folding and case-sensitive lists in
 * one automaton, CJK terms, the terms PCRE2 still matches (cased non-ASCII letters; U+212A and
 * U+017F against k and s), empty text, the deadline, the memory limit (here and through
 * rules_from_json), the uncased blocks checked against PCRE2 itself, and 10 000 random terms
 * against a naive reference matcher on random texts. */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdlib.h>

#include "json.h"
#include "keywords-reference.h"
#include "keywords.h"
#include "rules.h"
#include "strbuf.h"
#include "test.h"
#include "timeutil.h"

static char err[512];

/* A set of lists: lists[i] is a NULL-terminated array of terms; caseless[i] says how it matches. */
static Keywords *build(const char *const *const *lists, const bool *caseless, size_t n, size_t max_bytes) {
        _cleanup_(keywords_freep) Keywords *kw = NULL;
        KeywordsLimits limits = { .max_bytes = max_bytes, .match_limit = 1000000 };

        if (keywords_new(&kw) < 0)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                int id = keywords_add_list(kw, caseless[i]);

                if (id != (int) i)
                        return NULL;
                for (const char *const *t = lists[i]; *t; t++)
                        if (keywords_add_term(kw, id, *t, strlen(*t), NULL) < 0)
                                return NULL;
        }
        err[0] = 0;
        if (keywords_compile(kw, &limits, err, sizeof err) < 0)
                return NULL;
        return TAKE_PTR(kw);
}

static Keywords *build1(bool caseless, const char *const *terms) {
        return build(&terms, &caseless, 1, 0);
}

static int64_t count1(const Keywords *kw, const char *text) {
        uint32_t counts[KEYWORDS_LISTS_MAX] = {};
        int r = keywords_scan(kw, text, strlen(text), counts, 0);

        return r < 0 ? (int64_t) r : (int64_t) counts[0];
}

TEST(overlapping_prefix_suffix_leftmost_longest) {
        static const char *const terms[] = { "he", "she", "his", "hers", "ab", "abc", "bcd", "c", NULL };
        _cleanup_(keywords_freep) Keywords *kw = build1(false, terms);

        ASSERT_NOT_NULL(kw);
        ASSERT_EQ(keywords_pcre2_terms(kw), 0);
        ASSERT_EQ(count1(kw, "ushers"), 1); /* "she" starts first; "hers" overlaps it */
        ASSERT_EQ(count1(kw, "hers"), 1);   /* "hers" is longer than "he" at the same start */
        ASSERT_EQ(count1(kw, "hishe"), 2);  /* "his", then "he" (not "she": it starts inside "his") */
        ASSERT_EQ(count1(kw, "abcd"), 1);   /* "abc" (longest at 0), then "d" is nothing */
        ASSERT_EQ(count1(kw, "xbcd c"), 2); /* "bcd", "c" */
        ASSERT_EQ(count1(kw, "abcabcabc"), 3);
        ASSERT_EQ(count1(kw, "ab c"), 2);
        ASSERT_EQ(count1(kw, ""), 0);
        ASSERT_EQ(count1(kw, "zzz"), 0);
}

TEST(candidates_wait_for_a_longer_term) {
        /* "a" matches at every byte, but a 200-byte term starting at 0 may still come: the
         * candidates wait (up to 256 bytes) and the long one wins where the text has it */
        _cleanup_free_ char *long_term = malloc(201), *text = malloc(402);
        const char *terms[] = { "a", NULL, NULL };

        ASSERT_NOT_NULL(long_term);
        ASSERT_NOT_NULL(text);
        memset(long_term, 'a', 199);
        long_term[199] = 'b';
        long_term[200] = 0;
        terms[1] = long_term;
        _cleanup_(keywords_freep) Keywords *kw = build1(false, terms);
        ASSERT_NOT_NULL(kw);
        memset(text, 'a', 300);
        text[300] = 0;
        ASSERT_EQ(count1(kw, text), 300);
        memcpy(text, long_term, 200); /* "a"*199 "b" then 100 "a" */
        ASSERT_EQ(count1(kw, text), 101);
        text[0] = 'x'; /* the long term no longer matches: 198 + 100 */
        ASSERT_EQ(count1(kw, text), 298);
}

TEST(ascii_case_folding_and_case_sensitive_lists_together) {
        static const char *const ci[] = { "Bluebird", "amber falcon", "X-9", NULL };
        static const char *const cs[] = { "Bluebird", "ABC", "x-9", NULL };
        const char *const *lists[] = { ci, cs };
        const bool caseless[] = { true, false };
        _cleanup_(keywords_freep) Keywords *kw = build(lists, caseless, 2, 0);
        uint32_t counts[KEYWORDS_LISTS_MAX] = {};
        const char *text = "BLUEBIRD, bluebird and Bluebird; Amber FALCON; abc ABC aBc; X-9 x-9";

        ASSERT_NOT_NULL(kw);
        ASSERT_EQ(keywords_list_count(kw), 2);
        ASSERT_OK(keywords_scan(kw, text, strlen(text), counts, 0));
        ASSERT_EQ(counts[0], 3 + 1 + 2);
        ASSERT_EQ(counts[1], 1 + 1 + 1);
        /* counts add up over calls */
        ASSERT_OK(keywords_scan(kw, text, strlen(text), counts, 0));
        ASSERT_EQ(counts[0], 12);
        ASSERT_EQ(counts[1], 6);
}

TEST(case_sensitive_only) {
        static const char *const cs[] = { "Ärger", "ABC", NULL };
        _cleanup_(keywords_freep) Keywords *kw = build1(false, cs);

        ASSERT_NOT_NULL(kw);
        ASSERT_EQ(keywords_pcre2_terms(kw), 0); /* case-sensitive: bytes, whatever the script */
        ASSERT_EQ(count1(kw, "Ärger ärger ABC abc"), 2);
}

TEST(cjk_terms_go_to_the_automaton) {
        static const char *const names[] = { "张三", "张三丰", "李四", "山田太郎", "김민준", NULL };
        _cleanup_(keywords_freep) Keywords *kw = build1(true, names);

        ASSERT_NOT_NULL(kw);
        ASSERT_EQ(keywords_pcre2_terms(kw), 0);
        ASSERT_EQ(count1(kw, "病人张三丰的病历，李四的也在"), 2); /* 张三丰 (longest), 李四 */
        ASSERT_EQ(count1(kw, "张 三"), 0);
        ASSERT_EQ(count1(kw, "山田太郎さんと김민준씨"), 2);
        ASSERT_EQ(count1(kw, "\xff\xfe张三\xc3"), 1); /* invalid UTF-8 around a term */
}

TEST(cased_non_ascii_terms_go_to_pcre2) {
        static const char *const terms[] = { "Ärger", "Ärgernis", "Ωmega", "Straße", "anger", "Москва", NULL };
        _cleanup_(keywords_freep) Keywords *kw = build1(true, terms);

        ASSERT_NOT_NULL(kw);
        ASSERT_EQ(keywords_pcre2_terms(kw), 5); /* all but "anger" (ß has a capital, U+1E9E) */
        ASSERT_EQ(count1(kw, "so viel ärger"), 1);
        ASSERT_EQ(count1(kw, "ÄRGERNIS"), 1);        /* the longer PCRE2 term at the same start */
        ASSERT_EQ(count1(kw, "ωMEGA and ANGER"), 2); /* PCRE2 and automaton matches in one list */
        ASSERT_EQ(count1(kw, "ärganger"), 1);
        ASSERT_EQ(count1(kw, "strasse STRAßE"), 1); /* no multi-character folding, as before */
        ASSERT_EQ(count1(kw, "москва МОСКВА"), 2);
        ASSERT_EQ(count1(kw, "Ärgeranger"), 2); /* one PCRE2 match, then one automaton match */
        ASSERT_EQ(count1(kw, ""), 0);
}

TEST(pcre2_and_automaton_overlap_counts_once) {
        /* "über" (PCRE2) and "berlin" (automaton) overlap in "überlin": leftmost wins, once */
        static const char *const terms[] = { "über", "berlin", "erl", NULL };
        _cleanup_(keywords_freep) Keywords *kw = build1(true, terms);

        ASSERT_NOT_NULL(kw);
        ASSERT_EQ(keywords_pcre2_terms(kw), 1);
        ASSERT_EQ(count1(kw, "ÜBERLIN"), 1); /* "über" starts first; "berlin" and "erl" overlap it */
        ASSERT_EQ(count1(kw, "xberlin"), 1);
        ASSERT_EQ(count1(kw, "überlin berlin erl"), 3);
}

TEST(kelvin_sign_and_long_s_match_like_pcre2) {
        static const char *const ci[] = { "kit", "secret", "plain", NULL };
        static const char *const cs[] = { "kit", NULL };
        const char *const *lists[] = { ci, cs };
        const bool caseless[] = { true, false };
        _cleanup_(keywords_freep) Keywords *kw = build(lists, caseless, 2, 0);
        uint32_t counts[KEYWORDS_LISTS_MAX] = {};
        const char *text = "\xE2\x84\xAAIT, \xC5\xBF"
                           "ecret, kit, plain";

        ASSERT_NOT_NULL(kw);
        ASSERT_OK(keywords_scan(kw, text, strlen(text), counts, 0));
        ASSERT_EQ(counts[0], 4); /* KIT (Kelvin sign), ſecret, kit, plain */
        ASSERT_EQ(counts[1], 1); /* case-sensitive: only "kit" */
        ASSERT_EQ(count1(kw, "\xC5\xBF"), 0);
}

TEST(bad_terms) {
        _cleanup_(keywords_freep) Keywords *kw = NULL;
        char big[KEYWORDS_TERM_BYTES_MAX + 1];
        size_t bad = 0;

        ASSERT_OK(keywords_new(&kw));
        ASSERT_EQ(keywords_add_list(kw, true), 0);
        ASSERT_ERROR(keywords_add_term(kw, 0, "", 0, NULL), -EINVAL);
        ASSERT_ERROR(keywords_add_term(kw, 1, "x", 1, NULL), -EINVAL);
        memset(big, 'x', sizeof big);
        ASSERT_ERROR(keywords_add_term(kw, 0, big, sizeof big, NULL), -EINVAL);
        ASSERT_OK(keywords_add_term(kw, 0, big, sizeof big - 1, NULL));
        ASSERT_ERROR(keywords_add_term(kw, 0, "ab\xc3(", 4, &bad), -EINVAL);
        ASSERT_EQ(bad, 2);
        ASSERT_ERROR(keywords_add_term(kw, 0, "\xed\xa0\x80", 3, &bad), -EINVAL); /* a surrogate */
        ASSERT_ERROR(keywords_add_term(kw, 0, "\xc0\xaf", 2, &bad), -EINVAL);     /* overlong */
        for (int i = 1; i < KEYWORDS_LISTS_MAX; i++)
                ASSERT_EQ(keywords_add_list(kw, false), i);
        ASSERT_ERROR(keywords_add_list(kw, false), -E2BIG);
        ASSERT_OK(keywords_compile(kw, NULL, err, sizeof err));
        ASSERT_ERROR(keywords_add_term(kw, 0, "y", 1, NULL), -EBUSY);
}

TEST(deadline) {
        static const char *const terms[] = { "needle", NULL };
        _cleanup_(keywords_freep) Keywords *kw = build1(true, terms);
        uint32_t counts[KEYWORDS_LISTS_MAX] = {};
        size_t len = 4 * 1024 * 1024;
        _cleanup_free_ char *text = malloc(len);

        ASSERT_NOT_NULL(kw);
        ASSERT_NOT_NULL(text);
        memset(text, 'n', len);
        ASSERT_ERROR(keywords_scan(kw, text, len, counts, 1), -ETIME);
        ASSERT_EQ(counts[0], 0);
        ASSERT_OK(keywords_scan(kw, text, len, counts, time_mono_usec() + 60 * 1000000ULL));
        ASSERT_OK(keywords_scan(kw, NULL, 0, counts, 0));
}

/* 10 000 terms of 256 random bytes each: about 2.56 M states. */
static void random_terms(uint64_t *seed, char (*terms)[KEYWORDS_TERM_BYTES_MAX + 1], size_t n) {
        for (size_t i = 0; i < n; i++) {
                for (size_t j = 0; j < KEYWORDS_TERM_BYTES_MAX; j++) {
                        *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
                        terms[i][j] = (char) ('a' + (*seed >> 33) % 26);
                }
                terms[i][KEYWORDS_TERM_BYTES_MAX] = 0;
        }
}

TEST(memory_limit) {
        static char terms[10000][KEYWORDS_TERM_BYTES_MAX + 1];
        _cleanup_(keywords_freep) Keywords *kw = NULL, *small = NULL;
        KeywordsLimits limits = { .max_bytes = RULES_KEYWORD_AUTOMATON_BYTES_MAX };
        uint64_t seed = 42;

        random_terms(&seed, terms, ELEMENTSOF(terms));
        ASSERT_OK(keywords_new(&kw));
        ASSERT_EQ(keywords_add_list(kw, true), 0);
        for (size_t i = 0; i < ELEMENTSOF(terms); i++)
                ASSERT_OK(keywords_add_term(kw, 0, terms[i], KEYWORDS_TERM_BYTES_MAX, NULL));
        ASSERT_ERROR(keywords_compile(kw, &limits, err, sizeof err), -E2BIG);
        ASSERT_CONTAINS(err, "over the limit of 33554432");

        /* a small set: refused one byte under its size, built at its size */
        static const char *const few[] = { "alpha", "beta", "gamma", "delta", NULL };
        bool ci = true;
        const char *const *lists[] = { few };
        size_t need;

        small = build(lists, &ci, 1, 0);
        ASSERT_NOT_NULL(small);
        need = keywords_memory(small);
        ASSERT_TRUE(need > 0);
        small = keywords_free(small);
        ASSERT_NULL(build(lists, &ci, 1, need - 1));
        ASSERT_CONTAINS(err, "over the limit of");
        small = build(lists, &ci, 1, need);
        ASSERT_NOT_NULL(small);
        ASSERT_EQ(keywords_memory(small), need);
        ASSERT_EQ(count1(small, "ALPHA beta gammadelta"), 4);
}

TEST(memory_limit_through_rules_from_json) {
        /* the same set as a rule set: refused with the limit named (rules_parse cannot get there:
         * a 512 KiB document holds far fewer term bytes) */
        static char terms[10000][KEYWORDS_TERM_BYTES_MAX + 1];
        _cleanup_json_ cJSON *doc = cJSON_CreateObject();
        cJSON *lists = cJSON_AddArrayToObject(doc, "keywords"), *list = cJSON_CreateObject(), *arr;
        RuleSet *rs = NULL;
        uint64_t seed = 7;

        ASSERT_NOT_NULL(lists);
        ASSERT_NOT_NULL(list);
        cJSON_AddItemToArray(lists, list);
        ASSERT_NOT_NULL(cJSON_AddStringToObject(list, "name", "big"));
        arr = cJSON_AddArrayToObject(list, "terms");
        ASSERT_NOT_NULL(arr);
        random_terms(&seed, terms, ELEMENTSOF(terms));
        for (size_t i = 0; i < ELEMENTSOF(terms); i++)
                cJSON_AddItemToArray(arr, cJSON_CreateString(terms[i]));
        ASSERT_ERROR(rules_from_json(doc, &rs, err, sizeof err), -E2BIG);
        ASSERT_NULL(rs);
        ASSERT_CONTAINS(err, "keywords: the automaton of the keyword lists needs ");
        ASSERT_CONTAINS(err, "(RULES_KEYWORD_AUTOMATON_BYTES_MAX)");
}

TEST(uncased_blocks_agree_with_pcre2) {
        /* a caseless class of every code point keywords_codepoint_uncased() accepts must match no
         * code point outside it: none of them has a case variant elsewhere */
        _cleanup_(strbuf_done) StrBuf pat = STRBUF_INIT, subject = STRBUF_INIT;
        pcre2_code *code;
        pcre2_match_data *md;
        PCRE2_SIZE off;
        int e, rc;

        ASSERT_OK(strbuf_puts(&pat, "["));
        for (uint32_t cp = 0x80; cp < 0x110000;) {
                uint32_t end = cp;

                if (!keywords_codepoint_uncased(cp)) {
                        cp++;
                        continue;
                }
                while (end + 1 < 0x110000 && keywords_codepoint_uncased(end + 1))
                        end++;
                ASSERT_OK(strbuf_printf(&pat, "\\x{%x}-\\x{%x}", cp, end));
                cp = end + 1;
        }
        ASSERT_OK(strbuf_puts(&pat, "]"));
        for (uint32_t cp = 0x80; cp < 0x110000; cp++) {
                char u[5];
                uint32_t n;

                if (keywords_codepoint_uncased(cp) || (cp >= 0xD800 && cp <= 0xDFFF))
                        continue;
                if (cp < 0x800)
                        n = 2, u[0] = (char) (0xC0 | cp >> 6), u[1] = (char) (0x80 | (cp & 0x3F));
                else if (cp < 0x10000)
                        n = 3, u[0] = (char) (0xE0 | cp >> 12), u[1] = (char) (0x80 | ((cp >> 6) & 0x3F)),
                        u[2] = (char) (0x80 | (cp & 0x3F));
                else
                        n = 4, u[0] = (char) (0xF0 | cp >> 18), u[1] = (char) (0x80 | ((cp >> 12) & 0x3F)),
                        u[2] = (char) (0x80 | ((cp >> 6) & 0x3F)), u[3] = (char) (0x80 | (cp & 0x3F));
                ASSERT_OK(strbuf_append(&subject, u, n));
        }
        code = pcre2_compile((PCRE2_SPTR) strbuf_str(&pat), pat.len, PCRE2_UTF | PCRE2_CASELESS, &e, &off, NULL);
        ASSERT_NOT_NULL(code);
        md = pcre2_match_data_create(1, NULL);
        rc = pcre2_match(code, (PCRE2_SPTR) strbuf_str(&subject), subject.len, 0, 0, md, NULL);
        if (rc >= 0)
                printf("# a case variant of an uncased code point: at byte %zu\n",
                       (size_t) pcre2_get_ovector_pointer(md)[0]);
        pcre2_match_data_free(md);
        pcre2_code_free(code);
        ASSERT_EQ(rc, PCRE2_ERROR_NOMATCH);
        /* and the ASCII letters have exactly two non-ASCII variants: U+212A (k) and U+017F (s) */
        ASSERT_FALSE(keywords_codepoint_uncased(0x212A));
        ASSERT_FALSE(keywords_codepoint_uncased(0x00C4));
        ASSERT_TRUE(keywords_codepoint_uncased(0x4E09));
}

/* ---- property: the automaton against a naive reference ---- */

static uint64_t rnd(uint64_t *s) {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        return *s;
}

TEST(random_terms_against_a_reference) {
        /* 10 000 terms over a small alphabet (so terms share prefixes and suffixes and overlap in the
         * texts) in 8 lists, half caseless; terms of 1 to 12 bytes, some CJK; random texts built from
         * pieces of terms and noise */
        static const char *const alphabet[] = { "a", "b", "c", "A", "B", "C", "-", " ", "张", "三", "\xff" };
        enum { N_TERMS = 10000, N_LISTS = 8, N_TEXTS = 120 };
        _cleanup_(keywords_freep) Keywords *kw = NULL;
        _cleanup_free_ RefTerm *terms = calloc(N_TERMS, sizeof *terms);
        bool caseless[N_LISTS];
        uint64_t seed = 0x1234567887654321ULL;
        size_t mismatches = 0;

        ASSERT_NOT_NULL(terms);
        ASSERT_OK(keywords_new(&kw));
        for (size_t l = 0; l < N_LISTS; l++) {
                caseless[l] = l % 2 == 0;
                ASSERT_EQ(keywords_add_list(kw, caseless[l]), (int) l);
        }
        for (size_t i = 0; i < N_TERMS; i++) {
                size_t n = 1 + rnd(&seed) % (i < 200 ? 3 : 12);
                _cleanup_(strbuf_done) StrBuf b = STRBUF_INIT;

                for (size_t j = 0; j < n; j++)
                        ASSERT_OK(strbuf_puts(&b, alphabet[rnd(&seed) % (ELEMENTSOF(alphabet) - 1)]));
                terms[i] = (RefTerm){ .s = strndup(b.data, b.len), .len = b.len, .list = rnd(&seed) % N_LISTS };
                ASSERT_NOT_NULL(terms[i].s);
                ASSERT_OK(keywords_add_term(kw, (int) terms[i].list, terms[i].s, terms[i].len, NULL));
        }
        ASSERT_OK(keywords_compile(kw, NULL, err, sizeof err));
        ASSERT_EQ(keywords_pcre2_terms(kw), 0);
        for (size_t k = 0; k < N_TEXTS; k++) {
                _cleanup_(strbuf_done) StrBuf text = STRBUF_INIT;
                uint32_t counts[KEYWORDS_LISTS_MAX] = {};
                size_t target = rnd(&seed) % 600;

                while (text.len < target) {
                        if (rnd(&seed) % 3 == 0) {
                                const RefTerm *t = &terms[rnd(&seed) % N_TERMS];
                                size_t from = rnd(&seed) % t->len;

                                ASSERT_OK(strbuf_append(&text, t->s + from, t->len - from));
                        } else
                                ASSERT_OK(strbuf_puts(&text, alphabet[rnd(&seed) % ELEMENTSOF(alphabet)]));
                }
                ASSERT_OK(keywords_scan(kw, strbuf_str(&text), text.len, counts, 0));
                for (size_t l = 0; l < N_LISTS; l++) {
                        uint32_t want =
                                keywords_reference_count(strbuf_str(&text), text.len, terms, N_TERMS, l, caseless[l]);

                        if (counts[l] != want && mismatches++ < 5)
                                printf("# text %zu list %zu: %u, the reference says %u\n", k, l, counts[l], want);
                }
        }
        for (size_t i = 0; i < N_TERMS; i++)
                free((char *) terms[i].s);
        ASSERT_EQ(mismatches, 0);
}

TEST(long_terms_against_a_reference) {
        /* few terms of up to 256 bytes sharing long runs: candidates wait the longest here */
        enum { N_TERMS = 40, N_TEXTS = 200 };
        _cleanup_(keywords_freep) Keywords *kw = NULL;
        RefTerm terms[N_TERMS];
        uint64_t seed = 99;
        size_t mismatches = 0;

        ASSERT_OK(keywords_new(&kw));
        ASSERT_EQ(keywords_add_list(kw, true), 0);
        ASSERT_EQ(keywords_add_list(kw, false), 1);
        for (size_t i = 0; i < N_TERMS; i++) {
                size_t n = i % 4 == 0 ? 1 + rnd(&seed) % 3 : 1 + rnd(&seed) % KEYWORDS_TERM_BYTES_MAX;

                char *t = malloc(n);

                ASSERT_NOT_NULL(t);
                for (size_t j = 0; j < n; j++)
                        t[j] = rnd(&seed) % 8 ? 'a' : "bB"[rnd(&seed) % 2];
                terms[i] = (RefTerm){ .s = t, .len = n, .list = i % 2 };
                ASSERT_OK(keywords_add_term(kw, (int) terms[i].list, terms[i].s, n, NULL));
        }
        ASSERT_OK(keywords_compile(kw, NULL, err, sizeof err));
        for (size_t k = 0; k < N_TEXTS; k++) {
                uint32_t counts[KEYWORDS_LISTS_MAX] = {};
                size_t len = rnd(&seed) % 2000;
                _cleanup_free_ char *text = malloc(len + 1);

                ASSERT_NOT_NULL(text);
                for (size_t j = 0; j < len; j++)
                        text[j] = rnd(&seed) % 10 ? 'a' : "bBA"[rnd(&seed) % 3];
                ASSERT_OK(keywords_scan(kw, text, len, counts, 0));
                for (size_t l = 0; l < 2; l++) {
                        uint32_t want = keywords_reference_count(text, len, terms, N_TERMS, l, l == 0);

                        if (counts[l] != want && mismatches++ < 5)
                                printf("# text %zu list %zu: %u, the reference says %u\n", k, l, counts[l], want);
                }
        }
        for (size_t i = 0; i < N_TERMS; i++)
                free((char *) terms[i].s);
        ASSERT_EQ(mismatches, 0);
}
