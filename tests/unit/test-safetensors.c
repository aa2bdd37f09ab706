/* test-safetensors.c: the safetensors reader on well-formed files and its rejection of malformed headers, ranges and
 * dtypes. */
#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>

#include "fileio.h"
#include "safetensors.h"
#include "test.h"

/* A file: 8-byte header length, the header text, then data_size bytes (0, 1, 2, ... mod 251). */
typedef struct Buf {
        uint8_t *data;
        size_t size;
} Buf;

static Buf make(const char *header, size_t data_size) {
        size_t h = strlen(header);
        Buf b = { .size = 8 + h + data_size };
        uint64_t len = h;

        b.data = malloc(b.size ? b.size : 1);
        if (!b.data)
                abort();
        memcpy(b.data, &len, 8);
        memcpy(b.data + 8, header, h);
        for (size_t i = 0; i < data_size; i++)
                b.data[8 + h + i] = (uint8_t) (i % 251);
        return b;
}

/* Opens header + data_size bytes and expects failure with a message that contains want. */
static bool rejects(const char *header, size_t data_size, const char *want) {
        Buf b = make(header, data_size);
        Safetensors *s = NULL;
        char err[512] = "";
        int r = safetensors_open_buffer(b.data, b.size, &s, err, sizeof err);
        bool ok = r == -EBADMSG && !s && strneq(err, "safetensors: ", 13) && strstr(err, want);

        if (!ok)
                test_fail(__FILE__, __LINE__, "header %s: got %d \"%s\", wanted -EBADMSG with \"%s\"", header, r, err,
                          want);
        safetensors_close(s);
        free(b.data);
        return ok;
}

#define ASSERT_REJECTS(h, n, want) ASSERT_TRUE(rejects((h), (n), (want)))

TEST(reads_tensors_metadata_and_values) {
        /* F32 [2, 2] at 0..16, BF16 [3] at 16..22, F16 [1] at 22..24, an empty I64 tensor at 24 */
        static const char header[] = "{\"__metadata__\":{\"format\":\"pt\"},"
                                     "\"b.f32\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                                     "\"a.bf16\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[16,22]},"
                                     "\"c.f16\":{\"data_offsets\":[22,24],\"shape\":[1],\"dtype\":\"F16\"},"
                                     "\"d.empty\":{\"dtype\":\"I64\",\"shape\":[0,4],\"data_offsets\":[24,24]}}   ";
        const float f32[4] = { 1.5f, -2.0f, 0.25f, 1e-3f };
        const uint16_t bf16[3] = { 0x3f80, 0xc040, 0x0000 }, f16[1] = { 0x3c00 };
        _cleanup_(safetensors_closep) Safetensors *s = NULL;
        const SafetensorsTensor *t;
        Buf b = make(header, 24);
        float out[4];
        char err[256];

        memcpy(b.data + 8 + strlen(header), f32, 16);
        memcpy(b.data + 8 + strlen(header) + 16, bf16, 6);
        memcpy(b.data + 8 + strlen(header) + 22, f16, 2);
        ASSERT_OK(safetensors_open_buffer(b.data, b.size, &s, err, sizeof err));
        ASSERT_EQ(safetensors_n_tensors(s), 4);
        ASSERT_STREQ(safetensors_tensor(s, 0)->name, "a.bf16"); /* sorted by name */
        ASSERT_NULL(safetensors_tensor(s, 4));
        ASSERT_EQ(safetensors_n_metadata(s), 1);
        ASSERT_STREQ(safetensors_metadata_key(s, 0), "format");
        ASSERT_STREQ(safetensors_metadata_value(s, 0), "pt");
        ASSERT_NULL(safetensors_metadata_key(s, 1));

        t = safetensors_find(s, "b.f32");
        ASSERT_NOT_NULL(t);
        ASSERT_EQ(t->dtype, SAFETENSORS_F32);
        ASSERT_EQ(t->n_dims, 2);
        ASSERT_UEQ(t->shape[0], 2);
        ASSERT_UEQ(t->shape[1], 2);
        ASSERT_UEQ(t->n_elements, 4);
        ASSERT_UEQ(t->offset, 0);
        ASSERT_EQ(t->size, 16);
        ASSERT_TRUE(t->data == b.data + 8 + strlen(header));
        ASSERT_OK(safetensors_read_f32(t, 0, 4, out));
        ASSERT_MEMEQ(out, f32, sizeof f32);
        ASSERT_OK(safetensors_read_f32(t, 3, 1, out));
        ASSERT_TRUE(out[0] == 1e-3f);
        ASSERT_ERROR(safetensors_read_f32(t, 3, 2, out), -ERANGE);
        ASSERT_ERROR(safetensors_read_f32(t, 5, 0, out), -ERANGE);

        t = safetensors_find(s, "a.bf16");
        ASSERT_NOT_NULL(t);
        ASSERT_OK(safetensors_read_f32(t, 0, 3, out));
        ASSERT_TRUE(out[0] == 1.0f && out[1] == -3.0f && out[2] == 0.0f);
        t = safetensors_find(s, "c.f16");
        ASSERT_NOT_NULL(t);
        ASSERT_OK(safetensors_read_f32(t, 0, 1, out));
        ASSERT_TRUE(out[0] == 1.0f);
        t = safetensors_find(s, "d.empty");
        ASSERT_NOT_NULL(t);
        ASSERT_UEQ(t->n_elements, 0);
        ASSERT_ERROR(safetensors_read_f32(t, 0, 0, out), -EOPNOTSUPP);
        ASSERT_NULL(safetensors_find(s, "nope"));
        s = safetensors_close(s);
        free(b.data);
}

