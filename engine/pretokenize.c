/* pretokenize.c: each split regex as a "match at this position" function, run leftmost-first like a regex search. */
#include "pretokenize.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "macro.h"
#include "unicode.h"

/* Returns how many units the pattern matches at pos (0: no match); never looks at or past end. */
typedef size_t (*MatchFn)(const uint32_t *u, size_t pos, size_t end);

#define WS UNICODE_WHITESPACE
#define LETTER UNICODE_LETTER
#define NUMBER UNICODE_NUMBER
#define PUNCT UNICODE_PUNCTUATION

static inline uint32_t cp_at(const uint32_t *u, size_t i) {
        return pretok_unit_cp(u[i]);
}

/* Flags of unit i, or 0 past the end of the piece (what nothing matches). */
static inline uint32_t flags_at(const uint32_t *u, size_t i, size_t end) {
        return i < end ? pretok_unit_flags(u[i]) : 0;
}

/* [^\s\p{L}\p{N}]: any code point but whitespace, letters and numbers. */
static inline bool is_other(uint32_t flags) {
        return flags != 0 && !(flags & (WS | LETTER | NUMBER));
}

static size_t run_of(const uint32_t *u, size_t pos, size_t end, uint32_t mask) {
        size_t p = pos;

        while (p < end && (pretok_unit_flags(u[p]) & mask))
                p++;
        return p - pos;
}

static inline uint32_t ascii_lower(uint32_t c) {
        return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* 's|'t|'re|'ve|'m|'ll|'d, case-sensitive or (ignore_case) ASCII case-insensitive. */
static size_t match_contraction(const uint32_t *u, size_t pos, size_t end, bool ignore_case) {
        uint32_t c1, c2;

        if (cp_at(u, pos) != '\'' || pos + 1 >= end)
                return 0;
        c1 = cp_at(u, pos + 1);
        if (ignore_case)
                c1 = ascii_lower(c1);
        if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd')
                return 2;
        if (pos + 2 >= end)
                return 0;
        c2 = cp_at(u, pos + 2);
        if (ignore_case)
                c2 = ascii_lower(c2);
        if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l'))
                return 3;
        return 0;
}

/* \s+(?!\S)|\s+ over a run of w whitespace units at pos: leave the last one to the next word when a
 * non-space follows. */
static size_t match_space_run(size_t pos, size_t end, size_t w) {
        if (w > 1 && pos + w < end)
                return w - 1;
        return w;
}

/* GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static size_t match_gpt2(const uint32_t *u, size_t pos, size_t end) {
        uint32_t cp = cp_at(u, pos), f;
        size_t n, lead;

        n = match_contraction(u, pos, end, false);
        if (n > 0)
                return n;

        /* " ?X+": an optional U+0020, then a run of one class */
        lead = cp == ' ';
        f = flags_at(u, pos + lead, end);
        if (f & LETTER)
                return lead + run_of(u, pos + lead, end, LETTER);
        if (f & NUMBER)
                return lead + run_of(u, pos + lead, end, NUMBER);
        if (is_other(f)) {
                n = pos + lead;
                while (n < end && is_other(flags_at(u, n, end)))
                        n++;
                return n - pos;
        }

        n = run_of(u, pos, end, WS);
        if (n > 0)
                return match_space_run(pos, end, n);
        return 1;
}

/* Llama 3 (max_digits 3) and Qwen2 (1):
 * (?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
static size_t match_llama3_like(const uint32_t *u, size_t pos, size_t end, size_t max_digits) {
        uint32_t cp = cp_at(u, pos), f = flags_at(u, pos, end);
        size_t n, lead, last_newline = 0;

        n = match_contraction(u, pos, end, true);
        if (n > 0)
                return n;

        /* [^\r\n\p{L}\p{N}]?\p{L}+ */
        if (cp != '\r' && cp != '\n' && !(f & NUMBER)) {
                if (f & LETTER)
                        return run_of(u, pos, end, LETTER);
                if (flags_at(u, pos + 1, end) & LETTER)
                        return 1 + run_of(u, pos + 1, end, LETTER);
        }

        /* \p{N}{1,max_digits} */
        if (f & NUMBER) {
                n = run_of(u, pos, end, NUMBER);
                return MIN(n, max_digits);
        }

        /*  ?[^\s\p{L}\p{N}]+[\r\n]* */
        lead = cp == ' ';
        if (is_other(flags_at(u, pos + lead, end))) {
                n = pos + lead;
                while (n < end && is_other(flags_at(u, n, end)))
                        n++;
                while (n < end && (cp_at(u, n) == '\r' || cp_at(u, n) == '\n'))
                        n++;
                return n - pos;
        }

        /* \s*[\r\n]+: up to the last newline of the whitespace run */
        n = run_of(u, pos, end, WS);
        for (size_t i = pos; i < pos + n; i++)
                if (cp_at(u, i) == '\r' || cp_at(u, i) == '\n')
                        last_newline = i + 1;
        if (last_newline > 0)
                return last_newline - pos;
        if (n > 0)
                return match_space_run(pos, end, n);
        return 1;
}

