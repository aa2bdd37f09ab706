/* test-gguf.c: GGUF writer→reader round trips, crafted malformed files, and the shared vocab files. */
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fileio.h"
#include "gguf-write.h"
#include "gguf.h"
#include "test.h"
#include "testdata.h"

/* Crafting files byte by byte. */

typedef struct Bytes {
        uint8_t *data;
        size_t size, cap;
} Bytes;

static void bytes_done(Bytes *b) {
        b->data = mfree(b->data);
        b->size = b->cap = 0;
}

static void put(Bytes *b, const void *p, size_t n) {
        if (b->size + n > b->cap) {
                b->cap = MAX(b->cap * 2, b->size + n + 64);
                b->data = realloc(b->data, b->cap);
                if (!b->data)
                        abort();
        }
        if (n > 0)
                memcpy(b->data + b->size, p, n);
        b->size += n;
}

static void put_u8(Bytes *b, uint8_t v) {
        put(b, &v, 1);
}

static void put_u32(Bytes *b, uint32_t v) {
        put(b, &v, 4);
}

static void put_u64(Bytes *b, uint64_t v) {
        put(b, &v, 8);
}

static void put_str(Bytes *b, const char *s) {
        put_u64(b, strlen(s));
        put(b, s, strlen(s));
}

static void put_header(Bytes *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
        put(b, "GGUF", 4);
        put_u32(b, version);
        put_u64(b, n_tensors);
        put_u64(b, n_kv);
}

static void put_kv_u32(Bytes *b, const char *key, uint32_t v) {
        put_str(b, key);
        put_u32(b, GGUF_VALUE_UINT32);
        put_u32(b, v);
}

static void put_tensor_info(Bytes *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                            uint64_t offset) {
        put_str(b, name);
        put_u32(b, n_dims);
        for (uint32_t j = 0; j < n_dims; j++)
                put_u64(b, ne[j]);
        put_u32(b, type);
        put_u64(b, offset);
}

static void pad_to(Bytes *b, size_t alignment) {
        while (b->size % alignment != 0)
                put_u8(b, 0);
}

static void put_zeros(Bytes *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                put_u8(b, 0);
}

/* Parses a heap copy of exactly size bytes (so that ASan sees any read past the end), closes it,
 * and returns what gguf_open_buffer() returned. err gets its message. */
static int try_open(const void *data, size_t size, char *err, size_t errsz) {
        _cleanup_free_ uint8_t *copy = malloc(size ? size : 1);
        Gguf *g = NULL;
        int r;

        if (!copy)
                abort();
        if (size > 0)
                memcpy(copy, data, size);
        err[0] = 0;
        r = gguf_open_buffer(copy, size, &g, err, errsz);
        if (r >= 0) {
                /* Walk everything, as a user would. */
                for (size_t i = 0; i < gguf_n_kv(g); i++) {
                        GgufValue v;
                        if (gguf_kv_value(g, i, &v) < 0)
                                abort();
                }
                for (size_t i = 0; i < gguf_n_tensors(g); i++) {
                        const GgufTensorInfo *t = gguf_tensor(g, i);
                        volatile uint8_t sink = 0;
                        if (t->size > 0)
                                sink = ((const uint8_t *) t->data)[0] ^ ((const uint8_t *) t->data)[t->size - 1];
                        (void) sink;
                }
                g = gguf_close(g);
        } else if (g)
                abort(); /* ret written on failure */
        return r;
}

#define ASSERT_OPEN_FAILS(bytes, errno_, text)                                                                        \
        do {                                                                                                          \
                char _err_[512];                                                                                      \
                ASSERT_ERROR(try_open((bytes)->data, (bytes)->size, _err_, sizeof _err_), errno_);                    \
                ASSERT_CONTAINS(_err_, text);                                                                         \
        } while (0)

static void tmp_path(char *buf, size_t size, const char *name) {
        snprintf(buf, size, "%s/%s", test_tmpdir(), name);
}

/* Type tables. */

TEST(type_table) {
        ASSERT_STREQ(gguf_type_name(GGUF_TENSOR_F32), "f32");
        ASSERT_STREQ(gguf_type_name(GGUF_TENSOR_Q4_K), "q4_k");
        ASSERT_STREQ(gguf_type_name(GGUF_TENSOR_BF16), "bf16");
        ASSERT_NULL(gguf_type_name((GgufTensorType) 4)); /* Q4_2, removed from ggml */
        ASSERT_NULL(gguf_type_name((GgufTensorType) 31));
        ASSERT_NULL(gguf_type_name((GgufTensorType) 99));
        ASSERT_NULL(gguf_type_name((GgufTensorType) -1));
        ASSERT_EQ(gguf_type_from_name("Q6_K"), GGUF_TENSOR_Q6_K);
        ASSERT_EQ(gguf_type_from_name("q8_0"), GGUF_TENSOR_Q8_0);
        ASSERT_EQ(gguf_type_from_name("q4_2"), -EINVAL);

        /* Block sizes and bytes per block, as ggml's block_* structs. */
        static const struct {
                GgufTensorType t;
                size_t block, bytes;
        } expect[] = {
                { GGUF_TENSOR_F32, 1, 4 },        { GGUF_TENSOR_F16, 1, 2 },      { GGUF_TENSOR_Q4_0, 32, 18 },
                { GGUF_TENSOR_Q4_1, 32, 20 },     { GGUF_TENSOR_Q5_0, 32, 22 },   { GGUF_TENSOR_Q5_1, 32, 24 },
                { GGUF_TENSOR_Q8_0, 32, 34 },     { GGUF_TENSOR_Q8_1, 32, 36 },   { GGUF_TENSOR_Q2_K, 256, 84 },
                { GGUF_TENSOR_Q3_K, 256, 110 },   { GGUF_TENSOR_Q4_K, 256, 144 }, { GGUF_TENSOR_Q5_K, 256, 176 },
                { GGUF_TENSOR_Q6_K, 256, 210 },   { GGUF_TENSOR_Q8_K, 256, 292 }, { GGUF_TENSOR_IQ4_NL, 32, 18 },
                { GGUF_TENSOR_IQ4_XS, 256, 136 }, { GGUF_TENSOR_BF16, 1, 2 },     { GGUF_TENSOR_F64, 1, 8 },
                { GGUF_TENSOR_TQ1_0, 256, 54 },   { GGUF_TENSOR_TQ2_0, 256, 66 }, { GGUF_TENSOR_MXFP4, 32, 17 },
        };
        for (size_t i = 0; i < ELEMENTSOF(expect); i++) {
                ASSERT_UEQ(gguf_type_block_size(expect[i].t), expect[i].block);
                ASSERT_UEQ(gguf_type_block_bytes(expect[i].t), expect[i].bytes);
        }
        ASSERT_UEQ(gguf_type_block_size((GgufTensorType) 5), 0);

        /* Exactly the types the engine computes with. */
        for (int t = -1; t < 64; t++) {
                bool want = t == GGUF_TENSOR_F32 || t == GGUF_TENSOR_F16 || t == GGUF_TENSOR_BF16 ||
                            t == GGUF_TENSOR_Q8_0 || t == GGUF_TENSOR_Q4_K || t == GGUF_TENSOR_Q6_K;
                ASSERT_EQ(gguf_type_is_supported((GgufTensorType) t), want);
        }

        ASSERT_STREQ(gguf_value_type_name(GGUF_VALUE_FLOAT64), "float64");
        ASSERT_NULL(gguf_value_type_name((GgufValueType) 13));
        ASSERT_UEQ(gguf_value_type_size(GGUF_VALUE_INT64), 8);
        ASSERT_UEQ(gguf_value_type_size(GGUF_VALUE_STRING), 0);
}

TEST(type_nbytes) {
        uint64_t n;

        ASSERT_OK(gguf_type_nbytes(GGUF_TENSOR_Q8_0, 2, (uint64_t[]){ 64, 3 }, &n));
        ASSERT_UEQ(n, 2 * 34 * 3);
        ASSERT_OK(gguf_type_nbytes(GGUF_TENSOR_Q4_K, 3, (uint64_t[]){ 512, 3, 2 }, &n));
        ASSERT_UEQ(n, 2 * 144 * 3 * 2);
        ASSERT_OK(gguf_type_nbytes(GGUF_TENSOR_F16, 0, NULL, &n));
        ASSERT_UEQ(n, 2);
        ASSERT_ERROR(gguf_type_nbytes(GGUF_TENSOR_Q8_0, 1, (uint64_t[]){ 33 }, &n), -EINVAL);
        ASSERT_ERROR(gguf_type_nbytes((GgufTensorType) 4, 1, (uint64_t[]){ 32 }, &n), -EINVAL);
        ASSERT_ERROR(gguf_type_nbytes(GGUF_TENSOR_F32, 5, (uint64_t[]){ 1, 1, 1, 1, 1 }, &n), -EINVAL);
        ASSERT_ERROR(gguf_type_nbytes(GGUF_TENSOR_F32, 2, (uint64_t[]){ (uint64_t) 1 << 62, 4 }, &n), -EOVERFLOW);
}

/* Round trips. */

