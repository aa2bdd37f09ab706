/* tokenizer.c: vocabulary loading from GGUF metadata, special tokens, encode/decode and the streaming detokenizer. */
#include <inttypes.h>
#include <string.h>

#include "tokenizer-internal.h"
#include "unicode.h"

/* Token strings that end generation wherever they appear (llama-vocab.cpp's list), and, in order of preference,
 * those taken as EOT when the file names none. */
/* clang-format off */
static const char *const eog_texts[] = {
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
        "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
        "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
        "<\uff5cend\u2581of\u2581sentence\uff5c>", "[e~[",
};
static const char *const eot_texts[] = {
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>",
        "_<EOT>", "[EOT]", "<\uff5cend\u2581of\u2581sentence\uff5c>", "<end_of_utterance>",
};
/* clang-format on */

const char *tokenizer_quote(const char *s, size_t len, char buf[static TOKENIZER_QUOTE_MAX + 4]) {
        size_t n = MIN(len, (size_t) TOKENIZER_QUOTE_MAX), i;

        for (i = 0; i < n; i++)
                buf[i] = ((uint8_t) s[i] >= 0x20 && (uint8_t) s[i] < 0x7f) ? s[i] : '?';
        if (n < len)
                memcpy(buf + i, "...", 3), i += 3;
        buf[i] = 0;
        return buf;
}

int idvec_push(IdVec *v, int32_t id) {
        if (v->n == v->cap) {
                size_t cap = v->cap ? v->cap * 2 : 64;
                int32_t *ids = realloc(v->ids, cap * sizeof(int32_t));

                if (!ids)
                        return -ENOMEM;
                v->ids = ids;
                v->cap = cap;
        }
        v->ids[v->n++] = id;
        return 0;
}

void *scratch_get(Scratch *s, unsigned i, size_t n, size_t elem) {
        size_t bytes;

        if (!size_mul(n, elem, &bytes))
                return NULL;
        if (bytes > s->cap[i]) {
                void *p = realloc(s->buf[i], bytes);

                if (!p)
                        return NULL;
                s->buf[i] = p;
                s->cap[i] = bytes;
        }
        return s->buf[i];
}

void scratch_done(Scratch *s) {
        for (size_t i = 0; i < ELEMENTSOF(s->buf); i++)
                s->buf[i] = mfree(s->buf[i]);
}

#define CACHE_MIN_WORDS 64 /* fewer words than this: no cache */
#define CACHE_MAX_SLOTS (1u << 16)
#define CACHE_MAX_WORD 1024 /* longer words are not cached */

void word_cache_init(WordCache *c, size_t n_words, Scratch *s) {
        size_t size = 256;

        *c = (WordCache){};
        if (n_words < CACHE_MIN_WORDS)
                return;
        while (size < 2 * n_words && size < CACHE_MAX_SLOTS)
                size *= 2;
        c->slots = scratch_get(s, SCRATCH_CACHE, size, sizeof(CacheSlot));
        if (!c->slots)
                return; /* no cache, no harm */
        memset(c->slots, 0, size * sizeof(CacheSlot));
        c->mask = size - 1;
}

int word_cache_get(WordCache *c, const char *text, const char *w, size_t len, IdVec *out, CacheSlot **ret_slot) {
        uint64_t hash;
        int r;

        *ret_slot = NULL;
        if (!c->slots || len == 0 || len > CACHE_MAX_WORD)
                return 0;
        hash = tokenizer_hash(w, len);
        for (size_t i = hash & c->mask;; i = (i + 1) & c->mask) {
                CacheSlot *slot = &c->slots[i];

                if (slot->len == 0) {
                        slot->hash = hash; /* kept for word_cache_put(); len stays 0 until then */
                        *ret_slot = slot;
                        return 0;
                }
                if (slot->hash == hash && slot->len == len && memcmp(text + slot->off, w, len) == 0) {
                        for (uint32_t k = 0; k < slot->n; k++) {
                                r = idvec_push(out, c->ids.ids[slot->first + k]);
                                if (r < 0)
                                        return r;
                        }
                        return 1;
                }
        }
}

void word_cache_put(WordCache *c, CacheSlot *slot, const char *text, const char *w, size_t len, const IdVec *out,
                    size_t first) {
        size_t n = out->n - first, start = c->ids.n;

        /* stop adding at half full, so that probes stay short and always reach an empty slot */
        if (!slot || 2 * (c->used + 1) > c->mask + 1)
                return;
        for (size_t i = 0; i < n; i++)
                if (idvec_push(&c->ids, out->ids[first + i]) < 0) {
                        c->ids.n = start;
                        return;
                }
        *slot = (CacheSlot){ slot->hash, (uint32_t) (w - text), (uint32_t) len, (uint32_t) start, (uint32_t) n };
        c->used++;
}

void word_cache_done(WordCache *c) {
        c->ids.ids = mfree(c->ids.ids);
}

