/* tokenizer.h: text <-> token ids for GGUF vocabularies: SentencePiece-style ("llama") and byte-level BPE ("gpt2"). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gguf.h"
#include "macro.h"

/* Default for tokenizer_set_max_input(): bytes of text one tokenizer_encode() call accepts. */
#define TOKENIZER_MAX_INPUT_DEFAULT ((size_t) 4 << 20)
/* Hard ceiling of tokenizer_set_max_input() (offsets inside are 32-bit, escaped text up to 3x). */
#define TOKENIZER_MAX_INPUT_LIMIT ((size_t) 1 << 30)
/* Most tokens a vocabulary may have. */
#define TOKENIZER_MAX_VOCAB ((size_t) 1 << 24)

/* tokenizer_encode() flags. */
enum {
        TOKENIZER_ADD_SPECIAL = 1u << 0,   /* add BOS/EOS as the vocabulary asks (add_bos_token, add_eos_token) */
        TOKENIZER_PARSE_SPECIAL = 1u << 1, /* text spelling a control (or unknown-type) token becomes that token;
                                            * user-defined tokens are always matched */
};

/* tokenizer_token_piece(), tokenizer_decode() and Detokenizer flags. */
enum {
        TOKENIZER_DECODE_SPECIAL = 1u << 0,     /* render control and unknown-type tokens as their text, not "" */
        TOKENIZER_DECODE_STRIP_SPACE = 1u << 1, /* drop the space that encoding put in front of the text (and after
                                                 * each special token) when the vocabulary adds a space prefix */
};

/* Token types, numbered as tokenizer.ggml.token_type stores them. */
typedef enum TokenType {
        TOKEN_TYPE_UNDEFINED = 0,
        TOKEN_TYPE_NORMAL = 1,
        TOKEN_TYPE_UNKNOWN = 2,
        TOKEN_TYPE_CONTROL = 3,
        TOKEN_TYPE_USER_DEFINED = 4,
        TOKEN_TYPE_UNUSED = 5,
        TOKEN_TYPE_BYTE = 6,
        _TOKEN_TYPE_MAX,
} TokenType;

typedef enum TokenizerModel {
        TOKENIZER_MODEL_SPM, /* tokenizer.ggml.model "llama": score-ordered merges, <0xXX> byte fallback, U+2581 */
        TOKENIZER_MODEL_BPE, /* tokenizer.ggml.model "gpt2": ranked merges over byte-level text */
} TokenizerModel;

typedef struct Tokenizer Tokenizer;

/* Builds a tokenizer from the tokenizer.ggml.* metadata of g (as llama.cpp reads it). Everything is copied: g may
 * be closed afterwards. Fails with one line in err (err may be NULL) naming the key or value at fault:
 *   -ENOENT      tokenizer.ggml.model, .tokens, or (for gpt2) .merges missing;
 *   -EOPNOTSUPP  an unknown tokenizer.ggml.model or tokenizer.ggml.pre (a gpt2 vocabulary without .pre gets
 *                "default", as in llama.cpp);
 *   -EINVAL      a key of the wrong type, a special token id out of range, add_bos_token/add_eos_token set
 *                without that token (-ERANGE for an id that is negative or over 32 bits);
 *   -EBADMSG     an empty or oversized token list, duplicate tokens, scores or token types shorter than the
 *                token list, a merge that is not "A B" with A, B and AB all tokens;
 *   -ENOMEM.
 * On success the caller owns *ret (tokenizer_free()). */
int tokenizer_new_from_gguf(const Gguf *g, Tokenizer **ret, char *err, size_t errsz);
/* Frees t. Accepts NULL; returns NULL. */
Tokenizer *tokenizer_free(Tokenizer *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Tokenizer *, tokenizer_free);
#define _cleanup_tokenizer_free_ _cleanup_(tokenizer_freep)

/* Sets the most bytes of text tokenizer_encode() accepts (default TOKENIZER_MAX_INPUT_DEFAULT). Rejects 0 and
 * values over TOKENIZER_MAX_INPUT_LIMIT with -EINVAL. Not to be called while another thread encodes. */
int tokenizer_set_max_input(Tokenizer *t, size_t max_bytes);
size_t tokenizer_max_input(const Tokenizer *t);

/* Vocabulary facts. Token ids run from 0 to tokenizer_n_vocab() - 1; special ids are -1 where the vocabulary
 * has none. */
