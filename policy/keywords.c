/* keywords.c: see keywords.h. Building: the automaton's terms are sorted (so the trie's size is
 * known from their common prefixes before anything is allocated, and each new node is the last
 * child of its parent), the trie is renumbered breadth-first, then failure links, nearest
 * terminals and the dense rows are filled in that order (a state's failure is always shallower,
 * so it is done first). Scanning: one pass of the automaton; each list keeps its candidate
 * matches of the last 256 bytes (one per start: the longest) and settles those that no later
 * match can start before, merging in the matches of its PCRE2 patterns in start order. */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "keywords.h"

#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errorf.h"
#include "strbuf.h"
#include "timeutil.h"
#include "utf8.h"

/* PCRE2 alternations of fallback terms are cut into patterns of at most this many bytes of source
 * (PCRE2 built with LINK_SIZE=2 cannot compile a pattern much over 64 KiB; a pattern it still finds
 * too large is split in halves). */
#define KEYWORDS_PATTERN_BYTES (8 * 1024)
/* A scan reads the clock each time it has advanced this many bytes. */
#define KEYWORDS_CLOCK_STRIDE (64 * 1024)
#define RING 256 /* >= KEYWORDS_TERM_BYTES_MAX: a list's pending candidates start in the last RING bytes */

#define LIST_SPECIAL UINT16_MAX /* output of U+212A and U+017F: the text needs the shadow patterns */
#define NO_CHECK UINT32_MAX
#define FLAG_OUTPUT 0x80000000u /* in an encoded state: a terminal is reachable by its failure chain */

enum {
        TERM_HAS_LETTER = 1 << 0, /* an ASCII letter: a case-sensitive term is checked against the text */
        TERM_HAS_KS = 1 << 1,     /* k, K, s or S: PCRE2 also matches U+212A / U+017F there */
        TERM_CASED_UTF8 = 1 << 2, /* a non-ASCII character with case variants */
};

typedef struct Term {
        char *bytes;
        uint16_t len;
        uint16_t list;
        uint8_t flags;
} Term;

typedef struct Terminal {
        uint32_t first_out, n_out;
        uint32_t next; /* the next terminal on the failure chain, + 1; 0: none */
        uint16_t depth;
} Terminal;

typedef struct Output {
        uint16_t list;
        uint32_t check; /* a term to compare with the original text bytes (case-sensitive list), or NO_CHECK */
} Output;

typedef struct Code {
        pcre2_code *code;
        bool shadow; /* run only on a text holding U+212A or U+017F */
} Code;

typedef struct List {
        bool caseless;
        uint16_t max_len;           /* of its automaton terms */
        size_t first_code, n_codes; /* its PCRE2 patterns in Keywords.codes */
} List;

struct Keywords {
        Term *terms;
        size_t n_terms;
        List lists[KEYWORDS_LISTS_MAX];
        size_t n_lists;
        bool compiled;

        /* the automaton */
        uint8_t cls[256]; /* byte -> class (folded when some list is caseless); 0: in no term */
        uint32_t n_cls;
        uint32_t n_states, n_dense;
        uint32_t dense_end;    /* n_dense * n_cls: encoded values below it are dense row offsets */
        uint32_t *dense;       /* n_dense rows of n_cls encoded states, failures resolved */
        uint32_t *fail;        /* state ids */
        uint32_t *first_child; /* n_states + 1: children of s are [first_child[s], first_child[s + 1]) */
        uint8_t *label;        /* class of the edge into s */
        uint32_t *term_of;     /* nearest terminal on s's failure chain (s included), + 1; 0: none */
        Terminal *terminals;
        size_t n_terminals;
        Output *outputs;
        size_t n_outputs;
        size_t memory;

        /* PCRE2: fallback and shadow patterns */
        Code *codes;
        size_t n_codes, n_fallback_codes, n_pcre2_terms;
        pcre2_match_context *mctx;
};

/* ---- code points ---- */

static const struct {
        uint32_t from, to;
} uncased[] = {
        { 0x00A0, 0x00B4 },   { 0x00B6, 0x00BF }, { 0x00D7, 0x00D7 },
        { 0x00F7, 0x00F7 },   { 0x0590, 0x08FF }, /* Hebrew, Arabic, Syriac, Thaana, NKo... */
        { 0x0900, 0x0DFF },                       /* Indic scripts */
        { 0x0E00, 0x0FFF },                       /* Thai, Lao, Tibetan */
        { 0x2000, 0x206F },                       /* general punctuation */
        { 0x20A0, 0x20CF },                       /* currency */
        { 0x2190, 0x23FF },                       /* arrows, mathematical operators, technical */
        { 0x2500, 0x27BF },                       /* box drawing, shapes, dingbats */
        { 0x2E80, 0x2FDF },                       /* CJK radicals, Kangxi radicals */
        { 0x2FF0, 0x4DBF }, /* CJK symbols and punctuation, kana, Bopomofo, Hangul jamo, CJK ext. A */
        { 0x4DC0, 0x9FFF }, /* Yijing, CJK unified ideographs */
        { 0xA000, 0xA4CF }, /* Yi */
        { 0xAC00, 0xD7AF }, /* Hangul syllables */
        { 0xF900, 0xFAFF }, /* CJK compatibility ideographs */
        { 0xFE30, 0xFE4F }, /* CJK compatibility forms */
        { 0xFF01, 0xFF20 },   { 0xFF3B, 0xFF40 }, { 0xFF5B, 0xFFEF }, /* full-width forms but the letters */
        { 0x1F300, 0x1FAFF },                                         /* emoji */
        { 0x20000, 0x3FFFF },                                         /* CJK ext. B and later */
};