int tokenizer_parse_byte_token(const char *s, size_t len) {
        int v = 0;

        if (len != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>')
                return -1;
        for (int i = 3; i < 5; i++) {
                char c = s[i];

                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= c - '0';
                else if (c >= 'A' && c <= 'F')
                        v |= c - 'A' + 10;
                else if (c >= 'a' && c <= 'f')
                        v |= c - 'a' + 10;
                else
                        return -1;
        }
        return v;
}

uint64_t tokenizer_hash(const char *s, size_t len) {
        uint64_t h = 0xcbf29ce484222325ull;

        for (size_t i = 0; i < len; i++) {
                h ^= (uint8_t) s[i];
                h *= 0x100000001b3ull;
        }
        return h ^ (h >> 32);
}

int32_t tokenizer_lookup(const Tokenizer *t, const char *s, size_t len) {
        for (size_t i = tokenizer_hash(s, len) & t->slot_mask;; i = (i + 1) & t->slot_mask) {
                int32_t id = t->slots[i];

                if (id < 0)
                        return -1;
                if (token_len(t, id) == len && memcmp(token_str(t, id), s, len) == 0)
                        return id;
        }
}

Tokenizer *tokenizer_free(Tokenizer *t) {
        if (!t)
                return NULL;
        free(t->text);
        free(t->text_off);
        free(t->scores);
        free(t->type);
        free(t->eog);
        free(t->piece);
        free(t->piece_off);
        free(t->slots);
        free(t->merges);
        free(t->specials);
        free(t->special_rank);
        free(t->trie);
        return mfree(t);
}

/* tokenizer.ggml.model and .pre. */
static int load_model(Tokenizer *t, const Gguf *g, char *err, size_t errsz) {
        _cleanup_free_ char *model = NULL, *pre = NULL;
        int r;

        r = gguf_get_strdup(g, "tokenizer.ggml.model", &model, err, errsz);
        if (r < 0)
                return r;
        if (streq(model, "llama"))
                t->model = TOKENIZER_MODEL_SPM;
        else if (streq(model, "gpt2"))
                t->model = TOKENIZER_MODEL_BPE;
        else {
                char q[TOKENIZER_QUOTE_MAX + 4];

                tokenizer_error(err, errsz,
                                "tokenizer: unknown tokenizer model \"%s\" (tokenizer.ggml.model; "
                                "supported: llama, gpt2)",
                                tokenizer_quote(model, strlen(model), q));
                return -EOPNOTSUPP;
        }
        if (t->model != TOKENIZER_MODEL_BPE)
                return 0;

        /* as llama.cpp: a BPE vocabulary without a pre-tokenizer name gets the default one */
        r = gguf_get_strdup(g, "tokenizer.ggml.pre", &pre, err, errsz);
        if (r == -ENOENT) {
                t->pre = PRETOK_DEFAULT;
                return 0;
        }
        if (r < 0)
                return r;
        r = pretok_from_name(pre, &t->pre, &t->pre_options);
        if (r < 0) {
                char q[TOKENIZER_QUOTE_MAX + 4];

                tokenizer_error(err, errsz, "tokenizer: unknown pre-tokenizer \"%s\" (tokenizer.ggml.pre)",
                                tokenizer_quote(pre, strlen(pre), q));
                return -EOPNOTSUPP;
        }
        return 0;
}

/* Puts every non-empty token string in the hash table; rejects duplicates. */
static int index_tokens(Tokenizer *t, char *err, size_t errsz) {
        size_t size = 16;

        while (size < 2 * t->n_vocab)
                size *= 2;
        t->slots = malloc(size * sizeof(int32_t));
        if (!t->slots)
                return -ENOMEM;
        memset(t->slots, 0xff, size * sizeof(int32_t));
        t->slot_mask = size - 1;

        for (size_t id = 0; id < t->n_vocab; id++) {
                const char *s = token_str(t, (int32_t) id);
                size_t len = token_len(t, (int32_t) id), i;

                if (len == 0)
                        continue; /* nothing can match an empty token */
                for (i = tokenizer_hash(s, len) & t->slot_mask; t->slots[i] >= 0; i = (i + 1) & t->slot_mask) {
                        int32_t other = t->slots[i];
                        char q[TOKENIZER_QUOTE_MAX + 4];

                        if (token_len(t, other) == len && memcmp(token_str(t, other), s, len) == 0) {
                                tokenizer_error(err, errsz, "tokenizer: token %zu \"%s\" duplicates token %" PRId32,
                                                id, tokenizer_quote(s, len, q), other);
                                return -EBADMSG;
                        }
                }
                t->slots[i] = (int32_t) id;
        }
        return 0;
}

/* tokenizer.ggml.tokens: copies the strings into one buffer. */
static int load_tokens(Tokenizer *t, const Gguf *g, char *err, size_t errsz) {
        GgufArray a;
        size_t total = 0;
        int r;

        r = gguf_get_array(g, "tokenizer.ggml.tokens", GGUF_VALUE_STRING, &a, err, errsz);
        if (r < 0)
                return r;
        if (a.n == 0 || a.n > TOKENIZER_MAX_VOCAB) {
                tokenizer_error(err, errsz,
                                "tokenizer: tokenizer.ggml.tokens has %" PRIu64 " tokens (1 to %zu allowed)", a.n,
                                TOKENIZER_MAX_VOCAB);
                return -EBADMSG;
        }
        t->n_vocab = (size_t) a.n;
        for (uint64_t i = 0; i < a.n; i++) {
                const char *s;
                size_t len;

                r = gguf_array_get_str(&a, i, &s, &len);
                if (r < 0)
                        return r;
                if (!size_add(total, len, &total) || total > UINT32_MAX) {
                        tokenizer_error(err, errsz, "tokenizer: tokenizer.ggml.tokens holds more than 4 GiB of text");
                        return -EBADMSG;
                }
        }
        t->text = malloc(total + 1);
        t->text_off = malloc((t->n_vocab + 1) * sizeof(uint32_t));
        if (!t->text || !t->text_off)
                return -ENOMEM;
        total = 0;
        for (uint64_t i = 0; i < a.n; i++) {
                const char *s;
                size_t len;

                r = gguf_array_get_str(&a, i, &s, &len);
                if (r < 0)
                        return r;
                t->text_off[i] = (uint32_t) total;
                memcpy(t->text + total, s, len);
                total += len;
        }
        t->text_off[t->n_vocab] = (uint32_t) total;
        t->text[total] = 0;
        return index_tokens(t, err, errsz);
}

/* An optional per-token array: -ENOENT when absent; rejects a wrong element type and a short array. */
static int get_token_array(const Tokenizer *t, const Gguf *g, const char *key, GgufArray *a, char *err, size_t errsz) {
        int r;

        if (gguf_find_key(g, key) < 0)
                return -ENOENT;
        r = gguf_get_array(g, key, _GGUF_VALUE_TYPE_INVALID, a, err, errsz);
        if (r < 0)
                return r;
        if (a->n < t->n_vocab) {
                tokenizer_error(err, errsz, "tokenizer: %s has %" PRIu64 " entries for %zu tokens", key, a->n,
                                t->n_vocab);
                return -EBADMSG;
        }
        return 0;
}

/* tokenizer.ggml.scores (float32, or int32 as llama.cpp also takes; all 0 when absent). */
static int load_scores(Tokenizer *t, const Gguf *g, char *err, size_t errsz) {
        GgufArray a;
        int r;

        t->scores = calloc(t->n_vocab, sizeof(float));
        if (!t->scores)
                return -ENOMEM;
        r = get_token_array(t, g, "tokenizer.ggml.scores", &a, err, errsz);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (a.type != GGUF_VALUE_FLOAT32 && a.type != GGUF_VALUE_FLOAT64 && a.type != GGUF_VALUE_INT32) {
                tokenizer_error(err, errsz,
                                "tokenizer: tokenizer.ggml.scores has elements of type %s, expected "
                                "float32",
                                gguf_value_type_name(a.type));
                return -EINVAL;
        }
        for (size_t i = 0; i < t->n_vocab; i++) {
                double d;
                int64_t v;

                if (a.type == GGUF_VALUE_INT32) {
                        r = gguf_array_get_int(&a, i, &v);
                        d = (double) v;
                } else
                        r = gguf_array_get_float(&a, i, &d);
                if (r < 0)
                        return r;
                t->scores[i] = (float) d;
        }
        return 0;
}

/* tokenizer.ggml.token_type (any integer type; values llama.cpp does not know become UNDEFINED; all NORMAL
 * when absent). */
static int load_types(Tokenizer *t, const Gguf *g, char *err, size_t errsz) {
        GgufArray a;
        int r;

        t->type = malloc(t->n_vocab);
        t->eog = calloc(t->n_vocab, 1);
        if (!t->type || !t->eog)
                return -ENOMEM;
        memset(t->type, TOKEN_TYPE_NORMAL, t->n_vocab);
        r = get_token_array(t, g, "tokenizer.ggml.token_type", &a, err, errsz);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        for (size_t i = 0; i < t->n_vocab; i++) {
                int64_t v;

                r = gguf_array_get_int(&a, i, &v);
                if (r < 0) {
                        tokenizer_error(err, errsz,
                                        "tokenizer: tokenizer.ggml.token_type has elements of type %s, "
                                        "expected int32",
                                        gguf_value_type_name(a.type));
                        return -EINVAL;
                }
                t->type[i] = v >= 0 && v < _TOKEN_TYPE_MAX ? (uint8_t) v : TOKEN_TYPE_UNDEFINED;
        }
        return 0;
}

/* One special token id key: keeps *id when absent, rejects ids out of range. */
static int load_special_id(Tokenizer *t, const Gguf *g, const char *key, int32_t *id, char *err, size_t errsz) {
        uint32_t v;
        int r;

        if (gguf_find_key(g, key) < 0)
                return 0;
        r = gguf_get_u32(g, key, &v, err, errsz);
        if (r < 0)
                return r;
        if (v >= t->n_vocab) {
                tokenizer_error(err, errsz,
                                "tokenizer: %s = %" PRIu32 " is out of range (the vocabulary has %zu "
                                "tokens)",
                                key, v, t->n_vocab);
                return -EINVAL;
        }
        *id = (int32_t) v;
        return 0;
}

/* An optional bool key: keeps *v when absent. */
static int load_flag(const Gguf *g, const char *key, bool *v, char *err, size_t errsz) {
        if (gguf_find_key(g, key) < 0)
                return 0;
        return gguf_get_bool(g, key, v, err, errsz);
}

static int32_t find_text(const Tokenizer *t, const char *s) {
        return tokenizer_lookup(t, s, strlen(s));
}

/* Special ids, add_bos/add_eos/add_space_prefix, and the EOT/EOG fix-ups llama.cpp applies by token text. */
static int load_specials(Tokenizer *t, const Gguf *g, char *err, size_t errsz) {
        const struct {
                const char *key;
                int32_t *id;
        } keys[] = {
                { "tokenizer.ggml.bos_token_id", &t->bos },     { "tokenizer.ggml.eos_token_id", &t->eos },
                { "tokenizer.ggml.eot_token_id", &t->eot },     { "tokenizer.ggml.eom_token_id", &t->eom },
                { "tokenizer.ggml.unknown_token_id", &t->unk }, { "tokenizer.ggml.seperator_token_id", &t->sep },
                { "tokenizer.ggml.padding_token_id", &t->pad },
        };
        int r;

        t->bos = t->eos = t->eot = t->eom = t->unk = t->sep = t->pad = -1;
        if (t->model == TOKENIZER_MODEL_SPM) {
                /* SentencePiece's conventional ids, when the vocabulary is that large */
                t->unk = 0 < t->n_vocab ? 0 : -1;
                t->bos = 1 < t->n_vocab ? 1 : -1;
                t->eos = 2 < t->n_vocab ? 2 : -1;
        }
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                r = load_special_id(t, g, keys[i].key, keys[i].id, err, errsz);
                if (r < 0)
                        return r;
        }

        t->add_bos = t->model == TOKENIZER_MODEL_SPM || (t->pre_options & PRETOK_ADD_BOS);
        t->add_eos = false;
        t->add_space_prefix = t->model == TOKENIZER_MODEL_SPM;
        r = load_flag(g, "tokenizer.ggml.add_bos_token", &t->add_bos, err, errsz);
        if (r >= 0)
                r = load_flag(g, "tokenizer.ggml.add_eos_token", &t->add_eos, err, errsz);
        if (r >= 0)
                r = load_flag(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix, err, errsz);
        if (r < 0)
                return r;
        if (t->model != TOKENIZER_MODEL_SPM)
                t->add_space_prefix = false; /* only the SentencePiece algorithm adds one */
        if (t->add_bos && t->bos < 0) {
                tokenizer_error(err, errsz,
                                "tokenizer: tokenizer.ggml.add_bos_token is true but there is no BOS token");
                return -EINVAL;
        }
        if (t->add_eos && t->eos < 0) {
                tokenizer_error(err, errsz,
                                "tokenizer: tokenizer.ggml.add_eos_token is true but there is no EOS token");
                return -EINVAL;
        }

        /* llama.cpp recognises these tokens by their text and makes them control tokens, whatever the file says */
        if (t->eot < 0)
                for (size_t i = 0; i < ELEMENTSOF(eot_texts) && t->eot < 0; i++) {
                        t->eot = find_text(t, eot_texts[i]);
                        if (t->eot >= 0)
                                t->type[t->eot] = TOKEN_TYPE_CONTROL;
                }
        for (size_t i = 0; i < ELEMENTSOF(eog_texts); i++) {
                int32_t id = find_text(t, eog_texts[i]);

                if (id >= 0) {
                        t->eog[id] = 1;
                        t->type[id] = TOKEN_TYPE_CONTROL;
                }
        }
        if (t->eos >= 0)
                t->eog[t->eos] = 1;
        if (t->eot >= 0)
                t->eog[t->eot] = 1;
        if (t->eom >= 0)
                t->eog[t->eom] = 1;
        return 0;
}