static const char *const strs[] = { "alpha", "", "\xe2\x96\x81token", "<0x0A>" };
static const uint8_t u8s[] = { 0, 255, 7 };
static const int8_t i8s[] = { -128, 127 };
static const uint16_t u16s[] = { 65535, 1 };
static const int16_t i16s[] = { -32768, 5 };
static const uint32_t u32s[] = { 4000000000u, 0, 1 };
static const int32_t i32s[] = { -5, 6, INT32_MIN };
static const uint64_t u64s[] = { UINT64_MAX, 3 };
static const int64_t i64s[] = { INT64_MIN, INT64_MAX, -1 };
static const float f32s[] = { 0.5f, -1e-3f, FLT_MAX };
static const double f64s[] = { 1e300, -0.25 };
static const uint8_t bools[] = { 0, 1, 1, 0 };

static float t_f32[7 * 3];
static uint16_t t_f16[5 * 2], t_bf16[3];
static uint8_t t_q8[34 * 2 * 3], t_q4k[144 * 2], t_q6k[210];

static void fill(void *p, size_t n, unsigned seed) {
        for (size_t i = 0; i < n; i++)
                ((uint8_t *) p)[i] = (uint8_t) (i * 31 + seed);
}

static int write_every_type(const char *path, uint32_t alignment) {
        _cleanup_gguf_writer_free_ GgufWriter *w = NULL;
        int r;

        fill(t_f32, sizeof t_f32, 1), fill(t_f16, sizeof t_f16, 2), fill(t_bf16, sizeof t_bf16, 3);
        fill(t_q8, sizeof t_q8, 4), fill(t_q4k, sizeof t_q4k, 5), fill(t_q6k, sizeof t_q6k, 6);

        r = gguf_writer_new(&w);
        if (r < 0)
                return r;
        if (alignment)
                r = r < 0 ? r : gguf_writer_set_alignment(w, alignment);
        r = r < 0 ? r : gguf_writer_add_str(w, "general.architecture", "llama");
        r = r < 0 ? r : gguf_writer_add_u8(w, "t.u8", 250);
        r = r < 0 ? r : gguf_writer_add_i8(w, "t.i8", -7);
        r = r < 0 ? r : gguf_writer_add_u16(w, "t.u16", 65535);
        r = r < 0 ? r : gguf_writer_add_i16(w, "t.i16", -32768);
        r = r < 0 ? r : gguf_writer_add_u32(w, "t.u32", 4000000000u);
        r = r < 0 ? r : gguf_writer_add_i32(w, "t.i32", -2);
        r = r < 0 ? r : gguf_writer_add_u64(w, "t.u64", UINT64_MAX);
        r = r < 0 ? r : gguf_writer_add_i64(w, "t.i64", INT64_MIN);
        r = r < 0 ? r : gguf_writer_add_f32(w, "t.f32", 0.1f);
        r = r < 0 ? r : gguf_writer_add_f64(w, "t.f64", 1e300);
        r = r < 0 ? r : gguf_writer_add_bool(w, "t.true", true);
        r = r < 0 ? r : gguf_writer_add_bool(w, "t.false", false);
        r = r < 0 ? r : gguf_writer_add_strn(w, "t.nul", "a\0b", 3);
        r = r < 0 ? r : gguf_writer_add_str_array(w, "t.strs", strs, ELEMENTSOF(strs));
        r = r < 0 ? r : gguf_writer_add_array(w, "t.u8s", GGUF_VALUE_UINT8, u8s, ELEMENTSOF(u8s));
        r = r < 0 ? r : gguf_writer_add_array(w, "t.i8s", GGUF_VALUE_INT8, i8s, ELEMENTSOF(i8s));
        r = r < 0 ? r : gguf_writer_add_array(w, "t.u16s", GGUF_VALUE_UINT16, u16s, ELEMENTSOF(u16s));
        r = r < 0 ? r : gguf_writer_add_array(w, "t.i16s", GGUF_VALUE_INT16, i16s, ELEMENTSOF(i16s));
        r = r < 0 ? r : gguf_writer_add_array(w, "t.u32s", GGUF_VALUE_UINT32, u32s, ELEMENTSOF(u32s));
        r = r < 0 ? r : gguf_writer_add_array(w, "t.i32s", GGUF_VALUE_INT32, i32s, ELEMENTSOF(i32s));
        r = r < 0 ? r : gguf_writer_add_array(w, "t.u64s", GGUF_VALUE_UINT64, u64s, ELEMENTSOF(u64s));
        r = r < 0 ? r : gguf_writer_add_array(w, "t.i64s", GGUF_VALUE_INT64, i64s, ELEMENTSOF(i64s));
        r = r < 0 ? r : gguf_writer_add_array(w, "t.f32s", GGUF_VALUE_FLOAT32, f32s, ELEMENTSOF(f32s));
        r = r < 0 ? r : gguf_writer_add_array(w, "t.f64s", GGUF_VALUE_FLOAT64, f64s, ELEMENTSOF(f64s));
        r = r < 0 ? r : gguf_writer_add_array(w, "t.bools", GGUF_VALUE_BOOL, bools, ELEMENTSOF(bools));
        r = r < 0 ? r : gguf_writer_add_array(w, "t.empty", GGUF_VALUE_INT32, NULL, 0);
        r = r < 0 ? r
                  : gguf_writer_add_tensor(w, "a.f32", GGUF_TENSOR_F32, 2, (uint64_t[]){ 7, 3 }, t_f32, sizeof t_f32);
        r = r < 0 ? r
                  : gguf_writer_add_tensor(w, "b.f16", GGUF_TENSOR_F16, 2, (uint64_t[]){ 5, 2 }, t_f16, sizeof t_f16);
        r = r < 0 ? r
                  : gguf_writer_add_tensor(w, "c.q8_0", GGUF_TENSOR_Q8_0, 3, (uint64_t[]){ 64, 1, 3 }, t_q8,
                                           sizeof t_q8);
        r = r < 0 ? r
                  : gguf_writer_add_tensor(w, "d.q4_k", GGUF_TENSOR_Q4_K, 2, (uint64_t[]){ 256, 2 }, t_q4k,
                                           sizeof t_q4k);
        r = r < 0 ? r
                  : gguf_writer_add_tensor(w, "e.q6_k", GGUF_TENSOR_Q6_K, 1, (uint64_t[]){ 256 }, t_q6k, sizeof t_q6k);
        r = r < 0 ? r
                  : gguf_writer_add_tensor(w, "f.bf16", GGUF_TENSOR_BF16, 4, (uint64_t[]){ 3, 1, 1, 1 }, t_bf16,
                                           sizeof t_bf16);
        r = r < 0 ? r : gguf_writer_add_tensor(w, "g.empty", GGUF_TENSOR_F32, 2, (uint64_t[]){ 0, 4 }, NULL, 0);
        r = r < 0 ? r : gguf_writer_write(w, path);
        if (r < 0)
                printf("# %s\n", gguf_writer_error(w));
        return r;
}

