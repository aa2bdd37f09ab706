/* tokenizer-bpe.c: byte-level BPE: pre-tokenize, then apply ranked merges to each pre-token's bytes. */
#include <inttypes.h>
#include <string.h>

#include "tokenizer-internal.h"
#include "unicode.h"

/* GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the other 68 bytes (controls, space,
 * DEL..NBSP, soft hyphen) for U+0100 onwards, in byte order. */
static uint32_t byte_to_cp(uint8_t b) {
        if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE)
                return b;
        if (b <= 0x20)
                return 0x100 + b;
        if (b >= 0x7F && b <= 0xA0)
                return 0x100 + 33 + (b - 0x7F);
        return 0x100 + 33 + 34; /* 0xAD */
}

/* The inverse of byte_to_cp(), or -1 for a code point that stands for no byte. */
static int cp_to_byte(uint32_t cp) {
        if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
                return (int) cp;
        if (cp >= 0x100 && cp <= 0x100 + 32)
                return (int) (cp - 0x100);
        if (cp >= 0x100 + 33 && cp <= 0x100 + 33 + 33)
                return (int) (cp - 0x100 - 33 + 0x7F);
        if (cp == 0x100 + 33 + 34)
                return 0xAD;
        return -1;
}

static inline size_t merge_hash(uint64_t key) {
        key ^= key >> 29;
        key *= 0xbf58476d1ce4e5b9ull;
        key ^= key >> 32;
        return (size_t) key;
}

/* The merge of ids left and right, or NULL. */
static inline const BpeMerge *find_merge(const Tokenizer *t, int32_t left, int32_t right) {
        uint64_t key = ((uint64_t) (uint32_t) left << 32) | (uint32_t) right;

        for (size_t i = merge_hash(key) & t->merge_mask;; i = (i + 1) & t->merge_mask) {
                const BpeMerge *m = &t->merges[i];

                if (m->result < 0)
                        return NULL;
                if (m->key == key)
                        return m;
        }
}

/* Adds a merge unless the same pair came earlier (the first rank wins, as in llama.cpp). */
static void insert_merge(Tokenizer *t, int32_t left, int32_t right, int32_t rank, int32_t result) {
        uint64_t key = ((uint64_t) (uint32_t) left << 32) | (uint32_t) right;

        for (size_t i = merge_hash(key) & t->merge_mask;; i = (i + 1) & t->merge_mask) {
                BpeMerge *m = &t->merges[i];

                if (m->result < 0) {
                        *m = (BpeMerge){ key, rank, result };
                        return;
                }
                if (m->key == key)
                        return;
        }
}

/* Parses merge i ("A B") into the ids of A, B and AB. */
static int parse_merge(Tokenizer *t, const char *s, size_t len, uint64_t i, char *buf, int32_t ids[3], char *err,
                       size_t errsz) {
        char q[TOKENIZER_QUOTE_MAX + 4];
        const char *space = len > 1 ? memchr(s + 1, ' ', len - 1) : NULL;
        size_t l, r;

        if (!space) {
                tokenizer_error(err, errsz,
                                "tokenizer: tokenizer.ggml.merges[%" PRIu64 "] \"%s\" is not two tokens "
                                "separated by a space",
                                i, tokenizer_quote(s, len, q));
                return -EBADMSG;
        }
        l = (size_t) (space - s);
        r = len - l - 1;
        ids[0] = tokenizer_lookup(t, s, l);
        ids[1] = tokenizer_lookup(t, space + 1, r);
        memcpy(buf, s, l);
        memcpy(buf + l, space + 1, r);
        ids[2] = tokenizer_lookup(t, buf, l + r);
        if (ids[0] < 0 || ids[1] < 0 || ids[2] < 0) {
                tokenizer_error(err, errsz,
                                "tokenizer: tokenizer.ggml.merges[%" PRIu64 "] \"%s\": its %s is not in the "
                                "vocabulary",
                                i, tokenizer_quote(s, len, q),
                                ids[0] < 0   ? "left part"
                                : ids[1] < 0 ? "right part"
                                             : "result");
                return -EBADMSG;
        }
        return 0;
}