static bool is_special_type(uint8_t type) {
        return type == TOKEN_TYPE_CONTROL || type == TOKEN_TYPE_USER_DEFINED || type == TOKEN_TYPE_UNKNOWN;
}

/* Longest first, then lower id. */
static int compare_specials(const void *a, const void *b, void *userdata) {
        const Tokenizer *t = userdata;
        int32_t x = *(const int32_t *) a, y = *(const int32_t *) b;
        size_t lx = token_len(t, x), ly = token_len(t, y);

        if (lx != ly)
                return lx > ly ? -1 : 1;
        return x < y ? -1 : x > y;
}

static int trie_child(Tokenizer *t, int32_t node, uint8_t byte, bool create) {
        int32_t c;

        for (c = t->trie[node].child; c >= 0; c = t->trie[c].sibling)
                if (t->trie[c].byte == byte)
                        return c;
        if (!create)
                return -1;
        c = (int32_t) t->n_trie++;
        t->trie[c] = (SpecialNode){ -1, t->trie[node].child, -1, byte };
        t->trie[node].child = c;
        return c;
}

/* The list of special tokens (control, user-defined, unknown-type), longest first, and a trie of their strings. */
static int build_specials(Tokenizer *t) {
        size_t n = 0, n_bytes = 0;

        for (size_t id = 0; id < t->n_vocab; id++)
                if (is_special_type(t->type[id]) && token_len(t, (int32_t) id) > 0) {
                        n++;
                        n_bytes += token_len(t, (int32_t) id);
                }
        t->specials = malloc(MAX(n, (size_t) 1) * sizeof(int32_t));
        t->special_rank = malloc(t->n_vocab * sizeof(uint32_t));
        t->trie = malloc((n_bytes + 1) * sizeof(SpecialNode));
        if (!t->specials || !t->special_rank || !t->trie)
                return -ENOMEM;
        for (size_t id = 0; id < t->n_vocab; id++)
                if (is_special_type(t->type[id]) && token_len(t, (int32_t) id) > 0)
                        t->specials[t->n_specials++] = (int32_t) id;
        qsort_r(t->specials, t->n_specials, sizeof(int32_t), compare_specials, t);

        t->trie[0] = (SpecialNode){ -1, -1, -1, 0 };
        t->n_trie = 1;
        for (size_t k = 0; k < t->n_specials; k++) {
                int32_t id = t->specials[k], node = 0;
                const char *s = token_str(t, id);

                t->special_rank[id] = (uint32_t) k;
                t->special_first[(uint8_t) s[0]] = 1;
                t->n_user_defined += t->type[id] == TOKEN_TYPE_USER_DEFINED;
                for (size_t i = 0; i < token_len(t, id); i++)
                        node = trie_child(t, node, (uint8_t) s[i], true);
                t->trie[node].token = id;
        }
        return 0;
}