static void check_array_values(const Gguf *g) {
        GgufArray a;
        const char *s;
        size_t len;
        uint64_t u;
        int64_t i;
        double d;
        bool b;
        char err[256];

        ASSERT_OK(gguf_get_array(g, "t.strs", GGUF_VALUE_STRING, &a, err, sizeof err));
        ASSERT_UEQ(a.n, ELEMENTSOF(strs));
        for (size_t k = 0; k < ELEMENTSOF(strs); k++) {
                ASSERT_OK(gguf_array_get_str(&a, k, &s, &len));
                ASSERT_UEQ(len, strlen(strs[k]));
                ASSERT_MEMEQ(s, strs[k], len);
        }
        ASSERT_ERROR(gguf_array_get_str(&a, ELEMENTSOF(strs), &s, &len), -ERANGE);
        ASSERT_ERROR(gguf_array_get_int(&a, 0, &i), -EINVAL);

#define CHECK_INTS(key, type, arr, getter, var)                                                                       \
        ASSERT_OK(gguf_get_array(g, key, type, &a, err, sizeof err));                                                 \
        ASSERT_UEQ(a.n, ELEMENTSOF(arr));                                                                             \
        ASSERT_UEQ(a.size, sizeof(arr));                                                                              \
        for (size_t k = 0; k < ELEMENTSOF(arr); k++) {                                                                \
                ASSERT_OK(getter(&a, k, &var));                                                                       \
                ASSERT_TRUE(var == arr[k]);                                                                           \
        }
        CHECK_INTS("t.u8s", GGUF_VALUE_UINT8, u8s, gguf_array_get_uint, u);
        CHECK_INTS("t.i8s", GGUF_VALUE_INT8, i8s, gguf_array_get_int, i);
        CHECK_INTS("t.u16s", GGUF_VALUE_UINT16, u16s, gguf_array_get_uint, u);
        CHECK_INTS("t.i16s", GGUF_VALUE_INT16, i16s, gguf_array_get_int, i);
        CHECK_INTS("t.u32s", GGUF_VALUE_UINT32, u32s, gguf_array_get_uint, u);
        CHECK_INTS("t.i32s", GGUF_VALUE_INT32, i32s, gguf_array_get_int, i);
        CHECK_INTS("t.u64s", GGUF_VALUE_UINT64, u64s, gguf_array_get_uint, u);
        CHECK_INTS("t.i64s", GGUF_VALUE_INT64, i64s, gguf_array_get_int, i);
        CHECK_INTS("t.f32s", GGUF_VALUE_FLOAT32, f32s, gguf_array_get_float, d);
        CHECK_INTS("t.f64s", GGUF_VALUE_FLOAT64, f64s, gguf_array_get_float, d);
#undef CHECK_INTS

        /* Range checks of the element getters. */
        ASSERT_OK(gguf_get_array(g, "t.u64s", GGUF_VALUE_UINT64, &a, err, sizeof err));
        ASSERT_ERROR(gguf_array_get_int(&a, 0, &i), -ERANGE); /* UINT64_MAX */
        ASSERT_ERROR(gguf_array_get_uint(&a, 2, &u), -ERANGE);
        ASSERT_ERROR(gguf_array_get_float(&a, 0, &d), -EINVAL);
        ASSERT_OK(gguf_get_array(g, "t.i32s", GGUF_VALUE_INT32, &a, err, sizeof err));
        ASSERT_ERROR(gguf_array_get_uint(&a, 0, &u), -ERANGE); /* -5 */
        ASSERT_OK(gguf_array_get_uint(&a, 1, &u));
        ASSERT_UEQ(u, 6);

        /* Aligned copies of packed data. */
        {
                int32_t copy[ELEMENTSOF(i32s)];
                ASSERT_ERROR(gguf_array_copy(&a, copy, sizeof copy - 1), -ENOBUFS);
                ASSERT_OK(gguf_array_copy(&a, copy, sizeof copy));
                ASSERT_MEMEQ(copy, i32s, sizeof copy);
        }

        ASSERT_OK(gguf_get_array(g, "t.bools", GGUF_VALUE_BOOL, &a, err, sizeof err));
        for (size_t k = 0; k < ELEMENTSOF(bools); k++) {
                ASSERT_OK(gguf_array_get_bool(&a, k, &b));
                ASSERT_EQ(b, bools[k]);
        }
        ASSERT_OK(gguf_get_array(g, "t.empty", _GGUF_VALUE_TYPE_INVALID, &a, err, sizeof err));
        ASSERT_UEQ(a.n, 0);
        ASSERT_EQ(a.type, GGUF_VALUE_INT32);
        ASSERT_ERROR(gguf_array_get_int(&a, 0, &i), -ERANGE);

        ASSERT_ERROR(gguf_get_array(g, "t.i32s", GGUF_VALUE_UINT32, &a, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "gguf: key \"t.i32s\" has type array of int32, expected array of uint32");
        ASSERT_ERROR(gguf_get_array(g, "t.u8", _GGUF_VALUE_TYPE_INVALID, &a, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "has type uint8, expected array");
}

static void check_every_type(const Gguf *g) {
        char err[256], *dup = NULL;
        const char *s;
        size_t len;
        uint8_t u8;
        int8_t i8;
        uint16_t u16;
        int16_t i16;
        uint32_t u32;
        int32_t i32;
        uint64_t u64;
        int64_t i64;
        float f;
        double d;
        bool b;

        ASSERT_UEQ(gguf_version(g), 3);
        ASSERT_OK(gguf_get_u8(g, "t.u8", &u8, err, sizeof err));
        ASSERT_UEQ(u8, 250);
        ASSERT_OK(gguf_get_i8(g, "t.i8", &i8, err, sizeof err));
        ASSERT_EQ(i8, -7);
        ASSERT_OK(gguf_get_u16(g, "t.u16", &u16, err, sizeof err));
        ASSERT_UEQ(u16, 65535);
        ASSERT_OK(gguf_get_i16(g, "t.i16", &i16, err, sizeof err));
        ASSERT_EQ(i16, -32768);
        ASSERT_OK(gguf_get_u32(g, "t.u32", &u32, err, sizeof err));
        ASSERT_UEQ(u32, 4000000000u);
        ASSERT_OK(gguf_get_i32(g, "t.i32", &i32, err, sizeof err));
        ASSERT_EQ(i32, -2);
        ASSERT_OK(gguf_get_u64(g, "t.u64", &u64, err, sizeof err));
        ASSERT_UEQ(u64, UINT64_MAX);
        ASSERT_OK(gguf_get_i64(g, "t.i64", &i64, err, sizeof err));
        ASSERT_EQ(i64, INT64_MIN);
        ASSERT_OK(gguf_get_f32(g, "t.f32", &f, err, sizeof err));
        ASSERT_TRUE(f == 0.1f);
        ASSERT_OK(gguf_get_f64(g, "t.f64", &d, err, sizeof err));
        ASSERT_TRUE(d == 1e300);
        ASSERT_OK(gguf_get_f64(g, "t.f32", &d, err, sizeof err));
        ASSERT_TRUE(d == (double) 0.1f);
        ASSERT_OK(gguf_get_bool(g, "t.true", &b, err, sizeof err));
        ASSERT_TRUE(b);
        ASSERT_OK(gguf_get_bool(g, "t.false", &b, err, sizeof err));
        ASSERT_FALSE(b);
        ASSERT_OK(gguf_get_str(g, "general.architecture", &s, &len, err, sizeof err));
        ASSERT_UEQ(len, 5);
        ASSERT_MEMEQ(s, "llama", 5);
        ASSERT_OK(gguf_get_strdup(g, "general.architecture", &dup, err, sizeof err));
        ASSERT_STREQ(dup, "llama");
        free(dup);
        ASSERT_OK(gguf_get_str(g, "t.nul", &s, &len, err, sizeof err));
        ASSERT_UEQ(len, 3);
        ASSERT_MEMEQ(s, "a\0b", 3);
        ASSERT_ERROR(gguf_get_strdup(g, "t.nul", &dup, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "\"t.nul\" holds a NUL byte");

        check_array_values(g);
}

static void check_tensors(const Gguf *g, size_t alignment) {
        static const struct {
                const char *name;
                GgufTensorType type;
                uint32_t n_dims;
                uint64_t ne[4];
                const void *data;
                size_t size;
        } expect[] = {
                { "a.f32", GGUF_TENSOR_F32, 2, { 7, 3, 1, 1 }, t_f32, sizeof t_f32 },
                { "b.f16", GGUF_TENSOR_F16, 2, { 5, 2, 1, 1 }, t_f16, sizeof t_f16 },
                { "c.q8_0", GGUF_TENSOR_Q8_0, 3, { 64, 1, 3, 1 }, t_q8, sizeof t_q8 },
                { "d.q4_k", GGUF_TENSOR_Q4_K, 2, { 256, 2, 1, 1 }, t_q4k, sizeof t_q4k },
                { "e.q6_k", GGUF_TENSOR_Q6_K, 1, { 256, 1, 1, 1 }, t_q6k, sizeof t_q6k },
                { "f.bf16", GGUF_TENSOR_BF16, 4, { 3, 1, 1, 1 }, t_bf16, sizeof t_bf16 },
                { "g.empty", GGUF_TENSOR_F32, 2, { 0, 4, 1, 1 }, NULL, 0 },
        };
        const GgufTensorInfo *t;
        char err[256];

        ASSERT_UEQ(gguf_n_tensors(g), ELEMENTSOF(expect));
        ASSERT_UEQ(gguf_alignment(g), alignment);
        ASSERT_UEQ(gguf_data_offset(g) % alignment, 0);
        for (size_t i = 0; i < ELEMENTSOF(expect); i++) {
                t = gguf_tensor(g, i);
                ASSERT_NOT_NULL(t);
                ASSERT_STREQ(t->name, expect[i].name);
                ASSERT_EQ(gguf_find_tensor(g, expect[i].name), (int) i);
                ASSERT_EQ(t->type, expect[i].type);
                ASSERT_UEQ(t->n_dims, expect[i].n_dims);
                for (int j = 0; j < 4; j++)
                        ASSERT_UEQ(t->ne[j], expect[i].ne[j]);
                ASSERT_UEQ(t->size, expect[i].size);
                ASSERT_UEQ(t->n_elements, expect[i].ne[0] * expect[i].ne[1] * expect[i].ne[2] * expect[i].ne[3]);
                ASSERT_UEQ(t->offset % alignment, 0);
                ASSERT_UEQ(t->file_offset, gguf_data_offset(g) + t->offset);
                if (expect[i].size > 0)
                        ASSERT_MEMEQ(t->data, expect[i].data, expect[i].size);
                ASSERT_OK(gguf_tensor_check_supported(t, err, sizeof err));
        }
        ASSERT_NULL(gguf_tensor(g, ELEMENTSOF(expect)));
        ASSERT_ERROR(gguf_find_tensor(g, "nope"), -ENOENT);
        ASSERT_ERROR(gguf_get_tensor(g, "blk.9.nope", &t, err, sizeof err), -ENOENT);
        ASSERT_CONTAINS(err, "gguf: missing tensor \"blk.9.nope\"");
        ASSERT_OK(gguf_get_tensor(g, "c.q8_0", &t, err, sizeof err));
        ASSERT_STREQ(t->name, "c.q8_0");
}

TEST(round_trip_every_type) {
        _cleanup_gguf_close_ Gguf *g = NULL;
        char path[512], err[256];

        tmp_path(path, sizeof path, "every.gguf");
        ASSERT_OK(write_every_type(path, 0));
        ASSERT_OK(gguf_open(path, &g, err, sizeof err));
        check_every_type(g);
        check_tensors(g, 32);
        ASSERT_EQ(gguf_find_key(g, "general.alignment"), -ENOENT);
        ASSERT_UEQ(gguf_n_kv(g), 27);
        ASSERT_STREQ(gguf_kv_key(g, 0), "general.architecture");
        ASSERT_EQ(gguf_kv_type(g, 0), GGUF_VALUE_STRING);
        ASSERT_NULL(gguf_kv_key(g, 27));
        ASSERT_EQ(gguf_kv_type(g, 27), _GGUF_VALUE_TYPE_INVALID);
        ASSERT_EQ(gguf_find_key(g, "t.u8"), 1);
        /* Data of an mmapped file is as aligned as the file says. */
        for (size_t i = 0; i < gguf_n_tensors(g); i++)
                ASSERT_UEQ((uintptr_t) gguf_tensor(g, i)->data % 32, 0);
}

TEST(round_trip_alignment) {
        static const uint32_t alignments[] = { 1, 8, 64, 4096 };
        char path[512], err[256];

        for (size_t k = 0; k < ELEMENTSOF(alignments); k++) {
                _cleanup_gguf_close_ Gguf *g = NULL;
                uint32_t a;

                tmp_path(path, sizeof path, "aligned.gguf");
                ASSERT_OK(write_every_type(path, alignments[k]));
                ASSERT_OK(gguf_open(path, &g, err, sizeof err));
                ASSERT_OK(gguf_get_u32(g, "general.alignment", &a, err, sizeof err));
                ASSERT_UEQ(a, alignments[k]);
                check_every_type(g);
                check_tensors(g, alignments[k]);
                for (size_t i = 0; i < gguf_n_tensors(g); i++)
                        ASSERT_UEQ((uintptr_t) gguf_tensor(g, i)->data % alignments[k], 0);
        }
}

TEST(open_buffer_matches_open) {
        _cleanup_gguf_close_ Gguf *g = NULL, *h = NULL;
        _cleanup_free_ char *data = NULL;
        char path[512], err[256];
        size_t size;

        tmp_path(path, sizeof path, "buffer.gguf");
        ASSERT_OK(write_every_type(path, 0));
        ASSERT_OK(file_read_all(path, 1 << 20, &data, &size));
        ASSERT_OK(gguf_open_buffer(data, size, &g, err, sizeof err));
        ASSERT_OK(gguf_open(path, &h, err, sizeof err));
        check_every_type(g);
        check_tensors(g, 32);
        ASSERT_UEQ(gguf_n_kv(g), gguf_n_kv(h));
        ASSERT_UEQ(gguf_data_offset(g), gguf_data_offset(h));
        ASSERT_UEQ(gguf_file_size(g), size);
        /* Buffer-backed tensors point into the caller's buffer. */
        ASSERT_TRUE((const char *) gguf_tensor(g, 0)->data == data + gguf_tensor(g, 0)->file_offset);
}

TEST(writer_alignment_key) {
        _cleanup_gguf_writer_free_ GgufWriter *w = NULL;
        _cleanup_gguf_close_ Gguf *g = NULL;
        char path[512], err[256];
        uint32_t a;

        ASSERT_OK(gguf_writer_new(&w));
        ASSERT_ERROR(gguf_writer_set_alignment(w, 0), -EINVAL);
        ASSERT_ERROR(gguf_writer_set_alignment(w, 48), -EINVAL);
        ASSERT_CONTAINS(gguf_writer_error(w), "48 is not a nonzero power of two");
        ASSERT_ERROR(gguf_writer_add_u8(w, "general.alignment", 64), -EINVAL);
        ASSERT_ERROR(gguf_writer_add_str(w, "general.alignment", "64"), -EINVAL);
        ASSERT_OK(gguf_writer_add_u32(w, "general.alignment", 16));
        ASSERT_OK(gguf_writer_set_alignment(w, 128)); /* replaces, no duplicate key */
        ASSERT_OK(gguf_writer_add_tensor(w, "x", GGUF_TENSOR_F32, 1, (uint64_t[]){ 3 }, t_f32, 12));
        ASSERT_OK(gguf_writer_add_tensor(w, "y", GGUF_TENSOR_F32, 1, (uint64_t[]){ 3 }, t_f32, 12));
        tmp_path(path, sizeof path, "align128.gguf");
        ASSERT_OK(gguf_writer_write(w, path));
        ASSERT_OK(gguf_open(path, &g, err, sizeof err));
        ASSERT_UEQ(gguf_n_kv(g), 1);
        ASSERT_OK(gguf_get_u32(g, "general.alignment", &a, err, sizeof err));
        ASSERT_UEQ(a, 128);
        ASSERT_UEQ(gguf_tensor(g, 1)->offset, 128);
        ASSERT_UEQ(gguf_data_offset(g) % 128, 0);
        ASSERT_UEQ(gguf_file_size(g), gguf_data_offset(g) + 256);
}

TEST(writer_rejects) {
        _cleanup_gguf_writer_free_ GgufWriter *w = NULL;
        static const uint8_t bad_bools[] = { 0, 2 };
        char long_name[GGUF_TENSOR_NAME_MAX + 2];
        const char *null_str[] = { "a", NULL };

        ASSERT_OK(gguf_writer_new(&w));
        ASSERT_STREQ(gguf_writer_error(w), "");
        ASSERT_OK(gguf_writer_add_u32(w, "a.b", 1));
        ASSERT_ERROR(gguf_writer_add_i64(w, "a.b", 1), -EEXIST);
        ASSERT_CONTAINS(gguf_writer_error(w), "duplicate metadata key \"a.b\"");
        ASSERT_ERROR(gguf_writer_add_u32(w, "", 1), -EINVAL);
        ASSERT_ERROR(gguf_writer_add_u32(w, NULL, 1), -EINVAL);
        ASSERT_ERROR(gguf_writer_add_str(w, "s", NULL), -EINVAL);
        ASSERT_ERROR(gguf_writer_add_array(w, "arr", GGUF_VALUE_STRING, u8s, 1), -EINVAL);
        ASSERT_ERROR(gguf_writer_add_array(w, "arr", GGUF_VALUE_ARRAY, u8s, 1), -EINVAL);
        ASSERT_ERROR(gguf_writer_add_array(w, "arr", GGUF_VALUE_BOOL, bad_bools, 2), -EINVAL);
        ASSERT_CONTAINS(gguf_writer_error(w), "bool element 1 is neither 0 nor 1");
        ASSERT_ERROR(gguf_writer_add_str_array(w, "arr", null_str, 2), -EINVAL);
        ASSERT_OK(gguf_writer_add_array(w, "arr", GGUF_VALUE_BOOL, bad_bools, 1)); /* the failures left no trace */

        ASSERT_OK(gguf_writer_add_tensor(w, "t", GGUF_TENSOR_F32, 1, (uint64_t[]){ 3 }, t_f32, 12));
        ASSERT_ERROR(gguf_writer_add_tensor(w, "t", GGUF_TENSOR_F32, 1, (uint64_t[]){ 3 }, t_f32, 12), -EEXIST);
        ASSERT_ERROR(gguf_writer_add_tensor(w, "u", GGUF_TENSOR_F32, 1, (uint64_t[]){ 3 }, t_f32, 8), -EINVAL);
        ASSERT_CONTAINS(gguf_writer_error(w), "8 bytes of data given, f32 of this shape takes 12");
        ASSERT_ERROR(gguf_writer_add_tensor(w, "u", (GgufTensorType) 4, 1, (uint64_t[]){ 32 }, t_f32, 18), -EINVAL);
        ASSERT_ERROR(gguf_writer_add_tensor(w, "u", GGUF_TENSOR_Q8_0, 1, (uint64_t[]){ 33 }, t_q8, 34), -EINVAL);
        ASSERT_CONTAINS(gguf_writer_error(w), "ne[0] = 33 is not a multiple of the q8_0 block size 32");
        ASSERT_ERROR(gguf_writer_add_tensor(w, "u", GGUF_TENSOR_F32, 5, (uint64_t[]){ 1, 1, 1, 1, 1 }, t_f32, 4),
                     -EINVAL);
        ASSERT_ERROR(gguf_writer_add_tensor(w, "u", GGUF_TENSOR_F32, 3, (uint64_t[]){ 1u << 31, 1u << 31, 1u << 31 },
                                            t_f32, 4),
                     -EOVERFLOW);
        ASSERT_ERROR(gguf_writer_add_tensor(w, "u", GGUF_TENSOR_F32, 1, (uint64_t[]){ 3 }, NULL, 12), -EINVAL);
        memset(long_name, 'n', sizeof long_name - 1);
        long_name[sizeof long_name - 1] = 0;
        ASSERT_ERROR(gguf_writer_add_tensor(w, long_name, GGUF_TENSOR_F32, 1, (uint64_t[]){ 3 }, t_f32, 12), -EINVAL);
        long_name[GGUF_TENSOR_NAME_MAX] = 0; /* exactly the limit is fine */
        ASSERT_OK(gguf_writer_add_tensor(w, long_name, GGUF_TENSOR_F32, 1, (uint64_t[]){ 3 }, t_f32, 12));
        ASSERT_ERROR(gguf_writer_add_tensor(w, "", GGUF_TENSOR_F32, 1, (uint64_t[]){ 3 }, t_f32, 12), -EINVAL);

        ASSERT_NULL(gguf_writer_free(NULL));
        ASSERT_NULL(gguf_close(NULL));
}

static size_t count_entries(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0;

        if (!d)
                return SIZE_MAX;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

TEST(writer_is_atomic) {
        _cleanup_gguf_writer_free_ GgufWriter *w = NULL;
        _cleanup_gguf_close_ Gguf *g = NULL;
        char dir[512], path[600], err[256];
        struct stat st;

        tmp_path(dir, sizeof dir, "atomic");
        ASSERT_TRUE(mkdir(dir, 0755) == 0);
        snprintf(path, sizeof path, "%s/model.gguf", dir);
        ASSERT_OK(file_write_atomic(path, "old", 3, 0644));

        ASSERT_OK(gguf_writer_new(&w));
        ASSERT_OK(gguf_writer_add_str(w, "general.name", "new"));
        ASSERT_OK(gguf_writer_write(w, path));
        ASSERT_UEQ(count_entries(dir), 1); /* the temporary file is gone */
        ASSERT_TRUE(stat(path, &st) == 0);
        ASSERT_EQ(st.st_mode & 0777, 0644);
        ASSERT_OK(gguf_open(path, &g, err, sizeof err));
        ASSERT_EQ(gguf_find_key(g, "general.name"), 0);

        /* A directory that does not exist: a clear error, nothing left behind. */
        snprintf(path, sizeof path, "%s/missing/model.gguf", dir);
        ASSERT_ERROR(gguf_writer_write(w, path), -ENOENT);
        ASSERT_CONTAINS(gguf_writer_error(w), "missing/model.gguf");
        ASSERT_UEQ(count_entries(dir), 1);
}

TEST(open_errors) {
        Gguf *g = NULL;
        char err[256];

        ASSERT_ERROR(gguf_open("/nonexistent/x.gguf", &g, err, sizeof err), -ENOENT);
        ASSERT_CONTAINS(err, "gguf: cannot open /nonexistent/x.gguf");
        ASSERT_ERROR(gguf_open(test_tmpdir(), &g, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "is not a regular file");
        ASSERT_ERROR(gguf_open_buffer(NULL, 0, &g, err, sizeof err), -EBADMSG);
        ASSERT_CONTAINS(err, "gguf: bad magic (not a GGUF file)");
        ASSERT_ERROR(gguf_open_buffer(NULL, 0, &g, NULL, 0), -EBADMSG); /* err is optional */
        ASSERT_NULL(g);
}

/* Getters. */

TEST(getters_convert_and_explain) {
        _cleanup_gguf_writer_free_ GgufWriter *w = NULL;
        _cleanup_gguf_close_ Gguf *g = NULL;
        char path[512], err[256];
        uint32_t u32;
        uint8_t u8;
        int8_t i8;
        int64_t i64;
        uint64_t u64;
        float f;
        double d;
        bool b;

        ASSERT_OK(gguf_writer_new(&w));
        ASSERT_OK(gguf_writer_add_u8(w, "n.u8", 7));
        ASSERT_OK(gguf_writer_add_i32(w, "n.i32", 4096));
        ASSERT_OK(gguf_writer_add_i32(w, "n.neg", -1));
        ASSERT_OK(gguf_writer_add_u64(w, "n.big", (uint64_t) 1 << 40));
        ASSERT_OK(gguf_writer_add_u64(w, "n.huge", UINT64_MAX));
        ASSERT_OK(gguf_writer_add_f64(w, "n.f64", 0.5));
        ASSERT_OK(gguf_writer_add_f64(w, "n.f64big", 1e300));
        ASSERT_OK(gguf_writer_add_str(w, "n.str", "x"));
        ASSERT_OK(gguf_writer_add_bool(w, "n.bool", true));
        tmp_path(path, sizeof path, "getters.gguf");
        ASSERT_OK(gguf_writer_write(w, path));
        ASSERT_OK(gguf_open(path, &g, err, sizeof err));

        /* Any integer type that fits. */
        ASSERT_OK(gguf_get_u32(g, "n.u8", &u32, err, sizeof err));
        ASSERT_UEQ(u32, 7);
        ASSERT_OK(gguf_get_u32(g, "n.i32", &u32, err, sizeof err));
        ASSERT_UEQ(u32, 4096);
        ASSERT_OK(gguf_get_i64(g, "n.neg", &i64, err, sizeof err));
        ASSERT_EQ(i64, -1);
        ASSERT_OK(gguf_get_i8(g, "n.neg", &i8, err, sizeof err));
        ASSERT_EQ(i8, -1);
        ASSERT_OK(gguf_get_u64(g, "n.big", &u64, err, sizeof err));
        ASSERT_UEQ(u64, (uint64_t) 1 << 40);

        /* ... and not one that does not. */
        ASSERT_ERROR(gguf_get_u32(g, "n.neg", &u32, err, sizeof err), -ERANGE);
        ASSERT_STREQ(err, "gguf: key \"n.neg\" = -1 does not fit uint32");
        ASSERT_ERROR(gguf_get_u8(g, "n.i32", &u8, err, sizeof err), -ERANGE);
        ASSERT_STREQ(err, "gguf: key \"n.i32\" = 4096 does not fit uint8");
        ASSERT_ERROR(gguf_get_u32(g, "n.big", &u32, err, sizeof err), -ERANGE);
        ASSERT_ERROR(gguf_get_i64(g, "n.huge", &i64, err, sizeof err), -ERANGE);

        /* Wrong types and missing keys name the key. */
        ASSERT_ERROR(gguf_get_u32(g, "n.str", &u32, err, sizeof err), -EINVAL);
        ASSERT_STREQ(err, "gguf: key \"n.str\" has type string, expected uint32 (or another integer type)");
        ASSERT_ERROR(gguf_get_u32(g, "n.f64", &u32, err, sizeof err), -EINVAL);
        ASSERT_ERROR(gguf_get_bool(g, "n.u8", &b, err, sizeof err), -EINVAL);
        ASSERT_STREQ(err, "gguf: key \"n.u8\" has type uint8, expected bool");
        ASSERT_ERROR(gguf_get_f32(g, "n.i32", &f, err, sizeof err), -EINVAL);
        ASSERT_ERROR(gguf_get_u32(g, "llama.block_count", &u32, err, sizeof err), -ENOENT);
        ASSERT_STREQ(err, "gguf: missing required key \"llama.block_count\"");
        ASSERT_ERROR(gguf_get_str(g, "general.name", &(const char *){ NULL }, &(size_t){ 0 }, err, sizeof err),
                     -ENOENT);

        /* Floats. */
        ASSERT_OK(gguf_get_f32(g, "n.f64", &f, err, sizeof err));
        ASSERT_TRUE(f == 0.5f);
        ASSERT_ERROR(gguf_get_f32(g, "n.f64big", &f, err, sizeof err), -ERANGE);
        ASSERT_OK(gguf_get_f64(g, "n.f64big", &d, err, sizeof err));
        ASSERT_TRUE(d == 1e300);

        /* Results are written only on success. */
        u32 = 12345;
        ASSERT_ERROR(gguf_get_u32(g, "n.neg", &u32, err, sizeof err), -ERANGE);
        ASSERT_UEQ(u32, 12345);
}

TEST(unsupported_type_message) {
        GgufTensorInfo t = { .name = "blk.0.attn_q.weight", .type = GGUF_TENSOR_Q5_K };
        char err[256];

        ASSERT_ERROR(gguf_tensor_check_supported(&t, err, sizeof err), -EOPNOTSUPP);
        ASSERT_CONTAINS(err, "gguf: unsupported tensor type q5_k for blk.0.attn_q.weight");
        t.type = GGUF_TENSOR_Q6_K;
        ASSERT_OK(gguf_tensor_check_supported(&t, err, sizeof err));
}

/* Malformed files, crafted. */

/* A valid file: one kv, two f32 tensors of 8 elements, alignment 32. */
static void build_valid(Bytes *b, uint32_t version) {
        put_header(b, version, 2, 1);
        put_kv_u32(b, "a.b", 1);
        put_tensor_info(b, "t0", 1, (uint64_t[]){ 8 }, GGUF_TENSOR_F32, 0);
        put_tensor_info(b, "t1", 1, (uint64_t[]){ 8 }, GGUF_TENSOR_F32, 32);
        pad_to(b, 32);
        put_zeros(b, 64);
}

TEST(crafted_valid_and_versions) {
        _cleanup_(bytes_done) Bytes b = {};
        char err[256];

        build_valid(&b, 3);
        ASSERT_OK(try_open(b.data, b.size, err, sizeof err));
        bytes_done(&b);
        build_valid(&b, 2);
        ASSERT_OK(try_open(b.data, b.size, err, sizeof err));
        bytes_done(&b);

        build_valid(&b, 1);
        ASSERT_OPEN_FAILS(&b, -EPROTONOSUPPORT, "gguf: unsupported version 1");
        bytes_done(&b);
        build_valid(&b, 4);
        ASSERT_OPEN_FAILS(&b, -EPROTONOSUPPORT, "gguf: unsupported version 4");
        bytes_done(&b);
        build_valid(&b, 0);
        ASSERT_OPEN_FAILS(&b, -EPROTONOSUPPORT, "gguf: unsupported version 0");
        bytes_done(&b);
        build_valid(&b, 0x03000000); /* version 3 written big-endian */
        ASSERT_OPEN_FAILS(&b, -EPROTONOSUPPORT, "big-endian");
        bytes_done(&b);

        build_valid(&b, 3);
        b.data[3] = 'X';
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: bad magic (not a GGUF file)");
        b.size = 3;
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: bad magic (not a GGUF file)");
        b.data[3] = 'F';
        b.size = 10;
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: truncated at header (offset 8)");
}

TEST(crafted_counts) {
        _cleanup_(bytes_done) Bytes b = {};

        put_header(&b, 3, 0, (uint64_t) 1 << 40);
        put_kv_u32(&b, "a.b", 1);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: n_kv 1099511627776 is more than a file of");
        bytes_done(&b);

        put_header(&b, 3, UINT64_MAX, 1);
        put_kv_u32(&b, "a.b", 1);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: n_tensors 18446744073709551615 is more than a file of");
        bytes_done(&b);

        /* Each count alone fits, both together do not. */
        put_header(&b, 3, 1, 2);
        put_zeros(&b, 40);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: n_kv 2 and n_tensors 1 are more than a file of 64 bytes could hold");
}

TEST(crafted_truncated_and_huge_strings) {
        _cleanup_(bytes_done) Bytes b = {};

        /* Metadata key 1 is cut off inside its value. */
        put_header(&b, 3, 0, 2);
        put_kv_u32(&b, "first.key.with.a.long.name", 1);
        put_str(&b, "second");
        put_u32(&b, GGUF_VALUE_UINT64);
        put_u32(&b, 0); /* 4 of 8 bytes */
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: truncated at metadata key 1 \"second\" (offset 84)");
        bytes_done(&b);

        /* A string length that passes the end of the file. */
        put_header(&b, 3, 0, 1);
        put_u64(&b, (uint64_t) 1 << 32);
        put(&b, "k", 1);
        put_zeros(&b, 16);
        ASSERT_OPEN_FAILS(&b, -EBADMSG,
                          "gguf: string length 4294967296 at offset 24 exceeds the file (metadata key 0)");
        bytes_done(&b);

        put_header(&b, 3, 0, 1);
        put_str(&b, "k.s");
        put_u32(&b, GGUF_VALUE_STRING);
        put_u64(&b, UINT64_MAX);
        put_zeros(&b, 8);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: string length 18446744073709551615 at offset 39 exceeds the file");
        bytes_done(&b);

        /* An element of a string array. */
        put_header(&b, 3, 0, 1);
        put_str(&b, "k.arr");
        put_u32(&b, GGUF_VALUE_ARRAY);
        put_u32(&b, GGUF_VALUE_STRING);
        put_u64(&b, 2);
        put_str(&b, "ok");
        put_u64(&b, 1000);
        put(&b, "short", 5);
        ASSERT_OPEN_FAILS(&b, -EBADMSG,
                          "gguf: string length 1000 at offset 63 exceeds the file (metadata key 0 \"k.arr\")");
}

TEST(crafted_metadata_values) {
        _cleanup_(bytes_done) Bytes b = {};

        put_header(&b, 3, 0, 1);
        put_str(&b, "k.t");
        put_u32(&b, 13);
        put_zeros(&b, 8);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: metadata key \"k.t\": unknown value type 13 (offset 35)");
        bytes_done(&b);

        put_header(&b, 3, 0, 1);
        put_str(&b, "k.nested");
        put_u32(&b, GGUF_VALUE_ARRAY);
        put_u32(&b, GGUF_VALUE_ARRAY);
        put_u64(&b, 1);
        put_u32(&b, GGUF_VALUE_UINT8);
        put_u64(&b, 1);
        put_u8(&b, 1);
        ASSERT_OPEN_FAILS(&b, -EOPNOTSUPP, "gguf: metadata key \"k.nested\": nested arrays are not supported");
        bytes_done(&b);

        put_header(&b, 3, 0, 1);
        put_str(&b, "k.arr");
        put_u32(&b, GGUF_VALUE_ARRAY);
        put_u32(&b, GGUF_VALUE_UINT32);
        put_u64(&b, (uint64_t) 1 << 62);
        put_zeros(&b, 16);
        ASSERT_OPEN_FAILS(
                &b, -EBADMSG,
                "gguf: metadata key \"k.arr\": array of 4611686018427387904 uint32 at offset 41 exceeds the file");
        bytes_done(&b);

        put_header(&b, 3, 0, 1);
        put_str(&b, "k.arr");
        put_u32(&b, GGUF_VALUE_ARRAY);
        put_u32(&b, 77);
        put_u64(&b, 1);
        put_zeros(&b, 8);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "unknown array element type 77");
        bytes_done(&b);

        put_header(&b, 3, 0, 1);
        put_str(&b, "k.bool");
        put_u32(&b, GGUF_VALUE_BOOL);
        put_u8(&b, 2);
        put_zeros(&b, 8);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: metadata key \"k.bool\": bool value 2 at offset 42 is neither 0 nor 1");
        bytes_done(&b);

        put_header(&b, 3, 0, 1);
        put_str(&b, "k.bools");
        put_u32(&b, GGUF_VALUE_ARRAY);
        put_u32(&b, GGUF_VALUE_BOOL);
        put_u64(&b, 3);
        put_u8(&b, 1), put_u8(&b, 0), put_u8(&b, 255);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "bool value 255 at offset 57 is neither 0 nor 1");
        bytes_done(&b);

        put_header(&b, 3, 0, 2);
        put_kv_u32(&b, "a.dup", 1);
        put_kv_u32(&b, "a.dup", 2);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: duplicate metadata key \"a.dup\"");
        bytes_done(&b);

        put_header(&b, 3, 0, 1);
        put_kv_u32(&b, "", 1);
        put_zeros(&b, 4);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: metadata key 0 at offset 24 is empty");
        bytes_done(&b);

        put_header(&b, 3, 0, 1);
        put_u64(&b, 3);
        put(&b, "a\0b", 3);
        put_u32(&b, GGUF_VALUE_UINT8);
        put_u8(&b, 0);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: metadata key 0 at offset 24 contains a NUL byte");
        bytes_done(&b);

        /* A key longer than 65535 bytes. */
        put_header(&b, 3, 0, 1);
        put_u64(&b, 65536);
        for (int i = 0; i < 65536; i++)
                put_u8(&b, 'k');
        put_u32(&b, GGUF_VALUE_UINT8);
        put_u8(&b, 0);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: metadata key 0 at offset 24 is 65536 bytes long (limit 65535)");
}

