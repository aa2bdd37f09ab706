/* test-tokenizer.c: llama.cpp's tokenizer test vectors, round trips, special tokens, streaming and malformed
 * vocabularies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "gguf-write.h"
#include "gguf.h"
#include "pretokenize.h"
#include "test.h"
#include "testdata.h"
#include "tokenizer.h"
#include "unicode.h"

#define VOCAB_DIR "llama.cpp-vocab/"
#define SEPARATOR "\n__ggml_vocab_test__\n"

TEST(unicode_flags) {
        ASSERT_EQ(unicode_flags('A'), UNICODE_LETTER);
        ASSERT_EQ(unicode_flags('7'), UNICODE_NUMBER);
        ASSERT_EQ(unicode_flags(' '), UNICODE_SEPARATOR | UNICODE_WHITESPACE);
        ASSERT_EQ(unicode_flags('\n'), UNICODE_CONTROL | UNICODE_WHITESPACE);
        ASSERT_EQ(unicode_flags(0x1C), UNICODE_CONTROL); /* not White_Space, though Python's isspace() says so */
        ASSERT_EQ(unicode_flags('$'), UNICODE_SYMBOL);
        ASSERT_EQ(unicode_flags('_'), UNICODE_PUNCTUATION);
        ASSERT_EQ(unicode_flags(0x85), UNICODE_CONTROL | UNICODE_WHITESPACE);
        ASSERT_EQ(unicode_flags(0xA0), UNICODE_SEPARATOR | UNICODE_WHITESPACE);
        ASSERT_EQ(unicode_flags(0x0301), UNICODE_MARK);
        ASSERT_EQ(unicode_flags(0x0663), UNICODE_NUMBER);  /* ARABIC-INDIC DIGIT THREE */
        ASSERT_EQ(unicode_flags(0x2167), UNICODE_NUMBER);  /* ROMAN NUMERAL EIGHT */
        ASSERT_EQ(unicode_flags(0x200B), UNICODE_CONTROL); /* ZERO WIDTH SPACE is Cf, not White_Space */
        ASSERT_EQ(unicode_flags(0x2028), UNICODE_SEPARATOR | UNICODE_WHITESPACE);
        ASSERT_EQ(unicode_flags(0x3000), UNICODE_SEPARATOR | UNICODE_WHITESPACE);
        ASSERT_EQ(unicode_flags(0x3001), UNICODE_PUNCTUATION);
        ASSERT_EQ(unicode_flags(0x4E00), UNICODE_LETTER);
        ASSERT_EQ(unicode_flags(0xAC00), UNICODE_LETTER);
        ASSERT_EQ(unicode_flags(0xD800), UNICODE_CONTROL); /* Cs */
        ASSERT_EQ(unicode_flags(0xE000), UNICODE_CONTROL); /* Co */
        ASSERT_EQ(unicode_flags(0xFEFF), UNICODE_CONTROL);
        ASSERT_EQ(unicode_flags(0xFFFD), UNICODE_SYMBOL);
        ASSERT_EQ(unicode_flags(0xFFFF), UNICODE_UNDEFINED);
        ASSERT_EQ(unicode_flags(0x1F999), UNICODE_SYMBOL); /* LLAMA */
        ASSERT_EQ(unicode_flags(0x20000), UNICODE_LETTER);
        ASSERT_EQ(unicode_flags(0x10FFFD), UNICODE_CONTROL);
        ASSERT_EQ(unicode_flags(0x10FFFF), UNICODE_UNDEFINED);
        ASSERT_EQ(unicode_flags(0x110000), UNICODE_UNDEFINED);
        ASSERT_EQ(unicode_flags(UINT32_MAX), UNICODE_UNDEFINED);
        ASSERT_TRUE(strlen(unicode_data_version) >= 5);

        /* the binary search agrees with a walk over the sorted table, for every code point */
        ASSERT_EQ(unicode_ranges[0] >> UNICODE_FLAG_BITS, 0);
        for (size_t i = 1; i < unicode_n_ranges; i++)
                ASSERT_TRUE(unicode_ranges[i] >> UNICODE_FLAG_BITS > unicode_ranges[i - 1] >> UNICODE_FLAG_BITS);
        for (uint32_t cp = 0, k = 0; cp <= UNICODE_MAX; cp++) {
                while (k + 1 < unicode_n_ranges && unicode_ranges[k + 1] >> UNICODE_FLAG_BITS <= cp)
                        k++;
                if (unicode_flags(cp) != (unicode_ranges[k] & ((1u << UNICODE_FLAG_BITS) - 1))) {
                        test_fail(__FILE__, __LINE__, "U+%04X: %#x", cp, unicode_flags(cp));
                        return;
                }
        }
}

/* Decodes s and compares status, length and (when valid) code point. */
static bool decodes(const char *s, size_t len, Utf8Status status, size_t n, uint32_t cp) {
        uint32_t got_cp = 0;
        size_t got_n = 0;

        if (unicode_utf8_decode(s, len, &got_cp, &got_n) != status || got_n != n)
                return false;
        return status != UTF8_VALID || got_cp == cp;
}