TokenizerModel tokenizer_model(const Tokenizer *t);
const char *tokenizer_pre_name(const Tokenizer *t); /* pre-tokenizer ("gpt-2"); NULL for SPM; owned by t */
size_t tokenizer_n_vocab(const Tokenizer *t);
int32_t tokenizer_bos(const Tokenizer *t);
int32_t tokenizer_eos(const Tokenizer *t);
int32_t tokenizer_eot(const Tokenizer *t);
int32_t tokenizer_unk(const Tokenizer *t);
int32_t tokenizer_pad(const Tokenizer *t);
bool tokenizer_add_bos(const Tokenizer *t);
bool tokenizer_add_eos(const Tokenizer *t);
/* Whether id ends generation: EOS, EOT, EOM and the end-of-turn tokens llama.cpp recognises by their text
 * ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", ...). False for ids out of range. */
bool tokenizer_is_eog(const Tokenizer *t, int32_t id);
/* Type of token id (after the EOT/EOG fix-ups that turn such tokens into control tokens); -EINVAL out of range. */
int tokenizer_token_type(const Tokenizer *t, int32_t id);
/* The vocabulary string of id (byte-level or U+2581-escaped, as stored), owned by t; -EINVAL out of range. */
int tokenizer_token_text(const Tokenizer *t, int32_t id, const char **ret, size_t *ret_len);
/* Id of the token whose vocabulary string is the len bytes at text, or -ENOENT. */
int32_t tokenizer_find_token(const Tokenizer *t, const char *text, size_t len);

/* Tokenizes len bytes of text (any bytes; NUL is a character like any other) as llama.cpp does: splits out
 * special tokens (see TOKENIZER_PARSE_SPECIAL), then runs the model's algorithm on the text between them, and
 * with TOKENIZER_ADD_SPECIAL adds BOS/EOS. Ill-formed UTF-8 is kept byte for byte (byte fallback). On success
 * *ret_ids is a new array the caller frees (NULL when *ret_n is 0). Rejects unknown flags (-EINVAL), text longer
 * than tokenizer_max_input() (-E2BIG); -ENOMEM. Safe to call from several threads at once. */
int tokenizer_encode(const Tokenizer *t, const char *text, size_t len, unsigned flags, int32_t **ret_ids,
                     size_t *ret_n);

/* The bytes token id stands for: byte tokens give their byte, U+2581 gives a space (SPM), byte-level text is
 * mapped back to bytes (BPE), user-defined tokens give their text, control and unknown-type tokens give "" unless
 * flags has TOKENIZER_DECODE_SPECIAL. A piece may be part of a UTF-8 sequence. *ret points into t (not
 * NUL-terminated). Rejects ids out of range and unknown flags (-EINVAL). */
int tokenizer_token_piece(const Tokenizer *t, int32_t id, unsigned flags, const char **ret, size_t *ret_len);
/* The pieces of n ids concatenated (TOKENIZER_DECODE_* flags). The result may hold ill-formed UTF-8 where the ids
 * do (use a Detokenizer for text to show). *ret is NUL-terminated (the NUL not counted in *ret_len) and owned by
 * the caller. Rejects ids out of range and unknown flags (-EINVAL); -ENOMEM. */
int tokenizer_decode(const Tokenizer *t, const int32_t *ids, size_t n, unsigned flags, char **ret, size_t *ret_len);

/* Streaming detokenizer: turns ids, one at a time, into text that is always well-formed UTF-8. A UTF-8 sequence
 * split across tokens is held back until complete; bytes that cannot become valid are replaced by U+FFFD (one per
 * maximal ill-formed subpart); detokenizer_flush() replaces what is still held. */
typedef struct Detokenizer Detokenizer;

/* A new stream over t (which must outlive it) with TOKENIZER_DECODE_* flags. Rejects unknown flags (-EINVAL);
 * -ENOMEM. The caller owns *ret (detokenizer_free()). */
int detokenizer_new(const Tokenizer *t, unsigned flags, Detokenizer **ret);
/* Frees d. Accepts NULL; returns NULL. */
Detokenizer *detokenizer_free(Detokenizer *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Detokenizer *, detokenizer_free);
#define _cleanup_detokenizer_free_ _cleanup_(detokenizer_freep)
/* Adds token id; *ret and *ret_len get the text that became complete (possibly none), owned by d and valid until the
 * next call on d. Rejects ids out of range (-EINVAL, d unchanged); -ENOMEM. */
int detokenizer_push(Detokenizer *d, int32_t id, const char **ret, size_t *ret_len);
/* Ends the stream: *ret gets what was held back, each ill-formed part replaced by U+FFFD, owned by d until the
 * next call. d is then ready for a new stream. -ENOMEM. */
int detokenizer_flush(Detokenizer *d, const char **ret, size_t *ret_len);