bool keywords_codepoint_uncased(uint32_t cp) {
        if (cp < 0x80)
                return !((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z');
        for (size_t i = 0; i < ELEMENTSOF(uncased); i++)
                if (cp >= uncased[i].from && cp <= uncased[i].to)
                        return true;
        return false;
}

static inline unsigned char fold(unsigned char c) {
        return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* ---- building ---- */

int keywords_new(Keywords **ret) {
        Keywords *kw = calloc(1, sizeof *kw);

        if (!kw)
                return -ENOMEM;
        *ret = kw;
        return 0;
}

Keywords *keywords_free(Keywords *kw) {
        if (!kw)
                return NULL;
        for (size_t i = 0; i < kw->n_terms; i++)
                free(kw->terms[i].bytes);
        free(kw->terms);
        free(kw->dense);
        free(kw->fail);
        free(kw->first_child);
        free(kw->label);
        free(kw->term_of);
        free(kw->terminals);
        free(kw->outputs);
        for (size_t i = 0; i < kw->n_codes; i++)
                pcre2_code_free(kw->codes[i].code);
        free(kw->codes);
        pcre2_match_context_free(kw->mctx);
        free(kw);
        return NULL;
}

int keywords_add_list(Keywords *kw, bool caseless) {
        if (kw->compiled)
                return -EBUSY;
        if (kw->n_lists >= KEYWORDS_LISTS_MAX)
                return -E2BIG;
        kw->lists[kw->n_lists] = (List){ .caseless = caseless };
        return (int) kw->n_lists++;
}

int keywords_add_term(Keywords *kw, int list, const char *term, size_t len, size_t *ret_bad_offset) {
        const unsigned char *s = (const unsigned char *) term;
        uint8_t flags = 0;
        Term *v;

        if (kw->compiled)
                return -EBUSY;
        if (list < 0 || (size_t) list >= kw->n_lists || len == 0 || len > KEYWORDS_TERM_BYTES_MAX)
                return -EINVAL;
        for (size_t i = 0; i < len;) {
                uint32_t cp;
                size_t n = utf8_decode(s + i, len - i, &cp);

                if (n == 0) {
                        if (ret_bad_offset)
                                *ret_bad_offset = i;
                        return -EINVAL;
                }
                if (cp < 0x80 && !keywords_codepoint_uncased(cp))
                        flags |= TERM_HAS_LETTER | ((cp | 0x20) == 'k' || (cp | 0x20) == 's' ? TERM_HAS_KS : 0);
                else if (cp >= 0x80 && !keywords_codepoint_uncased(cp))
                        flags |= TERM_CASED_UTF8;
                i += n;
        }
        v = reallocarray(kw->terms, kw->n_terms + 1, sizeof *v);
        if (!v)
                return -ENOMEM;
        kw->terms = v;
        v = &kw->terms[kw->n_terms];
        *v = (Term){ .bytes = malloc(len), .len = (uint16_t) len, .list = (uint16_t) list, .flags = flags };
        if (!v->bytes)
                return -ENOMEM;
        memcpy(v->bytes, term, len);
        kw->n_terms++;
        return 0;
}

/* Matched by PCRE2 instead of the automaton. */
static bool term_is_fallback(const Keywords *kw, const Term *t) {
        return kw->lists[t->list].caseless && (t->flags & TERM_CASED_UTF8);
}

static bool term_is_shadowed(const Keywords *kw, const Term *t) {
        return kw->lists[t->list].caseless && !(t->flags & TERM_CASED_UTF8) && (t->flags & TERM_HAS_KS);
}

/* -- PCRE2 patterns -- */

/* Appends term as a literal: ASCII punctuation is backslash-escaped, control characters are
 * written as \x{..}; letters, digits and non-ASCII bytes stand for themselves. */
static int put_literal(StrBuf *b, const char *term, size_t len) {
        int r = 0;

        for (size_t i = 0; i < len && r >= 0; i++) {
                unsigned char ch = (unsigned char) term[i];

                if (ch >= 0x80 || (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z'))
                        r = strbuf_putc(b, (char) ch);
                else if (ch < 0x20 || ch == 0x7f)
                        r = strbuf_printf(b, "\\x{%02x}", ch);
                else
                        r = strbuf_printf(b, "\\%c", ch);
        }
        return r;
}

static int add_code(Keywords *kw, pcre2_code *code, bool shadow) {
        Code *v = reallocarray(kw->codes, kw->n_codes + 1, sizeof *v);

        if (!v)
                return -ENOMEM;
        (void) pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* no JIT: the interpreter runs it */
        kw->codes = v;
        kw->codes[kw->n_codes++] = (Code){ code, shadow };
        return 0;
}

/* Compiles terms[from, to) (longest first) as one caseless alternation, splitting it in halves
 * while PCRE2 finds it too large. */
static int compile_alternation(Keywords *kw, const Term *const *terms, size_t from, size_t to, bool shadow, char *err,
                               size_t errsz) {
        _cleanup_(strbuf_done) StrBuf b = STRBUF_INIT;
        pcre2_code *code;
        PCRE2_SIZE offset;
        int code_err, r;

        for (size_t i = from; i < to; i++)
                if ((i > from && (r = strbuf_putc(&b, '|')) < 0) ||
                    (r = put_literal(&b, terms[i]->bytes, terms[i]->len)) < 0)
                        return errorf(err, errsz, r, "out of memory");
        code = pcre2_compile((PCRE2_SPTR) strbuf_str(&b), b.len,
                             PCRE2_CASELESS | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C, &code_err,
                             &offset, NULL);
        if (!code && code_err == PCRE2_ERROR_PATTERN_TOO_LARGE && to - from > 1) {
                size_t mid = from + (to - from) / 2;

                r = compile_alternation(kw, terms, from, mid, shadow, err, errsz);
                return r < 0 ? r : compile_alternation(kw, terms, mid, to, shadow, err, errsz);
        }
        if (!code) {
                PCRE2_UCHAR msg[256];

                if (code_err == PCRE2_ERROR_NOMEMORY)
                        return errorf(err, errsz, -ENOMEM, "out of memory");
                if (pcre2_get_error_message(code_err, msg, sizeof msg) < 0)
                        snprintf((char *) msg, sizeof msg, "PCRE2 error %d", code_err);
                return errorf(err, errsz, -EINVAL, "a caseless term pattern: at offset %zu: %s", (size_t) offset,
                              (const char *) msg);
        }
        r = add_code(kw, code, shadow);
        if (r < 0) {
                pcre2_code_free(code);
                return errorf(err, errsz, r, "out of memory");
        }
        return 0;
}

static int cmp_term_len_desc(const void *a, const void *b) {
        const Term *x = *(const Term *const *) a, *y = *(const Term *const *) b;

        return (int) y->len - (int) x->len;
}

/* The PCRE2 patterns of list l: its fallback terms, or (shadow) its caseless terms with k or s. */
static int compile_list_patterns(Keywords *kw, size_t l, bool shadow, char *err, size_t errsz) {
        _cleanup_free_ const Term **terms = NULL;
        size_t n = 0, from = 0, bytes = 0;
        int r;

        terms = calloc(kw->n_terms ?: 1, sizeof *terms);
        if (!terms)
                return errorf(err, errsz, -ENOMEM, "out of memory");
        for (size_t i = 0; i < kw->n_terms; i++) {
                const Term *t = &kw->terms[i];

                if (t->list == l && (shadow ? term_is_shadowed(kw, t) : term_is_fallback(kw, t)))
                        terms[n++] = t;
        }
        if (n == 0)
                return 0;
        if (!shadow)
                kw->n_pcre2_terms += n;
        qsort(terms, n, sizeof *terms, cmp_term_len_desc);
        for (size_t i = 0; i < n; i++) {
                bytes += 2 * terms[i]->len + 1;
                if (bytes > KEYWORDS_PATTERN_BYTES && i > from) {
                        r = compile_alternation(kw, terms, from, i, shadow, err, errsz);
                        if (r < 0)
                                return r;
                        from = i;
                        bytes = 2 * terms[i]->len + 1;
                }
        }
        return compile_alternation(kw, terms, from, n, shadow, err, errsz);
}

static int compile_patterns(Keywords *kw, const KeywordsLimits *limits, char *err, size_t errsz) {
        int r;

        /* a list's patterns are consecutive: its fallback terms, then its shadow patterns */
        for (size_t l = 0; l < kw->n_lists; l++) {
                size_t before = kw->n_codes;

                kw->lists[l].first_code = before;
                r = compile_list_patterns(kw, l, false, err, errsz);
                if (r < 0)
                        return r;
                kw->n_fallback_codes += kw->n_codes - before;
                r = compile_list_patterns(kw, l, true, err, errsz);
                if (r < 0)
                        return r;
                kw->lists[l].n_codes = kw->n_codes - before;
        }
        if (kw->n_codes == 0)
                return 0;
        kw->mctx = pcre2_match_context_create(NULL);
        if (!kw->mctx)
                return errorf(err, errsz, -ENOMEM, "out of memory");
        if (limits->match_limit)
                (void) pcre2_set_match_limit(kw->mctx, limits->match_limit);
        if (limits->depth_limit)
                (void) pcre2_set_depth_limit(kw->mctx, limits->depth_limit);
        if (limits->heap_limit_kib)
                (void) pcre2_set_heap_limit(kw->mctx, limits->heap_limit_kib);
        return 0;
}

/* -- the automaton -- */

typedef struct Key {
        const unsigned char *bytes; /* folded when the automaton folds */
        uint16_t len;
        uint16_t list;
        uint32_t check; /* term index to compare with the text, or NO_CHECK */
} Key;

static int cmp_key(const void *a, const void *b) {
        const Key *x = a, *y = b;
        int c = memcmp(x->bytes, y->bytes, MIN(x->len, y->len));

        if (c != 0)
                return c;
        if (x->len != y->len)
                return x->len < y->len ? -1 : 1;
        return x->list != y->list ? (x->list < y->list ? -1 : 1) : 0;
}

static size_t common_prefix(const Key *a, const Key *b) {
        size_t n = 0, m = MIN(a->len, b->len);

        while (n < m && a->bytes[n] == b->bytes[n])
                n++;
        return n;
}

static inline uint32_t encode(const Keywords *kw, uint32_t s) {
        uint32_t v = s < kw->n_dense ? s * kw->n_cls : kw->dense_end + (s - kw->n_dense);

        return kw->term_of[s] ? v | FLAG_OUTPUT : v;
}

static inline uint32_t decode(const Keywords *kw, uint32_t v) {
        v &= ~FLAG_OUTPUT;
        return v < kw->dense_end ? v / kw->n_cls : v - kw->dense_end + kw->n_dense;
}

/* The child of s on class x, or 0. Children are sorted by class. */
static inline uint32_t child(const Keywords *kw, uint32_t s, uint32_t x) {
        uint32_t lo = kw->first_child[s], hi = kw->first_child[s + 1];

        while (hi - lo > 8) {
                uint32_t mid = lo + (hi - lo) / 2;

                if (kw->label[mid] < x)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        for (; lo < hi; lo++)
                if (kw->label[lo] == x)
                        return lo;
        return 0;
}

/* The encoded state after s (a state id) on class x, failures followed. */
static uint32_t step(const Keywords *kw, uint32_t s, uint32_t x) {
        for (;;) {
                uint32_t c;

                if (s < kw->n_dense)
                        return kw->dense[s * kw->n_cls + x];
                c = child(kw, s, x);
                if (c)
                        return encode(kw, c);
                s = kw->fail[s];
        }
}

typedef struct Trie { /* the sorted keys as a first-child / next-sibling tree, before renumbering */
        uint32_t *first, *last, *next, *terminal; /* terminal: index + 1, or 0 */
        uint8_t *byte;
        uint32_t n;
} Trie;

static void trie_done(Trie *t) {
        free(t->first);
        free(t->last);
        free(t->next);
        free(t->terminal);
        free(t->byte);
}

/* Inserts the sorted keys; fills kw->terminals (depth, outputs) and kw->outputs. */
static int trie_build(Keywords *kw, Trie *t, const Key *keys, size_t n_keys, uint32_t n_states) {
        uint32_t path[KEYWORDS_TERM_BYTES_MAX + 1] = { 0 };

        t->first = calloc(n_states, sizeof *t->first);
        t->last = calloc(n_states, sizeof *t->last);
        t->next = calloc(n_states, sizeof *t->next);
        t->terminal = calloc(n_states, sizeof *t->terminal);
        t->byte = calloc(n_states, sizeof *t->byte);
        kw->terminals = calloc(n_keys ?: 1, sizeof *kw->terminals);
        kw->outputs = calloc(n_keys ?: 1, sizeof *kw->outputs);
        if (!t->first || !t->last || !t->next || !t->terminal || !t->byte || !kw->terminals || !kw->outputs)
                return -ENOMEM;
        t->n = 1;
        for (size_t i = 0; i < n_keys; i++) {
                const Key *k = &keys[i];
                size_t lcp = i > 0 ? common_prefix(&keys[i - 1], k) : 0;
                Terminal *term;
                uint32_t node;

                for (size_t d = lcp; d < k->len; d++) {
                        uint32_t parent = path[d], c = t->n++;

                        t->byte[c] = k->bytes[d];
                        if (t->last[parent])
                                t->next[t->last[parent]] = c;
                        else
                                t->first[parent] = c;
                        t->last[parent] = c;
                        path[d + 1] = c;
                }
                node = path[k->len];
                if (!t->terminal[node]) {
                        kw->terminals[kw->n_terminals] =
                                (Terminal){ .first_out = (uint32_t) kw->n_outputs, .depth = k->len };
                        t->terminal[node] = (uint32_t) ++kw->n_terminals;
                }
                term = &kw->terminals[t->terminal[node] - 1];
                /* a caseless list needs one output per terminal; a case-sensitive one, one per spelling */
                if (k->check == NO_CHECK && term->n_out > 0 && kw->outputs[kw->n_outputs - 1].list == k->list &&
                    kw->outputs[kw->n_outputs - 1].check == NO_CHECK)
                        continue;
                kw->outputs[kw->n_outputs++] = (Output){ .list = k->list, .check = k->check };
                term->n_out++;
        }
        return 0;
}

/* Renumbers t breadth-first into kw's arrays (children consecutive, sorted by class). */
static int renumber(Keywords *kw, const Trie *t, uint32_t **ret_own_terminal) {
        _cleanup_free_ uint32_t *queue = malloc(t->n * sizeof *queue);
        _cleanup_free_ uint32_t *own = calloc(t->n, sizeof *own);
        uint32_t tail = 1;

        kw->first_child = calloc((size_t) t->n + 1, sizeof *kw->first_child);
        kw->label = calloc(t->n, sizeof *kw->label);
        kw->fail = calloc(t->n, sizeof *kw->fail);
        kw->term_of = calloc(t->n, sizeof *kw->term_of);
        if (!queue || !own || !kw->first_child || !kw->label || !kw->fail || !kw->term_of)
                return -ENOMEM;
        queue[0] = 0;
        for (uint32_t h = 0; h < t->n; h++) {
                uint32_t u = queue[h];

                own[h] = t->terminal[u];
                kw->first_child[h] = tail;
                for (uint32_t c = t->first[u]; c; c = t->next[c]) {
                        kw->label[tail] = kw->cls[t->byte[c]];
                        queue[tail++] = c;
                }
        }
        kw->first_child[t->n] = tail;
        *ret_own_terminal = TAKE_PTR(own);
        return 0;
}

/* Failure links, nearest terminals and dense rows, in breadth-first order. */
static void link_states(Keywords *kw, const uint32_t *own) {
        for (uint32_t s = 0; s < kw->n_states; s++) {
                for (uint32_t c = kw->first_child[s]; c < kw->first_child[s + 1]; c++) {
                        uint32_t f = s == 0 ? 0 : decode(kw, step(kw, kw->fail[s], kw->label[c]));
                        uint32_t up = kw->term_of[f];

                        kw->fail[c] = f;
                        if (own[c]) {
                                kw->terminals[own[c] - 1].next = up;
                                kw->term_of[c] = own[c];
                        } else
                                kw->term_of[c] = up;
                }
                if (s < kw->n_dense) {
                        uint32_t *row = &kw->dense[(size_t) s * kw->n_cls];

                        if (s == 0)
                                for (uint32_t x = 0; x < kw->n_cls; x++)
                                        row[x] = encode(kw, 0);
                        else
                                memcpy(row, &kw->dense[(size_t) kw->fail[s] * kw->n_cls], kw->n_cls * sizeof *row);
                        for (uint32_t c = kw->first_child[s]; c < kw->first_child[s + 1]; c++)
                                row[kw->label[c]] = encode(kw, c);
                }
        }
}

/* The automaton's keys: every term the automaton matches, plus U+212A and U+017F when some term
 * has shadow patterns. */
static int make_keys(Keywords *kw, bool folding, Key **ret_keys, size_t *ret_n, unsigned char **ret_arena) {
        static const unsigned char kelvin[] = { 0xE2, 0x84, 0xAA }, long_s[] = { 0xC5, 0xBF };
        _cleanup_free_ Key *keys = calloc(kw->n_terms + 2, sizeof *keys);
        _cleanup_free_ unsigned char *arena = NULL;
        size_t n = 0, bytes = 0, at = 0;
        bool shadows = false;

        for (size_t i = 0; i < kw->n_terms; i++)
                bytes += kw->terms[i].len;
        arena = malloc(bytes ?: 1);
        if (!keys || !arena)
                return -ENOMEM;
        for (size_t i = 0; i < kw->n_terms; i++) {
                const Term *t = &kw->terms[i];
                bool caseless = kw->lists[t->list].caseless;

                if (term_is_fallback(kw, t))
                        continue;
                shadows |= term_is_shadowed(kw, t);
                for (size_t j = 0; j < t->len; j++)
                        arena[at + j] = folding ? fold((unsigned char) t->bytes[j]) : (unsigned char) t->bytes[j];
                keys[n++] = (Key){ .bytes = arena + at,
                                   .len = t->len,
                                   .list = t->list,
                                   .check = !caseless && folding && (t->flags & TERM_HAS_LETTER) ? (uint32_t) i
                                                                                                 : NO_CHECK };
                at += t->len;
                kw->lists[t->list].max_len = MAX(kw->lists[t->list].max_len, t->len);
        }
        if (shadows) {
                keys[n++] = (Key){ .bytes = kelvin, .len = sizeof kelvin, .list = LIST_SPECIAL, .check = NO_CHECK };
                keys[n++] = (Key){ .bytes = long_s, .len = sizeof long_s, .list = LIST_SPECIAL, .check = NO_CHECK };
        }
        qsort(keys, n, sizeof *keys, cmp_key);
        *ret_keys = TAKE_PTR(keys);
        *ret_n = n;
        *ret_arena = TAKE_PTR(arena);
        return 0;
}

static int compile_automaton(Keywords *kw, size_t max_bytes, char *err, size_t errsz) {
        _cleanup_free_ Key *keys = NULL;
        _cleanup_free_ unsigned char *arena = NULL;
        _cleanup_free_ uint32_t *own = NULL;
        _cleanup_(trie_done) Trie t = {};
        bool folding = false, used[256] = {};
        size_t n_keys = 0, states = 1, size, row, dense_rows;
        int r;

        for (size_t l = 0; l < kw->n_lists; l++)
                folding |= kw->lists[l].caseless;
        r = make_keys(kw, folding, &keys, &n_keys, &arena);
        if (r < 0)
                return errorf(err, errsz, r, "out of memory");

        /* classes: the bytes the keys use, in byte order (so sorted children are sorted classes) */
        for (size_t i = 0; i < n_keys; i++) {
                states += keys[i].len - (i > 0 ? common_prefix(&keys[i - 1], &keys[i]) : 0);
                for (size_t j = 0; j < keys[i].len; j++)
                        used[keys[i].bytes[j]] = true;
        }
        kw->n_cls = 1;
        for (unsigned b = 0; b < 256; b++)
                if (used[b])
                        kw->cls[b] = (uint8_t) kw->n_cls++;
        if (folding)
                for (unsigned b = 'A'; b <= 'Z'; b++)
                        kw->cls[b] = kw->cls[b + ('a' - 'A')];

        /* the size, before anything is built */
        row = kw->n_cls * sizeof(uint32_t);
        dense_rows = MIN(states, KEYWORDS_DENSE_BYTES / row);
        size = states * (3 * sizeof(uint32_t) + sizeof(uint8_t)) + sizeof(uint32_t) +
               n_keys * (sizeof(Terminal) + sizeof(Output)) + dense_rows * row;
        if (max_bytes > 0 && size > max_bytes)
                return errorf(err, errsz, -E2BIG,
                              "the automaton of the keyword lists needs %zu bytes (%zu states), over the limit of %zu",
                              size, states, max_bytes);
        kw->n_states = (uint32_t) states;
        kw->n_dense = (uint32_t) dense_rows;
        kw->dense_end = kw->n_dense * kw->n_cls;
        kw->memory = size;

        kw->dense = malloc(kw->n_dense * row);
        if (!kw->dense || trie_build(kw, &t, keys, n_keys, kw->n_states) < 0 || renumber(kw, &t, &own) < 0)
                return errorf(err, errsz, -ENOMEM, "out of memory");
        link_states(kw, own);
        return 0;
}

int keywords_compile(Keywords *kw, const KeywordsLimits *limits, char *err, size_t errsz) {
        static const KeywordsLimits none = {};
        int r;

        if (kw->compiled)
                return -EBUSY;
        if (!limits)
                limits = &none;
        kw->compiled = true;
        r = compile_automaton(kw, limits->max_bytes, err, errsz);
        if (r < 0)
                return r;
        return compile_patterns(kw, limits, err, errsz);
}

size_t keywords_list_count(const Keywords *kw) {
        return kw ? kw->n_lists : 0;
}

size_t keywords_memory(const Keywords *kw) {
        return kw ? kw->memory : 0;
}

size_t keywords_states(const Keywords *kw) {
        return kw ? kw->n_states : 0;
}

size_t keywords_pcre2_terms(const Keywords *kw) {
        return kw ? kw->n_pcre2_terms : 0;
}

/* ---- scanning ---- */

int keywords_pcre2_errno(int rc) {
        switch (rc) {
        case PCRE2_ERROR_MATCHLIMIT:
        case PCRE2_ERROR_DEPTHLIMIT:
        case PCRE2_ERROR_HEAPLIMIT:
        case PCRE2_ERROR_JIT_STACKLIMIT:
                return -ERANGE;
        case PCRE2_ERROR_NOMEMORY:
                return -ENOMEM;
        default:
                return -EIO; /* cannot happen with a compiled pattern and a valid subject */
        }
}

typedef struct ListScan {
        size_t b;   /* the next match must start here or later */
        size_t ref; /* pending starts lie in [ref - RING, ref) */
        uint32_t count;
        uint64_t bits[RING / 64]; /* pending automaton candidates, by start % RING */
        uint16_t len[RING];       /* their lengths (the longest per start); valid where bits are set */
} ListScan;

typedef struct Cursor { /* a PCRE2 pattern's next match at or after from */
        size_t from, start, end;
        bool known, done;
} Cursor;

typedef struct Scan {
        const Keywords *kw;
        const char *text;
        size_t len;
        bool shadow;      /* the shadow patterns run */
        uint64_t touched; /* lists whose ListScan is set up */
        Cursor *cursors;
        pcre2_match_data *md;
        ListScan lists[KEYWORDS_LISTS_MAX];
} Scan;

static ListScan *list_scan(Scan *s, size_t l) {
        ListScan *ls = &s->lists[l];

        if (!(s->touched & (UINT64_C(1) << l))) {
                ls->b = ls->ref = 0;
                ls->count = 0;
                memset(ls->bits, 0, sizeof ls->bits);
                s->touched |= UINT64_C(1) << l;
        }
        return ls;
}

/* The earliest pending start of ls, or SIZE_MAX. */
static size_t ring_first(const ListScan *ls) {
        unsigned k = ls->ref % RING; /* the slot of ref - RING, the oldest possible start */

        for (unsigned i = 0; i <= RING / 64; i++) {
                unsigned w = (k / 64 + i) % (RING / 64);
                uint64_t m = ls->bits[w];

                if (i == 0)
                        m &= ~UINT64_C(0) << (k % 64);
                else if (i == RING / 64)
                        m &= k % 64 ? ~(~UINT64_C(0) << (k % 64)) : 0;
                if (m) {
                        unsigned slot = w * 64 + (unsigned) __builtin_ctzll(m);

                        return ls->ref - RING + ((slot - ls->ref) % RING);
                }
        }
        return SIZE_MAX;
}

static bool code_active(const Scan *s, size_t k) {
        return !s->kw->codes[k].shadow || s->shadow;
}

/* Makes cursor k know its next match at or after max(from, b). */
static int cursor_fill(Scan *s, size_t k, size_t b) {
        Cursor *c = &s->cursors[k];
        size_t from = MAX(c->from, b);
        PCRE2_SIZE *ov;
        int rc;

        if (c->done || (c->known && c->start >= b))
                return 0;
        while (from < s->len && ((unsigned char) s->text[from] & 0xC0) == 0x80)
                from++; /* no term starts inside a character */
        if (from >= s->len) {
                c->done = true;
                return 0;
        }
        rc = pcre2_match(s->kw->codes[k].code, (PCRE2_SPTR) s->text, s->len, from, 0, s->md, s->kw->mctx);
        if (rc == PCRE2_ERROR_NOMATCH) {
                c->done = true;
                return 0;
        }
        if (rc < 0)
                return keywords_pcre2_errno(rc);
        ov = pcre2_get_ovector_pointer(s->md);
        c->start = ov[0];
        c->end = MAX(ov[1], ov[0] + 1);
        c->known = true;
        return 0;
}

/* Settles list l's candidates that start before bound (no later match can start before them):
 * in start order, automaton and PCRE2 candidates merged, the longest at a start. */
static int settle(Scan *s, size_t l, size_t bound) {
        const List *list = &s->kw->lists[l];
        ListScan *ls = list_scan(s, l);
        int r;

        for (;;) {
                size_t p_ring = ring_first(ls), p = p_ring, len = 0;

                if (p != SIZE_MAX)
                        len = ls->len[p % RING];
                for (size_t k = list->first_code; k < list->first_code + list->n_codes; k++) {
                        if (!code_active(s, k))
                                continue; /* s->cursors may be NULL when no code is active: no pointer into it */
                        const Cursor *c = &s->cursors[k];

                        if ((r = cursor_fill(s, k, ls->b)) < 0)
                                return r;
                        if (c->done)
                                continue;
                        if (c->start < p || (c->start == p && c->end - c->start > len)) {
                                p = c->start;
                                len = c->end - c->start;
                        }
                }
                if (p == SIZE_MAX || p >= bound)
                        return 0;
                if (p_ring == p)
                        ls->bits[(p % RING) / 64] &= ~(UINT64_C(1) << (p % 64));
                for (size_t k = list->first_code; k < list->first_code + list->n_codes; k++) {
                        if (!code_active(s, k))
                                continue;
                        Cursor *c = &s->cursors[k];

                        if (!c->done && c->start == p) {
                                c->known = false;
                                c->from = p + 1;
                        }
                }
                if (p >= ls->b) {
                        if (ls->count < UINT32_MAX)
                                ls->count++;
                        ls->b = p + len;
                }
        }
}

/* An automaton match of list l: text[start, end). */
static int candidate(Scan *s, size_t l, size_t start, size_t end) {
        ListScan *ls = list_scan(s, l);
        size_t max_len = s->kw->lists[l].max_len, slot = start % RING;
        uint64_t bit = UINT64_C(1) << (slot % 64);
        int r;

        if (start < ls->b)
                return 0; /* overlaps a match that counted */
        if (end > max_len && (r = settle(s, l, end - max_len)) < 0)
                return r;
        if (start < ls->b)
                return 0;
        if (ls->bits[slot / 64] & bit)
                ls->len[slot] = (uint16_t) MAX(ls->len[slot], end - start);
        else {
                ls->bits[slot / 64] |= bit;
                ls->len[slot] = (uint16_t) (end - start);
        }
        ls->ref = end;
        return 0;
}

/* The outputs of encoded state v, reached at end. 1: the text needs the shadow patterns. */
static int report(Scan *s, uint32_t v, size_t end) {
        const Keywords *kw = s->kw;
        int r;

        for (uint32_t t = kw->term_of[decode(kw, v)]; t; t = kw->terminals[t - 1].next) {
                const Terminal *term = &kw->terminals[t - 1];
                size_t start = end - term->depth;

                for (uint32_t o = term->first_out; o < term->first_out + term->n_out; o++) {
                        const Output *out = &kw->outputs[o];

                        if (out->list == LIST_SPECIAL) {
                                if (!s->shadow)
                                        return 1;
                                continue;
                        }
                        if (out->check != NO_CHECK &&
                            memcmp(s->text + start, kw->terms[out->check].bytes, term->depth) != 0)
                                continue;
                        if ((r = candidate(s, out->list, start, end)) < 0)
                                return r;
                }
        }
        return 0;
}

static bool deadline_passed(uint64_t deadline_usec) {
        return deadline_usec > 0 && time_mono_usec() > deadline_usec;
}

/* One pass of the automaton over the text, then every list settled. 1: run again with shadows. */
static int scan_pass(Scan *s, uint64_t deadline_usec) {
        const Keywords *kw = s->kw;
        const unsigned char *p = (const unsigned char *) s->text;
        const uint32_t *dense = kw->dense;
        const uint8_t *cls = kw->cls;
        uint32_t v = encode(kw, 0), dense_end = kw->dense_end;
        int r;

        for (size_t at = kw->n_states > 1 ? 0 : s->len; at < s->len;) { /* no automaton terms: PCRE2 only */
                size_t end = MIN(s->len, at + KEYWORDS_CLOCK_STRIDE);

                if (deadline_passed(deadline_usec))
                        return -ETIME;
                for (; at < end; at++) {
                        uint32_t x = cls[p[at]];

                        v = _likely_(v < dense_end) ? dense[v + x] : step(kw, decode(kw, v), x);
                        if (_unlikely_(v & FLAG_OUTPUT)) {
                                if ((r = report(s, v, at + 1)) != 0)
                                        return r;
                                v &= ~FLAG_OUTPUT;
                        }
                }
        }
        for (size_t l = 0; l < kw->n_lists; l++) {
                bool active = s->touched & (UINT64_C(1) << l);

                for (size_t k = kw->lists[l].first_code; k < kw->lists[l].first_code + kw->lists[l].n_codes; k++)
                        active |= code_active(s, k);
                if (active && (r = settle(s, l, SIZE_MAX)) < 0)
                        return r;
        }
        return 0;
}

static int scan_run(Scan *s, uint64_t deadline_usec) {
        size_t n = s->shadow ? s->kw->n_codes : s->kw->n_fallback_codes;

        s->touched = 0;
        if (n > 0) {
                s->md = pcre2_match_data_create(1, NULL);
                s->cursors = calloc(s->kw->n_codes, sizeof *s->cursors);
                if (!s->md || !s->cursors)
                        return -ENOMEM;
        }
        return scan_pass(s, deadline_usec);
}

int keywords_scan(const Keywords *kw, const char *text, size_t len, uint32_t *counts, uint64_t deadline_usec) {
        Scan s; /* not zeroed: 36 KiB; the per-list parts are set up when a list is first touched */
        int r;

        if (!kw || kw->n_lists == 0)
                return 0;
        if (!kw->compiled)
                return -EINVAL;
        if (deadline_passed(deadline_usec))
                return -ETIME;
        s.kw = kw;
        s.text = text;
        s.len = len;
        s.shadow = false;
        s.cursors = NULL;
        s.md = NULL;
        r = scan_run(&s, deadline_usec);
        if (r == 1) {
                pcre2_match_data_free(s.md);
                free(s.cursors);
                s.md = NULL;
                s.cursors = NULL;
                s.shadow = true;
                r = scan_run(&s, deadline_usec);
        }
        pcre2_match_data_free(s.md);
        free(s.cursors);
        if (r < 0)
                return r;
        for (size_t l = 0; l < kw->n_lists; l++) {
                uint32_t n = s.touched & (UINT64_C(1) << l) ? s.lists[l].count : 0;

                counts[l] = n > UINT32_MAX - counts[l] ? UINT32_MAX : counts[l] + n;
        }
        return 0;
}