TEST(utf8_decode) {
        char buf[4];

        ASSERT_TRUE(decodes("a", 1, UTF8_VALID, 1, 'a'));
        ASSERT_TRUE(decodes("\xc2\xa0", 2, UTF8_VALID, 2, 0xA0));
        ASSERT_TRUE(decodes("\xe4\xbd\xa0x", 4, UTF8_VALID, 3, 0x4F60));
        ASSERT_TRUE(decodes("\xf0\x9f\xa6\x99", 4, UTF8_VALID, 4, 0x1F999));
        ASSERT_TRUE(decodes("\xf4\x8f\xbf\xbf", 4, UTF8_VALID, 4, 0x10FFFF));
        ASSERT_TRUE(decodes("\x80", 1, UTF8_INVALID, 1, 0));             /* stray continuation */
        ASSERT_TRUE(decodes("\xc0\x80", 2, UTF8_INVALID, 1, 0));         /* overlong */
        ASSERT_TRUE(decodes("\xe0\x80\x80", 3, UTF8_INVALID, 1, 0));     /* overlong */
        ASSERT_TRUE(decodes("\xed\xa0\x80", 3, UTF8_INVALID, 1, 0));     /* surrogate */
        ASSERT_TRUE(decodes("\xf4\x90\x80\x80", 4, UTF8_INVALID, 1, 0)); /* past U+10FFFF */
        ASSERT_TRUE(decodes("\xf5", 1, UTF8_INVALID, 1, 0));
        ASSERT_TRUE(decodes("\xe4\xbdx", 3, UTF8_INVALID, 2, 0)); /* maximal subpart of 2 */
        ASSERT_TRUE(decodes("\xf0\x9f\xa6x", 4, UTF8_INVALID, 3, 0));
        ASSERT_TRUE(decodes("\xe4\xbd", 2, UTF8_TRUNCATED, 2, 0));
        ASSERT_TRUE(decodes("\xf0", 1, UTF8_TRUNCATED, 1, 0));
        ASSERT_TRUE(decodes("\xf0\x9f\xa6", 3, UTF8_TRUNCATED, 3, 0));
        ASSERT_TRUE(decodes("\xe0\x9f", 2, UTF8_INVALID, 1, 0)); /* cannot become valid */

        ASSERT_UEQ(unicode_utf8_encode(0x7F, buf), 1);
        ASSERT_UEQ(unicode_utf8_encode(0x4F60, buf), 3);
        ASSERT_MEMEQ(buf, "\xe4\xbd\xa0", 3);
        ASSERT_UEQ(unicode_utf8_encode(0x1F999, buf), 4);
        ASSERT_MEMEQ(buf, "\xf0\x9f\xa6\x99", 4);
        ASSERT_UEQ(unicode_utf8_encode(0xDC00, buf), 0);
        ASSERT_UEQ(unicode_utf8_encode(0x110000, buf), 0);
        ASSERT_TRUE(unicode_utf8_valid("", 0));
        ASSERT_TRUE(unicode_utf8_valid("a\xc2\xa0\xf0\x9f\xa6\x99", 7));
        ASSERT_FALSE(unicode_utf8_valid("a\xc2", 2));
}

/* Pre-tokenizes text with kind and joins the pieces with '|'. */
static const char *split(PretokKind kind, const char *text, char *buf, size_t size) {
        size_t len = strlen(text), n, begin = 0, j = 0;
        _cleanup_free_ uint32_t *units = malloc((len + 1) * sizeof(uint32_t));
        _cleanup_free_ uint32_t *offs = malloc((len + 1) * sizeof(uint32_t));
        _cleanup_free_ uint32_t *ends = malloc((len + 1) * sizeof(uint32_t));
        _cleanup_free_ uint32_t *tmp = malloc((len + 1) * sizeof(uint32_t));

        if (!units || !offs || !ends || !tmp)
                return "(no memory)";
        n = pretokenize(kind, units, pretok_units(text, len, units, offs), ends, tmp);
        for (size_t i = 0; i < n && j + len + 2 < size; i++) {
                size_t b = offs[begin], e = offs[ends[i]];

                if (i > 0)
                        buf[j++] = '|';
                memcpy(buf + j, text + b, e - b);
                j += e - b;
                begin = ends[i];
        }
        buf[j] = 0;
        return buf;
}

TEST(pretokenizers) {
        const char *text = "Hello world's 12345 !!\n\n  x";
        PretokKind kind;
        unsigned options;
        char buf[256];

        ASSERT_STREQ(split(PRETOK_GPT2, text, buf, sizeof buf), "Hello| world|'s| 12345| !!|\n\n | x");
        ASSERT_STREQ(split(PRETOK_LLAMA3, text, buf, sizeof buf), "Hello| world|'s| |123|45| !!\n\n| | x");
        ASSERT_STREQ(split(PRETOK_QWEN2, text, buf, sizeof buf), "Hello| world|'s| |1|2|3|4|5| !!\n\n| | x");
        ASSERT_STREQ(split(PRETOK_DEEPSEEK_CODER, text, buf, sizeof buf),
                     "Hello| world|'|s| |1|2|3|4|5| !!|\n|\n| | x");
        ASSERT_STREQ(split(PRETOK_DEFAULT, text, buf, sizeof buf), "Hello| world|'|s| |123|45| |!!|\n\n | x");
        ASSERT_STREQ(split(PRETOK_STARCODER, text, buf, sizeof buf), "Hello| world|'s| |1|2|3|4|5| !!|\n\n | x");
        /* Llama 3: case-insensitive contractions, one leading non-letter, \s*[\r\n]+ */
        ASSERT_STREQ(split(PRETOK_LLAMA3, "I'M 'Sup\t\tok \r\n\r\n end", buf, sizeof buf),
                     "I|'M| '|Sup|\t|\tok| \r\n\r\n| end");
        ASSERT_STREQ(split(PRETOK_GPT2, "I'M 'Sup", buf, sizeof buf), "I|'|M| '|Sup");
        /* deepseek-coder: CJK runs, but not U+3000 */
        ASSERT_STREQ(
                split(PRETOK_DEEPSEEK_CODER, "\xe4\xbd\xa0\xe5\xa5\xbd\xe3\x80\x80\xe4\xb8\x96!", buf, sizeof buf),
                "\xe4\xbd\xa0\xe5\xa5\xbd|\xe3\x80\x80|\xe4\xb8\x96|!");
        ASSERT_UEQ(pretokenize(PRETOK_GPT2, NULL, 0, NULL, NULL), 0);

        ASSERT_OK(pretok_from_name("llama-bpe", &kind, &options));
        ASSERT_EQ(kind, PRETOK_LLAMA3);
        ASSERT_TRUE(options & PRETOK_IGNORE_MERGES);
        ASSERT_OK(pretok_from_name("qwen2", &kind, &options));
        ASSERT_EQ(kind, PRETOK_QWEN2);
        ASSERT_ERROR(pretok_from_name("nonesuch", &kind, &options), -EOPNOTSUPP);
        ASSERT_STREQ(pretok_kind_name(PRETOK_DEEPSEEK_CODER), "deepseek-coder");
}