TEST(crafted_alignment) {
        _cleanup_(bytes_done) Bytes b = {};
        char err[256];

        static const uint32_t bad[] = { 0, 48, 3 };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                put_header(&b, 3, 0, 1);
                put_kv_u32(&b, "general.alignment", bad[i]);
                ASSERT_OPEN_FAILS(&b, -EBADMSG, "is not a nonzero power of two");
                bytes_done(&b);
        }

        put_header(&b, 3, 0, 1);
        put_str(&b, "general.alignment");
        put_u32(&b, GGUF_VALUE_STRING);
        put_str(&b, "32");
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: key \"general.alignment\" has type string, expected uint32");
        bytes_done(&b);

        put_header(&b, 3, 0, 1);
        put_str(&b, "general.alignment");
        put_u32(&b, GGUF_VALUE_UINT64);
        put_u64(&b, (uint64_t) 1 << 32);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "does not fit uint32");
        bytes_done(&b);

        /* Another integer type holding a good value is accepted, and used. */
        put_header(&b, 3, 1, 1);
        put_str(&b, "general.alignment");
        put_u32(&b, GGUF_VALUE_UINT16);
        put(&b, &(uint16_t){ 64 }, 2);
        put_tensor_info(&b, "t", 1, (uint64_t[]){ 4 }, GGUF_TENSOR_F32, 0);
        pad_to(&b, 64);
        put_zeros(&b, 16);
        ASSERT_OK(try_open(b.data, b.size, err, sizeof err));
        /* ... and a tensor offset must then be a multiple of 64. */
        bytes_done(&b);
        put_header(&b, 3, 1, 1);
        put_str(&b, "general.alignment");
        put_u32(&b, GGUF_VALUE_UINT16);
        put(&b, &(uint16_t){ 64 }, 2);
        put_tensor_info(&b, "t", 1, (uint64_t[]){ 4 }, GGUF_TENSOR_F32, 32);
        pad_to(&b, 64);
        put_zeros(&b, 64);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: tensor \"t\": offset 32 not aligned to 64");
}