/* Decodes every token once, so that pieces are a lookup. */
static int build_pieces(Tokenizer *t) {
        size_t total = 0;

        t->piece = malloc(t->text_off[t->n_vocab] + 1);
        t->piece_off = malloc((t->n_vocab + 1) * sizeof(uint32_t));
        if (!t->piece || !t->piece_off)
                return -ENOMEM;
        for (size_t id = 0; id < t->n_vocab; id++) {
                t->piece_off[id] = (uint32_t) total;
                if (t->model == TOKENIZER_MODEL_SPM)
                        total += spm_piece(t, (int32_t) id, t->piece + total);
                else
                        total += bpe_piece(t, (int32_t) id, t->piece + total);
        }
        t->piece_off[t->n_vocab] = (uint32_t) total;
        return 0;
}

int tokenizer_new_from_gguf(const Gguf *g, Tokenizer **ret, char *err, size_t errsz) {
        _cleanup_tokenizer_free_ Tokenizer *t = NULL;
        int r;

        if (!g || !ret)
                return -EINVAL;
        t = calloc(1, sizeof(Tokenizer));
        if (!t)
                return -ENOMEM;
        t->max_input = TOKENIZER_MAX_INPUT_DEFAULT;

        r = load_model(t, g, err, errsz);
        if (r >= 0)
                r = load_tokens(t, g, err, errsz);
        if (r >= 0)
                r = load_scores(t, g, err, errsz);
        if (r >= 0)
                r = load_types(t, g, err, errsz);
        if (r >= 0)
                r = load_specials(t, g, err, errsz);
        if (r >= 0) {
                if (t->model == TOKENIZER_MODEL_BPE)
                        r = bpe_load(t, g, err, errsz);
                else {
                        spm_init_bytes(t);
                        spm_init_words(t);
                }
        }
        if (r >= 0)
                r = build_specials(t);
        if (r >= 0)
                r = build_pieces(t);
        if (r < 0) {
                if (r == -ENOMEM)
                        tokenizer_error(err, errsz, "tokenizer: out of memory");
                return r;
        }
        *ret = TAKE_PTR(t);
        return 0;
}