/* Opens shared/testdata/llama.cpp-vocab/ggml-vocab-<name>.gguf and builds its tokenizer. */
static int load_vocab(const char *name, Tokenizer **ret) {
        _cleanup_gguf_close_ Gguf *g = NULL;
        char file[256], path[4096], err[256] = "";
        int r;

        snprintf(file, sizeof file, VOCAB_DIR "ggml-vocab-%s.gguf", name);
        r = testdata_path(file, path, sizeof path);
        if (r < 0)
                return r;
        r = gguf_open(path, &g, err, sizeof err);
        if (r >= 0)
                r = tokenizer_new_from_gguf(g, ret, err, sizeof err);
        if (r < 0)
                printf("# %s: %s\n", path, err);
        return r;
}

/* The test strings of a .inp file and the expected ids of its .out file. */
typedef struct Vectors {
        char *inp, *out;
        const char *text[128];
        size_t len[128];
        const char *expected[128]; /* lines of space-separated ids */
        size_t n;
} Vectors;

static void vectors_done(Vectors *v) {
        free(v->inp);
        free(v->out);
}

static int load_vectors(const char *name, Vectors *v) {
        char file[256], path[4096];
        size_t inp_len, out_len, n_out = 0;
        char *p, *end;
        int r;

        *v = (Vectors){};
        snprintf(file, sizeof file, VOCAB_DIR "ggml-vocab-%s.gguf.inp", name);
        r = testdata_path(file, path, sizeof path);
        if (r >= 0)
                r = file_read_all(path, 1 << 20, &v->inp, &inp_len);
        if (r < 0)
                return r;
        snprintf(file, sizeof file, VOCAB_DIR "ggml-vocab-%s.gguf.out", name);
        r = testdata_path(file, path, sizeof path);
        if (r >= 0)
                r = file_read_all(path, 1 << 20, &v->out, &out_len);
        if (r < 0)
                return r;

        /* each test string is followed by the separator line */
        for (p = v->inp, end = v->inp + inp_len; p < end && v->n < ELEMENTSOF(v->text);) {
                char *sep = memmem(p, (size_t) (end - p), SEPARATOR, strlen(SEPARATOR));

                if (!sep) {
                        /* the first string may be empty: then the file starts with the separator minus its \n */
                        break;
                }
                v->text[v->n] = p;
                v->len[v->n] = (size_t) (sep - p);
                v->n++;
                p = sep + strlen(SEPARATOR);
        }
        for (p = v->out; *p && n_out < ELEMENTSOF(v->expected);) {
                char *nl = strchr(p, '\n');

                v->expected[n_out++] = p;
                if (!nl)
                        break;
                *nl = 0;
                p = nl + 1;
        }
        if (n_out != v->n) {
                printf("# %s: %zu test strings but %zu expected lines\n", name, v->n, n_out);
                return -EBADMSG;
        }
        return 0;
}

/* Prints ids as " 1 2 3" into buf. */
static void format_ids(const int32_t *ids, size_t n, char *buf, size_t size) {
        size_t j = 0;

        buf[0] = 0;
        for (size_t i = 0; i < n && j + 16 < size; i++)
                j += (size_t) snprintf(buf + j, size - j, " %d", ids[i]);
}

/* Encodes every test string with add_special = parse_special = false; returns how many differ. */
static unsigned check_vectors(const char *name) {
        _cleanup_tokenizer_free_ Tokenizer *t = NULL;
        Vectors v;
        unsigned bad = 0;

        if (load_vocab(name, &t) < 0 || load_vectors(name, &v) < 0) {
                vectors_done(&v);
                return 1000;
        }
        for (size_t i = 0; i < v.n; i++) {
                _cleanup_free_ int32_t *ids = NULL;
                char got[8192];
                size_t n;

                if (tokenizer_encode(t, v.text[i], v.len[i], 0, &ids, &n) < 0) {
                        printf("# %s string %zu: encode failed\n", name, i);
                        bad++;
                        continue;
                }
                format_ids(ids, n, got, sizeof got);
                if (!streq(got, v.expected[i])) {
                        printf("# %s string %zu (%zu bytes): expected \"%s\", got \"%s\"\n", name, i, v.len[i],
                               v.expected[i], got);
                        bad++;
                }
        }
        if (v.n < 40) {
                printf("# %s: only %zu test strings found\n", name, v.n);
                bad++;
        }
        vectors_done(&v);
        return bad;
}

TEST(vectors_llama_spm) {
        ASSERT_EQ(check_vectors("llama-spm"), 0);
}

TEST(vectors_gpt2) {
        ASSERT_EQ(check_vectors("gpt-2"), 0);
}

TEST(vectors_deepseek_coder) {
        ASSERT_EQ(check_vectors("deepseek-coder"), 0);
}

/* decode(encode(x)) == x for each test string, with and without special-token parsing. */
static unsigned check_roundtrip(const char *name) {
        _cleanup_tokenizer_free_ Tokenizer *t = NULL;
        Vectors v;
        unsigned bad = 0;

        if (load_vocab(name, &t) < 0 || load_vectors(name, &v) < 0) {
                vectors_done(&v);
                return 1000;
        }
        for (size_t i = 0; i < v.n; i++)
                for (unsigned parse = 0; parse < 2; parse++) {
                        _cleanup_free_ int32_t *ids = NULL;
                        _cleanup_free_ char *text = NULL;
                        size_t n, len;

                        if (tokenizer_encode(t, v.text[i], v.len[i], parse ? TOKENIZER_PARSE_SPECIAL : 0, &ids, &n) <
                                    0 ||
                            tokenizer_decode(t, ids, n, TOKENIZER_DECODE_SPECIAL | TOKENIZER_DECODE_STRIP_SPACE, &text,
                                             &len) < 0) {
                                bad++;
                                continue;
                        }
                        if (len != v.len[i] || memcmp(text, v.text[i], len) != 0) {
                                printf("# %s string %zu does not round-trip: \"%s\"\n", name, i, text);
                                bad++;
                        }
                }
        vectors_done(&v);
        return bad;
}

TEST(roundtrip_llama_spm) {
        ASSERT_EQ(check_roundtrip("llama-spm"), 0);
}