static void one_tensor(Bytes *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t offset,
                       size_t data) {
        put_header(b, 3, 1, 0);
        put_tensor_info(b, name, n_dims, ne, type, offset);
        pad_to(b, 32);
        put_zeros(b, data);
}

TEST(crafted_tensors) {
        _cleanup_(bytes_done) Bytes b = {};
        char name[80];

        one_tensor(&b, "blk.0.attn_q.weight", 5, (uint64_t[]){ 1, 1, 1, 1, 1 }, GGUF_TENSOR_F32, 0, 32);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: tensor \"blk.0.attn_q.weight\": n_dims 5 exceeds 4");
        bytes_done(&b);

        one_tensor(&b, "x", 1, (uint64_t[]){ 8 }, 99, 0, 64);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: tensor \"x\": unknown type 99");
        bytes_done(&b);
        one_tensor(&b, "x", 1, (uint64_t[]){ 8 }, 4, 0, 64); /* Q4_2, removed */
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: tensor \"x\": unknown type 4");
        bytes_done(&b);

        one_tensor(&b, "q", 2, (uint64_t[]){ 33, 2 }, GGUF_TENSOR_Q8_0, 0, 128);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: tensor \"q\": ne[0] = 33 is not a multiple of the q8_0 block size 32");
        bytes_done(&b);

        one_tensor(&b, "big", 3, (uint64_t[]){ (uint64_t) 1 << 32, (uint64_t) 1 << 32, 4 }, GGUF_TENSOR_F32, 0, 32);
        ASSERT_OPEN_FAILS(&b, -EBADMSG,
                          "gguf: tensor \"big\": dimension product [4294967296, 4294967296, 4] overflows");
        bytes_done(&b);

        one_tensor(&b, "big", 2, (uint64_t[]){ (uint64_t) 1 << 62, 1 }, GGUF_TENSOR_F32, 0, 32);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: tensor \"big\": size of f32 [4611686018427387904, 1] overflows");
        bytes_done(&b);

        one_tensor(&b, "neg", 1, (uint64_t[]){ UINT64_MAX }, GGUF_TENSOR_F32, 0, 32);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: tensor \"neg\": dimension 0 is 18446744073709551615, too large");
        bytes_done(&b);

        one_tensor(&b, "u", 1, (uint64_t[]){ 8 }, GGUF_TENSOR_F32, 4, 64);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: tensor \"u\": offset 4 not aligned to 32");
        bytes_done(&b);

        /* Header 24 + info (8+19+4+8+4+8) = 75, data from 96: [96, 128) needs 128 bytes. */
        one_tensor(&b, "blk.0.attn_q.weight", 1, (uint64_t[]){ 8 }, GGUF_TENSOR_F32, 0, 31);
        ASSERT_OPEN_FAILS(&b, -EBADMSG,
                          "gguf: tensor \"blk.0.attn_q.weight\": data [96, 128) out of bounds (file is 127 bytes)");
        bytes_done(&b);

        one_tensor(&b, "far", 1, (uint64_t[]){ 8 }, GGUF_TENSOR_F32, (uint64_t) 1 << 40, 64);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "out of bounds");
        bytes_done(&b);

        one_tensor(&b, "wrap", 1, (uint64_t[]){ 8 }, GGUF_TENSOR_F32, UINT64_MAX - 31, 64);
        ASSERT_OPEN_FAILS(&b, -EBADMSG,
                          "gguf: tensor \"wrap\": data at offset 18446744073709551584 of 32 bytes overflows");
        bytes_done(&b);

        /* Overlaps (sorted by start, the first overlapping pair is always adjacent). */
        put_header(&b, 3, 3, 0);
        put_tensor_info(&b, "a", 1, (uint64_t[]){ 32 }, GGUF_TENSOR_F32, 0); /* [0, 128) */
        put_tensor_info(&b, "b", 1, (uint64_t[]){ 8 }, GGUF_TENSOR_F32, 32); /* [32, 64) */
        put_tensor_info(&b, "c", 1, (uint64_t[]){ 8 }, GGUF_TENSOR_F32, 96); /* [96, 128) */
        pad_to(&b, 32);
        put_zeros(&b, 128);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: tensor \"b\": data [160, 192) overlaps tensor \"a\" [128, 256)");
        bytes_done(&b);

        put_header(&b, 3, 2, 0);
        put_tensor_info(&b, "a", 1, (uint64_t[]){ 16 }, GGUF_TENSOR_F32, 0);
        put_tensor_info(&b, "z", 1, (uint64_t[]){ 0 }, GGUF_TENSOR_F32, 0); /* empty: overlaps nothing */
        pad_to(&b, 32);
        put_zeros(&b, 64);
        ASSERT_OK(try_open(b.data, b.size, name, sizeof name));
        bytes_done(&b);

        put_header(&b, 3, 2, 0);
        put_tensor_info(&b, "same", 1, (uint64_t[]){ 8 }, GGUF_TENSOR_F32, 0);
        put_tensor_info(&b, "same", 1, (uint64_t[]){ 8 }, GGUF_TENSOR_F32, 32);
        pad_to(&b, 32);
        put_zeros(&b, 64);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: duplicate tensor name \"same\"");
        bytes_done(&b);

        memset(name, 'n', 65);
        name[65] = 0;
        one_tensor(&b, name, 1, (uint64_t[]){ 8 }, GGUF_TENSOR_F32, 0, 32);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: tensor name at offset 24 is 65 bytes long (limit 64)");
        bytes_done(&b);

        one_tensor(&b, "", 1, (uint64_t[]){ 8 }, GGUF_TENSOR_F32, 0, 32);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: tensor info 0 at offset 24 has an empty name");
        bytes_done(&b);

        /* Control characters in a name are not echoed raw. */
        one_tensor(&b, "bad\033[2Jname", 1, (uint64_t[]){ 8 }, 99, 0, 32);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: tensor \"bad?[2Jname\": unknown type 99");
        bytes_done(&b);

        /* Truncated inside a tensor info. */
        put_header(&b, 3, 1, 0);
        put_str(&b, "t");
        put_u32(&b, 2);
        put_u64(&b, 8);
        put_zeros(&b, 6);
        ASSERT_OPEN_FAILS(&b, -EBADMSG, "gguf: truncated at tensor \"t\" (offset 45)");
}