int tokenizer_set_max_input(Tokenizer *t, size_t max_bytes) {
        if (!t || max_bytes == 0 || max_bytes > TOKENIZER_MAX_INPUT_LIMIT)
                return -EINVAL;
        t->max_input = max_bytes;
        return 0;
}

size_t tokenizer_max_input(const Tokenizer *t) {
        return t->max_input;
}

TokenizerModel tokenizer_model(const Tokenizer *t) {
        return t->model;
}

const char *tokenizer_pre_name(const Tokenizer *t) {
        return t->model == TOKENIZER_MODEL_BPE ? pretok_kind_name(t->pre) : NULL;
}

size_t tokenizer_n_vocab(const Tokenizer *t) {
        return t->n_vocab;
}

int32_t tokenizer_bos(const Tokenizer *t) {
        return t->bos;
}

int32_t tokenizer_eos(const Tokenizer *t) {
        return t->eos;
}

int32_t tokenizer_eot(const Tokenizer *t) {
        return t->eot;
}

int32_t tokenizer_unk(const Tokenizer *t) {
        return t->unk;
}

int32_t tokenizer_pad(const Tokenizer *t) {
        return t->pad;
}

bool tokenizer_add_bos(const Tokenizer *t) {
        return t->add_bos;
}

bool tokenizer_add_eos(const Tokenizer *t) {
        return t->add_eos;
}