TEST(roundtrip_gpt2) {
        ASSERT_EQ(check_roundtrip("gpt-2"), 0);
}

TEST(roundtrip_deepseek_coder) {
        ASSERT_EQ(check_roundtrip("deepseek-coder"), 0);
}

/* Encodes text and compares with the expected ids. */
static bool encodes_to(const Tokenizer *t, const char *text, unsigned flags, const int32_t *want, size_t n_want) {
        _cleanup_free_ int32_t *ids = NULL;
        char got[4096], exp[4096];
        size_t n;

        if (tokenizer_encode(t, text, strlen(text), flags, &ids, &n) < 0)
                return false;
        format_ids(ids, n, got, sizeof got);
        format_ids(want, n_want, exp, sizeof exp);
        if (!streq(got, exp)) {
                printf("# \"%s\" (flags %u): expected \"%s\", got \"%s\"\n", text, flags, exp, got);
                return false;
        }
        return true;
}

#define ENCODES_TO(t, text, flags, ...)                                                                               \
        ({                                                                                                            \
                const int32_t _w_[] = { __VA_ARGS__ };                                                                \
                encodes_to(t, text, flags, _w_, ELEMENTSOF(_w_));                                                     \
        })

TEST(special_tokens_spm) {
        _cleanup_tokenizer_free_ Tokenizer *t = NULL;

        ASSERT_OK(load_vocab("llama-spm", &t));
        ASSERT_EQ(tokenizer_model(t), TOKENIZER_MODEL_SPM);
        ASSERT_EQ(tokenizer_n_vocab(t), 32000);
        ASSERT_EQ(tokenizer_bos(t), 1);
        ASSERT_EQ(tokenizer_eos(t), 2);
        ASSERT_EQ(tokenizer_unk(t), 0);
        ASSERT_TRUE(tokenizer_add_bos(t));
        ASSERT_FALSE(tokenizer_add_eos(t));
        ASSERT_TRUE(tokenizer_is_eog(t, 2));
        ASSERT_FALSE(tokenizer_is_eog(t, 1));
        ASSERT_FALSE(tokenizer_is_eog(t, -1));
        ASSERT_FALSE(tokenizer_is_eog(t, 32000));
        ASSERT_EQ(tokenizer_token_type(t, 0), TOKEN_TYPE_UNKNOWN);
        ASSERT_EQ(tokenizer_token_type(t, 1), TOKEN_TYPE_CONTROL);
        ASSERT_EQ(tokenizer_token_type(t, 3), TOKEN_TYPE_BYTE);
        ASSERT_EQ(tokenizer_token_type(t, 15043), TOKEN_TYPE_NORMAL);
        ASSERT_ERROR(tokenizer_token_type(t, 32000), -EINVAL);

        /* add_special puts BOS in front; parse_special turns "<s>" and "</s>" into their ids, and the text after a
         * special token gets its own space prefix */
        ASSERT_TRUE(ENCODES_TO(t, "Hello", TOKENIZER_ADD_SPECIAL, 1, 15043));
        ASSERT_TRUE(ENCODES_TO(t, "", TOKENIZER_ADD_SPECIAL, 1));
        ASSERT_TRUE(ENCODES_TO(t, "<s>Hello</s>", TOKENIZER_PARSE_SPECIAL, 1, 15043, 2));
        ASSERT_TRUE(ENCODES_TO(t, "Hello</s>Hello", TOKENIZER_PARSE_SPECIAL, 15043, 2, 15043));
        /* without parse_special the same text is plain text: no control ids */
        {
                _cleanup_free_ int32_t *ids = NULL;
                size_t n;

                ASSERT_OK(tokenizer_encode(t, "<s>Hello</s>", 12, 0, &ids, &n));
                ASSERT_TRUE(n > 3);
                for (size_t i = 0; i < n; i++)
                        ASSERT_TRUE(ids[i] > 2);
        }
        /* unknown flags */
        {
                int32_t *ids = (int32_t *) 0x1;
                size_t n = 77;

                ASSERT_ERROR(tokenizer_encode(t, "x", 1, 1u << 7, &ids, &n), -EINVAL);
                ASSERT_TRUE(ids == (int32_t *) 0x1 && n == 77); /* ret_ untouched on failure */
        }
}

TEST(special_tokens_bpe) {
        _cleanup_tokenizer_free_ Tokenizer *gpt2 = NULL, *ds = NULL;

        ASSERT_OK(load_vocab("gpt-2", &gpt2));
        ASSERT_EQ(tokenizer_model(gpt2), TOKENIZER_MODEL_BPE);
        ASSERT_STREQ(tokenizer_pre_name(gpt2), "gpt-2");
        ASSERT_EQ(tokenizer_bos(gpt2), 50256);
        ASSERT_EQ(tokenizer_eot(gpt2), 50256);
        ASSERT_TRUE(tokenizer_is_eog(gpt2, 50256));
        ASSERT_FALSE(tokenizer_add_bos(gpt2));
        ASSERT_TRUE(ENCODES_TO(gpt2, "Hello<|endoftext|>", TOKENIZER_PARSE_SPECIAL, 15496, 50256));
        ASSERT_TRUE(
                ENCODES_TO(gpt2, "Hello<|endoftext|>", TOKENIZER_ADD_SPECIAL, 15496, 27, 91, 437, 1659, 5239, 91, 29));
        /* longest match first: the special token wins over its text inside a longer run */
        ASSERT_TRUE(ENCODES_TO(gpt2, "<|endoftext|><|endoftext|>", TOKENIZER_PARSE_SPECIAL, 50256, 50256));

        ASSERT_OK(load_vocab("deepseek-coder", &ds));
        ASSERT_STREQ(tokenizer_pre_name(ds), "deepseek-coder");
        ASSERT_TRUE(tokenizer_add_bos(ds));
        ASSERT_EQ(tokenizer_bos(ds), 32013);
        ASSERT_TRUE(tokenizer_is_eog(ds, 32014));
        /* user-defined tokens are split out even without parse_special; control tokens only with it */
        ASSERT_EQ(tokenizer_token_type(ds, 32019), TOKEN_TYPE_USER_DEFINED);
        ASSERT_TRUE(ENCODES_TO(ds, "<|User|>", 0, 32019));
        ASSERT_TRUE(ENCODES_TO(ds, "a<|User|>b", TOKENIZER_ADD_SPECIAL, 32013, 64, 32019, 65));
        ASSERT_TRUE(ENCODES_TO(ds, "<\uff5cbegin\u2581of\u2581sentence\uff5c>", TOKENIZER_PARSE_SPECIAL, 32013));
}

