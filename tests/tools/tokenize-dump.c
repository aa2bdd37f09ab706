/* tokenize-dump.c: prints sluice's token ids for each string of a corpus file as JSON lines (for tests/tokenizer/). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "gguf-write.h"
#include "gguf.h"
#include "tokenizer.h"
#include "unicode.h"

#define CORPUS_MAX ((size_t) 64 << 20)

static void usage(FILE *f) {
        fputs("usage: tokenize-dump [--parse-special] [--add-special] [--pre NAME] VOCAB.gguf CORPUS\n"
              "Tokenizes each string of CORPUS with the vocabulary of VOCAB.gguf and prints one JSON line per\n"
              "string: {\"line\":N,\"ids\":[...],\"roundtrip\":true|false}. CORPUS has one JSON string literal per\n"
              "line; empty lines and lines starting with # are skipped. roundtrip says whether decoding the ids\n"
              "(special tokens rendered, space prefix stripped) gives the string back. --pre replaces the\n"
              "file's tokenizer.ggml.pre (through a copy of its metadata in a temporary file), to run one\n"
              "vocabulary through other pre-tokenizers.\n",
              f);
}

static int hex4(const char *s, uint32_t *ret) {
        uint32_t v = 0;

        for (int i = 0; i < 4; i++) {
                char c = s[i];

                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= (uint32_t) (c - '0');
                else if (c >= 'a' && c <= 'f')
                        v |= (uint32_t) (c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        v |= (uint32_t) (c - 'A' + 10);
                else
                        return -EINVAL;
        }
        *ret = v;
        return 0;
}

/* Decodes the JSON string literal s[0..len) (quotes included) in place to out (at most len bytes). Rejects
 * anything but a single well-formed literal, and lone surrogates (-EINVAL). */
static int json_unquote(const char *s, size_t len, char *out, size_t *ret_len) {
        size_t i = 1, j = 0;

        if (len < 2 || s[0] != '"' || s[len - 1] != '"')
                return -EINVAL;
        while (i < len - 1) {
                uint32_t cp, lo;
                char c = s[i++];

                if (c == '"' || (uint8_t) c < 0x20)
                        return -EINVAL;
                if (c != '\\') {
                        out[j++] = c;
                        continue;
                }
                if (i >= len - 1)
                        return -EINVAL;
                c = s[i++];
                switch (c) {
                case '"':
                case '\\':
                case '/':
                        out[j++] = c;
                        continue;
                case 'b':
                        out[j++] = '\b';
                        continue;
                case 'f':
                        out[j++] = '\f';
                        continue;
                case 'n':
                        out[j++] = '\n';
                        continue;
                case 'r':
                        out[j++] = '\r';
                        continue;
                case 't':
                        out[j++] = '\t';
                        continue;
                case 'u':
                        break;
                default:
                        return -EINVAL;
                }
                if (i + 4 > len - 1 || hex4(s + i, &cp) < 0)
                        return -EINVAL;
                i += 4;
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                        return -EINVAL;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                        if (i + 6 > len - 1 || s[i] != '\\' || s[i + 1] != 'u' || hex4(s + i + 2, &lo) < 0 ||
                            lo < 0xDC00 || lo > 0xDFFF)
                                return -EINVAL;
                        i += 6;
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                /* a \u escape takes 6 or 12 bytes and encodes to at most 4: out never overtakes s */
                j += unicode_utf8_encode(cp, out + j);
        }
        *ret_len = j;
        return 0;
}

/* Copies metadata entry i of g to w, with string value pre instead for tokenizer.ggml.pre. */
static int copy_kv(const Gguf *g, size_t i, const char *pre, GgufWriter *w) {
        const char *key = gguf_kv_key(g, i);
        GgufValue v;
        int r;

        if (streq(key, "tokenizer.ggml.pre"))
                return gguf_writer_add_str(w, key, pre);
        r = gguf_kv_value(g, i, &v);
        if (r < 0)
                return r;
        switch (v.type) {
        case GGUF_VALUE_UINT8:
                return gguf_writer_add_u8(w, key, (uint8_t) v.u);
        case GGUF_VALUE_UINT16:
                return gguf_writer_add_u16(w, key, (uint16_t) v.u);
        case GGUF_VALUE_UINT32:
                return gguf_writer_add_u32(w, key, (uint32_t) v.u);
        case GGUF_VALUE_UINT64:
                return gguf_writer_add_u64(w, key, v.u);
        case GGUF_VALUE_INT8:
                return gguf_writer_add_i8(w, key, (int8_t) v.i);
        case GGUF_VALUE_INT16:
                return gguf_writer_add_i16(w, key, (int16_t) v.i);
        case GGUF_VALUE_INT32:
                return gguf_writer_add_i32(w, key, (int32_t) v.i);
        case GGUF_VALUE_INT64:
                return gguf_writer_add_i64(w, key, v.i);
        case GGUF_VALUE_FLOAT32:
                return gguf_writer_add_f32(w, key, (float) v.f);
        case GGUF_VALUE_FLOAT64:
                return gguf_writer_add_f64(w, key, v.f);
        case GGUF_VALUE_BOOL:
                return gguf_writer_add_bool(w, key, v.b);
        case GGUF_VALUE_STRING:
                return gguf_writer_add_strn(w, key, v.str.ptr, v.str.len);
        case GGUF_VALUE_ARRAY:
                break;
        default:
                return -EINVAL;
        }
        if (v.arr.type == GGUF_VALUE_STRING) {
                _cleanup_free_ const char **ptrs = calloc(v.arr.n + 1, sizeof(char *));
                _cleanup_free_ size_t *lens = calloc(v.arr.n + 1, sizeof(size_t));

                if (!ptrs || !lens)
                        return -ENOMEM;
                for (uint64_t k = 0; k < v.arr.n; k++) {
                        r = gguf_array_get_str(&v.arr, k, &ptrs[k], &lens[k]);
                        if (r < 0)
                                return r;
                }
                return gguf_writer_add_strn_array(w, key, ptrs, lens, v.arr.n);
        }
        _cleanup_free_ void *data = malloc(v.arr.size + 1);
        if (!data)
                return -ENOMEM;
        r = gguf_array_copy(&v.arr, data, v.arr.size);
        if (r < 0)
                return r;
        return gguf_writer_add_array(w, key, v.arr.type, data, v.arr.n);
}