TEST(scalar_and_empty_files) {
        _cleanup_(safetensors_closep) Safetensors *s = NULL;
        Buf b = make("{\"x\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]}}", 8);

        ASSERT_OK(safetensors_open_buffer(b.data, b.size, &s, NULL, 0));
        ASSERT_EQ(safetensors_find(s, "x")->n_dims, 0);
        ASSERT_UEQ(safetensors_find(s, "x")->n_elements, 1);
        s = safetensors_close(s);
        free(b.data);

        b = make("{}", 0); /* no tensors at all is a valid file */
        ASSERT_OK(safetensors_open_buffer(b.data, b.size, &s, NULL, 0));
        ASSERT_EQ(safetensors_n_tensors(s), 0);
        ASSERT_NULL(safetensors_find(s, "x"));
        free(b.data);
}

TEST(rejects_bad_framing) {
        uint8_t small[7] = {}, huge[16] = {};
        uint64_t len = ((uint64_t) 100 << 20) + 1;
        Safetensors *s = NULL;
        char err[256];

        ASSERT_ERROR(safetensors_open_buffer(small, sizeof small, &s, err, sizeof err), -EBADMSG);
        ASSERT_CONTAINS(err, "shorter than its 8-byte header length");
        memcpy(huge, &len, 8);
        ASSERT_ERROR(safetensors_open_buffer(huge, sizeof huge, &s, err, sizeof err), -EBADMSG);
        ASSERT_CONTAINS(err, "over the limit");
        len = 9;
        memcpy(huge, &len, 8);
        ASSERT_ERROR(safetensors_open_buffer(huge, sizeof huge, &s, err, sizeof err), -EBADMSG);
        ASSERT_CONTAINS(err, "runs past the end of the file");
        ASSERT_NULL(s);
}