TEST(pieces) {
        _cleanup_tokenizer_free_ Tokenizer *spm = NULL, *gpt2 = NULL;
        const char *p;
        size_t n;

        ASSERT_OK(load_vocab("llama-spm", &spm));
        ASSERT_OK(tokenizer_token_piece(spm, 15043, 0, &p, &n)); /* "▁Hello" */
        ASSERT_UEQ(n, 6);
        ASSERT_MEMEQ(p, " Hello", 6);
        ASSERT_OK(tokenizer_token_piece(spm, 3 + 0x0A, 0, &p, &n)); /* <0x0A> */
        ASSERT_UEQ(n, 1);
        ASSERT_EQ(p[0], '\n');
        ASSERT_OK(tokenizer_token_piece(spm, 1, 0, &p, &n)); /* control: hidden */
        ASSERT_UEQ(n, 0);
        ASSERT_OK(tokenizer_token_piece(spm, 1, TOKENIZER_DECODE_SPECIAL, &p, &n));
        ASSERT_UEQ(n, 3);
        ASSERT_MEMEQ(p, "<s>", 3);
        ASSERT_ERROR(tokenizer_token_piece(spm, 32000, 0, &p, &n), -EINVAL);
        ASSERT_ERROR(tokenizer_token_piece(spm, -1, 0, &p, &n), -EINVAL);
        ASSERT_ERROR(tokenizer_token_piece(spm, 1, 1u << 5, &p, &n), -EINVAL);

        ASSERT_OK(load_vocab("gpt-2", &gpt2));
        ASSERT_OK(tokenizer_token_piece(gpt2, 18435, 0, &p, &n)); /* "ĠHello" */
        ASSERT_UEQ(n, 6);
        ASSERT_MEMEQ(p, " Hello", 6);
        ASSERT_OK(tokenizer_token_piece(gpt2, 198, 0, &p, &n)); /* "Ċ" */
        ASSERT_UEQ(n, 1);
        ASSERT_EQ(p[0], '\n');
        {
                _cleanup_free_ char *text = NULL;
                const int32_t ids[] = { 15496, 50256, 995 };
                size_t len;

                ASSERT_OK(tokenizer_decode(gpt2, ids, 3, 0, &text, &len));
                ASSERT_STREQ(text, "Hello world");
                text = mfree(text);
                ASSERT_OK(tokenizer_decode(gpt2, ids, 3, TOKENIZER_DECODE_SPECIAL, &text, &len));
                ASSERT_STREQ(text, "Hello<|endoftext|> world");
        }
}

/* Streams ids through a detokenizer: every chunk must be valid UTF-8, and all of them together the text. Returns
 * how many pushes held something back. */
static int stream_text(const Tokenizer *t, const char *text, unsigned dflags, unsigned *ret_held) {
        _cleanup_detokenizer_free_ Detokenizer *d = NULL;
        _cleanup_free_ int32_t *ids = NULL;
        char out[4096];
        size_t n, j = 0;
        unsigned held = 0;
        int r;

        r = tokenizer_encode(t, text, strlen(text), 0, &ids, &n);
        if (r < 0)
                return r;
        r = detokenizer_new(t, dflags, &d);
        if (r < 0)
                return r;
        for (size_t i = 0; i <= n; i++) {
                const char *chunk, *piece;
                size_t len, plen;

                if (i < n) {
                        r = detokenizer_push(d, ids[i], &chunk, &len);
                        (void) tokenizer_token_piece(t, ids[i], 0, &piece, &plen);
                        if (!unicode_utf8_valid(piece, plen))
                                held++;
                } else
                        r = detokenizer_flush(d, &chunk, &len);
                if (r < 0)
                        return r;
                if (!unicode_utf8_valid(chunk, len) || j + len >= sizeof out)
                        return -EBADMSG;
                memcpy(out + j, chunk, len);
                j += len;
        }
        out[j] = 0;
        if (!streq(out, text)) {
                printf("# streamed \"%s\", expected \"%s\"\n", out, text);
                return -EBADMSG;
        }
        *ret_held = held;
        return 0;
}

TEST(detokenizer_split_characters) {
        _cleanup_tokenizer_free_ Tokenizer *spm = NULL, *gpt2 = NULL;
        const char *text =
                "Hi \xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\xa6\x99 llama \xf0\x9f\x98\x81!"
                " \xe6\x88\x91\xe6\x83\xb3\xe5\x9c\xa8\xe5\xb7\xa5\xe4\xbd\x9c";
        unsigned held;

        ASSERT_OK(load_vocab("gpt-2", &gpt2));
        ASSERT_OK(stream_text(gpt2, text, 0, &held));
        ASSERT_TRUE(held > 0); /* some pieces were partial characters */
        ASSERT_OK(load_vocab("llama-spm", &spm));
        ASSERT_OK(stream_text(spm, text, TOKENIZER_DECODE_STRIP_SPACE, &held));
        ASSERT_TRUE(held > 0); /* the emoji go through <0xXX> byte tokens */
}

/* Pushes SPM byte tokens (id 3 + byte) and returns the concatenated output after flush. */
static int stream_bytes(const Tokenizer *t, const uint8_t *bytes, size_t n, char *out, size_t size,
                        size_t *ret_before_flush) {
        _cleanup_detokenizer_free_ Detokenizer *d = NULL;
        size_t j = 0;
        int r;

        r = detokenizer_new(t, 0, &d);
        if (r < 0)
                return r;
        for (size_t i = 0; i <= n; i++) {
                const char *chunk;
                size_t len;

                if (i == n)
                        *ret_before_flush = j;
                r = i < n ? detokenizer_push(d, 3 + bytes[i], &chunk, &len) : detokenizer_flush(d, &chunk, &len);
                if (r < 0)
                        return r;
                if (j + len >= size)
                        return -ENOBUFS;
                memcpy(out + j, chunk, len);
                j += len;
        }
        out[j] = 0;
        return 0;
}