static inline bool valid_id(const Tokenizer *t, int32_t id) {
        return id >= 0 && (size_t) id < t->n_vocab;
}

bool tokenizer_is_eog(const Tokenizer *t, int32_t id) {
        return valid_id(t, id) && t->eog[id];
}

int tokenizer_token_type(const Tokenizer *t, int32_t id) {
        return valid_id(t, id) ? t->type[id] : -EINVAL;
}

int tokenizer_token_text(const Tokenizer *t, int32_t id, const char **ret, size_t *ret_len) {
        if (!valid_id(t, id))
                return -EINVAL;
        *ret = token_str(t, id);
        *ret_len = token_len(t, id);
        return 0;
}

int32_t tokenizer_find_token(const Tokenizer *t, const char *text, size_t len) {
        int32_t id;

        if (!text && len > 0)
                return -EINVAL;
        id = len > 0 ? tokenizer_lookup(t, text, len) : -1;
        return id >= 0 ? id : -ENOENT;
}

/* A run of the input: raw text (id -1) or one special token. */
typedef struct Fragment {
        uint32_t off, len;
        int32_t id;
} Fragment;

typedef struct FragVec {
        Fragment *f;
        size_t n, cap;
} FragVec;

static int fragvec_push(FragVec *v, uint32_t off, uint32_t len, int32_t id) {
        if (v->n == v->cap) {
                size_t cap = v->cap ? v->cap * 2 : 16;
                Fragment *f = realloc(v->f, cap * sizeof(Fragment));

                if (!f)
                        return -ENOMEM;
                v->f = f;
                v->cap = cap;
        }
        v->f[v->n++] = (Fragment){ off, len, id };
        return 0;
}

static bool special_matches(const Tokenizer *t, int32_t id, bool parse_special) {
        return parse_special || t->type[id] == TOKEN_TYPE_USER_DEFINED;
}

/* Marks in present[] (by rank) the special tokens that occur anywhere in text. */
static bool find_present(const Tokenizer *t, const char *text, size_t len, bool parse_special, uint8_t *present) {
        bool any = false;

        for (size_t pos = 0; pos < len; pos++) {
                int32_t node = 0;

                if (!t->special_first[(uint8_t) text[pos]])
                        continue;
                for (size_t i = pos; i < len; i++) {
                        int32_t c;

                        for (c = t->trie[node].child; c >= 0; c = t->trie[c].sibling)
                                if (t->trie[c].byte == (uint8_t) text[i])
                                        break;
                        if (c < 0)
                                break;
                        node = c;
                        if (t->trie[node].token >= 0 && special_matches(t, t->trie[node].token, parse_special)) {
                                present[t->special_rank[t->trie[node].token]] = 1;
                                any = true;
                        }
                }
        }
        return any;
}

/* Splits one raw fragment at every occurrence of special token id. */
static int split_fragment(const Tokenizer *t, const char *text, const Fragment *f, int32_t id, FragVec *out) {
        const char *s = token_str(t, id);
        size_t slen = token_len(t, id), off = f->off, end = (size_t) f->off + f->len;
        int r;

        while (off < end) {
                const char *m = memmem(text + off, end - off, s, slen);
                size_t at;

                if (!m)
                        break;
                at = (size_t) (m - text);
                if (at > off) {
                        r = fragvec_push(out, (uint32_t) off, (uint32_t) (at - off), -1);
                        if (r < 0)
                                return r;
                }
                r = fragvec_push(out, (uint32_t) at, (uint32_t) slen, id);
                if (r < 0)
                        return r;
                off = at + slen;
        }
        if (off < end)
                return fragvec_push(out, (uint32_t) off, (uint32_t) (end - off), -1);
        return 0;
}

/* llama.cpp's tokenizer_st_partition(): for each special token, longest first, cut every raw fragment at its
 * occurrences. Only tokens that occur in the text at all are tried. */