static size_t match_llama3(const uint32_t *u, size_t pos, size_t end) {
        return match_llama3_like(u, pos, end, 3);
}

static size_t match_qwen2(const uint32_t *u, size_t pos, size_t end) {
        return match_llama3_like(u, pos, end, 1);
}

/* [\r\n] */
static size_t match_newline(const uint32_t *u, size_t pos, size_t end) {
        uint32_t cp = cp_at(u, pos);

        (void) end;
        return cp == '\r' || cp == '\n';
}

/* \s?X+ for the class mask X */
static size_t match_space_then_run(const uint32_t *u, size_t pos, size_t end, uint32_t mask) {
        uint32_t f = flags_at(u, pos, end);

        if (f & mask)
                return run_of(u, pos, end, mask);
        if ((f & WS) && (flags_at(u, pos + 1, end) & mask))
                return 1 + run_of(u, pos + 1, end, mask);
        return 0;
}

/* \s?\p{L}+ */
static size_t match_space_letters(const uint32_t *u, size_t pos, size_t end) {
        return match_space_then_run(u, pos, end, LETTER);
}

/* \s?\p{P}+ */
static size_t match_space_punct(const uint32_t *u, size_t pos, size_t end) {
        return match_space_then_run(u, pos, end, PUNCT);
}

/* [一-龥ࠀ-一가-퟿]+, i.e. U+0800..U+9FA5 and U+AC00..U+D7FF; llama.cpp hides non-ASCII whitespace from this
 * pattern, so U+3000 and friends do not match. */
static inline bool is_deepseek_cjk(uint32_t unit) {
        uint32_t cp = pretok_unit_cp(unit);

        if (pretok_unit_flags(unit) & WS)
                return false;
        return (cp >= 0x0800 && cp <= 0x9FA5) || (cp >= 0xAC00 && cp <= 0xD7FF);
}

static size_t match_deepseek_cjk(const uint32_t *u, size_t pos, size_t end) {
        size_t p = pos;

        while (p < end && is_deepseek_cjk(u[p]))
                p++;
        return p - pos;
}

/* \p{N} */
static size_t match_digit(const uint32_t *u, size_t pos, size_t end) {
        return (flags_at(u, pos, end) & NUMBER) != 0;
}

/* \p{N}+ */
static size_t match_digits(const uint32_t *u, size_t pos, size_t end) {
        return run_of(u, pos, end, NUMBER);
}

/* [0-9][0-9][0-9] */
static size_t match_ascii_digits3(const uint32_t *u, size_t pos, size_t end) {
        if (pos + 3 > end)
                return 0;
        for (size_t i = pos; i < pos + 3; i++)
                if (cp_at(u, i) < '0' || cp_at(u, i) > '9')
                        return 0;
        return 3;
}

/* [\p{P}\$\+<=>\^~\|]+ */
static inline bool is_default_punct(uint32_t unit) {
        uint32_t cp = pretok_unit_cp(unit);

        if (pretok_unit_flags(unit) & PUNCT)
                return true;
        return cp != 0 && cp < 0x80 && strchr("$+<=>^~|", (int) cp);
}

static size_t match_default_punct(const uint32_t *u, size_t pos, size_t end) {
        size_t p = pos;

        while (p < end && is_default_punct(u[p]))
                p++;
        return p - pos;
}

/* Splits the piece [begin, end) of u, appending piece ends to out[n_out..]; returns the new count. */
typedef size_t (*SplitFn)(const uint32_t *u, size_t begin, size_t end, uint32_t *out, size_t n_out);