int bpe_load(Tokenizer *t, const Gguf *g, char *err, size_t errsz) {
        _cleanup_free_ char *buf = NULL;
        GgufArray a;
        size_t size = 16, max_len = 0;
        int r;

        r = gguf_get_array(g, "tokenizer.ggml.merges", GGUF_VALUE_STRING, &a, err, errsz);
        if (r < 0) {
                if (r == -ENOENT)
                        tokenizer_error(err, errsz, "tokenizer: gpt2 vocabulary without tokenizer.ggml.merges");
                return r;
        }
        if (a.n == 0 || a.n > INT32_MAX) {
                tokenizer_error(err, errsz, "tokenizer: tokenizer.ggml.merges has %" PRIu64 " entries", a.n);
                return -EBADMSG;
        }
        while (size < 2 * a.n)
                size *= 2;
        t->merges = malloc(size * sizeof(BpeMerge));
        if (!t->merges)
                return -ENOMEM;
        for (size_t i = 0; i < size; i++)
                t->merges[i].result = -1;
        t->merge_mask = size - 1;

        for (uint64_t i = 0; i < a.n; i++) {
                const char *s;
                size_t len;
                int32_t ids[3];

                r = gguf_array_get_str(&a, i, &s, &len);
                if (r < 0)
                        return r;
                if (len > max_len) {
                        free(buf);
                        buf = malloc(len);
                        if (!buf)
                                return -ENOMEM;
                        max_len = len;
                }
                r = parse_merge(t, s, len, i, buf, ids, err, errsz);
                if (r < 0)
                        return r;
                insert_merge(t, ids[0], ids[1], (int32_t) i, ids[2]);
        }

        for (unsigned b = 0; b < 256; b++) {
                char c[4];
                size_t n = unicode_utf8_encode(byte_to_cp((uint8_t) b), c);

                t->byte_token[b] = tokenizer_lookup(t, c, n);
        }
        return 0;
}

/* A run of the word's bytes in the linked list of symbols; n == 0 once merged into its left neighbour. */
typedef struct Symbol {
        int32_t prev, next;
        int32_t id; /* token of these bytes, -1 if none (a byte whose character is not in the vocabulary) */
        uint32_t n;
} Symbol;

/* A candidate merge of symbols left and right (size bytes together) into token result. */
typedef struct Bigram {
        int32_t rank;
        int32_t left, right;
        int32_t result;
        uint32_t size;
} Bigram;

/* Lowest rank first; on ties the leftmost pair. */
static inline bool bigram_before(const Bigram *a, const Bigram *b) {
        return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
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

static inline void try_add_bigram(const Tokenizer *t, const Symbol *sym, int32_t left, int32_t right, Bigram *heap,
                                  size_t *n_heap) {
        const BpeMerge *m;

        if (left < 0 || right < 0 || sym[left].id < 0 || sym[right].id < 0)
                return;
        m = find_merge(t, sym[left].id, sym[right].id);
        if (m)
                heap_push(heap, n_heap, (Bigram){ m->rank, left, right, m->result, sym[left].n + sym[right].n });
}

/* BPE over one pre-token: start from its bytes, apply the lowest-ranked applicable merge until none applies. */
static int bpe_word(const Tokenizer *t, const uint8_t *w, size_t len, IdVec *out, Scratch *s) {
        Symbol *sym;
        Bigram *heap;
        size_t n_heap = 0;
        int r;

        if (len == 1)
                return t->byte_token[w[0]] >= 0 ? idvec_push(out, t->byte_token[w[0]]) : 0;

        sym = scratch_get(s, SCRATCH_SYMBOLS, len, sizeof(Symbol));
        heap = scratch_get(s, SCRATCH_HEAP, 3 * len, sizeof(Bigram));
        if (!sym || !heap)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++)
                sym[i] = (Symbol){ (int32_t) i - 1, i + 1 < len ? (int32_t) i + 1 : -1, t->byte_token[w[i]], 1 };
        for (size_t i = 1; i < len; i++)
                try_add_bigram(t, sym, (int32_t) i - 1, (int32_t) i, heap, &n_heap);

        while (n_heap > 0) {
                Bigram b = heap_pop(heap, &n_heap);
                Symbol *l = &sym[b.left], *rt = &sym[b.right];

                /* stale: one side was merged away or grew since this candidate was queued */
                if (l->n == 0 || rt->n == 0 || l->n + rt->n != b.size)
                        continue;
                l->n += rt->n;
                l->id = b.result;
                rt->n = 0;
                l->next = rt->next;
                if (rt->next >= 0)
                        sym[rt->next].prev = b.left;
                try_add_bigram(t, sym, l->prev, b.left, heap, &n_heap);
                try_add_bigram(t, sym, b.left, l->next, heap, &n_heap);
        }

        /* a byte without a token is dropped, as llama.cpp does */
        for (int32_t i = 0; i >= 0; i = sym[i].next)
                if (sym[i].id >= 0) {
                        r = idvec_push(out, sym[i].id);
                        if (r < 0)
                                return r;
                }
        return 0;
}