static int partition(const Tokenizer *t, const char *text, size_t len, bool parse_special, FragVec *ret) {
        _cleanup_free_ uint8_t *present = NULL;
        FragVec cur = {}, next = {};
        int r;

        if (len == 0)
                return 0;
        r = fragvec_push(&cur, 0, (uint32_t) len, -1);
        if (r < 0)
                return r;
        if (t->n_specials > 0 && (parse_special || t->n_user_defined > 0)) {
                present = calloc(t->n_specials, 1);
                if (!present) {
                        free(cur.f);
                        return -ENOMEM;
                }
                if (!find_present(t, text, len, parse_special, present)) {
                        *ret = cur;
                        return 0;
                }
        }
        for (size_t k = 0; present && k < t->n_specials; k++) {
                if (!present[k])
                        continue;
                next.n = 0;
                for (size_t i = 0; i < cur.n; i++) {
                        if (cur.f[i].id >= 0)
                                r = fragvec_push(&next, cur.f[i].off, cur.f[i].len, cur.f[i].id);
                        else
                                r = split_fragment(t, text, &cur.f[i], t->specials[k], &next);
                        if (r < 0) {
                                free(cur.f);
                                free(next.f);
                                return r;
                        }
                }
                FragVec tmp = cur;
                cur = next;
                next = tmp;
        }
        free(next.f);
        *ret = cur;
        return 0;
}

