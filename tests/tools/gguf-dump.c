/* gguf-dump.c: writes a sample GGUF with sluice's writer, or dumps a GGUF's metadata and tensors as JSON. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gguf-write.h"
#include "gguf.h"
#include "strbuf.h"

/* 64-bit integers are written as JSON strings so that no reader rounds them; floats as the
 * shortest-exact %.17g of their double value, or "NaN" / "Infinity" / "-Infinity". */
static int put_double(StrBuf *b, double d) {
        if (isnan(d))
                return strbuf_puts(b, "\"NaN\"");
        if (isinf(d))
                return strbuf_puts(b, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return strbuf_printf(b, "%.17g", d);
}

static int put_uint(StrBuf *b, GgufValueType t, uint64_t u) {
        return strbuf_printf(b, t == GGUF_VALUE_UINT64 ? "\"%" PRIu64 "\"" : "%" PRIu64, u);
}

static int put_int(StrBuf *b, GgufValueType t, int64_t i) {
        return strbuf_printf(b, t == GGUF_VALUE_INT64 ? "\"%" PRId64 "\"" : "%" PRId64, i);
}

static bool is_uint(GgufValueType t) {
        return t == GGUF_VALUE_UINT8 || t == GGUF_VALUE_UINT16 || t == GGUF_VALUE_UINT32 || t == GGUF_VALUE_UINT64;
}

static int put_array_elem(StrBuf *b, const GgufArray *a, uint64_t i) {
        const char *s;
        size_t len;
        uint64_t u;
        int64_t n;
        double d;
        bool v;
        int r;

        switch (a->type) {
        case GGUF_VALUE_STRING:
                r = gguf_array_get_str(a, i, &s, &len);
                return r < 0 ? r : strbuf_put_json_string(b, s, len);
        case GGUF_VALUE_BOOL:
                r = gguf_array_get_bool(a, i, &v);
                return r < 0 ? r : strbuf_puts(b, v ? "true" : "false");
        case GGUF_VALUE_FLOAT32:
        case GGUF_VALUE_FLOAT64:
                r = gguf_array_get_float(a, i, &d);
                return r < 0 ? r : put_double(b, d);
        default:
                if (is_uint(a->type)) {
                        r = gguf_array_get_uint(a, i, &u);
                        return r < 0 ? r : put_uint(b, a->type, u);
                }
                r = gguf_array_get_int(a, i, &n);
                return r < 0 ? r : put_int(b, a->type, n);
        }
}

static int put_value(StrBuf *b, const GgufValue *v) {
        int r;

        switch (v->type) {
        case GGUF_VALUE_STRING:
                return strbuf_put_json_string(b, v->str.ptr, v->str.len);
        case GGUF_VALUE_BOOL:
                return strbuf_puts(b, v->b ? "true" : "false");
        case GGUF_VALUE_FLOAT32:
        case GGUF_VALUE_FLOAT64:
                return put_double(b, v->f);
        case GGUF_VALUE_ARRAY:
                r = strbuf_putc(b, '[');
                for (uint64_t i = 0; r >= 0 && i < v->arr.n; i++) {
                        if (i > 0)
                                r = strbuf_putc(b, ',');
                        if (r >= 0)
                                r = put_array_elem(b, &v->arr, i);
                }
                return r < 0 ? r : strbuf_putc(b, ']');
        default:
                return is_uint(v->type) ? put_uint(b, v->type, v->u) : put_int(b, v->type, v->i);
        }
}

static int put_kv(StrBuf *b, const Gguf *g, size_t i) {
        const char *key = gguf_kv_key(g, i);
        GgufValue v;
        int r;

        r = gguf_kv_value(g, i, &v);
        if (r >= 0)
                r = strbuf_puts(b, "{\"key\":");
        if (r >= 0)
                r = strbuf_put_json_string(b, key, strlen(key));
        if (r >= 0)
                r = strbuf_printf(b, ",\"type\":\"%s\"", gguf_value_type_name(v.type));
        if (r >= 0 && v.type == GGUF_VALUE_ARRAY)
                r = strbuf_printf(b, ",\"elem_type\":\"%s\"", gguf_value_type_name(v.arr.type));
        if (r >= 0)
                r = strbuf_puts(b, ",\"value\":");
        if (r >= 0)
                r = put_value(b, &v);
        return r < 0 ? r : strbuf_putc(b, '}');
}

static int put_tensor(StrBuf *b, const GgufTensorInfo *t) {
        int r;

        r = strbuf_puts(b, "{\"name\":");
        if (r >= 0)
                r = strbuf_put_json_string(b, t->name, strlen(t->name));
        if (r >= 0)
                r = strbuf_printf(b, ",\"type\":%d,\"type_name\":\"%s\",\"n_dims\":%" PRIu32 ",\"shape\":[",
                                  (int) t->type, gguf_type_name(t->type), t->n_dims);
        for (uint32_t j = 0; r >= 0 && j < t->n_dims; j++)
                r = strbuf_printf(b, "%s\"%" PRIu64 "\"", j ? "," : "", t->ne[j]);
        if (r >= 0)
                r = strbuf_printf(b, "],\"offset\":\"%" PRIu64 "\",\"size\":\"%zu\"}", t->offset, t->size);
        return r;
}

static int dump(const char *path) {
        _cleanup_gguf_close_ Gguf *g = NULL;
        _cleanup_(strbuf_done) StrBuf b = { .limit = (size_t) 1 << 30 };
        char err[512];
        int r;

        r = gguf_open(path, &g, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", path, err);
                return r;
        }
        r = strbuf_printf(&b, "{\"version\":%" PRIu32 ",\"alignment\":%zu,\"data_offset\":\"%zu\",\"metadata\":[",
                          gguf_version(g), gguf_alignment(g), gguf_data_offset(g));
        for (size_t i = 0; r >= 0 && i < gguf_n_kv(g); i++) {
                if (i > 0)
                        r = strbuf_putc(&b, ',');
                if (r >= 0)
                        r = put_kv(&b, g, i);
        }
        if (r >= 0)
                r = strbuf_puts(&b, "],\"tensors\":[");
        for (size_t i = 0; r >= 0 && i < gguf_n_tensors(g); i++) {
                if (i > 0)
                        r = strbuf_putc(&b, ',');
                if (r >= 0)
                        r = put_tensor(&b, gguf_tensor(g, i));
        }
        if (r >= 0)
                r = strbuf_puts(&b, "]}\n");
        if (r < 0) {
                fprintf(stderr, "%s: cannot format the dump: %s\n", path, strerror(-r));
                return r;
        }
        if (fwrite(strbuf_str(&b), 1, b.len, stdout) != b.len || fflush(stdout) != 0) {
                r = negative_errno();
                fprintf(stderr, "stdout: %s\n", strerror(-r));
                return r;
        }
        return 0;
}

/* The sample: every metadata type, string and numeric arrays, and tensors of types f32, f16 and
 * q8_0 with odd shapes (1 to 4 dimensions), at alignment 64. */
static int add_sample_metadata(GgufWriter *w) {
        static const char *const tags[] = { "sample", "sluice", "", "<0x0A>", "caf\xc3\xa9", "\xe2\x96\x81the" };
        static const uint8_t u8s[] = { 0, 1, 127, 255 };
        static const int8_t i8s[] = { -128, -1, 0, 127 };
        static const uint16_t u16s[] = { 0, 65535 };
        static const int16_t i16s[] = { -32768, 32767, -2 };
        static const uint32_t u32s[] = { 1, 2, 3, 4000000000u };
        static const int32_t i32s[] = { 1, 3, -2147483647 - 1, 6 };
        static const uint64_t u64s[] = { 0, UINT64_MAX, (uint64_t) 1 << 53 | 1 };
        static const int64_t i64s[] = { INT64_MIN, -1, INT64_MAX };
        static const float f32s[] = { 0.1f, -2.5f, 1e-30f, 3.4e38f };
        static const double f64s[] = { 0.1, -1e300, 5e-324 };
        static const uint8_t bools[] = { 1, 0, 1 };
        int r = 0;

        r = r < 0 ? r : gguf_writer_add_str(w, "general.architecture", "llama");
        r = r < 0 ? r : gguf_writer_add_str(w, "general.name", "sluice sample \xe2\x9c\x93 \"quoted\"\n");
        r = r < 0 ? r : gguf_writer_set_alignment(w, 64);
        r = r < 0 ? r : gguf_writer_add_u8(w, "sample.u8", 200);
        r = r < 0 ? r : gguf_writer_add_i8(w, "sample.i8", -100);
        r = r < 0 ? r : gguf_writer_add_u16(w, "sample.u16", 65000);
        r = r < 0 ? r : gguf_writer_add_i16(w, "sample.i16", -30000);
        r = r < 0 ? r : gguf_writer_add_u32(w, "llama.block_count", 2);
        r = r < 0 ? r : gguf_writer_add_i32(w, "sample.i32", -2000000000);
        r = r < 0 ? r : gguf_writer_add_u64(w, "sample.u64", UINT64_MAX - 1);
        r = r < 0 ? r : gguf_writer_add_i64(w, "sample.i64", INT64_MIN + 1);
        r = r < 0 ? r : gguf_writer_add_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
        r = r < 0 ? r : gguf_writer_add_f64(w, "sample.f64", -0.000123456789);
        r = r < 0 ? r : gguf_writer_add_bool(w, "sample.bool_true", true);
        r = r < 0 ? r : gguf_writer_add_bool(w, "sample.bool_false", false);
        r = r < 0 ? r : gguf_writer_add_str(w, "sample.empty", "");
        r = r < 0 ? r : gguf_writer_add_str_array(w, "general.tags", tags, ELEMENTSOF(tags));
        r = r < 0 ? r : gguf_writer_add_str_array(w, "sample.no_strings", NULL, 0);
        r = r < 0 ? r : gguf_writer_add_array(w, "sample.u8s", GGUF_VALUE_UINT8, u8s, ELEMENTSOF(u8s));
        r = r < 0 ? r : gguf_writer_add_array(w, "sample.i8s", GGUF_VALUE_INT8, i8s, ELEMENTSOF(i8s));
        r = r < 0 ? r : gguf_writer_add_array(w, "sample.u16s", GGUF_VALUE_UINT16, u16s, ELEMENTSOF(u16s));
        r = r < 0 ? r : gguf_writer_add_array(w, "sample.i16s", GGUF_VALUE_INT16, i16s, ELEMENTSOF(i16s));
        r = r < 0 ? r : gguf_writer_add_array(w, "sample.u32s", GGUF_VALUE_UINT32, u32s, ELEMENTSOF(u32s));
        r = r < 0 ? r
                  : gguf_writer_add_array(w, "tokenizer.ggml.token_type", GGUF_VALUE_INT32, i32s, ELEMENTSOF(i32s));
        r = r < 0 ? r : gguf_writer_add_array(w, "sample.u64s", GGUF_VALUE_UINT64, u64s, ELEMENTSOF(u64s));
        r = r < 0 ? r : gguf_writer_add_array(w, "sample.i64s", GGUF_VALUE_INT64, i64s, ELEMENTSOF(i64s));
        r = r < 0 ? r : gguf_writer_add_array(w, "tokenizer.ggml.scores", GGUF_VALUE_FLOAT32, f32s, ELEMENTSOF(f32s));
        r = r < 0 ? r : gguf_writer_add_array(w, "sample.f64s", GGUF_VALUE_FLOAT64, f64s, ELEMENTSOF(f64s));
        r = r < 0 ? r : gguf_writer_add_array(w, "sample.bools", GGUF_VALUE_BOOL, bools, ELEMENTSOF(bools));
        r = r < 0 ? r : gguf_writer_add_array(w, "sample.no_u32s", GGUF_VALUE_UINT32, NULL, 0);
        return r;
}

static int write_sample(const char *path) {
        _cleanup_gguf_writer_free_ GgufWriter *w = NULL;
        static float embd[7 * 3], cube[3 * 2 * 5];
        static uint16_t norm[5], four[1 * 2 * 3 * 4];
        static uint8_t q8[3 * (64 / 32) * 34];
        int r;

        for (size_t i = 0; i < ELEMENTSOF(embd); i++)
                embd[i] = (float) i * 0.25f - 1.0f;
        for (size_t i = 0; i < ELEMENTSOF(cube); i++)
                cube[i] = (float) i;
        for (size_t i = 0; i < ELEMENTSOF(norm); i++)
                norm[i] = 0x3c00; /* 1.0 in f16 */
        for (size_t i = 0; i < ELEMENTSOF(four); i++)
                four[i] = (uint16_t) (0x3c00 + i);
        for (size_t blk = 0; blk < ELEMENTSOF(q8) / 34; blk++) {
                q8[blk * 34] = 0x00, q8[blk * 34 + 1] = 0x2c; /* d = 1/16 in f16 */
                for (size_t i = 0; i < 32; i++)
                        q8[blk * 34 + 2 + i] = (uint8_t) (int8_t) ((int) (blk * 32 + i) % 255 - 127);
        }

        r = gguf_writer_new(&w);
        if (r < 0) {
                fprintf(stderr, "out of memory\n");
                return r;
        }
        r = add_sample_metadata(w);
        r = r < 0 ? r
                  : gguf_writer_add_tensor(w, "token_embd.weight", GGUF_TENSOR_F32, 2, (uint64_t[]){ 7, 3 }, embd,
                                           sizeof embd);
        r = r < 0 ? r
                  : gguf_writer_add_tensor(w, "blk.0.attn_norm.weight", GGUF_TENSOR_F16, 1, (uint64_t[]){ 5 }, norm,
                                           sizeof norm);
        r = r < 0 ? r
                  : gguf_writer_add_tensor(w, "blk.0.ffn_down.weight", GGUF_TENSOR_Q8_0, 2, (uint64_t[]){ 64, 3 }, q8,
                                           sizeof q8);
        r = r < 0 ? r
                  : gguf_writer_add_tensor(w, "sample.cube", GGUF_TENSOR_F32, 3, (uint64_t[]){ 3, 2, 5 }, cube,
                                           sizeof cube);
        r = r < 0 ? r
                  : gguf_writer_add_tensor(w, "sample.four", GGUF_TENSOR_F16, 4, (uint64_t[]){ 1, 2, 3, 4 }, four,
                                           sizeof four);
        r = r < 0 ? r : gguf_writer_write(w, path);
        if (r < 0) {
                fprintf(stderr, "%s\n", gguf_writer_error(w));
                return r;
        }
        return 0;
}

int main(int argc, char **argv) {
        if (argc == 3 && streq(argv[1], "dump"))
                return dump(argv[2]) < 0 ? 1 : 0;
        if (argc == 3 && streq(argv[1], "write-sample"))
                return write_sample(argv[2]) < 0 ? 1 : 0;
        fprintf(stderr, "usage: %s dump FILE.gguf | write-sample OUT.gguf\n", argc > 0 ? argv[0] : "gguf-dump");
        return 2;
}