TEST(detokenizer_invalid_bytes) {
        _cleanup_tokenizer_free_ Tokenizer *t = NULL;
        char out[64];
        size_t before;

        ASSERT_OK(load_vocab("llama-spm", &t));
        /* an emoji in four byte tokens: nothing until the last one */
        ASSERT_OK(stream_bytes(t, (const uint8_t[]){ 0xF0, 0x9F, 0xA6, 0x99 }, 4, out, sizeof out, &before));
        ASSERT_STREQ(out, "\xf0\x9f\xa6\x99");
        ASSERT_UEQ(before, 4);
        /* bytes that can never be valid are replaced at once */
        ASSERT_OK(stream_bytes(t, (const uint8_t[]){ 0xFF, 'a', 0xC0, 0x80 }, 4, out, sizeof out, &before));
        ASSERT_STREQ(out, UNICODE_REPLACEMENT_UTF8 "a" UNICODE_REPLACEMENT_UTF8 UNICODE_REPLACEMENT_UTF8);
        ASSERT_UEQ(before, strlen(out));
        /* a truncated sequence followed by ASCII: one U+FFFD for the maximal subpart */
        ASSERT_OK(stream_bytes(t, (const uint8_t[]){ 0xE4, 0xBD, 'b' }, 3, out, sizeof out, &before));
        ASSERT_STREQ(out, UNICODE_REPLACEMENT_UTF8 "b");
        /* held back at the end of the stream: the flush replaces it */
        ASSERT_OK(stream_bytes(t, (const uint8_t[]){ 'c', 0xE4, 0xBD }, 3, out, sizeof out, &before));
        ASSERT_STREQ(out, "c" UNICODE_REPLACEMENT_UTF8);
        ASSERT_UEQ(before, 1);
        /* surrogates are ill-formed */
        ASSERT_OK(stream_bytes(t, (const uint8_t[]){ 0xED, 0xA0, 0x80 }, 3, out, sizeof out, &before));
        ASSERT_STREQ(out, UNICODE_REPLACEMENT_UTF8 UNICODE_REPLACEMENT_UTF8 UNICODE_REPLACEMENT_UTF8);
}

TEST(detokenizer_errors) {
        _cleanup_tokenizer_free_ Tokenizer *t = NULL;
        _cleanup_detokenizer_free_ Detokenizer *d = NULL;
        const char *chunk;
        size_t len;

        ASSERT_OK(load_vocab("llama-spm", &t));
        ASSERT_ERROR(detokenizer_new(t, 1u << 4, &d), -EINVAL);
        ASSERT_OK(detokenizer_new(t, 0, &d));
        ASSERT_OK(detokenizer_push(d, 3 + 0xE4, &chunk, &len));
        ASSERT_UEQ(len, 0);
        ASSERT_ERROR(detokenizer_push(d, 32000, &chunk, &len), -EINVAL);
        ASSERT_OK(detokenizer_push(d, 3 + 0xBD, &chunk, &len));
        ASSERT_OK(detokenizer_push(d, 3 + 0xA0, &chunk, &len));
        ASSERT_STREQ(chunk, "\xe4\xbd\xa0"); /* the bad id changed nothing */
        ASSERT_NULL(detokenizer_free(NULL));
        ASSERT_NULL(tokenizer_free(NULL));
}

/* Encodes and decodes text, which must come back byte for byte. */
static bool roundtrips(const Tokenizer *t, const char *text, size_t len) {
        _cleanup_free_ int32_t *ids = NULL;
        _cleanup_free_ char *back = NULL;
        size_t n, blen;

        if (tokenizer_encode(t, text, len, 0, &ids, &n) < 0 ||
            tokenizer_decode(t, ids, n, TOKENIZER_DECODE_SPECIAL | TOKENIZER_DECODE_STRIP_SPACE, &back, &blen) < 0)
                return false;
        return blen == len && memcmp(back, text, len) == 0;
}

TEST(ill_formed_utf8_and_nul) {
        static const char bad[] = "\xff\xfe a\xe4\xbd \xc0\x80 \xed\xa0\x80 ok \xf4\x90\x80\x80 \x00 end\xe4";
        /* deepseek-coder's vocabulary has user-defined tokens (raw "\xc3\xbf" etc.) where the byte-level characters
         * of the bytes C0, C1 and F5..FF would be, so those bytes cannot come back: leave them out */
        static const char bad_ds[] =
                "\xe4\xbd a\x80\xbf \xed\xa0\x80 ok \xf4\x90\x80\x80 \x00 \xe0\x80 end\xf0\x9f\xa6";
        _cleanup_tokenizer_free_ Tokenizer *spm = NULL, *gpt2 = NULL, *ds = NULL;

        ASSERT_OK(load_vocab("llama-spm", &spm));
        ASSERT_OK(load_vocab("gpt-2", &gpt2));
        ASSERT_OK(load_vocab("deepseek-coder", &ds));
        ASSERT_TRUE(roundtrips(spm, bad, sizeof bad - 1));
        ASSERT_TRUE(roundtrips(gpt2, bad, sizeof bad - 1));
        ASSERT_TRUE(roundtrips(ds, bad_ds, sizeof bad_ds - 1));
}

/* Long runs of one character: merge queues, not quadratic scans (a quadratic tokenizer takes minutes here). */
TEST(long_repeated_input) {
        static const char *const units[] = { "a", " ", "\n", "\xf0\x9f\xa6\x99", "3", "!", "\xe4\xbd\xa0", "ab " };
        _cleanup_tokenizer_free_ Tokenizer *spm = NULL, *gpt2 = NULL, *ds = NULL;
        const size_t total = 256 * 1024;
        _cleanup_free_ char *text = malloc(total);

        ASSERT_NOT_NULL(text);
        ASSERT_OK(load_vocab("llama-spm", &spm));
        ASSERT_OK(load_vocab("gpt-2", &gpt2));
        ASSERT_OK(load_vocab("deepseek-coder", &ds));
        for (size_t u = 0; u < ELEMENTSOF(units); u++) {
                size_t ul = strlen(units[u]), len = 0;

                while (len + ul <= total) {
                        memcpy(text + len, units[u], ul);
                        len += ul;
                }
                ASSERT_TRUE(roundtrips(spm, text, len));
                ASSERT_TRUE(roundtrips(gpt2, text, len));
                ASSERT_TRUE(roundtrips(ds, text, len));
        }
}