TEST(rejects_bad_json) {
        ASSERT_REJECTS("", 0, "does not start with '{'");
        ASSERT_REJECTS("[]", 0, "does not start with '{'");
        ASSERT_REJECTS(" {}", 0, "does not start with '{'");
        ASSERT_REJECTS("{\"a\":", 0, "invalid JSON");
        ASSERT_REJECTS("{} x", 0, "invalid JSON");
        ASSERT_REJECTS("{\"\xff\":1}", 0, "not UTF-8");
        ASSERT_REJECTS("{\"\xc0\xaf\":1}", 0, "not UTF-8");     /* overlong '/' */
        ASSERT_REJECTS("{\"\xed\xa0\x80\":1}", 0, "not UTF-8"); /* a surrogate */
        ASSERT_REJECTS("{\"__metadata__\":[]}", 0, "__metadata__ is not an object");
        ASSERT_REJECTS("{\"__metadata__\":{\"k\":1}}", 0, "is not a string");
        ASSERT_REJECTS("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "appears twice");
        ASSERT_REJECTS("{\"\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4, "empty");
}

TEST(rejects_bad_tensor_entries) {
        ASSERT_REJECTS("{\"t\":1}", 0, "expected an object");
        ASSERT_REJECTS("{\"t\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "missing field \"dtype\"");
        ASSERT_REJECTS("{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "missing field \"shape\"");
        ASSERT_REJECTS("{\"t\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "missing field \"data_offsets\"");
        ASSERT_REJECTS("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4,
                       "unknown field \"x\"");
        ASSERT_REJECTS("{\"t\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                       "appears twice");
        ASSERT_REJECTS("{\"t\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype \"Q4\"");
        ASSERT_REJECTS("{\"t\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "dtype is not a string");
        ASSERT_REJECTS("{\"t\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}}", 4, "shape is not an array");
        ASSERT_REJECTS("{\"t\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "whole number");
        ASSERT_REJECTS("{\"t\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, "whole number");
        ASSERT_REJECTS("{\"t\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4, "whole number");
        ASSERT_REJECTS("{\"t\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
                       "9 dimensions");
        ASSERT_REJECTS(
                "{\"t\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,4]}}", 4,
                "too many elements");
        ASSERT_REJECTS("{\"t\":{\"dtype\":\"F64\",\"shape\":[2251799813685248,4096],\"data_offsets\":[0,4]}}", 4,
                       "too many elements");
        ASSERT_REJECTS("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "two whole numbers");
        ASSERT_REJECTS("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4, "two whole numbers");
        ASSERT_REJECTS("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{}}}", 4, "two whole numbers");
        ASSERT_REJECTS("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, "not a range");
        ASSERT_REJECTS("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", 4,
                       "not a range inside the 4");
        ASSERT_REJECTS("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
                       "hold 4 bytes, but F32 of this shape needs 8");
}

TEST(rejects_bad_layout) {
        /* a gap, an overlap, bytes no tensor owns, a name twice */
        ASSERT_REJECTS("{\"t\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}", 4, "a gap before it");
        ASSERT_REJECTS("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                       "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}",
                       4, "overlaps");
        ASSERT_REJECTS("{\"t\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", 4, "2 bytes of data after");
        ASSERT_REJECTS("{\"t\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                       "\"t\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}",
                       4, "\"t\" appears twice");
}

TEST(long_names_are_shortened_in_errors) {
        char header[2048], name[1500];
        Buf b;
        Safetensors *s = NULL;
        char err[256];

        memset(name, 'n', sizeof name - 1);
        name[sizeof name - 1] = '\0';
        snprintf(header, sizeof header, "{\"%.1000s\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}",
                 name);
        b = make(header, 4);
        ASSERT_ERROR(safetensors_open_buffer(b.data, b.size, &s, err, sizeof err), -EBADMSG);
        ASSERT_CONTAINS(err, "...\"");
        free(b.data);
        snprintf(header, sizeof header, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", name);
        b = make(header, 4);
        ASSERT_ERROR(safetensors_open_buffer(b.data, b.size, &s, err, sizeof err), -EBADMSG);
        ASSERT_CONTAINS(err, "longer than 1024 bytes");
        free(b.data);
}

TEST(open_maps_files) {
        _cleanup_(safetensors_closep) Safetensors *s = NULL;
        char path[512], err[256];
        Buf b = make("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        float v = 0.5f, out;

        memcpy(b.data + b.size - 4, &v, 4);
        snprintf(path, sizeof path, "%s/ok.safetensors", test_tmpdir());
        ASSERT_OK(file_write_atomic(path, b.data, b.size, 0644));
        free(b.data);
        ASSERT_OK(safetensors_open(path, &s, err, sizeof err));
        ASSERT_OK(safetensors_read_f32(safetensors_find(s, "w"), 0, 1, &out));
        ASSERT_TRUE(out == 0.5f);

        snprintf(path, sizeof path, "%s/empty.safetensors", test_tmpdir());
        ASSERT_OK(file_write_atomic(path, "", 0, 0644));
        ASSERT_ERROR(safetensors_open(path, &s, err, sizeof err), -EBADMSG);
        ASSERT_CONTAINS(err, "file of 0 bytes");
        snprintf(path, sizeof path, "%s/missing.safetensors", test_tmpdir());
        ASSERT_ERROR(safetensors_open(path, &s, err, sizeof err), -ENOENT);
        ASSERT_ERROR(safetensors_open(test_tmpdir(), &s, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "not a regular file");
}

TEST(dtype_names) {
        ASSERT_STREQ(safetensors_dtype_name(SAFETENSORS_BF16), "BF16");
        ASSERT_EQ(safetensors_dtype_from_name("F8_E4M3"), SAFETENSORS_F8_E4M3);
        ASSERT_EQ(safetensors_dtype_from_name("f32"), _SAFETENSORS_DTYPE_INVALID);
        ASSERT_EQ(safetensors_dtype_from_name(NULL), _SAFETENSORS_DTYPE_INVALID);
        ASSERT_NULL(safetensors_dtype_name(_SAFETENSORS_DTYPE_MAX));
        ASSERT_EQ(safetensors_dtype_size(SAFETENSORS_U64), 8);
        ASSERT_EQ(safetensors_dtype_size(_SAFETENSORS_DTYPE_INVALID), 0);
}
