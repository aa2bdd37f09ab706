/* tokenizer-internal.h: the Tokenizer struct and what tokenizer.c shares with tokenizer-spm.c and tokenizer-bpe.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

        int32_t bos, eos, eot, eom, unk, sep, pad;
        bool add_bos, add_eos, add_space_prefix;
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
};

/* Returns buffer i of at least n elements of size elem, or NULL on overflow/allocation failure. */
void *scratch_get(Scratch *s, unsigned i, size_t n, size_t elem);
void scratch_done(Scratch *s);

/* Id of the vocabulary string s (len bytes), or -1. */
int32_t tokenizer_lookup(const Tokenizer *t, const char *s, size_t len);
/* The byte of a "<0xHH>" token string, or -1 when s is not one. */
int tokenizer_parse_byte_token(const char *s, size_t len);
/* Formats one line to err (when err is not NULL) for a failed load. */
_printf_(3, 4) void tokenizer_error(char *err, size_t errsz, const char *fmt, ...);

static inline size_t token_len(const Tokenizer *t, int32_t id) {
        return t->text_off[id + 1] - t->text_off[id];
}

static inline const char *token_str(const Tokenizer *t, int32_t id) {
        return t->text + t->text_off[id];
}

/* tokenizer-spm.c */

/* Fills t->byte_token for SPM. */
void spm_init_bytes(Tokenizer *t);
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