/* Every truncation and many corruptions of a real file fail cleanly (and under ASan, safely). */

static int load_sample(char **ret, size_t *ret_size) {
        char path[512];

        tmp_path(path, sizeof path, "sample.gguf");
        if (write_every_type(path, 0) < 0)
                return -EIO;
        return file_read_all(path, 1 << 20, ret, ret_size);
}

TEST(truncated_at_every_byte) {
        _cleanup_free_ char *data = NULL;
        _cleanup_gguf_close_ Gguf *g = NULL;
        char err[512];
        size_t size, end = 0;

        ASSERT_OK(load_sample(&data, &size));
        ASSERT_OK(gguf_open_buffer(data, size, &g, err, sizeof err));
        for (size_t i = 0; i < gguf_n_tensors(g); i++)
                end = MAX(end, gguf_tensor(g, i)->file_offset + gguf_tensor(g, i)->size);
        ASSERT_TRUE(end > 0 && end <= size);

        /* Shorter than the end of the last tensor's data: must fail with a message. Longer
         * (only trailing padding missing): still valid. */
        for (size_t len = 0; len < size; len++) {
                int r = try_open(data, len, err, sizeof err);
                if (len < end) {
                        if (r != -EBADMSG || strncmp(err, "gguf: ", 6) != 0) {
                                test_fail(__FILE__, __LINE__, "truncated to %zu bytes: r=%d err=\"%s\"", len, r, err);
                                return;
                        }
                } else
                        ASSERT_OK(r);
        }

        /* The same through a file on disk. */
        {
                char path[512];
                Gguf *h = NULL;

                tmp_path(path, sizeof path, "cut.gguf");
                ASSERT_OK(file_write_atomic(path, data, size / 2, 0644));
                ASSERT_ERROR(gguf_open(path, &h, err, sizeof err), -EBADMSG);
                ASSERT_CONTAINS(err, "gguf: ");
                ASSERT_NULL(h);
        }
}