/* Reopens *g as a copy of its metadata with tokenizer.ggml.pre = pre (written to a temporary file, removed). */
static int replace_pre(Gguf **g, const char *pre, char *err, size_t errsz) {
        _cleanup_gguf_writer_free_ GgufWriter *w = NULL;
        char path[] = "/tmp/tokenize-dump-XXXXXX";
        int fd, r;

        r = gguf_writer_new(&w);
        if (r < 0)
                return r;
        if (gguf_find_key(*g, "tokenizer.ggml.pre") < 0)
                r = gguf_writer_add_str(w, "tokenizer.ggml.pre", pre);
        for (size_t i = 0; r >= 0 && i < gguf_n_kv(*g); i++)
                if (!streq(gguf_kv_key(*g, i), "general.alignment"))
                        r = copy_kv(*g, i, pre, w);
        if (r < 0) {
                snprintf(err, errsz, "copying metadata: %s", gguf_writer_error(w));
                return r;
        }
        fd = mkstemp(path);
        if (fd < 0)
                return -errno;
        close(fd);
        r = gguf_writer_write(w, path);
        if (r >= 0) {
                *g = gguf_close(*g);
                r = gguf_open(path, g, err, errsz);
        }
        (void) unlink(path);
        return r;
}

static int dump_line(const Tokenizer *t, unsigned flags, size_t line_no, const char *text, size_t len) {
        _cleanup_free_ int32_t *ids = NULL;
        _cleanup_free_ char *back = NULL;
        size_t n, blen;
        int r;

        r = tokenizer_encode(t, text, len, flags, &ids, &n);
        if (r < 0) {
                fprintf(stderr, "tokenize-dump: line %zu: %s\n", line_no, strerror(-r));
                return r;
        }
        r = tokenizer_decode(t, ids, n, TOKENIZER_DECODE_SPECIAL | TOKENIZER_DECODE_STRIP_SPACE, &back, &blen);
        if (r < 0)
                return r;
        printf("{\"line\":%zu,\"ids\":[", line_no);
        for (size_t i = 0; i < n; i++)
                printf(i ? ",%d" : "%d", ids[i]);
        printf("],\"roundtrip\":%s}\n", blen == len && memcmp(back, text, len) == 0 ? "true" : "false");
        return 0;
}

int main(int argc, char **argv) {
        _cleanup_gguf_close_ Gguf *g = NULL;
        _cleanup_tokenizer_free_ Tokenizer *t = NULL;
        _cleanup_free_ char *corpus = NULL;
        const char *pre = NULL;
        unsigned flags = 0;
        char err[512] = "";
        size_t size, line_no = 0;
        int i, r;

        for (i = 1; i < argc && argv[i][0] == '-'; i++) {
                if (streq(argv[i], "--parse-special"))
                        flags |= TOKENIZER_PARSE_SPECIAL;
                else if (streq(argv[i], "--add-special"))
                        flags |= TOKENIZER_ADD_SPECIAL;
                else if (streq(argv[i], "--pre") && i + 1 < argc)
                        pre = argv[++i];
                else if (streq(argv[i], "--help")) {
                        usage(stdout);
                        return EXIT_SUCCESS;
                } else {
                        fprintf(stderr, "tokenize-dump: unknown option %s\n", argv[i]);
                        usage(stderr);
                        return EXIT_FAILURE;
                }
        }
        if (argc - i != 2) {
                usage(stderr);
                return EXIT_FAILURE;
        }
        r = gguf_open(argv[i], &g, err, sizeof err);
        if (r >= 0 && pre)
                r = replace_pre(&g, pre, err, sizeof err);
        if (r >= 0)
                r = tokenizer_new_from_gguf(g, &t, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "tokenize-dump: %s: %s\n", argv[i], err[0] ? err : strerror(-r));
                return EXIT_FAILURE;
        }
        r = file_read_all(argv[i + 1], CORPUS_MAX, &corpus, &size);
        if (r < 0) {
                fprintf(stderr, "tokenize-dump: %s: %s\n", argv[i + 1], strerror(-r));
                return EXIT_FAILURE;
        }

        for (char *p = corpus, *end = corpus + size; p < end;) {
                char *nl = memchr(p, '\n', (size_t) (end - p)), *line = p;
                size_t len = (size_t) ((nl ? nl : end) - p), text_len;

                p = nl ? nl + 1 : end;
                line_no++;
                if (len > 0 && line[len - 1] == '\r')
                        len--;
                if (len == 0 || line[0] == '#')
                        continue;
                if (json_unquote(line, len, line, &text_len) < 0) {
                        fprintf(stderr, "tokenize-dump: %s:%zu: not a JSON string literal\n", argv[i + 1], line_no);
                        return EXIT_FAILURE;
                }
                if (dump_line(t, flags, line_no, line, text_len) < 0)
                        return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
