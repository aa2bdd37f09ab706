/* gguf.h: read-only access to GGUF model files (v2 and v3, little-endian), mmapped and strictly validated. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define GGUF_MAGIC "GGUF"
#define GGUF_VERSION 3            /* the version gguf-write.h writes */
#define GGUF_DEFAULT_ALIGNMENT 32 /* when general.alignment is absent */
#define GGUF_MAX_DIMS 4
#define GGUF_KEY_MAX 65535      /* bytes in a metadata key */
#define GGUF_TENSOR_NAME_MAX 64 /* bytes in a tensor name */
#define GGUF_KEY_ALIGNMENT "general.alignment"

/* Metadata value types, numbered as in the file. */
typedef enum GgufValueType {
        GGUF_VALUE_UINT8 = 0,
        GGUF_VALUE_INT8 = 1,
        GGUF_VALUE_UINT16 = 2,
        GGUF_VALUE_INT16 = 3,
        GGUF_VALUE_UINT32 = 4,
        GGUF_VALUE_INT32 = 5,
        GGUF_VALUE_FLOAT32 = 6,
        GGUF_VALUE_BOOL = 7,
        GGUF_VALUE_STRING = 8,
        GGUF_VALUE_ARRAY = 9,
        GGUF_VALUE_UINT64 = 10,
        GGUF_VALUE_INT64 = 11,
        GGUF_VALUE_FLOAT64 = 12,
        _GGUF_VALUE_TYPE_MAX,
        _GGUF_VALUE_TYPE_INVALID = -EINVAL,
} GgufValueType;

/* Tensor element types, numbered as ggml's enum ggml_type (gaps are types ggml removed). */
typedef enum GgufTensorType {
        GGUF_TENSOR_F32 = 0,
        GGUF_TENSOR_F16 = 1,
        GGUF_TENSOR_Q4_0 = 2,
        GGUF_TENSOR_Q4_1 = 3,
        GGUF_TENSOR_Q5_0 = 6,
        GGUF_TENSOR_Q5_1 = 7,
        GGUF_TENSOR_Q8_0 = 8,
        GGUF_TENSOR_Q8_1 = 9,
        GGUF_TENSOR_Q2_K = 10,
        GGUF_TENSOR_Q3_K = 11,
        GGUF_TENSOR_Q4_K = 12,
        GGUF_TENSOR_Q5_K = 13,
        GGUF_TENSOR_Q6_K = 14,
        GGUF_TENSOR_Q8_K = 15,
        GGUF_TENSOR_IQ2_XXS = 16,
        GGUF_TENSOR_IQ2_XS = 17,
        GGUF_TENSOR_IQ3_XXS = 18,
        GGUF_TENSOR_IQ1_S = 19,
        GGUF_TENSOR_IQ4_NL = 20,
        GGUF_TENSOR_IQ3_S = 21,
        GGUF_TENSOR_IQ2_S = 22,
        GGUF_TENSOR_IQ4_XS = 23,
        GGUF_TENSOR_I8 = 24,
        GGUF_TENSOR_I16 = 25,
        GGUF_TENSOR_I32 = 26,
        GGUF_TENSOR_I64 = 27,
        GGUF_TENSOR_F64 = 28,
        GGUF_TENSOR_IQ1_M = 29,
        GGUF_TENSOR_BF16 = 30,
        GGUF_TENSOR_TQ1_0 = 34,
        GGUF_TENSOR_TQ2_0 = 35,
        GGUF_TENSOR_MXFP4 = 39,
        GGUF_TENSOR_NVFP4 = 40,
        GGUF_TENSOR_Q1_0 = 41,
        GGUF_TENSOR_Q2_0 = 42,
        _GGUF_TENSOR_TYPE_MAX,
        _GGUF_TENSOR_TYPE_INVALID = -EINVAL,
} GgufTensorType;

/* An array value. Numeric and bool elements are packed little-endian at data, which points into the
 * file and has no alignment guarantee: read elements with gguf_array_get_*() or memcpy() them out
 * (gguf_array_copy()) before using them as a typed C array. String elements are reached with
 * gguf_array_get_str(). */
typedef struct GgufArray {
        GgufValueType type;        /* element type; never GGUF_VALUE_ARRAY */
        uint64_t n;                /* number of elements */
        const void *data;          /* first element (for strings: its length prefix) */
        size_t size;               /* bytes from data to the end of the array */
        const size_t *str_offsets; /* strings only: offset of each element's length prefix from data */
} GgufArray;