TEST(corrupted_bytes) {
        _cleanup_free_ char *data = NULL;
        _cleanup_free_ uint8_t *copy = NULL;
        _cleanup_gguf_close_ Gguf *g = NULL;
        static const uint8_t masks[] = { 0x01, 0x80, 0xff };
        size_t size, header_end;
        unsigned n_ok = 0, n_fail = 0, seed = 12345;
        char err[512];

        ASSERT_OK(load_sample(&data, &size));
        ASSERT_OK(gguf_open_buffer(data, size, &g, err, sizeof err));
        header_end = gguf_data_offset(g);
        copy = malloc(size);
        ASSERT_NOT_NULL(copy);

        /* Every byte of header, metadata and tensor infos, flipped three ways. */
        for (size_t i = 0; i < header_end; i++)
                for (size_t m = 0; m < ELEMENTSOF(masks); m++) {
                        int r;

                        memcpy(copy, data, size);
                        copy[i] ^= masks[m];
                        r = try_open(copy, size, err, sizeof err);
                        if (r < 0 && strncmp(err, "gguf: ", 6) != 0) {
                                test_fail(__FILE__, __LINE__, "byte %zu ^ 0x%02x: r=%d without a message", i, masks[m],
                                          r);
                                return;
                        }
                        r < 0 ? n_fail++ : n_ok++;
                }
        /* Both outcomes happen: flips in padding or values are harmless, in structure fatal. */
        ASSERT_TRUE(n_ok > 0);
        ASSERT_TRUE(n_fail > 0);

        /* Random multi-byte corruptions, some with huge 64-bit values planted. */
        for (int iter = 0; iter < 3000; iter++) {
                memcpy(copy, data, size);
                for (int k = 0; k < 4; k++) {
                        seed = seed * 1103515245u + 12345u;
                        size_t at = (seed >> 8) % header_end;
                        if (k == 0 && at + 8 <= size) {
                                uint64_t v = (uint64_t) seed << 33 | seed;
                                memcpy(copy + at, &v, 8);
                        } else
                                copy[at] = (uint8_t) (seed >> 3);
                }
                (void) try_open(copy, size, err, sizeof err);
        }
}

