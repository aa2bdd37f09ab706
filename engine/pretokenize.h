/* pretokenize.h: byte-level BPE pre-tokenizers: llama.cpp's per-model split regexes as code point matchers. */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/* A pre-tokenizer: a sequence of split patterns (each splits every piece the previous one left; text that a
 * pattern does not match stays a piece of its own), as llama.cpp runs them for tokenizer.ggml.pre. */
typedef enum PretokKind {
        PRETOK_DEFAULT,        /* [\p{P}$+<=>^~|]+, then GPT-2, then \p{N}+, then [0-9]{3} */
        PRETOK_GPT2,           /* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
        PRETOK_LLAMA3,         /* Llama 3: contractions (ASCII case-insensitive), letters with one leading
                                * non-letter, \p{N}{1,3}, punctuation with trailing newlines, whitespace */
        PRETOK_QWEN2,          /* as LLAMA3 with single digits (\p{N}) */
        PRETOK_DEEPSEEK_CODER, /* [\r\n], \s?\p{L}+, \s?\p{P}+, [\x{800}-\x{9FA5}\x{AC00}-\x{D7FF}]+, \p{N} */
        PRETOK_STARCODER,      /* \p{N}, then GPT-2 */
        _PRETOK_MAX,
        _PRETOK_INVALID = -EINVAL,
} PretokKind;

/* A unit of text: one code point (its flags from unicode.h in the top bits), or one byte of ill-formed UTF-8,
 * which is classified as U+FFFD (as llama.cpp replaces it) but keeps its byte. */
#define PRETOK_CP_BITS 21
static inline uint32_t pretok_unit_cp(uint32_t u) {
        return u & ((1u << PRETOK_CP_BITS) - 1);
}
static inline uint32_t pretok_unit_flags(uint32_t u) {
        return u >> PRETOK_CP_BITS;
}

/* Options that come with a tokenizer.ggml.pre name. */
enum {
        PRETOK_IGNORE_MERGES = 1u << 0, /* a pre-token that is a vocabulary token is emitted whole (Llama 3) */
        PRETOK_ADD_BOS = 1u << 1,       /* add BOS by default (when tokenizer.ggml.add_bos_token is absent) */
};

/* The pre-tokenizer and options for a tokenizer.ggml.pre value: "default", "gpt-2", "llama-bpe", "qwen2",
 * "deepseek-coder", "starcoder" and the aliases llama.cpp maps to the same patterns. Rejects any other name with
 * -EOPNOTSUPP. */
int pretok_from_name(const char *name, PretokKind *ret_kind, unsigned *ret_options);
/* Canonical name of a kind ("gpt-2"), or NULL when out of range. */
const char *pretok_kind_name(PretokKind kind);
/* Decodes len bytes of text into units and the byte offset of each: units gets n entries, offs n + 1
 * (offs[n] == len). Both must have room for len (+ 1) entries. Returns n. */
size_t pretok_units(const char *text, size_t len, uint32_t *units, uint32_t *offs);
/* Splits units[0..n) into pre-tokens: writes the (exclusive) end unit index of each, in order, to ends and returns
 * their number (0 for n == 0, else the last end is n). ends and tmp (scratch) must have room for n entries. */
size_t pretokenize(PretokKind kind, const uint32_t *units, size_t n, uint32_t *ends, uint32_t *tmp);