TEST(input_limit) {
        _cleanup_tokenizer_free_ Tokenizer *t = NULL;
        _cleanup_free_ int32_t *ids = NULL;
        size_t n;

        ASSERT_OK(load_vocab("gpt-2", &t));
        ASSERT_UEQ(tokenizer_max_input(t), TOKENIZER_MAX_INPUT_DEFAULT);
        ASSERT_ERROR(tokenizer_set_max_input(t, 0), -EINVAL);
        ASSERT_ERROR(tokenizer_set_max_input(t, TOKENIZER_MAX_INPUT_LIMIT + 1), -EINVAL);
        ASSERT_OK(tokenizer_set_max_input(t, 10));
        ASSERT_ERROR(tokenizer_encode(t, "01234567890", 11, 0, &ids, &n), -E2BIG);
        ASSERT_OK(tokenizer_encode(t, "0123456789", 10, 0, &ids, &n));
        ASSERT_TRUE(n > 0);
        ids = mfree(ids);
        ASSERT_OK(tokenizer_encode(t, NULL, 0, 0, &ids, &n));
        ASSERT_UEQ(n, 0);
        ASSERT_ERROR(tokenizer_encode(t, NULL, 1, 0, &ids, &n), -EINVAL);
}

/* A small vocabulary written as a GGUF file, with a hook that edits the metadata before writing. */
typedef struct MiniVocab {
        const char *model; /* NULL: leave tokenizer.ggml.model out */
        const char *pre;   /* NULL: leave out */
        const char *const *tokens;
        size_t n_tokens;
        const float *scores; /* NULL: leave out */
        size_t n_scores;
        const int32_t *types; /* NULL: leave out */
        size_t n_types;
        const char *const *merges; /* NULL: leave out */
        size_t n_merges;
        int64_t bos; /* < -1: leave out; else written as uint32 (or int32 when negative) */
        bool add_bos, set_add_bos;
} MiniVocab;

static int mini_open(const MiniVocab *m, Tokenizer **ret, char *err, size_t errsz) {
        _cleanup_gguf_writer_free_ GgufWriter *w = NULL;
        _cleanup_gguf_close_ Gguf *g = NULL;
        char path[512], gerr[256];
        static unsigned counter;
        int r;

        snprintf(path, sizeof path, "%s/mini-%u.gguf", test_tmpdir(), counter++);
        r = gguf_writer_new(&w);
        if (r < 0)
                return r;
        if (m->model)
                r = gguf_writer_add_str(w, "tokenizer.ggml.model", m->model);
        if (r >= 0 && m->pre)
                r = gguf_writer_add_str(w, "tokenizer.ggml.pre", m->pre);
        if (r >= 0 && m->tokens)
                r = gguf_writer_add_str_array(w, "tokenizer.ggml.tokens", m->tokens, m->n_tokens);
        if (r >= 0 && m->scores)
                r = gguf_writer_add_array(w, "tokenizer.ggml.scores", GGUF_VALUE_FLOAT32, m->scores, m->n_scores);
        if (r >= 0 && m->types)
                r = gguf_writer_add_array(w, "tokenizer.ggml.token_type", GGUF_VALUE_INT32, m->types, m->n_types);
        if (r >= 0 && m->merges)
                r = gguf_writer_add_str_array(w, "tokenizer.ggml.merges", m->merges, m->n_merges);
        if (r >= 0 && m->bos >= 0)
                r = gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t) m->bos);
        if (r >= 0 && m->bos == -1)
                r = gguf_writer_add_i32(w, "tokenizer.ggml.bos_token_id", -1);
        if (r >= 0 && m->set_add_bos)
                r = gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token", m->add_bos);
        if (r >= 0)
                r = gguf_writer_write(w, path);
        if (r >= 0)
                r = gguf_open(path, &g, gerr, sizeof gerr);
        if (r < 0) {
                printf("# writing %s failed: %s\n", path, gguf_writer_error(w));
                return -EIO; /* not what any check below expects */
        }
        err[0] = 0;
        return tokenizer_new_from_gguf(g, ret, err, errsz);
}

static const char *const mini_spm_tokens[] = { "<unk>", "<s>",      "</s>", "<0x41>", "<0x0A>", "\u2581", "a",     "b",
                                               "ab",    "\u2581ab", "c",    "bc",     "<0xE4>", "<0xBD>", "<0xA0>" };
static const float mini_spm_scores[] = { 0, 0, 0, 0, 0, -5, -3, -3, -1, -2, -3, -0.5f, 0, 0, 0 };
static const int32_t mini_spm_types[] = { 2, 3, 3, 6, 6, 1, 1, 1, 1, 1, 1, 1, 6, 6, 6 };

static MiniVocab mini_spm(void) {
        return (MiniVocab){ .model = "llama",
                            .tokens = mini_spm_tokens,
                            .n_tokens = ELEMENTSOF(mini_spm_tokens),
                            .scores = mini_spm_scores,
                            .n_scores = ELEMENTSOF(mini_spm_scores),
                            .types = mini_spm_types,
                            .n_types = ELEMENTSOF(mini_spm_types),
                            .bos = -2 };
}

TEST(mini_spm_merges_by_score) {
        _cleanup_tokenizer_free_ Tokenizer *t = NULL;
        MiniVocab m = mini_spm();
        char err[256];

        ASSERT_OK(mini_open(&m, &t, err, sizeof err));
        /* "▁abc": "bc" (-0.5) beats "ab" (-1); then "▁" + "a" is not a token: ▁ a bc */
        ASSERT_TRUE(ENCODES_TO(t, "abc", 0, 5, 6, 11));
        /* "▁ab": "ab" first, then "▁ab" (-2) */
        ASSERT_TRUE(ENCODES_TO(t, "ab", 0, 9));
        /* A has a byte token, Z has none: UNK; 你 (E4 BD A0) goes through byte tokens */
        ASSERT_TRUE(ENCODES_TO(t, "AZ\xe4\xbd\xa0", 0, 5, 3, 0, 12, 13, 14));
        ASSERT_TRUE(ENCODES_TO(t, "a", TOKENIZER_ADD_SPECIAL, 1, 5, 6));
}