/* The vocab-only files from llama.cpp in shared/testdata. */

static int open_vocab(const char *file, Gguf **ret) {
        char name[256], path[4096], err[512];
        int r;

        snprintf(name, sizeof name, "llama.cpp-vocab/%s", file);
        r = testdata_path(name, path, sizeof path);
        if (r < 0)
                return r;
        r = gguf_open(path, ret, err, sizeof err);
        if (r < 0)
                printf("# %s: %s\n", path, err);
        return r;
}

static bool str_is(const char *p, size_t len, const char *want) {
        return len == strlen(want) && memcmp(p, want, len) == 0;
}

static bool array_str_is(const GgufArray *a, uint64_t i, const char *want) {
        const char *s;
        size_t len;

        return gguf_array_get_str(a, i, &s, &len) >= 0 && str_is(s, len, want);
}

TEST(vocab_llama_spm) {
        _cleanup_gguf_close_ Gguf *g = NULL;
        char err[256];
        const char *s;
        size_t len;
        uint32_t u;
        bool b;
        float f;
        double d;
        int64_t i;
        GgufArray a;

        ASSERT_OK(open_vocab("ggml-vocab-llama-spm.gguf", &g));
        ASSERT_UEQ(gguf_version(g), 3);
        ASSERT_UEQ(gguf_n_tensors(g), 0);
        ASSERT_UEQ(gguf_n_kv(g), 22);
        ASSERT_OK(gguf_get_str(g, "general.architecture", &s, &len, err, sizeof err));
        ASSERT_TRUE(str_is(s, len, "llama"));
        ASSERT_OK(gguf_get_str(g, "tokenizer.ggml.model", &s, &len, err, sizeof err));
        ASSERT_TRUE(str_is(s, len, "llama"));
        ASSERT_OK(gguf_get_str(g, "tokenizer.ggml.pre", &s, &len, err, sizeof err));
        ASSERT_TRUE(str_is(s, len, "default"));
        ASSERT_OK(gguf_get_u32(g, "llama.block_count", &u, err, sizeof err));
        ASSERT_UEQ(u, 32);
        ASSERT_OK(gguf_get_u32(g, "llama.vocab_size", &u, err, sizeof err));
        ASSERT_UEQ(u, 32000);
        ASSERT_OK(gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &f, err, sizeof err));
        ASSERT_TRUE(f == 1e-5f);
        ASSERT_OK(gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &u, err, sizeof err));
        ASSERT_UEQ(u, 1);
        ASSERT_OK(gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &u, err, sizeof err));
        ASSERT_UEQ(u, 2);
        ASSERT_OK(gguf_get_u32(g, "tokenizer.ggml.unknown_token_id", &u, err, sizeof err));
        ASSERT_UEQ(u, 0);
        ASSERT_OK(gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b, err, sizeof err));
        ASSERT_TRUE(b);
        ASSERT_OK(gguf_get_bool(g, "tokenizer.ggml.add_eos_token", &b, err, sizeof err));
        ASSERT_FALSE(b);

        ASSERT_OK(gguf_get_array(g, "tokenizer.ggml.tokens", GGUF_VALUE_STRING, &a, err, sizeof err));
        ASSERT_UEQ(a.n, 32000);
        ASSERT_TRUE(array_str_is(&a, 0, "<unk>"));
        ASSERT_TRUE(array_str_is(&a, 1, "<s>"));
        ASSERT_TRUE(array_str_is(&a, 2, "</s>"));
        ASSERT_TRUE(array_str_is(&a, 3, "<0x00>"));
        ASSERT_TRUE(array_str_is(&a, 31999, "\xe7\xbb\x99")); /* 给 */
        ASSERT_OK(gguf_get_array(g, "tokenizer.ggml.scores", GGUF_VALUE_FLOAT32, &a, err, sizeof err));
        ASSERT_UEQ(a.n, 32000);
        ASSERT_OK(gguf_array_get_float(&a, 31999, &d));
        ASSERT_TRUE(d == -31740.0);
        ASSERT_OK(gguf_get_array(g, "tokenizer.ggml.token_type", GGUF_VALUE_INT32, &a, err, sizeof err));
        ASSERT_UEQ(a.n, 32000);
        ASSERT_OK(gguf_array_get_int(&a, 0, &i));
        ASSERT_EQ(i, 2); /* unknown */
        ASSERT_OK(gguf_array_get_int(&a, 1, &i));
        ASSERT_EQ(i, 3); /* control */
        ASSERT_OK(gguf_array_get_int(&a, 3, &i));
        ASSERT_EQ(i, 6); /* byte */
}

TEST(vocab_gpt2) {
        _cleanup_gguf_close_ Gguf *g = NULL;
        char err[256];
        const char *s;
        size_t len;
        uint32_t u;
        GgufArray a;

        ASSERT_OK(open_vocab("ggml-vocab-gpt-2.gguf", &g));
        ASSERT_UEQ(gguf_n_kv(g), 16);
        ASSERT_OK(gguf_get_str(g, "tokenizer.ggml.model", &s, &len, err, sizeof err));
        ASSERT_TRUE(str_is(s, len, "gpt2"));
        ASSERT_OK(gguf_get_str(g, "tokenizer.ggml.pre", &s, &len, err, sizeof err));
        ASSERT_TRUE(str_is(s, len, "gpt-2"));
        ASSERT_OK(gguf_get_u32(g, "gpt2.context_length", &u, err, sizeof err));
        ASSERT_UEQ(u, 1024);
        ASSERT_OK(gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &u, err, sizeof err));
        ASSERT_UEQ(u, 50256);
        ASSERT_OK(gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &u, err, sizeof err));
        ASSERT_UEQ(u, 50256);
        ASSERT_ERROR(gguf_get_u32(g, "tokenizer.ggml.unknown_token_id", &u, err, sizeof err), -ENOENT);
        ASSERT_OK(gguf_get_array(g, "tokenizer.ggml.tokens", GGUF_VALUE_STRING, &a, err, sizeof err));
        ASSERT_UEQ(a.n, 50257);
        ASSERT_TRUE(array_str_is(&a, 0, "!"));
        ASSERT_TRUE(array_str_is(&a, 50256, "<|endoftext|>"));
        ASSERT_OK(gguf_get_array(g, "tokenizer.ggml.merges", GGUF_VALUE_STRING, &a, err, sizeof err));
        ASSERT_UEQ(a.n, 50000);
        ASSERT_TRUE(array_str_is(&a, 0, "\xc4\xa0 t")); /* "Ġ t" */
        ASSERT_TRUE(array_str_is(&a, 49999, "\xc4\xa0g azed"));
}

TEST(vocab_deepseek_coder) {
        _cleanup_gguf_close_ Gguf *g = NULL;
        char err[256];
        const char *s;
        size_t len;
        uint32_t u;
        float f;
        GgufArray a;
        int64_t i;

        ASSERT_OK(open_vocab("ggml-vocab-deepseek-coder.gguf", &g));
        ASSERT_UEQ(gguf_n_kv(g), 25);
        ASSERT_OK(gguf_get_str(g, "tokenizer.ggml.model", &s, &len, err, sizeof err));
        ASSERT_TRUE(str_is(s, len, "gpt2"));
        ASSERT_OK(gguf_get_str(g, "tokenizer.ggml.pre", &s, &len, err, sizeof err));
        ASSERT_TRUE(str_is(s, len, "deepseek-coder"));
        ASSERT_OK(gguf_get_str(g, "llama.rope.scaling.type", &s, &len, err, sizeof err));
        ASSERT_TRUE(str_is(s, len, "linear"));
        ASSERT_OK(gguf_get_f32(g, "llama.rope.scaling.factor", &f, err, sizeof err));
        ASSERT_TRUE(f == 4.0f);
        ASSERT_OK(gguf_get_f32(g, "llama.rope.freq_base", &f, err, sizeof err));
        ASSERT_TRUE(f == 100000.0f);
        ASSERT_OK(gguf_get_u32(g, "llama.context_length", &u, err, sizeof err));
        ASSERT_UEQ(u, 16384);
        ASSERT_OK(gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &u, err, sizeof err));
        ASSERT_UEQ(u, 32013);
        ASSERT_OK(gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &u, err, sizeof err));
        ASSERT_UEQ(u, 32014);
        ASSERT_OK(gguf_get_u32(g, "tokenizer.ggml.padding_token_id", &u, err, sizeof err));
        ASSERT_UEQ(u, 32014);
        ASSERT_OK(gguf_get_array(g, "tokenizer.ggml.tokens", GGUF_VALUE_STRING, &a, err, sizeof err));
        ASSERT_UEQ(a.n, 32256);
        ASSERT_TRUE(array_str_is(&a, 32255, "[PAD32255]"));
        ASSERT_OK(gguf_get_array(g, "tokenizer.ggml.merges", GGUF_VALUE_STRING, &a, err, sizeof err));
        ASSERT_UEQ(a.n, 31757);
        ASSERT_OK(gguf_get_array(g, "tokenizer.ggml.token_type", GGUF_VALUE_INT32, &a, err, sizeof err));
        ASSERT_OK(gguf_array_get_int(&a, 32255, &i));
        ASSERT_EQ(i, 4); /* user defined */
}
