/* fuzz-tokenizer.c: encode arbitrary bytes with the gpt-2 and llama-spm vocabularies; decode and stream them back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "macro.h"
#include "testdata.h"
#include "tokenizer.h"
#include "unicode.h"

#define SPACE_ESCAPE "\xe2\x96\x81" /* U+2581, which SentencePiece vocabularies use for ' ' */

static const char *const vocab_names[] = { "gpt-2", "llama-spm" };
static Tokenizer *tokenizers[ELEMENTSOF(vocab_names)];

static void free_tokenizers(void) {
        for (size_t i = 0; i < ELEMENTSOF(tokenizers); i++)
                tokenizers[i] = tokenizer_free(tokenizers[i]);
}

/* The vocabulary file: in $SLUICE_FUZZ_VOCAB_DIR, else where testdata_path() finds shared test data. */
static int vocab_path(const char *name, char *buf, size_t size) {
        const char *dir = getenv("SLUICE_FUZZ_VOCAB_DIR");
        char file[128];

        if (!isempty(dir)) {
                snprintf(buf, size, "%s/ggml-vocab-%s.gguf", dir, name);
                return 0;
        }
        snprintf(file, sizeof file, "llama.cpp-vocab/ggml-vocab-%s.gguf", name);
        return testdata_path(file, buf, size);
}

/* Loads the vocabularies once; a missing file is fatal, never a silent pass. */
static void load_tokenizers(void) {
        if (tokenizers[0])
                return;
        for (size_t i = 0; i < ELEMENTSOF(vocab_names); i++) {
                _cleanup_gguf_close_ Gguf *g = NULL;
                char path[4096], err[256] = "";
                int r;

                r = vocab_path(vocab_names[i], path, sizeof path);
                if (r >= 0)
                        r = gguf_open(path, &g, err, sizeof err);
                if (r >= 0)
                        r = tokenizer_new_from_gguf(g, &tokenizers[i], err, sizeof err);
                if (r < 0) {
                        fprintf(stderr, "fuzz-tokenizer: cannot load the %s vocabulary: %s\n", vocab_names[i],
                                err[0] ? err : strerror(-r));
                        abort();
                }
        }
        atexit(free_tokenizers);
}

/* Streams ids through a Detokenizer: every chunk must be valid UTF-8; when tokenizer_decode() with the same flags
 * gives valid UTF-8, the stream must give exactly that. */
static void check_stream(const Tokenizer *t, const int32_t *ids, size_t n, unsigned dflags) {
        _cleanup_detokenizer_free_ Detokenizer *d = NULL;
        _cleanup_free_ char *decoded = NULL, *all = NULL;
        size_t decoded_len, j = 0;
        bool valid;

        if (tokenizer_decode(t, ids, n, dflags, &decoded, &decoded_len) < 0)
                abort();
        valid = unicode_utf8_valid(decoded, decoded_len);
        all = malloc(3 * decoded_len + 16);
        if (!all || detokenizer_new(t, dflags, &d) < 0)
                abort();
        for (size_t i = 0; i <= n; i++) {
                const char *chunk;
                size_t len;

                if ((i < n ? detokenizer_push(d, ids[i], &chunk, &len) : detokenizer_flush(d, &chunk, &len)) < 0)
                        abort();
                if (!unicode_utf8_valid(chunk, len) || j + len > 3 * decoded_len + 16)
                        abort();
                memcpy(all + j, chunk, len);
                j += len;
        }
        if (valid && (j != decoded_len || memcmp(all, decoded, j) != 0))
                abort();
}

static void check_one(const Tokenizer *t, const char *text, size_t len, unsigned flags) {
        const unsigned dflags = TOKENIZER_DECODE_SPECIAL | TOKENIZER_DECODE_STRIP_SPACE;
        _cleanup_free_ int32_t *ids = NULL;
        _cleanup_free_ char *back = NULL;
        size_t n, blen;
        bool roundtrip;

        if (tokenizer_encode(t, text, len, flags, &ids, &n) < 0)
                abort();
        for (size_t i = 0; i < n; i++) {
                const char *p;
                size_t plen;

                if (tokenizer_token_piece(t, ids[i], 0, &p, &plen) < 0)
                        abort();
        }
        if (tokenizer_decode(t, ids, n, dflags, &back, &blen) < 0)
                abort();

        /* decode(encode(x)) == x for valid UTF-8, without the added BOS/EOS; SentencePiece turns a literal U+2581
         * into a space, so such text cannot come back there */
        roundtrip = !(flags & TOKENIZER_ADD_SPECIAL) && unicode_utf8_valid(text, len);
        if (tokenizer_model(t) == TOKENIZER_MODEL_SPM && memmem(text, len, SPACE_ESCAPE, 3))
                roundtrip = false;
        if (roundtrip && (blen != len || memcmp(back, text, len) != 0)) {
                fprintf(stderr, "fuzz-tokenizer: %s does not round-trip\n",
                        tokenizer_model(t) == TOKENIZER_MODEL_SPM ? "llama-spm" : "gpt-2");
                abort();
        }
        check_stream(t, ids, n, dflags);
        check_stream(t, ids, n, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        unsigned flags;

        load_tokenizers();
        if (size == 0)
                return 0;
        /* the first byte picks add_special / parse_special, the rest is the text */
        flags = data[0] & (TOKENIZER_ADD_SPECIAL | TOKENIZER_PARSE_SPECIAL);
        for (size_t i = 0; i < ELEMENTSOF(tokenizers); i++)
                check_one(tokenizers[i], (const char *) data + 1, size - 1, flags);
        return 0;
}
