/* tokenizer-internal.h: the Tokenizer struct and what tokenizer.c shares with tokenizer-spm.c and tokenizer-bpe.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errorf.h"
#include "gguf.h"
#include "pretokenize.h"
#include "tokenizer.h"

/* One BPE merge, keyed by the ids of its two parts. */
typedef struct BpeMerge {
        uint64_t key;   /* (left id << 32) | right id */
        int32_t rank;   /* position in tokenizer.ggml.merges: lower merges first */
        int32_t result; /* id of the merged token; -1 marks an empty slot */
} BpeMerge;

/* A node of the trie of special token strings (children as a sibling list: few tokens, short strings). */
typedef struct SpecialNode {
        int32_t child;   /* first child, -1 for none */
        int32_t sibling; /* next sibling, -1 for none */
        int32_t token;   /* token whose string ends here, -1 for none */
        uint8_t byte;
} SpecialNode;

struct Tokenizer {
        TokenizerModel model;
        PretokKind pre;       /* BPE only */
        unsigned pre_options; /* PRETOK_* */
        size_t n_vocab;
        size_t max_input;

        /* vocabulary strings, back to back: token i is text[text_off[i] .. text_off[i + 1]) */
        char *text;
        uint32_t *text_off; /* n_vocab + 1 */
        float *scores;      /* n_vocab; SPM merge priority */
        uint8_t *type;      /* n_vocab TokenType */
        uint8_t *eog;       /* n_vocab; 1 for end-of-generation tokens */

        /* decoded pieces (control tokens rendered), same layout as text */
        char *piece;
        uint32_t *piece_off;

        /* vocabulary string -> id: open addressing, -1 empty */
        int32_t *slots;
        size_t slot_mask;

        /* BPE merges: open addressing on BpeMerge.key */
        BpeMerge *merges;
        size_t merge_mask;

        /* SPM: token for byte b (<0xXX>, else the one-byte string); BPE: token for b's byte-level character */
        int32_t byte_token[256];

        /* control, user-defined and unknown-type tokens, longest first (then by id), and their trie */
        int32_t *specials;
        size_t n_specials;
        uint32_t *special_rank; /* n_vocab; position in specials, for sorting matches */
        SpecialNode *trie;
        size_t n_trie;
        size_t n_user_defined;      /* specials that match even without TOKENIZER_PARSE_SPECIAL */
        uint8_t special_first[256]; /* 1 for bytes that start some special token */

        int32_t bos, eos, eot, eom, unk, sep, pad;
        bool add_bos, add_eos, add_space_prefix;
        bool spm_split_words; /* SPM: no token crosses the start of a word (a U+2581 after another character) */
};

/* A growing array of token ids. */
typedef struct IdVec {
        int32_t *ids;
        size_t n, cap;
} IdVec;

int idvec_push(IdVec *v, int32_t id);

/* Per-call scratch buffers, grown on demand and freed by scratch_done(). */
typedef struct Scratch {
        void *buf[8];
        size_t cap[8];
} Scratch;

enum {
        SCRATCH_TEXT,    /* SPM: escaped text; BPE: byte-level word */
        SCRATCH_SYMBOLS, /* merge symbols */
        SCRATCH_HEAP,    /* merge candidates */
        SCRATCH_UNITS,   /* BPE: code point units */
        SCRATCH_OFFS,    /* BPE: unit byte offsets */
        SCRATCH_ENDS,    /* BPE: pre-token ends */
        SCRATCH_TMP,     /* BPE: pre-tokenizer scratch */
        SCRATCH_CACHE,   /* BPE: word cache slots */
};

/* Returns buffer i of at least n elements of size elem, or NULL on overflow/allocation failure. */
void *scratch_get(Scratch *s, unsigned i, size_t n, size_t elem);
void scratch_done(Scratch *s);

/* Within one encode call, a word seen before gets the ids it got then: text repeats words a lot, and merging a
 * word costs far more than a lookup. Words are keyed by their bytes in the text being encoded. */
typedef struct CacheSlot {
        uint64_t hash;
        uint32_t off, len; /* the word in the text; len 0: empty slot */
        uint32_t first, n; /* its ids in WordCache.ids */
} CacheSlot;

typedef struct WordCache {
        CacheSlot *slots; /* NULL: no cache (few words, or no memory for it) */
        size_t mask, used;
        IdVec ids;
} WordCache;

/* Sets up a cache for about n_words words (none for few), in scratch buffer SCRATCH_CACHE. */
void word_cache_init(WordCache *c, size_t n_words, Scratch *s);
/* Appends the cached ids of word w (len bytes inside text) to out and returns 1; returns 0 when not cached, with
 * *ret_slot the place to word_cache_put() it (or NULL); -ENOMEM. */
int word_cache_get(WordCache *c, const char *text, const char *w, size_t len, IdVec *out, CacheSlot **ret_slot);
/* Records that word w got the ids out[first..]. */
void word_cache_put(WordCache *c, CacheSlot *slot, const char *text, const char *w, size_t len, const IdVec *out,
                    size_t first);
void word_cache_done(WordCache *c);

/* The hash of the vocabulary table (FNV-1a, folded). */
uint64_t tokenizer_hash(const char *s, size_t len);
/* Id of the vocabulary string s (len bytes), or -1. */
int32_t tokenizer_lookup(const Tokenizer *t, const char *s, size_t len);
/* The byte of a "<0xHH>" token string, or -1 when s is not one. */
int tokenizer_parse_byte_token(const char *s, size_t len);
#define TOKENIZER_QUOTE_MAX 64 /* bytes of a vocabulary string quoted in an error */
/* Copies at most TOKENIZER_QUOTE_MAX bytes of s to buf, anything unprintable as '?' and "..." when cut: safe to
 * quote in an error. Returns buf. */
const char *tokenizer_quote(const char *s, size_t len, char buf[static TOKENIZER_QUOTE_MAX + 4]);
/* Formats one line to err (when err is not NULL) for a failed load. */
#define tokenizer_error(err, errsz, ...) ((void) errorf(err, errsz, 0, __VA_ARGS__))

static inline size_t token_len(const Tokenizer *t, int32_t id) {
        return t->text_off[id + 1] - t->text_off[id];
}

static inline const char *token_str(const Tokenizer *t, int32_t id) {
        return t->text + t->text_off[id];
}

/* tokenizer-spm.c */

/* Fills t->byte_token for SPM. */
void spm_init_bytes(Tokenizer *t);
/* Sets t->spm_split_words from the vocabulary. */
void spm_init_words(Tokenizer *t);
/* Encodes len bytes of raw text (no special tokens inside); with space_prefix puts a space in front. */
int spm_encode(const Tokenizer *t, const char *text, size_t len, bool space_prefix, IdVec *out, Scratch *s);
/* Writes the piece of token id to buf (room for token_len(t, id) bytes) and returns its length. */
size_t spm_piece(const Tokenizer *t, int32_t id, char *buf);

/* tokenizer-bpe.c */

/* Reads tokenizer.ggml.merges into t->merges and fills t->byte_token. */
int bpe_load(Tokenizer *t, const Gguf *g, char *err, size_t errsz);
/* Encodes len bytes of raw text (no special tokens inside). */
int bpe_encode(const Tokenizer *t, const char *text, size_t len, IdVec *out, Scratch *s);
/* Writes the piece of token id to buf (room for token_len(t, id) bytes) and returns its length. */
size_t bpe_piece(const Tokenizer *t, int32_t id, char *buf);