/* One metadata value, decoded. Which member is set depends on type. */
typedef struct GgufValue {
        GgufValueType type;
        union {
                uint64_t u; /* UINT8, UINT16, UINT32, UINT64 */
                int64_t i;  /* INT8, INT16, INT32, INT64 */
                double f;   /* FLOAT32 (exactly widened), FLOAT64 */
                bool b;     /* BOOL */
                struct {
                        const char *ptr; /* into the file, not NUL-terminated */
                        size_t len;
                } str;         /* STRING */
                GgufArray arr; /* ARRAY */
        };
} GgufValue;

/* One tensor, as described by its tensor info. All pointers are owned by the Gguf. */
typedef struct GgufTensorInfo {
        const char *name; /* NUL-terminated copy */
        GgufTensorType type;
        uint32_t n_dims;            /* 0..GGUF_MAX_DIMS */
        uint64_t ne[GGUF_MAX_DIMS]; /* elements per dimension, ne[0] fastest; unused ones are 1 */
        uint64_t n_elements;
        uint64_t offset;      /* from the start of the tensor data section */
        uint64_t file_offset; /* from the start of the file */
        size_t size;          /* bytes */
        const void *data;     /* into the file; aligned to gguf_alignment() when the file is mmapped */
} GgufTensorInfo;

typedef struct Gguf Gguf;

/* Tensor types. */

/* Lower-case name of a tensor type ("f32", "q4_k"), or NULL for a number ggml does not define. */
const char *gguf_type_name(GgufTensorType type);
/* Tensor type for a name as gguf_type_name() spells it (case-insensitive), or -EINVAL. */
GgufTensorType gguf_type_from_name(const char *name);
/* Elements per block (1 for plain types) and bytes per block; both 0 for an unknown type. */
size_t gguf_type_block_size(GgufTensorType type);
size_t gguf_type_block_bytes(GgufTensorType type);
/* Whether the engine can compute with tensors of this type (f32, f16, bf16, q8_0, q4_k, q6_k). */
bool gguf_type_is_supported(GgufTensorType type);
/* Bytes of a tensor of this type and shape. Rejects an unknown type (-EINVAL), ne[0] not a
 * multiple of the block size (-EINVAL), n_dims > GGUF_MAX_DIMS (-EINVAL) and overflow (-EOVERFLOW). */
int gguf_type_nbytes(GgufTensorType type, uint32_t n_dims, const uint64_t *ne, uint64_t *ret);

/* Metadata value types. */

/* Name of a value type as the spec spells it ("uint32", "string"), or NULL when out of range. */
const char *gguf_value_type_name(GgufValueType type);
/* Bytes of one value of a fixed-size type; 0 for STRING, ARRAY and out-of-range types. */
size_t gguf_value_type_size(GgufValueType type);

/* Opening and closing. err/errsz receive one line ("gguf: ...") on failure; err may be NULL. */

/* Maps path read-only and validates all of it: header, every metadata value, general.alignment,
 * every tensor info and that each tensor's data lies inside the file, aligned, overlapping no other.
 * Rejects v1 and big-endian files. Returns 0 and a Gguf the caller owns (gguf_close()), or a negative
 * errno: -EBADMSG for a malformed file, -EPROTONOSUPPORT for an unsupported version or byte order,
 * or what open/mmap failed with. */
int gguf_open(const char *path, Gguf **ret, char *err, size_t errsz);
/* As gguf_open(), over size bytes at data. Does not take ownership nor copy: data must stay valid
 * and unchanged until gguf_close(). Tensor data is as aligned as data is. */
