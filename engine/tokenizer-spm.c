/* tokenizer-spm.c: SentencePiece-style encoding: merge the adjacent pair whose union has the best score, repeatedly.
 */
#include <string.h>

#include "tokenizer-internal.h"
#include "unicode.h"

#define SPACE_ESCAPE "\xe2\x96\x81" /* U+2581 LOWER ONE EIGHTH BLOCK, which SentencePiece writes for ' ' */

/* A run of text in the linked list of symbols; n == 0 once merged into its left neighbour. */
typedef struct Symbol {
        int32_t prev, next;
        uint32_t off, n;
} Symbol;

/* A candidate merge of symbols left and right into a token of this score and byte size. */
typedef struct Bigram {
        float score;
        int32_t left, right;
        uint32_t size;
} Bigram;

/* Best score first; on ties the leftmost pair (as llama.cpp's priority queue orders them). */
static inline bool bigram_before(const Bigram *a, const Bigram *b) {
        return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static void heap_push(Bigram *h, size_t *n, Bigram b) {
        size_t i = (*n)++;

        while (i > 0) {
                size_t parent = (i - 1) / 2;

                if (!bigram_before(&b, &h[parent]))
                        break;
                h[i] = h[parent];
                i = parent;
        }
        h[i] = b;
}

static Bigram heap_pop(Bigram *h, size_t *n) {
        Bigram top = h[0], last = h[--*n];
        size_t i = 0;

        for (;;) {
                size_t c = 2 * i + 1;

                if (c >= *n)
                        break;
                if (c + 1 < *n && bigram_before(&h[c + 1], &h[c]))
                        c++;
                if (!bigram_before(&h[c], &last))
                        break;
                h[i] = h[c];
                i = c;
        }
        if (*n > 0)
                h[i] = last;
        return top;
}

void spm_init_bytes(Tokenizer *t) {
        static const char hex[] = "0123456789ABCDEF";

        for (unsigned b = 0; b < 256; b++) {
                char name[6] = { '<', '0', 'x', hex[b >> 4], hex[b & 15], '>' };
                char c = (char) b;
                int32_t id = tokenizer_lookup(t, name, sizeof name);

                if (id < 0)
                        id = tokenizer_lookup(t, &c, 1);
                t->byte_token[b] = id;
        }
}

/* Bytes of the character at s (len >= 1 bytes): a well-formed UTF-8 sequence, else a single byte. llama.cpp goes by
 * the lead byte alone, which lets a bad byte swallow the start of the next character (even of a U+2581); for
 * well-formed text the two agree. */
static inline uint32_t char_len(const char *s, size_t len) {
        uint32_t cp;
        size_t n;

        if ((uint8_t) s[0] < 0x80 || unicode_utf8_decode(s, len, &cp, &n) != UTF8_VALID)
                return 1;
        return (uint32_t) n;
}

/* Writes text with each ' ' as U+2581 (and one in front with space_prefix) to a scratch buffer. */
static char *escape_spaces(const char *text, size_t len, bool space_prefix, Scratch *s, size_t *ret_len,
                           size_t *ret_spaces) {
        size_t n_spaces = 0, n, j = 0;
        char *out;

        for (size_t i = 0; i < len; i++)
                n_spaces += text[i] == ' ';
        n = len + 2 * n_spaces + (space_prefix ? 3 : 0);
        out = scratch_get(s, SCRATCH_TEXT, n ? n : 1, 1);
        if (!out)
                return NULL;
        if (space_prefix) {
                memcpy(out, SPACE_ESCAPE, 3);
                j = 3;
        }
        for (size_t i = 0; i < len; i++) {
                if (text[i] == ' ') {
                        memcpy(out + j, SPACE_ESCAPE, 3);
                        j += 3;
                } else
                        out[j++] = text[i];
        }
        *ret_len = n;
        *ret_spaces = n_spaces;
        return out;
}

static void try_add_bigram(const Tokenizer *t, const char *text, const Symbol *sym, int32_t left, int32_t right,
                           Bigram *heap, size_t *n_heap) {
        uint32_t size;
        int32_t id;

        if (left < 0 || right < 0)
                return;
        size = sym[left].n + sym[right].n;
        id = tokenizer_lookup(t, text + sym[left].off, size);
        if (id < 0)
                return;
        heap_push(heap, n_heap, (Bigram){ t->scores[id], left, right, size });
}

/* Emits a final symbol: its token, or else one token per byte (byte fallback, then UNK, else nothing). */
static int emit_symbol(const Tokenizer *t, const char *text, const Symbol *sym, IdVec *out) {
        int32_t id = tokenizer_lookup(t, text + sym->off, sym->n);
        int r;

        if (id >= 0)
                return idvec_push(out, id);
        for (uint32_t i = 0; i < sym->n; i++) {
                id = t->byte_token[(uint8_t) text[sym->off + i]];
                if (id < 0)
                        id = t->unk;
                if (id < 0)
                        continue;
                r = idvec_push(out, id);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The merges over one run of escaped text, which no token crosses the ends of. */
static int encode_run(const Tokenizer *t, const char *text, size_t len, IdVec *out, Scratch *s) {
        Symbol *sym;
        Bigram *heap;
        size_t n_sym = 0, n_heap = 0;
        int r;

        /* one symbol per character; at most 3 candidates per symbol are ever queued (1 + 2 per merge) */
        sym = scratch_get(s, SCRATCH_SYMBOLS, len, sizeof(Symbol));
        heap = scratch_get(s, SCRATCH_HEAP, 3 * len, sizeof(Bigram));
        if (!sym || !heap)
                return -ENOMEM;
        for (size_t off = 0; off < len;) {
                uint32_t n = char_len(text + off, len - off);

                sym[n_sym] = (Symbol){ (int32_t) n_sym - 1, -1, (uint32_t) off, n };
                off += n;
                if (off < len)
                        sym[n_sym].next = (int32_t) n_sym + 1;
                n_sym++;
        }
        for (size_t i = 1; i < n_sym; i++)
                try_add_bigram(t, text, sym, (int32_t) i - 1, (int32_t) i, heap, &n_heap);

        while (n_heap > 0) {
                Bigram b = heap_pop(heap, &n_heap);
                Symbol *l = &sym[b.left], *rt = &sym[b.right];

                /* stale: one side was merged away or grew since this candidate was queued */
                if (l->n == 0 || rt->n == 0 || l->n + rt->n != b.size)
                        continue;
                l->n += rt->n;
                rt->n = 0;
                l->next = rt->next;
                if (rt->next >= 0)
                        sym[rt->next].prev = b.left;
                try_add_bigram(t, text, sym, l->prev, b.left, heap, &n_heap);
                try_add_bigram(t, text, sym, b.left, l->next, heap, &n_heap);
        }

        for (int32_t i = 0; i >= 0; i = sym[i].next) {
                r = emit_symbol(t, text, &sym[i], out);
                if (r < 0)
                        return r;
        }
        return 0;
}

void spm_init_words(Tokenizer *t) {
        /* words can be encoded one by one unless some token has a U+2581 right after another character */
        t->spm_split_words = true;
        for (size_t id = 0; id < t->n_vocab && t->spm_split_words; id++) {
                const char *s = token_str(t, (int32_t) id);
                size_t len = token_len(t, (int32_t) id);

                for (size_t i = 1; i + 3 <= len; i++)
                        if (memcmp(s + i, SPACE_ESCAPE, 3) == 0 &&
                            (i < 3 || memcmp(s + i - 3, SPACE_ESCAPE, 3) != 0)) {
                                t->spm_split_words = false;
                                break;
                        }
        }
}

/* Where the run starting at start ends: before the next U+2581 that follows another character, or at len. */
static size_t run_end(const char *text, size_t start, size_t len) {
        for (size_t i = start + 1; i + 3 <= len; i++) {
                const char *p = memchr(text + i, SPACE_ESCAPE[0], len - i);

                if (!p)
                        break;
                i = (size_t) (p - text);
                if (i + 3 <= len && memcmp(p, SPACE_ESCAPE, 3) == 0 && (i < 3 || memcmp(p - 3, SPACE_ESCAPE, 3) != 0))
                        return i;
        }
        return len;
}

int spm_encode(const Tokenizer *t, const char *raw, size_t raw_len, bool space_prefix, IdVec *out, Scratch *s) {
        const char *text;
        size_t len, n_spaces;
        WordCache cache;
        int r = 0;

        text = escape_spaces(raw, raw_len, space_prefix, s, &len, &n_spaces);
        if (!text)
                return -ENOMEM;

        /* Merges act locally and in an order (score, then position) that does not depend on the text around
         * them: when no token can cross the start of a word, each word merges alone to the same result (with
         * small queues instead of one the size of the whole text, and a cache for words that come again). */
        word_cache_init(&cache, t->spm_split_words ? n_spaces + 1 : 0, s);
        for (size_t start = 0, end; start < len && r >= 0; start = end) {
                size_t first = out->n;
                CacheSlot *slot;

                end = t->spm_split_words ? run_end(text, start, len) : len;
                r = word_cache_get(&cache, text, text + start, end - start, out, &slot);
                if (r != 0)
                        continue; /* found (r > 0) or failed */
                r = encode_run(t, text + start, end - start, out, s);
                if (r >= 0)
                        word_cache_put(&cache, slot, text, text + start, end - start, out, first);
        }
        word_cache_done(&cache);
        return r < 0 ? r : 0;
}

size_t spm_piece(const Tokenizer *t, int32_t id, char *buf) {
        const char *s = token_str(t, id);
        size_t len = token_len(t, id), j = 0;
        int byte;

        switch (t->type[id]) {
        case TOKEN_TYPE_NORMAL:
                for (size_t i = 0; i < len;) {
                        if (len - i >= 3 && memcmp(s + i, SPACE_ESCAPE, 3) == 0) {
                                buf[j++] = ' ';
                                i += 3;
                        } else
                                buf[j++] = s[i++];
                }
                return j;
        case TOKEN_TYPE_BYTE:
                byte = tokenizer_parse_byte_token(s, len);
                if (byte < 0)
                        break;
                buf[0] = (char) byte;
                return 1;
        case TOKEN_TYPE_CONTROL:
        case TOKEN_TYPE_USER_DEFINED:
        case TOKEN_TYPE_UNKNOWN:
                break;
        default:
                return 0; /* unused and undefined tokens stand for nothing */
        }
        memcpy(buf, s, len);
        return len;
}