static int encode_fragments(const Tokenizer *t, const char *text, const FragVec *frags, IdVec *out, Scratch *s) {
        bool after_special = true; /* SPM puts a space in front of the text and after each special token */
        int r;

        for (size_t i = 0; i < frags->n; i++) {
                const Fragment *f = &frags->f[i];

                if (f->id >= 0) {
                        r = idvec_push(out, f->id);
                        after_special = true;
                } else if (t->model == TOKENIZER_MODEL_SPM) {
                        r = spm_encode(t, text + f->off, f->len, t->add_space_prefix && after_special, out, s);
                        after_special = false;
                } else {
                        r = bpe_encode(t, text + f->off, f->len, out, s);
                        after_special = false;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

int tokenizer_encode(const Tokenizer *t, const char *text, size_t len, unsigned flags, int32_t **ret_ids,
                     size_t *ret_n) {
        IdVec out = {};
        FragVec frags = {};
        Scratch s = {};
        int r;

        if (!t || (!text && len > 0) || !ret_ids || !ret_n ||
            (flags & ~(unsigned) (TOKENIZER_ADD_SPECIAL | TOKENIZER_PARSE_SPECIAL)))
                return -EINVAL;
        if (len > t->max_input)
                return -E2BIG;

        r = partition(t, text, len, flags & TOKENIZER_PARSE_SPECIAL, &frags);
        if (r >= 0 && (flags & TOKENIZER_ADD_SPECIAL) && t->add_bos)
                r = idvec_push(&out, t->bos);
        if (r >= 0)
                r = encode_fragments(t, text, &frags, &out, &s);
        if (r >= 0 && (flags & TOKENIZER_ADD_SPECIAL) && t->add_eos)
                r = idvec_push(&out, t->eos);
        free(frags.f);
        scratch_done(&s);
        if (r < 0) {
                free(out.ids);
                return r;
        }
        *ret_ids = out.ids;
        *ret_n = out.n;
        return 0;
}

/* Whether a token's piece is hidden under these flags (control and unknown-type tokens without DECODE_SPECIAL). */
static inline bool piece_hidden(const Tokenizer *t, int32_t id, unsigned flags) {
        return !(flags & TOKENIZER_DECODE_SPECIAL) &&
               (t->type[id] == TOKEN_TYPE_CONTROL || t->type[id] == TOKEN_TYPE_UNKNOWN);
}

#define DECODE_FLAGS ((unsigned) (TOKENIZER_DECODE_SPECIAL | TOKENIZER_DECODE_STRIP_SPACE))

int tokenizer_token_piece(const Tokenizer *t, int32_t id, unsigned flags, const char **ret, size_t *ret_len) {
        if (!t || !valid_id(t, id) || (flags & ~DECODE_FLAGS) || !ret || !ret_len)
                return -EINVAL;
        *ret = t->piece + t->piece_off[id];
        *ret_len = piece_hidden(t, id, flags) ? 0 : t->piece_off[id + 1] - t->piece_off[id];
        return 0;
}

/* The piece of id with the space-prefix stripping of TOKENIZER_DECODE_STRIP_SPACE applied; *at_start says whether
 * the next text piece starts a run of text (start of the stream or after a special token). */
static void strip_piece(const Tokenizer *t, int32_t id, unsigned flags, bool *at_start, const char **p, size_t *n) {
        (void) tokenizer_token_piece(t, id, flags, p, n);
        if (is_special_type(t->type[id])) {
                *at_start = true;
                return;
        }
        if (*n == 0)
                return;
        if ((flags & TOKENIZER_DECODE_STRIP_SPACE) && t->add_space_prefix && *at_start && (*p)[0] == ' ')
                (*p)++, (*n)--;
        *at_start = false;
}

int tokenizer_decode(const Tokenizer *t, const int32_t *ids, size_t n, unsigned flags, char **ret, size_t *ret_len) {
        _cleanup_free_ char *buf = NULL;
        size_t total = 0, j = 0;
        bool at_start = true;

        if (!t || (!ids && n > 0) || (flags & ~DECODE_FLAGS) || !ret || !ret_len)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (!valid_id(t, ids[i]))
                        return -EINVAL;
                if (!size_add(total, t->piece_off[ids[i] + 1] - t->piece_off[ids[i]], &total))
                        return -ENOMEM;
        }
        buf = malloc(total + 1);
        if (!buf)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *p;
                size_t len;

                strip_piece(t, ids[i], flags, &at_start, &p, &len);
                memcpy(buf + j, p, len);
                j += len;
        }
        buf[j] = 0;
        *ret = TAKE_PTR(buf);
        *ret_len = j;
        return 0;
}

struct Detokenizer {
        const Tokenizer *t;
        unsigned flags;
        bool at_start;
        char held[4]; /* the start of a UTF-8 sequence that the next token may complete */
        size_t n_held;
        char *in, *out;
        size_t in_cap, out_cap;
};

int detokenizer_new(const Tokenizer *t, unsigned flags, Detokenizer **ret) {
        Detokenizer *d;

        if (!t || !ret || (flags & ~DECODE_FLAGS))
                return -EINVAL;
        d = calloc(1, sizeof(Detokenizer));
        if (!d)
                return -ENOMEM;
        d->t = t;
        d->flags = flags;
        d->at_start = true;
        *ret = d;
        return 0;
}

Detokenizer *detokenizer_free(Detokenizer *d) {
        if (!d)
                return NULL;
        free(d->in);
        free(d->out);
        return mfree(d);
}

static int grow(char **buf, size_t *cap, size_t need) {
        char *p;

        if (need <= *cap)
                return 0;
        need = MAX(need, 2 * *cap);
        p = realloc(*buf, need);
        if (!p)
                return -ENOMEM;
        *buf = p;
        *cap = need;
        return 0;
}

/* Converts d->in[0..n) to well-formed UTF-8 in d->out (U+FFFD for each ill-formed part); a sequence cut off at
 * the end is held back, or with final replaced too. Returns the output length. */
static size_t sanitize(Detokenizer *d, size_t n, bool final) {
        size_t i = 0, j = 0;

        d->n_held = 0;
        while (i < n) {
                uint32_t cp;
                size_t l;

                if ((uint8_t) d->in[i] < 0x80) {
                        d->out[j++] = d->in[i++];
                        continue;
                }
                switch (unicode_utf8_decode(d->in + i, n - i, &cp, &l)) {
                case UTF8_VALID:
                        memcpy(d->out + j, d->in + i, l);
                        j += l;
                        break;
                case UTF8_INVALID:
                        memcpy(d->out + j, UNICODE_REPLACEMENT_UTF8, 3);
                        j += 3;
                        break;
                case UTF8_TRUNCATED:
                        if (final) {
                                memcpy(d->out + j, UNICODE_REPLACEMENT_UTF8, 3);
                                j += 3;
                        } else {
                                memcpy(d->held, d->in + i, l);
                                d->n_held = l;
                        }
                        break;
                }
                i += l;
        }
        return j;
}

/* Feeds the held bytes and len more bytes at p through sanitize(). */
static int feed(Detokenizer *d, const char *p, size_t len, bool final, const char **ret, size_t *ret_len) {
        size_t n;
        int r;

        if (!size_add(d->n_held, len, &n) || n > SIZE_MAX / 3)
                return -ENOMEM;
        r = grow(&d->in, &d->in_cap, n + 1);
        if (r >= 0)
                r = grow(&d->out, &d->out_cap, 3 * n + 1);
        if (r < 0)
                return r;
        memcpy(d->in, d->held, d->n_held);
        memcpy(d->in + d->n_held, p, len);
        *ret_len = sanitize(d, n, final);
        d->out[*ret_len] = 0;
        *ret = d->out;
        return 0;
}

int detokenizer_push(Detokenizer *d, int32_t id, const char **ret, size_t *ret_len) {
        const char *p;
        size_t len;
        bool at_start;
        int r;

        if (!d || !valid_id(d->t, id) || !ret || !ret_len)
                return -EINVAL;
        at_start = d->at_start;
        strip_piece(d->t, id, d->flags, &at_start, &p, &len);
        r = feed(d, p, len, false, ret, ret_len);
        if (r < 0)
                return r;
        d->at_start = at_start;
        return 0;
}

int detokenizer_flush(Detokenizer *d, const char **ret, size_t *ret_len) {
        int r;

        if (!d || !ret || !ret_len)
                return -EINVAL;
        r = feed(d, "", 0, true, ret, ret_len);
        if (r < 0)
                return r;
        d->at_start = true;
        return 0;
}