int gguf_open_buffer(const void *data, size_t size, Gguf **ret, char *err, size_t errsz);
/* Unmaps and frees. Accepts NULL; returns NULL. Pointers obtained from g die with it. */
Gguf *gguf_close(Gguf *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(Gguf *, gguf_close);
#define _cleanup_gguf_close_ _cleanup_(gguf_closep)

/* File-level facts. */
uint32_t gguf_version(const Gguf *g);
size_t gguf_alignment(const Gguf *g);
size_t gguf_data_offset(const Gguf *g); /* file offset of the tensor data section */
size_t gguf_file_size(const Gguf *g);
size_t gguf_n_kv(const Gguf *g);
size_t gguf_n_tensors(const Gguf *g);

/* Metadata by index (0 .. gguf_n_kv()-1, in file order). */

/* Key of metadata entry i (NUL-terminated, owned by g), or NULL when i is out of range. */
const char *gguf_kv_key(const Gguf *g, size_t i);
/* Value type of entry i, or -EINVAL when i is out of range. */
GgufValueType gguf_kv_type(const Gguf *g, size_t i);
/* Decoded value of entry i; pointers in it are owned by g. -EINVAL when i is out of range. */
int gguf_kv_value(const Gguf *g, size_t i, GgufValue *ret);
/* Index of key, or -ENOENT. */
int gguf_find_key(const Gguf *g, const char *key);

/* Typed getters by key. Each fails with a message that names the key: -ENOENT when it is missing,
 * -EINVAL when its type does not match (naming expected and actual type), -ERANGE when an integer
 * does not fit. Integer getters accept any integer type whose value fits (files differ in which
 * they use); float getters accept float32 and float64. */
int gguf_get_u8(const Gguf *g, const char *key, uint8_t *ret, char *err, size_t errsz);
int gguf_get_i8(const Gguf *g, const char *key, int8_t *ret, char *err, size_t errsz);
int gguf_get_u16(const Gguf *g, const char *key, uint16_t *ret, char *err, size_t errsz);
int gguf_get_i16(const Gguf *g, const char *key, int16_t *ret, char *err, size_t errsz);
int gguf_get_u32(const Gguf *g, const char *key, uint32_t *ret, char *err, size_t errsz);
int gguf_get_i32(const Gguf *g, const char *key, int32_t *ret, char *err, size_t errsz);
int gguf_get_u64(const Gguf *g, const char *key, uint64_t *ret, char *err, size_t errsz);
int gguf_get_i64(const Gguf *g, const char *key, int64_t *ret, char *err, size_t errsz);
int gguf_get_f32(const Gguf *g, const char *key, float *ret, char *err, size_t errsz);
int gguf_get_f64(const Gguf *g, const char *key, double *ret, char *err, size_t errsz);
int gguf_get_bool(const Gguf *g, const char *key, bool *ret, char *err, size_t errsz);
/* A string value as pointer and length into the file (not NUL-terminated; owned by g). */
int gguf_get_str(const Gguf *g, const char *key, const char **ret, size_t *ret_len, char *err, size_t errsz);
/* A string value copied to a NUL-terminated string the caller frees. Rejects a value with a NUL
 * byte inside (-EINVAL); -ENOMEM. */
int gguf_get_strdup(const Gguf *g, const char *key, char **ret, char *err, size_t errsz);
/* An array value. elem_type is the element type required, or _GGUF_VALUE_TYPE_INVALID for any. */
int gguf_get_array(const Gguf *g, const char *key, GgufValueType elem_type, GgufArray *ret, char *err, size_t errsz);

/* Array elements. Each rejects an index out of range (-ERANGE) and an element type that does not
 * match (-EINVAL): get_uint takes unsigned integer arrays, get_int any integer array whose element
 * fits int64, get_float float32/float64 arrays. */
int gguf_array_get_uint(const GgufArray *a, uint64_t i, uint64_t *ret);
int gguf_array_get_int(const GgufArray *a, uint64_t i, int64_t *ret);
int gguf_array_get_float(const GgufArray *a, uint64_t i, double *ret);
int gguf_array_get_bool(const GgufArray *a, uint64_t i, bool *ret);
/* String element i as pointer and length into the file (not NUL-terminated; owned by the Gguf). */
int gguf_array_get_str(const GgufArray *a, uint64_t i, const char **ret, size_t *ret_len);
/* Copies the packed elements of a numeric or bool array to dst (dst_size must be at least a->size),
 * which gives them the alignment of dst. Rejects string arrays (-EINVAL) and a short dst (-ENOBUFS). */
int gguf_array_copy(const GgufArray *a, void *dst, size_t dst_size);

/* Copies ptr/len to a new NUL-terminated string the caller frees. -EINVAL if it holds a NUL byte. */
int gguf_strndup(const char *ptr, size_t len, char **ret);

/* Tensors. */

/* Tensor i (0 .. gguf_n_tensors()-1, in file order), owned by g, or NULL when i is out of range. */
const GgufTensorInfo *gguf_tensor(const Gguf *g, size_t i);
/* Index of the tensor named name, or -ENOENT. */
int gguf_find_tensor(const Gguf *g, const char *name);
/* The tensor named name, owned by g; -ENOENT with a message naming it when missing. */
int gguf_get_tensor(const Gguf *g, const char *name, const GgufTensorInfo **ret, char *err, size_t errsz);
/* 0 if the engine can compute with t's type, else -EOPNOTSUPP with a message naming type and tensor
 * ("gguf: unsupported tensor type q5_k for blk.0.attn_q.weight ..."). */
int gguf_tensor_check_supported(const GgufTensorInfo *t, char *err, size_t errsz);