/* Runs one pattern over the piece [begin, end): appends the ends of its matches and of the text between them. */
static inline __attribute__((always_inline)) size_t split_piece(MatchFn match, const uint32_t *u, size_t begin,
                                                                size_t end, uint32_t *out, size_t n_out) {
        size_t pos = begin, gap = begin;

        while (pos < end) {
                size_t m = match(u, pos, end);

                if (m == 0) {
                        pos++;
                        continue;
                }
                if (gap < pos)
                        out[n_out++] = (uint32_t) pos;
                pos += m;
                out[n_out++] = (uint32_t) pos;
                gap = pos;
        }
        if (gap < end)
                out[n_out++] = (uint32_t) end;
        return n_out;
}

/* One SplitFn per pattern, each with its matcher inlined into the scan. */
#define DEFINE_SPLIT(name)                                                                                            \
        static size_t split_##name(const uint32_t *u, size_t begin, size_t end, uint32_t *out, size_t n_out) {        \
                return split_piece(match_##name, u, begin, end, out, n_out);                                          \
        }

DEFINE_SPLIT(gpt2)
DEFINE_SPLIT(llama3)
DEFINE_SPLIT(qwen2)
DEFINE_SPLIT(newline)
DEFINE_SPLIT(space_letters)
DEFINE_SPLIT(space_punct)
DEFINE_SPLIT(deepseek_cjk)
DEFINE_SPLIT(digit)
DEFINE_SPLIT(digits)
DEFINE_SPLIT(ascii_digits3)
DEFINE_SPLIT(default_punct)

static const SplitFn stages_default[] = { split_default_punct, split_gpt2, split_digits, split_ascii_digits3, NULL };
static const SplitFn stages_gpt2[] = { split_gpt2, NULL };
static const SplitFn stages_llama3[] = { split_llama3, NULL };
static const SplitFn stages_qwen2[] = { split_qwen2, NULL };
static const SplitFn stages_deepseek_coder[] = { split_newline,      split_space_letters, split_space_punct,
                                                 split_deepseek_cjk, split_digit,         NULL };
static const SplitFn stages_starcoder[] = { split_digit, split_gpt2, NULL };

static const struct {
        const char *name;
        const SplitFn *stages;
} kinds[_PRETOK_MAX] = {
        [PRETOK_DEFAULT] = { "default", stages_default },
        [PRETOK_GPT2] = { "gpt-2", stages_gpt2 },
        [PRETOK_LLAMA3] = { "llama-bpe", stages_llama3 },
        [PRETOK_QWEN2] = { "qwen2", stages_qwen2 },
        [PRETOK_DEEPSEEK_CODER] = { "deepseek-coder", stages_deepseek_coder },
        [PRETOK_STARCODER] = { "starcoder", stages_starcoder },
};

/* tokenizer.ggml.pre values, as llama-vocab.cpp maps them; names whose models need more than the split
 * patterns (BERT-style SEP, per-token strip flags, no BOS) are left out on purpose. */