/* Llama 3: a pre-token that is a vocabulary token as a whole is emitted as it is. Returns its id or -1. */
static int32_t whole_word(const Tokenizer *t, const uint8_t *w, size_t len, Scratch *s) {
        char *buf = scratch_get(s, SCRATCH_TEXT, len + 2, 2); /* each byte's character takes 1 or 2 bytes */
        size_t n = 0;

        if (!buf)
                return -1;
        for (size_t i = 0; i < len; i++)
                n += unicode_utf8_encode(byte_to_cp(w[i]), buf + n);
        return tokenizer_lookup(t, buf, n);
}

/* One pre-token: whole (Llama 3) if it is a token, else BPE. */
static int encode_word(const Tokenizer *t, const uint8_t *w, size_t len, IdVec *out, Scratch *s) {
        if (t->pre_options & PRETOK_IGNORE_MERGES) {
                int32_t id = whole_word(t, w, len, s);

                if (id >= 0)
                        return idvec_push(out, id);
        }
        return bpe_word(t, w, len, out, s);
}

int bpe_encode(const Tokenizer *t, const char *text, size_t len, IdVec *out, Scratch *s) {
        uint32_t *units, *offs, *ends, *tmp;
        size_t n_units, n_words, begin = 0;
        WordCache cache;
        int r = 0;

        if (len == 0)
                return 0;
        units = scratch_get(s, SCRATCH_UNITS, len, sizeof(uint32_t));
        offs = scratch_get(s, SCRATCH_OFFS, len + 1, sizeof(uint32_t));
        ends = scratch_get(s, SCRATCH_ENDS, len, sizeof(uint32_t));
        tmp = scratch_get(s, SCRATCH_TMP, len, sizeof(uint32_t));
        if (!units || !offs || !ends || !tmp)
                return -ENOMEM;

        n_units = pretok_units(text, len, units, offs);
        n_words = pretokenize(t->pre, units, n_units, ends, tmp);
        word_cache_init(&cache, n_words, s);
        for (size_t i = 0; i < n_words && r >= 0; i++) {
                const char *w = text + offs[begin];
                size_t wlen = offs[ends[i]] - offs[begin], first = out->n;
                CacheSlot *slot;

                begin = ends[i];
                r = word_cache_get(&cache, text, w, wlen, out, &slot);
                if (r != 0)
                        continue; /* found (r > 0) or failed */
                r = encode_word(t, (const uint8_t *) w, wlen, out, s);
                if (r >= 0)
                        word_cache_put(&cache, slot, text, w, wlen, out, first);
        }
        word_cache_done(&cache);
        return r < 0 ? r : 0;
}

size_t bpe_piece(const Tokenizer *t, int32_t id, char *buf) {
        const char *s = token_str(t, id);
        size_t len = token_len(t, id), j = 0;
        int byte;

        switch (t->type[id]) {
        case TOKEN_TYPE_NORMAL:
                for (size_t i = 0; i < len;) {
                        uint32_t cp;
                        size_t n;

                        if (unicode_utf8_decode(s + i, len - i, &cp, &n) == UTF8_VALID &&
                            (byte = cp_to_byte(cp)) >= 0) {
                                buf[j++] = (char) byte;
                                i += n;
                                continue;
                        }
                        /* not byte-level text: keep the bytes */
                        if (unicode_utf8_decode(s + i, len - i, &cp, &n) != UTF8_VALID)
                                n = 1;
                        memcpy(buf + j, s + i, n);
                        i += n, j += n;
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