/* A token with U+2581 after another character ("b▁") can span two words: then words cannot be merged one by one. */
TEST(mini_spm_token_across_words) {
        static const char *const tokens[] = { "<unk>", "<s>", "</s>",     "\u2581",  "a",       "b",
                                              "c",     "ab",  "\u2581ab", "b\u2581", "b\u2581c" };
        static const float scores[] = { 0, 0, 0, -5, -3, -3, -3, -1, -2, -0.1f, 0 };
        static const int32_t types[] = { 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 };
        _cleanup_tokenizer_free_ Tokenizer *t = NULL;
        MiniVocab m = { .model = "llama",
                        .tokens = tokens,
                        .n_tokens = ELEMENTSOF(tokens),
                        .scores = scores,
                        .n_scores = ELEMENTSOF(scores),
                        .types = types,
                        .n_types = ELEMENTSOF(types),
                        .bos = -2 };
        char err[256];

        ASSERT_OK(mini_open(&m, &t, err, sizeof err));
        /* "▁ab▁c": "b▁" (-0.1) before "ab" (-1), then "b▁c" (0): ▁ a b▁c; word by word it would be ▁ab ▁ c */
        ASSERT_TRUE(ENCODES_TO(t, "ab c", 0, 3, 4, 10));
        ASSERT_TRUE(ENCODES_TO(t, "ab", 0, 8));
}

TEST(malformed_vocabularies) {
        static const char *const bpe_tokens[] = { "a", "b", "ab", "<|end|>" };
        static const char *const bpe_merges[] = { "a b" };
        static const char *const bad_merge[] = { "a c" };
        static const char *const no_space[] = { "ab" };
        static const char *const dup_tokens[] = { "a", "b", "a" };
        static const int32_t four_types[] = { 1, 1, 1, 3 };
        _cleanup_tokenizer_free_ Tokenizer *t = NULL;
        MiniVocab m;
        char err[256];

        m = mini_spm();
        m.model = NULL;
        ASSERT_ERROR(mini_open(&m, &t, err, sizeof err), -ENOENT);
        ASSERT_CONTAINS(err, "tokenizer.ggml.model");

        m = mini_spm();
        m.model = "wordpiece";
        ASSERT_ERROR(mini_open(&m, &t, err, sizeof err), -EOPNOTSUPP);
        ASSERT_CONTAINS(err, "\"wordpiece\"");

        m = (MiniVocab){ .model = "gpt2",
                         .pre = "gpt-2",
                         .tokens = bpe_tokens,
                         .n_tokens = 4,
                         .merges = bpe_merges,
                         .n_merges = 1,
                         .types = four_types,
                         .n_types = 4,
                         .bos = -2 };
        ASSERT_OK(mini_open(&m, &t, err, sizeof err));
        ASSERT_TRUE(ENCODES_TO(t, "ab<|end|>", TOKENIZER_PARSE_SPECIAL, 2, 3));
        ASSERT_TRUE(tokenizer_is_eog(t, 3)); /* recognised by its text */
        t = tokenizer_free(t);

        m.pre = "no-such-pre";
        ASSERT_ERROR(mini_open(&m, &t, err, sizeof err), -EOPNOTSUPP);
        ASSERT_CONTAINS(err, "\"no-such-pre\"");
        m.pre = "gpt-2";

        m.merges = NULL;
        ASSERT_ERROR(mini_open(&m, &t, err, sizeof err), -ENOENT);
        ASSERT_CONTAINS(err, "tokenizer.ggml.merges");
        m.merges = bad_merge;
        ASSERT_ERROR(mini_open(&m, &t, err, sizeof err), -EBADMSG);
        ASSERT_CONTAINS(err, "merges[0]");
        m.merges = no_space;
        ASSERT_ERROR(mini_open(&m, &t, err, sizeof err), -EBADMSG);
        ASSERT_CONTAINS(err, "not two tokens");
        m.merges = bpe_merges;

        m.bos = 4;
        ASSERT_ERROR(mini_open(&m, &t, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "bos_token_id = 4 is out of range");
        m.bos = -1;
        ASSERT_ERROR(mini_open(&m, &t, err, sizeof err), -ERANGE);
        ASSERT_CONTAINS(err, "bos_token_id");
        m.bos = -2;
        m.set_add_bos = true, m.add_bos = true;
        ASSERT_ERROR(mini_open(&m, &t, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "no BOS token");
        m.set_add_bos = false;

        m.n_types = 3;
        ASSERT_ERROR(mini_open(&m, &t, err, sizeof err), -EBADMSG);
        ASSERT_CONTAINS(err, "tokenizer.ggml.token_type has 3 entries for 4 tokens");
        m.n_types = 4;

        m.tokens = dup_tokens, m.n_tokens = 3, m.types = NULL;
        ASSERT_ERROR(mini_open(&m, &t, err, sizeof err), -EBADMSG);
        ASSERT_CONTAINS(err, "duplicates token 0");

        m = mini_spm();
        m.n_scores = 3;
        ASSERT_ERROR(mini_open(&m, &t, err, sizeof err), -EBADMSG);
        ASSERT_CONTAINS(err, "tokenizer.ggml.scores");

        m = mini_spm();
        m.tokens = NULL;
        ASSERT_ERROR(mini_open(&m, &t, err, sizeof err), -ENOENT);
        ASSERT_CONTAINS(err, "tokenizer.ggml.tokens");

        m = mini_spm();
        m.n_tokens = 0, m.n_scores = 0, m.n_types = 0;
        ASSERT_ERROR(mini_open(&m, &t, err, sizeof err), -EBADMSG);
        ASSERT_CONTAINS(err, "has 0 tokens");
        ASSERT_NULL(t);
}