static const struct {
        const char *name;
        PretokKind kind;
        unsigned options;
} names[] = {
        { "default", PRETOK_DEFAULT, 0 },
        { "gpt-2", PRETOK_GPT2, 0 },
        { "phi-2", PRETOK_GPT2, 0 },
        { "gigachat", PRETOK_GPT2, 0 },
        { "a.x-4.0", PRETOK_GPT2, 0 },
        { "mellum", PRETOK_GPT2, 0 },
        { "exaone4", PRETOK_GPT2, 0 },
        { "mpt", PRETOK_GPT2, 0 },
        { "olmo", PRETOK_GPT2, 0 },
        { "jais", PRETOK_GPT2, 0 },
        { "trillion", PRETOK_GPT2, 0 },
        { "granite-docling", PRETOK_GPT2, 0 },
        { "llama3", PRETOK_LLAMA3, PRETOK_IGNORE_MERGES | PRETOK_ADD_BOS },
        { "llama-v3", PRETOK_LLAMA3, PRETOK_IGNORE_MERGES | PRETOK_ADD_BOS },
        { "llama-bpe", PRETOK_LLAMA3, PRETOK_IGNORE_MERGES | PRETOK_ADD_BOS },
        { "falcon3", PRETOK_LLAMA3, PRETOK_IGNORE_MERGES | PRETOK_ADD_BOS },
        { "falcon-h1", PRETOK_LLAMA3, PRETOK_IGNORE_MERGES | PRETOK_ADD_BOS },
        { "pixtral", PRETOK_LLAMA3, PRETOK_IGNORE_MERGES | PRETOK_ADD_BOS },
        { "midm-2.0", PRETOK_LLAMA3, PRETOK_IGNORE_MERGES | PRETOK_ADD_BOS },
        { "lfm2", PRETOK_LLAMA3, PRETOK_IGNORE_MERGES | PRETOK_ADD_BOS },
        { "dbrx", PRETOK_LLAMA3, 0 },
        { "smaug-bpe", PRETOK_LLAMA3, 0 },
        { "qwen2", PRETOK_QWEN2, 0 },
        { "deepseek-r1-qwen", PRETOK_QWEN2, 0 },
        { "kormo", PRETOK_QWEN2, 0 },
        { "f2llmv2", PRETOK_QWEN2, 0 },
        { "megrez", PRETOK_QWEN2, 0 },
        { "stablelm2", PRETOK_QWEN2, 0 },
        { "hunyuan", PRETOK_QWEN2, 0 },
        { "solar-open", PRETOK_QWEN2, 0 },
        { "deepseek-coder", PRETOK_DEEPSEEK_CODER, 0 },
        { "starcoder", PRETOK_STARCODER, 0 },
        { "refact", PRETOK_STARCODER, 0 },
        { "command-r", PRETOK_STARCODER, 0 },
        { "smollm", PRETOK_STARCODER, 0 },
        { "codeshell", PRETOK_STARCODER, 0 },
        { "exaone", PRETOK_STARCODER, 0 },
        { "minerva-7b", PRETOK_STARCODER, 0 },
        { "mellum2", PRETOK_STARCODER, 0 },
};

int pretok_from_name(const char *name, PretokKind *ret_kind, unsigned *ret_options) {
        if (!name)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(names[i].name, name)) {
                        *ret_kind = names[i].kind;
                        *ret_options = names[i].options;
                        return 0;
                }
        return -EOPNOTSUPP;
}

const char *pretok_kind_name(PretokKind kind) {
        if (kind < 0 || kind >= _PRETOK_MAX)
                return NULL;
        return kinds[kind].name;
}

size_t pretok_units(const char *text, size_t len, uint32_t *units, uint32_t *offs) {
        size_t n = 0, i = 0;

        while (i < len) {
                uint8_t b = (uint8_t) text[i];
                uint32_t cp;
                size_t l;

                offs[n] = (uint32_t) i;
                if (b < 0x80) {
                        units[n++] = b | ((uint32_t) unicode_latin1_flags[b] << PRETOK_CP_BITS);
                        i++;
                        continue;
                }
                if (unicode_utf8_decode(text + i, len - i, &cp, &l) != UTF8_VALID) {
                        /* one unit per byte, as llama.cpp turns each bad byte into one U+FFFD */
                        cp = UNICODE_REPLACEMENT;
                        l = 1;
                }
                units[n++] = cp | ((uint32_t) unicode_flags(cp) << PRETOK_CP_BITS);
                i += l;
        }
        offs[n] = (uint32_t) len;
        return n;
}

size_t pretokenize(PretokKind kind, const uint32_t *units, size_t n, uint32_t *ends, uint32_t *tmp) {
        const SplitFn *stage;
        uint32_t *cur = ends, *next = tmp;
        size_t n_cur, n_stages = 0;

        if (n == 0 || kind < 0 || kind >= _PRETOK_MAX)
                return 0;

        /* the buffers swap after each stage: start so that the last stage writes to ends */
        stage = kinds[kind].stages;
        while (stage[n_stages])
                n_stages++;
        if (n_stages % 2 == 1)
                cur = tmp, next = ends;

        cur[0] = (uint32_t) n;
        n_cur = 1;
        for (; *stage; stage++) {
                size_t n_next = 0, begin = 0;

                for (size_t i = 0; i < n_cur; i++) {
                        n_next = (*stage)(units, begin, cur[i], next, n_next);
                        begin = cur[i];
                }
                uint32_t *t = cur;
                cur = next;
                next = t;
                n_cur = n_next;
        }
        return n_cur;
}
