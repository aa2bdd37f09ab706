/* keywords.h: the admin's keyword lists (rules.h "keywords"), matched in one pass over the text.
 *
 * All lists of a rule set go into ONE Aho-Corasick automaton over bytes, built once per rule set
 * version and read-only afterwards (safe to share between threads); each terminal state carries the
 * ids of the lists whose term ends there. keywords_scan() counts, per list, the leftmost-longest
 * non-overlapping matches: from the left, the match that starts first (the longest of those that
 * start there) counts, and the next one must start at or after its end; so a piece of text counts
 * once per list, and lists do not affect each other's counts.
 *
 * Case. A case-insensitive list's terms are folded (ASCII A-Z to a-z) when built, and text bytes are
 * folded on the fly by the 256-entry byte-class table, so caseless matching costs nothing extra.
 * Case-sensitive terms live in the same automaton (folded too when some list is caseless) and are
 * checked against the original text bytes when their terminal is reached. Where PCRE2's caseless
 * UTF matching (what rules.c used before, and still uses for regexes) is more than ASCII folding,
 * the split is:
 *   - a caseless term holding a non-ASCII character with case variants (Latin-1 supplement, Latin
 *     Extended, Greek, Cyrillic, Armenian, full-width Latin letters...: anything outside the uncased
 *     blocks of keywords_codepoint_uncased(), e.g. "Ärger") is matched by PCRE2 (caseless, UTF, the
 *     terms of a list as alternations, longest first) and not by the automaton; its matches take
 *     part in the list's leftmost-longest count like the automaton's. Uncased scripts (CJK
 *     ideographs, kana, Hangul, CJK and general punctuation, Hebrew, Arabic, Thai...) go to the
 *     automaton: byte equality is their caseless match;
 *   - PCRE2 also matches ASCII 'k' with U+212A KELVIN SIGN and 's' with U+017F LATIN SMALL LETTER
 *     LONG S (the only two non-ASCII case variants of ASCII letters). Caseless terms holding k or s
 *     are matched by the automaton and, in a text that contains one of those two characters (the
 *     automaton spots them during its pass), also by PCRE2 ("shadow" patterns; the pass is then run
 *     again with them), so such a text counts exactly as PCRE2 would count it.
 *
 * Memory. States are numbered breadth-first, so a state's children are consecutive: a state costs
 * 13 bytes (failure link, first child, byte class of its incoming edge, nearest terminal), plus a
 * dense failure-resolved transition row (4 bytes per byte class) for the first states (the root and
 * the shallow levels, the hot ones) up to KEYWORDS_DENSE_BYTES (8 MiB), plus 24 bytes a term.
 * Worst case (10 000 terms of 256 distinct bytes: 2.56 M states): 33 MB + 8 MiB, about 40 MiB.
 * keywords_compile() computes the exact size from the sorted terms before building anything and
 * refuses (-E2BIG) a set over the caller's limit (rules.h RULES_KEYWORD_AUTOMATON_BYTES_MAX,
 * 32 MiB: the worst case is refused; a 512 KiB rule set document needs at most about 15 MiB).
 *
 * Scanning allocates nothing unless the set has PCRE2 terms to run (one match data and one
 * cursor per pattern). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define KEYWORDS_LISTS_MAX 64
#define KEYWORDS_TERM_BYTES_MAX 256
#define KEYWORDS_DENSE_BYTES (8 * 1024 * 1024) /* dense transition rows, at most */

typedef struct Keywords Keywords;

typedef struct KeywordsLimits {
        size_t max_bytes;     /* the automaton's memory (PCRE2 patterns not counted); 0: no limit */
        uint32_t match_limit; /* PCRE2 limits of one match of a fallback term pattern */
        uint32_t depth_limit;
        uint32_t heap_limit_kib;
} KeywordsLimits;

/* An empty set: add lists and terms, then compile. */
int keywords_new(Keywords **ret);
Keywords *keywords_free(Keywords *kw);
DEFINE_TRIVIAL_CLEANUP_FUNC(Keywords *, keywords_free);

/* Adds a list; its id (0, 1, ... in the order of the calls) or -E2BIG past KEYWORDS_LISTS_MAX. */
int keywords_add_list(Keywords *kw, bool caseless);
/* Adds term[0..len) to list. -EINVAL: empty, over KEYWORDS_TERM_BYTES_MAX, or not valid UTF-8
 * (*ret_bad_offset, when not NULL, gets the offset of the offending byte). -ENOMEM. */
int keywords_add_term(Keywords *kw, int list, const char *term, size_t len, size_t *ret_bad_offset);
/* Builds the automaton and the PCRE2 patterns; nothing can be added afterwards. -E2BIG with err
 * naming the size and the limit, -ENOMEM. */
int keywords_compile(Keywords *kw, const KeywordsLimits *limits, char *err, size_t errsz);

size_t keywords_list_count(const Keywords *kw);
/* The automaton's memory in bytes (what max_bytes limits) and its number of states. */
size_t keywords_memory(const Keywords *kw);
size_t keywords_states(const Keywords *kw);
/* Terms matched by PCRE2 instead of the automaton (caseless terms with cased non-ASCII letters). */
size_t keywords_pcre2_terms(const Keywords *kw);

/* Adds each list's match count in text[0..len) to counts[list] (saturating at UINT32_MAX; nothing is
 * added on error). 0; -ETIME once time_mono_usec() passes deadline_usec (0: never; the clock is read
 * at the start and every 64 KiB of text); -ERANGE when a PCRE2 pattern hit its limits; -ENOMEM. */
int keywords_scan(const Keywords *kw, const char *text, size_t len, uint32_t *counts, uint64_t deadline_usec);

/* Whether code point cp is in a block without case (no case variants under PCRE2's caseless UTF
 * matching): caseless terms made of ASCII and such characters go to the automaton. */
bool keywords_codepoint_uncased(uint32_t cp);
/* PCRE2 pcre2_match() error code -> -ERANGE (a match/depth/heap/JIT-stack limit), -ENOMEM or -EIO. */
int keywords_pcre2_errno(int rc);
