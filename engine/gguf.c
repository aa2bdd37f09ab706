/* gguf.c: GGUF reader: maps a file, validates everything the format describes, then serves metadata and tensors. */
#include "gguf.h"

#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "errorf.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "gguf.c decodes little-endian values with plain loads; port it before building for a big-endian host"
#endif

/* Smallest encodings, used to reject counts that the file cannot possibly hold. */
#define MIN_KV_BYTES (8 + 1 + 4 + 1)              /* key length, 1-byte key, value type, 1-byte value */
#define MIN_TENSOR_INFO_BYTES (8 + 1 + 4 + 4 + 8) /* name length, 1-byte name, n_dims, type, offset */
#define NAME_QUOTE_MAX 96                         /* bytes of a key or name quoted in a message */

typedef struct TypeTraits {
        const char *name;
        uint16_t block_size;  /* elements per block */
        uint16_t block_bytes; /* bytes per block */
        bool supported;       /* the engine computes with it */
} TypeTraits;

/* Block layouts as in ggml's ggml-common.h (QK_K = 256). */
static const TypeTraits type_traits[_GGUF_TENSOR_TYPE_MAX] = {
        [GGUF_TENSOR_F32] = { "f32", 1, 4, true },
        [GGUF_TENSOR_F16] = { "f16", 1, 2, true },
        [GGUF_TENSOR_Q4_0] = { "q4_0", 32, 2 + 16, false },
        [GGUF_TENSOR_Q4_1] = { "q4_1", 32, 2 + 2 + 16, false },
        [GGUF_TENSOR_Q5_0] = { "q5_0", 32, 2 + 4 + 16, false },
        [GGUF_TENSOR_Q5_1] = { "q5_1", 32, 2 + 2 + 4 + 16, false },
        [GGUF_TENSOR_Q8_0] = { "q8_0", 32, 2 + 32, true },
        [GGUF_TENSOR_Q8_1] = { "q8_1", 32, 2 + 2 + 32, false },
        [GGUF_TENSOR_Q2_K] = { "q2_k", 256, 16 + 64 + 2 + 2, false },
        [GGUF_TENSOR_Q3_K] = { "q3_k", 256, 32 + 64 + 12 + 2, false },
        [GGUF_TENSOR_Q4_K] = { "q4_k", 256, 2 + 2 + 12 + 128, true },
        [GGUF_TENSOR_Q5_K] = { "q5_k", 256, 2 + 2 + 12 + 32 + 128, false },
        [GGUF_TENSOR_Q6_K] = { "q6_k", 256, 128 + 64 + 16 + 2, true },
        [GGUF_TENSOR_Q8_K] = { "q8_k", 256, 4 + 256 + 32, false },
        [GGUF_TENSOR_IQ2_XXS] = { "iq2_xxs", 256, 2 + 64, false },
        [GGUF_TENSOR_IQ2_XS] = { "iq2_xs", 256, 2 + 64 + 8, false },
        [GGUF_TENSOR_IQ3_XXS] = { "iq3_xxs", 256, 2 + 96, false },
        [GGUF_TENSOR_IQ1_S] = { "iq1_s", 256, 2 + 32 + 16, false },
        [GGUF_TENSOR_IQ4_NL] = { "iq4_nl", 32, 2 + 16, false },
        [GGUF_TENSOR_IQ3_S] = { "iq3_s", 256, 2 + 64 + 8 + 32 + 4, false },
        [GGUF_TENSOR_IQ2_S] = { "iq2_s", 256, 2 + 64 + 8 + 8, false },
        [GGUF_TENSOR_IQ4_XS] = { "iq4_xs", 256, 2 + 2 + 4 + 128, false },
        [GGUF_TENSOR_I8] = { "i8", 1, 1, false },
        [GGUF_TENSOR_I16] = { "i16", 1, 2, false },
        [GGUF_TENSOR_I32] = { "i32", 1, 4, false },
        [GGUF_TENSOR_I64] = { "i64", 1, 8, false },
        [GGUF_TENSOR_F64] = { "f64", 1, 8, false },
        [GGUF_TENSOR_IQ1_M] = { "iq1_m", 256, 32 + 16 + 8, false },
        [GGUF_TENSOR_BF16] = { "bf16", 1, 2, true },
        [GGUF_TENSOR_TQ1_0] = { "tq1_0", 256, 48 + 4 + 2, false },
        [GGUF_TENSOR_TQ2_0] = { "tq2_0", 256, 64 + 2, false },
        [GGUF_TENSOR_MXFP4] = { "mxfp4", 32, 1 + 16, false },
        [GGUF_TENSOR_NVFP4] = { "nvfp4", 64, 4 + 32, false },
        [GGUF_TENSOR_Q1_0] = { "q1_0", 128, 2 + 16, false },
        [GGUF_TENSOR_Q2_0] = { "q2_0", 64, 2 + 16, false },
};

static const char *const value_type_names[_GGUF_VALUE_TYPE_MAX] = {
        [GGUF_VALUE_UINT8] = "uint8",     [GGUF_VALUE_INT8] = "int8",     [GGUF_VALUE_UINT16] = "uint16",
        [GGUF_VALUE_INT16] = "int16",     [GGUF_VALUE_UINT32] = "uint32", [GGUF_VALUE_INT32] = "int32",
        [GGUF_VALUE_FLOAT32] = "float32", [GGUF_VALUE_BOOL] = "bool",     [GGUF_VALUE_STRING] = "string",
        [GGUF_VALUE_ARRAY] = "array",     [GGUF_VALUE_UINT64] = "uint64", [GGUF_VALUE_INT64] = "int64",
        [GGUF_VALUE_FLOAT64] = "float64",
};

static const uint8_t value_type_sizes[_GGUF_VALUE_TYPE_MAX] = {
        [GGUF_VALUE_UINT8] = 1,  [GGUF_VALUE_INT8] = 1,  [GGUF_VALUE_UINT16] = 2,  [GGUF_VALUE_INT16] = 2,
        [GGUF_VALUE_UINT32] = 4, [GGUF_VALUE_INT32] = 4, [GGUF_VALUE_FLOAT32] = 4, [GGUF_VALUE_BOOL] = 1,
        [GGUF_VALUE_UINT64] = 8, [GGUF_VALUE_INT64] = 8, [GGUF_VALUE_FLOAT64] = 8,
};

typedef struct GgufKv {
        char *key; /* NUL-terminated copy */
        GgufValue value;
        size_t *str_offsets; /* owned; string arrays only (value.arr.str_offsets points here) */
} GgufKv;

struct Gguf {
        const uint8_t *base;
        size_t size;
        bool mapped; /* base is our mmap */
        uint32_t version;
        size_t alignment;
        size_t data_offset;

        GgufKv *kvs; /* [n_kv], file order */
        size_t n_kv;
        GgufKv **kv_by_key; /* [n_kv], sorted by key */

        GgufTensorInfo *tensors; /* [n_tensors], file order */
        size_t n_tensors;
        GgufTensorInfo **tensor_by_name; /* [n_tensors], sorted by name */
};

/* The parse position and what is being read, for messages. */
typedef struct Parser {
        const uint8_t *base;
        size_t size;
        size_t pos;
        char where[160]; /* "metadata key 3 \"general.name\"" */
        char *err;
        size_t errsz;
} Parser;

/* Writes the message to err (when not NULL) and evaluates to r. A macro, so that the compiler sees
 * the error code that callers return. */
#define fail(err, errsz, r, ...)                                                                                      \
        ({                                                                                                            \
                int _r_ = (r);                                                                                        \
                (void) errorf(err, errsz, _r_, __VA_ARGS__);                                                          \
                _r_;                                                                                                  \
        })

/* Copies at most NAME_QUOTE_MAX bytes of s to buf, with anything unprintable as '?': safe to quote. */
static const char *quote(const char *s, size_t len, char buf[static NAME_QUOTE_MAX + 4]) {
        size_t n = MIN(len, (size_t) NAME_QUOTE_MAX), i;

        for (i = 0; i < n; i++)
                buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
        if (len > n) {
                memcpy(buf + i, "...", 3);
                i += 3;
        }
        buf[i] = 0;
        return buf;
}

/* Type tables. */

const char *gguf_type_name(GgufTensorType type) {
        if (type < 0 || type >= _GGUF_TENSOR_TYPE_MAX)
                return NULL;
        return type_traits[type].name;
}

GgufTensorType gguf_type_from_name(const char *name) {
        if (!name)
                return _GGUF_TENSOR_TYPE_INVALID;
        for (int t = 0; t < _GGUF_TENSOR_TYPE_MAX; t++)
                if (type_traits[t].name && strcasecmp(type_traits[t].name, name) == 0)
                        return (GgufTensorType) t;
        return _GGUF_TENSOR_TYPE_INVALID;
}

size_t gguf_type_block_size(GgufTensorType type) {
        return gguf_type_name(type) ? type_traits[type].block_size : 0;
}

size_t gguf_type_block_bytes(GgufTensorType type) {
        return gguf_type_name(type) ? type_traits[type].block_bytes : 0;
}

bool gguf_type_is_supported(GgufTensorType type) {
        return gguf_type_name(type) && type_traits[type].supported;
}

int gguf_type_nbytes(GgufTensorType type, uint32_t n_dims, const uint64_t *ne, uint64_t *ret) {
        uint64_t ne0 = n_dims > 0 ? ne[0] : 1, bytes;
        size_t bs = gguf_type_block_size(type);

        if (bs == 0 || n_dims > GGUF_MAX_DIMS)
                return -EINVAL;
        if (ne0 % bs != 0)
                return -EINVAL;
        if (__builtin_mul_overflow(ne0 / bs, (uint64_t) gguf_type_block_bytes(type), &bytes))
                return -EOVERFLOW;
        for (uint32_t j = 1; j < n_dims; j++)
                if (__builtin_mul_overflow(bytes, ne[j], &bytes))
                        return -EOVERFLOW;
        *ret = bytes;
        return 0;
}

const char *gguf_value_type_name(GgufValueType type) {
        if (type < 0 || type >= _GGUF_VALUE_TYPE_MAX)
                return NULL;
        return value_type_names[type];
}

size_t gguf_value_type_size(GgufValueType type) {
        if (type < 0 || type >= _GGUF_VALUE_TYPE_MAX)
                return 0;
        return value_type_sizes[type];
}

static bool type_is_uint(GgufValueType t) {
        return t == GGUF_VALUE_UINT8 || t == GGUF_VALUE_UINT16 || t == GGUF_VALUE_UINT32 || t == GGUF_VALUE_UINT64;
}

static bool type_is_sint(GgufValueType t) {
        return t == GGUF_VALUE_INT8 || t == GGUF_VALUE_INT16 || t == GGUF_VALUE_INT32 || t == GGUF_VALUE_INT64;
}

static bool type_is_float(GgufValueType t) {
        return t == GGUF_VALUE_FLOAT32 || t == GGUF_VALUE_FLOAT64;
}

int gguf_strndup(const char *ptr, size_t len, char **ret) {
        char *s;

        if (len > 0 && memchr(ptr, 0, len))
                return -EINVAL;
        s = malloc(len + 1);
        if (!s)
                return -ENOMEM;
        if (len > 0)
                memcpy(s, ptr, len);
        s[len] = 0;
        *ret = s;
        return 0;
}

/* Decodes one fixed-size value of type t from q (which holds gguf_value_type_size(t) bytes). */
static void decode_scalar(GgufValueType t, const uint8_t *q, GgufValue *v) {
        uint16_t u16;
        uint32_t u32;
        uint64_t u64;
        float f32;

        v->type = t;
        switch (t) {
        case GGUF_VALUE_UINT8:
                v->u = q[0];
                break;
        case GGUF_VALUE_INT8:
                v->i = (int8_t) q[0];
                break;
        case GGUF_VALUE_UINT16:
                memcpy(&u16, q, 2);
                v->u = u16;
                break;
        case GGUF_VALUE_INT16:
                memcpy(&u16, q, 2);
                v->i = (int16_t) u16;
                break;
        case GGUF_VALUE_UINT32:
                memcpy(&u32, q, 4);
                v->u = u32;
                break;
        case GGUF_VALUE_INT32:
                memcpy(&u32, q, 4);
                v->i = (int32_t) u32;
                break;
        case GGUF_VALUE_UINT64:
                memcpy(&u64, q, 8);
                v->u = u64;
                break;
        case GGUF_VALUE_INT64:
                memcpy(&u64, q, 8);
                v->i = (int64_t) u64;
                break;
        case GGUF_VALUE_FLOAT32:
                memcpy(&f32, q, 4);
                v->f = f32;
                break;
        case GGUF_VALUE_FLOAT64:
                memcpy(&v->f, q, 8);
                break;
        case GGUF_VALUE_BOOL:
                v->b = q[0] != 0;
                break;
        default:
                break;
        }
}

/* Low-level reads. Each checks bounds first and names p->where and the offset when short. */

static int parser_take(Parser *p, size_t n, const uint8_t **ret) {
        if (n > p->size - p->pos)
                return fail(p->err, p->errsz, -EBADMSG, "gguf: truncated at %s (offset %zu)", p->where, p->pos);
        *ret = p->base + p->pos;
        p->pos += n;
        return 0;
}

static int parser_u32(Parser *p, uint32_t *ret) {
        const uint8_t *q;
        int r = parser_take(p, sizeof *ret, &q);

        if (r < 0)
                return r;
        memcpy(ret, q, sizeof *ret);
        return 0;
}

static int parser_u64(Parser *p, uint64_t *ret) {
        const uint8_t *q;
        int r = parser_take(p, sizeof *ret, &q);

        if (r < 0)
                return r;
        memcpy(ret, q, sizeof *ret);
        return 0;
}

/* A GGUF string: u64 length, then that many bytes. */
static int parser_string(Parser *p, const char **ret, size_t *ret_len) {
        size_t at = p->pos;
        uint64_t len;
        int r;

        r = parser_u64(p, &len);
        if (r < 0)
                return r;
        if (len > p->size - p->pos)
                return fail(p->err, p->errsz, -EBADMSG,
                            "gguf: string length %" PRIu64 " at offset %zu exceeds the file (%s)", len, at, p->where);
        *ret = (const char *) p->base + p->pos;
        *ret_len = (size_t) len;
        p->pos += (size_t) len;
        return 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
        size_t n, bytes;
        void *q;

        if (need <= *cap)
                return 0;
        n = MAX(MAX(need, *cap * 2), (size_t) 16);
        if (!size_mul(n, elem, &bytes))
                return -ENOMEM;
        q = realloc(*p, bytes);
        if (!q)
                return -ENOMEM;
        *p = q;
        *cap = n;
        return 0;
}

/* Header. */

static int parse_header(Parser *p, uint32_t *ret_version, uint64_t *ret_n_tensors, uint64_t *ret_n_kv) {
        uint64_t n_tensors, n_kv, room;
        const uint8_t *magic;
        uint32_t version;
        int r;

        snprintf(p->where, sizeof p->where, "header");
        if (p->size < 4 || memcmp(p->base, GGUF_MAGIC, 4) != 0)
                return fail(p->err, p->errsz, -EBADMSG, "gguf: bad magic (not a GGUF file)");
        r = parser_take(p, 4, &magic);
        if (r < 0)
                return r;
        r = parser_u32(p, &version);
        if (r < 0)
                return r;
        if (version == 1)
                return fail(p->err, p->errsz, -EPROTONOSUPPORT,
                            "gguf: unsupported version 1 (GGUF v1 is obsolete; convert the model again)");
        if (version != 0 && (version & 0xffff) == 0)
                return fail(p->err, p->errsz, -EPROTONOSUPPORT,
                            "gguf: big-endian file (version field reads 0x%08" PRIx32
                            "); only little-endian files are supported",
                            version);
        if (version != 2 && version != 3)
                return fail(p->err, p->errsz, -EPROTONOSUPPORT, "gguf: unsupported version %" PRIu32, version);
        r = parser_u64(p, &n_tensors);
        if (r < 0)
                return r;
        r = parser_u64(p, &n_kv);
        if (r < 0)
                return r;

        room = p->size - p->pos;
        if (n_kv > room / MIN_KV_BYTES || n_kv > INT32_MAX)
                return fail(p->err, p->errsz, -EBADMSG,
                            "gguf: n_kv %" PRIu64 " is more than a file of %zu bytes could hold", n_kv, p->size);
        if (n_tensors > room / MIN_TENSOR_INFO_BYTES || n_tensors > INT32_MAX)
                return fail(p->err, p->errsz, -EBADMSG,
                            "gguf: n_tensors %" PRIu64 " is more than a file of %zu bytes could hold", n_tensors,
                            p->size);
        if (n_kv * MIN_KV_BYTES + n_tensors * MIN_TENSOR_INFO_BYTES > room)
                return fail(p->err, p->errsz, -EBADMSG,
                            "gguf: n_kv %" PRIu64 " and n_tensors %" PRIu64
                            " are more than a file of %zu bytes could hold",
                            n_kv, n_tensors, p->size);

        *ret_version = version;
        *ret_n_tensors = n_tensors;
        *ret_n_kv = n_kv;
        return 0;
}

/* Metadata. */

static int parse_bools(Parser *p, const char *key, const uint8_t *q, size_t n) {
        char kq[NAME_QUOTE_MAX + 4];

        for (size_t i = 0; i < n; i++)
                if (q[i] > 1)
                        return fail(p->err, p->errsz, -EBADMSG,
                                    "gguf: metadata key \"%s\": bool value %u at offset %zu is neither 0 nor 1",
                                    quote(key, strlen(key), kq), q[i], (size_t) (q + i - p->base));
        return 0;
}

static int parse_string_array(Parser *p, uint64_t n, GgufKv *kv) {
        _cleanup_free_ size_t *offsets = NULL;
        size_t start = p->pos;
        const char *s;
        size_t len;
        int r;

        if (n > 0) {
                offsets = calloc((size_t) n, sizeof *offsets);
                if (!offsets)
                        return fail(p->err, p->errsz, -ENOMEM, "gguf: out of memory");
        }
        for (uint64_t i = 0; i < n; i++) {
                offsets[i] = p->pos - start;
                r = parser_string(p, &s, &len);
                if (r < 0)
                        return r;
        }
        kv->value.arr.data = p->base + start;
        kv->value.arr.size = p->pos - start;
        kv->value.arr.str_offsets = offsets;
        kv->str_offsets = TAKE_PTR(offsets);
        return 0;
}

static int parse_array(Parser *p, const char *key, GgufKv *kv) {
        char kq[NAME_QUOTE_MAX + 4];
        size_t at = p->pos, esz;
        uint32_t type;
        uint64_t n;
        const uint8_t *q;
        int r;

        quote(key, strlen(key), kq);
        r = parser_u32(p, &type);
        if (r < 0)
                return r;
        if (type == GGUF_VALUE_ARRAY)
                return fail(p->err, p->errsz, -EOPNOTSUPP,
                            "gguf: metadata key \"%s\": nested arrays are not supported (offset %zu)", kq, at);
        if (type >= _GGUF_VALUE_TYPE_MAX)
                return fail(p->err, p->errsz, -EBADMSG,
                            "gguf: metadata key \"%s\": unknown array element type %" PRIu32 " (offset %zu)", kq, type,
                            at);
        r = parser_u64(p, &n);
        if (r < 0)
                return r;

        kv->value.arr.type = (GgufValueType) type;
        kv->value.arr.n = n;
        esz = type == GGUF_VALUE_STRING ? 8 : gguf_value_type_size((GgufValueType) type);
        if (n > (p->size - p->pos) / esz)
                return fail(p->err, p->errsz, -EBADMSG,
                            "gguf: metadata key \"%s\": array of %" PRIu64 " %s at offset %zu exceeds the file", kq, n,
                            gguf_value_type_name((GgufValueType) type), at);
        if (type == GGUF_VALUE_STRING)
                return parse_string_array(p, n, kv);

        r = parser_take(p, (size_t) n * esz, &q);
        if (r < 0)
                return r;
        if (type == GGUF_VALUE_BOOL) {
                r = parse_bools(p, key, q, (size_t) n);
                if (r < 0)
                        return r;
        }
        kv->value.arr.data = q;
        kv->value.arr.size = (size_t) n * esz;
        return 0;
}

static int parse_value(Parser *p, GgufValueType type, GgufKv *kv) {
        const uint8_t *q;
        int r;

        kv->value.type = type;
        if (type == GGUF_VALUE_ARRAY)
                return parse_array(p, kv->key, kv);
        if (type == GGUF_VALUE_STRING)
                return parser_string(p, &kv->value.str.ptr, &kv->value.str.len);

        r = parser_take(p, gguf_value_type_size(type), &q);
        if (r < 0)
                return r;
        if (type == GGUF_VALUE_BOOL) {
                r = parse_bools(p, kv->key, q, 1);
                if (r < 0)
                        return r;
        }
        decode_scalar(type, q, &kv->value);
        return 0;
}

static void kv_done(GgufKv *kv) {
        free(kv->key);
        free(kv->str_offsets);
}

/* Parses metadata entry i into *ret (which the caller frees with kv_done() once it holds it). */
static int parse_kv(Parser *p, size_t i, GgufKv *ret) {
        GgufKv kv = {};
        char kq[NAME_QUOTE_MAX + 4];
        size_t at = p->pos, len;
        const char *key;
        uint32_t type;
        int r;

        snprintf(p->where, sizeof p->where, "metadata key %zu", i);
        r = parser_string(p, &key, &len);
        if (r < 0)
                return r;
        if (len == 0)
                return fail(p->err, p->errsz, -EBADMSG, "gguf: metadata key %zu at offset %zu is empty", i, at);
        if (len > GGUF_KEY_MAX)
                return fail(p->err, p->errsz, -EBADMSG,
                            "gguf: metadata key %zu at offset %zu is %zu bytes long (limit %d)", i, at, len,
                            GGUF_KEY_MAX);
        r = gguf_strndup(key, len, &kv.key);
        if (r == -EINVAL)
                return fail(p->err, p->errsz, -EBADMSG, "gguf: metadata key %zu at offset %zu contains a NUL byte", i,
                            at);
        if (r < 0)
                return fail(p->err, p->errsz, r, "gguf: out of memory");
        snprintf(p->where, sizeof p->where, "metadata key %zu \"%s\"", i, quote(key, len, kq));

        at = p->pos;
        r = parser_u32(p, &type);
        if (r >= 0 && type >= _GGUF_VALUE_TYPE_MAX)
                r = fail(p->err, p->errsz, -EBADMSG,
                         "gguf: metadata key \"%s\": unknown value type %" PRIu32 " (offset %zu)", kq, type, at);
        if (r >= 0)
                r = parse_value(p, (GgufValueType) type, &kv);
        if (r < 0) {
                kv_done(&kv);
                return r;
        }
        *ret = kv;
        return 0;
}

static int parse_kvs(Parser *p, Gguf *g, uint64_t n_kv) {
        size_t cap = 0;
        GgufKv kv;
        int r;

        for (size_t i = 0; i < n_kv; i++) {
                r = grow((void **) &g->kvs, &cap, i + 1, sizeof *g->kvs);
                if (r < 0)
                        return fail(p->err, p->errsz, r, "gguf: out of memory");
                r = parse_kv(p, i, &kv);
                if (r < 0)
                        return r;
                g->kvs[g->n_kv++] = kv;
        }
        return 0;
}

static int kv_ptr_cmp(const void *a, const void *b) {
        return strcmp((*(GgufKv *const *) a)->key, (*(GgufKv *const *) b)->key);
}

static int kv_key_cmp(const void *key, const void *elem) {
        return strcmp(key, (*(GgufKv *const *) elem)->key);
}

/* Sorts the keys for lookups and rejects duplicates. */
static int index_kvs(Gguf *g, char *err, size_t errsz) {
        char kq[NAME_QUOTE_MAX + 4];

        if (g->n_kv == 0)
                return 0;
        g->kv_by_key = calloc(g->n_kv, sizeof *g->kv_by_key);
        if (!g->kv_by_key)
                return fail(err, errsz, -ENOMEM, "gguf: out of memory");
        for (size_t i = 0; i < g->n_kv; i++)
                g->kv_by_key[i] = &g->kvs[i];
        qsort(g->kv_by_key, g->n_kv, sizeof *g->kv_by_key, kv_ptr_cmp);
        for (size_t i = 1; i < g->n_kv; i++)
                if (streq(g->kv_by_key[i - 1]->key, g->kv_by_key[i]->key))
                        return fail(err, errsz, -EBADMSG, "gguf: duplicate metadata key \"%s\"",
                                    quote(g->kv_by_key[i]->key, strlen(g->kv_by_key[i]->key), kq));
        return 0;
}

static int parse_alignment(Gguf *g, char *err, size_t errsz) {
        uint32_t a;
        int r;

        g->alignment = GGUF_DEFAULT_ALIGNMENT;
        if (gguf_find_key(g, GGUF_KEY_ALIGNMENT) < 0)
                return 0;
        r = gguf_get_u32(g, GGUF_KEY_ALIGNMENT, &a, err, errsz);
        if (r < 0)
                return -EBADMSG;
        if (a == 0 || (a & (a - 1)) != 0)
                return fail(err, errsz, -EBADMSG, "gguf: %s %" PRIu32 " is not a nonzero power of two",
                            GGUF_KEY_ALIGNMENT, a);
        g->alignment = a;
        return 0;
}

/* Tensor infos. */

static int parse_tensor_info(Parser *p, size_t i, GgufTensorInfo *ret) {
        GgufTensorInfo t = { .ne = { 1, 1, 1, 1 } };
        _cleanup_free_ char *name = NULL;
        char nq[NAME_QUOTE_MAX + 4];
        size_t at = p->pos, len;
        const char *s;
        uint32_t type;
        int r;

        snprintf(p->where, sizeof p->where, "tensor info %zu", i);
        r = parser_string(p, &s, &len);
        if (r < 0)
                return r;
        if (len == 0)
                return fail(p->err, p->errsz, -EBADMSG, "gguf: tensor info %zu at offset %zu has an empty name", i,
                            at);
        if (len > GGUF_TENSOR_NAME_MAX)
                return fail(p->err, p->errsz, -EBADMSG, "gguf: tensor name at offset %zu is %zu bytes long (limit %d)",
                            at, len, GGUF_TENSOR_NAME_MAX);
        r = gguf_strndup(s, len, &name);
        if (r == -EINVAL)
                return fail(p->err, p->errsz, -EBADMSG, "gguf: tensor name at offset %zu contains a NUL byte", at);
        if (r < 0)
                return fail(p->err, p->errsz, r, "gguf: out of memory");
        quote(name, len, nq);
        snprintf(p->where, sizeof p->where, "tensor \"%s\"", nq);

        r = parser_u32(p, &t.n_dims);
        if (r < 0)
                return r;
        if (t.n_dims > GGUF_MAX_DIMS)
                return fail(p->err, p->errsz, -EBADMSG, "gguf: tensor \"%s\": n_dims %" PRIu32 " exceeds %d", nq,
                            t.n_dims, GGUF_MAX_DIMS);
        for (uint32_t j = 0; j < t.n_dims; j++) {
                r = parser_u64(p, &t.ne[j]);
                if (r < 0)
                        return r;
                if (t.ne[j] > INT64_MAX)
                        return fail(p->err, p->errsz, -EBADMSG,
                                    "gguf: tensor \"%s\": dimension %" PRIu32 " is %" PRIu64 ", too large", nq, j,
                                    t.ne[j]);
        }
        at = p->pos;
        r = parser_u32(p, &type);
        if (r < 0)
                return r;
        if (!gguf_type_name((GgufTensorType) MIN(type, (uint32_t) _GGUF_TENSOR_TYPE_MAX)))
                return fail(p->err, p->errsz, -EBADMSG, "gguf: tensor \"%s\": unknown type %" PRIu32 " (offset %zu)",
                            nq, type, at);
        t.type = (GgufTensorType) type;
        r = parser_u64(p, &t.offset);
        if (r < 0)
                return r;

        t.name = TAKE_PTR(name);
        *ret = t;
        return 0;
}

static int parse_tensor_infos(Parser *p, Gguf *g, uint64_t n_tensors) {
        GgufTensorInfo t;
        size_t cap = 0;
        int r;

        for (size_t i = 0; i < n_tensors; i++) {
                r = grow((void **) &g->tensors, &cap, i + 1, sizeof *g->tensors);
                if (r < 0)
                        return fail(p->err, p->errsz, r, "gguf: out of memory");
                r = parse_tensor_info(p, i, &t);
                if (r < 0)
                        return r;
                g->tensors[g->n_tensors++] = t;
        }
        return 0;
}

static const char *format_dims(const GgufTensorInfo *t, char *buf, size_t size) {
        size_t n = 0;

        buf[0] = 0;
        for (uint32_t j = 0; j < t->n_dims && n < size; j++)
                n += (size_t) snprintf(buf + n, size - n, "%s%" PRIu64, j ? ", " : "", t->ne[j]);
        return buf;
}

/* Checks shape, size, alignment and bounds of t, and points it at its data. */
static int place_tensor(Gguf *g, GgufTensorInfo *t, char *err, size_t errsz) {
        char nq[NAME_QUOTE_MAX + 4], dims[128];
        uint64_t n = 1, nbytes, start, end;
        int r;

        quote(t->name, strlen(t->name), nq);
        for (uint32_t j = 0; j < t->n_dims; j++)
                if (__builtin_mul_overflow(n, t->ne[j], &n) || n > INT64_MAX)
                        return fail(err, errsz, -EBADMSG, "gguf: tensor \"%s\": dimension product [%s] overflows", nq,
                                    format_dims(t, dims, sizeof dims));
        t->n_elements = n;

        r = gguf_type_nbytes(t->type, t->n_dims, t->ne, &nbytes);
        if (r == -EINVAL)
                return fail(err, errsz, -EBADMSG,
                            "gguf: tensor \"%s\": ne[0] = %" PRIu64 " is not a multiple of the %s block size %zu", nq,
                            t->ne[0], gguf_type_name(t->type), gguf_type_block_size(t->type));
        if (r < 0)
                return fail(err, errsz, -EBADMSG, "gguf: tensor \"%s\": size of %s [%s] overflows", nq,
                            gguf_type_name(t->type), format_dims(t, dims, sizeof dims));

        if (t->offset % g->alignment != 0)
                return fail(err, errsz, -EBADMSG, "gguf: tensor \"%s\": offset %" PRIu64 " not aligned to %zu", nq,
                            t->offset, g->alignment);
        if (__builtin_add_overflow((uint64_t) g->data_offset, t->offset, &start) ||
            __builtin_add_overflow(start, nbytes, &end))
                return fail(err, errsz, -EBADMSG,
                            "gguf: tensor \"%s\": data at offset %" PRIu64 " of %" PRIu64 " bytes overflows", nq,
                            t->offset, nbytes);
        if (end > g->size)
                return fail(err, errsz, -EBADMSG,
                            "gguf: tensor \"%s\": data [%" PRIu64 ", %" PRIu64 ") out of bounds (file is %zu bytes)",
                            nq, start, end, g->size);

        t->file_offset = start;
        t->size = (size_t) nbytes;
        t->data = g->base + start;
        return 0;
}

static int tensor_ptr_cmp_name(const void *a, const void *b) {
        return strcmp((*(GgufTensorInfo *const *) a)->name, (*(GgufTensorInfo *const *) b)->name);
}

static int tensor_name_cmp(const void *name, const void *elem) {
        return strcmp(name, (*(GgufTensorInfo *const *) elem)->name);
}

static int tensor_ptr_cmp_offset(const void *a, const void *b) {
        const GgufTensorInfo *x = *(GgufTensorInfo *const *) a, *y = *(GgufTensorInfo *const *) b;

        return x->file_offset < y->file_offset ? -1 : x->file_offset > y->file_offset;
}

static int index_tensors(Gguf *g, char *err, size_t errsz) {
        char nq[NAME_QUOTE_MAX + 4];

        if (g->n_tensors == 0)
                return 0;
        g->tensor_by_name = calloc(g->n_tensors, sizeof *g->tensor_by_name);
        if (!g->tensor_by_name)
                return fail(err, errsz, -ENOMEM, "gguf: out of memory");
        for (size_t i = 0; i < g->n_tensors; i++)
                g->tensor_by_name[i] = &g->tensors[i];
        qsort(g->tensor_by_name, g->n_tensors, sizeof *g->tensor_by_name, tensor_ptr_cmp_name);
        for (size_t i = 1; i < g->n_tensors; i++)
                if (streq(g->tensor_by_name[i - 1]->name, g->tensor_by_name[i]->name))
                        return fail(err, errsz, -EBADMSG, "gguf: duplicate tensor name \"%s\"",
                                    quote(g->tensor_by_name[i]->name, strlen(g->tensor_by_name[i]->name), nq));
        return 0;
}

/* Rejects two tensors whose data share a byte. Sorted by start, a tensor overlaps an earlier one
 * exactly when it starts before the furthest end seen so far. */
static int check_overlaps(Gguf *g, char *err, size_t errsz) {
        _cleanup_free_ GgufTensorInfo **by_offset = NULL;
        const GgufTensorInfo *furthest = NULL;
        char aq[NAME_QUOTE_MAX + 4], bq[NAME_QUOTE_MAX + 4];

        if (g->n_tensors < 2)
                return 0;
        by_offset = calloc(g->n_tensors, sizeof *by_offset);
        if (!by_offset)
                return fail(err, errsz, -ENOMEM, "gguf: out of memory");
        for (size_t i = 0; i < g->n_tensors; i++)
                by_offset[i] = &g->tensors[i];
        qsort(by_offset, g->n_tensors, sizeof *by_offset, tensor_ptr_cmp_offset);

        for (size_t i = 0; i < g->n_tensors; i++) {
                const GgufTensorInfo *t = by_offset[i];

                if (t->size == 0)
                        continue;
                if (furthest && t->file_offset < furthest->file_offset + furthest->size)
                        return fail(err, errsz, -EBADMSG,
                                    "gguf: tensor \"%s\": data [%" PRIu64 ", %" PRIu64
                                    ") overlaps tensor \"%s\" [%" PRIu64 ", %" PRIu64 ")",
                                    quote(t->name, strlen(t->name), aq), t->file_offset, t->file_offset + t->size,
                                    quote(furthest->name, strlen(furthest->name), bq), furthest->file_offset,
                                    furthest->file_offset + furthest->size);
                if (!furthest || t->file_offset + t->size > furthest->file_offset + furthest->size)
                        furthest = t;
        }
        return 0;
}

static int place_tensors(Parser *p, Gguf *g) {
        size_t end;
        int r;

        /* The data section starts at the first aligned offset after the tensor infos. */
        if (__builtin_add_overflow(p->pos, g->alignment - 1, &end))
                return fail(p->err, p->errsz, -EBADMSG, "gguf: data section offset overflows");
        g->data_offset = end & ~(g->alignment - 1);

        for (size_t i = 0; i < g->n_tensors; i++) {
                r = place_tensor(g, &g->tensors[i], p->err, p->errsz);
                if (r < 0)
                        return r;
        }
        r = index_tensors(g, p->err, p->errsz);
        if (r < 0)
                return r;
        return check_overlaps(g, p->err, p->errsz);
}

/* Opening and closing. */

static int parse(const uint8_t *base, size_t size, Gguf **ret, char *err, size_t errsz) {
        _cleanup_gguf_close_ Gguf *g = NULL;
        Parser p = { .base = base, .size = size, .err = err, .errsz = errsz };
        uint64_t n_tensors, n_kv;
        int r;

        g = calloc(1, sizeof *g);
        if (!g)
                return fail(err, errsz, -ENOMEM, "gguf: out of memory");
        g->base = base;
        g->size = size;

        r = parse_header(&p, &g->version, &n_tensors, &n_kv);
        if (r < 0)
                return r;
        r = parse_kvs(&p, g, n_kv);
        if (r < 0)
                return r;
        r = index_kvs(g, err, errsz);
        if (r < 0)
                return r;
        r = parse_alignment(g, err, errsz);
        if (r < 0)
                return r;
        r = parse_tensor_infos(&p, g, n_tensors);
        if (r < 0)
                return r;
        r = place_tensors(&p, g);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(g);
        return 0;
}

int gguf_open_buffer(const void *data, size_t size, Gguf **ret, char *err, size_t errsz) {
        static const uint8_t empty[1];

        if (!ret || (!data && size > 0))
                return fail(err, errsz, -EINVAL, "gguf: invalid arguments");
        return parse(data ? data : empty, size, ret, err, errsz);
}

int gguf_open(const char *path, Gguf **ret, char *err, size_t errsz) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        Gguf *g;
        void *map;
        int r;

        if (!path || !ret)
                return fail(err, errsz, -EINVAL, "gguf: invalid arguments");
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = negative_errno();
                return fail(err, errsz, r, "gguf: cannot open %s: %s", path, strerror(-r));
        }
        if (fstat(fd, &st) < 0) {
                r = negative_errno();
                return fail(err, errsz, r, "gguf: cannot stat %s: %s", path, strerror(-r));
        }
        if (!S_ISREG(st.st_mode))
                return fail(err, errsz, -EINVAL, "gguf: %s is not a regular file", path);
        if ((uint64_t) st.st_size > SIZE_MAX)
                return fail(err, errsz, -EFBIG, "gguf: %s is too large to map", path);
        if (st.st_size == 0)
                return gguf_open_buffer(NULL, 0, ret, err, errsz);

        map = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
                r = negative_errno();
                return fail(err, errsz, r, "gguf: cannot map %s: %s", path, strerror(-r));
        }
        r = parse(map, (size_t) st.st_size, &g, err, errsz);
        if (r < 0) {
                (void) munmap(map, (size_t) st.st_size);
                return r;
        }
        g->mapped = true;
        *ret = g;
        return 0;
}

Gguf *gguf_close(Gguf *g) {
        if (!g)
                return NULL;
        for (size_t i = 0; i < g->n_kv; i++)
                kv_done(&g->kvs[i]);
        free(g->kvs);
        free(g->kv_by_key);
        for (size_t i = 0; i < g->n_tensors; i++)
                free((char *) g->tensors[i].name);
        free(g->tensors);
        free(g->tensor_by_name);
        if (g->mapped)
                (void) munmap((void *) g->base, g->size);
        free(g);
        return NULL;
}

/* File-level facts. */

uint32_t gguf_version(const Gguf *g) {
        return g->version;
}

size_t gguf_alignment(const Gguf *g) {
        return g->alignment;
}

size_t gguf_data_offset(const Gguf *g) {
        return g->data_offset;
}

size_t gguf_file_size(const Gguf *g) {
        return g->size;
}

size_t gguf_n_kv(const Gguf *g) {
        return g->n_kv;
}

size_t gguf_n_tensors(const Gguf *g) {
        return g->n_tensors;
}

/* Metadata. */

const char *gguf_kv_key(const Gguf *g, size_t i) {
        return i < g->n_kv ? g->kvs[i].key : NULL;
}

GgufValueType gguf_kv_type(const Gguf *g, size_t i) {
        return i < g->n_kv ? g->kvs[i].value.type : _GGUF_VALUE_TYPE_INVALID;
}

int gguf_kv_value(const Gguf *g, size_t i, GgufValue *ret) {
        if (i >= g->n_kv)
                return -EINVAL;
        *ret = g->kvs[i].value;
        return 0;
}

int gguf_find_key(const Gguf *g, const char *key) {
        GgufKv **found;

        if (!key || g->n_kv == 0)
                return -ENOENT;
        found = bsearch(key, g->kv_by_key, g->n_kv, sizeof *g->kv_by_key, kv_key_cmp);
        if (!found)
                return -ENOENT;
        return (int) (*found - g->kvs);
}

/* "uint32" or "array of string", for messages. */
static const char *describe_type(const GgufValue *v, char *buf, size_t size) {
        if (v->type != GGUF_VALUE_ARRAY)
                return gguf_value_type_name(v->type);
        snprintf(buf, size, "array of %s", gguf_value_type_name(v->arr.type));
        return buf;
}

static int lookup(const Gguf *g, const char *key, const GgufValue **ret, char *err, size_t errsz) {
        int i = gguf_find_key(g, key);

        if (i < 0)
                return fail(err, errsz, -ENOENT, "gguf: missing required key \"%s\"", key ? key : "(null)");
        *ret = &g->kvs[i].value;
        return 0;
}

static int wrong_type(const char *key, const GgufValue *v, const char *expected, char *err, size_t errsz) {
        char buf[32];

        return fail(err, errsz, -EINVAL, "gguf: key \"%s\" has type %s, expected %s", key,
                    describe_type(v, buf, sizeof buf), expected);
}

/* Whether integer value v lies in [min, max]; if so its two's-complement bits go to *ret. */
static bool int_fits(GgufValueType type, uint64_t u, int64_t i, int64_t min, uint64_t max, uint64_t *ret) {
        if (type_is_uint(type)) {
                if (u > max || (min > 0 && u < (uint64_t) min))
                        return false;
                *ret = u;
                return true;
        }
        if (i < min || (i > 0 && (uint64_t) i > max))
                return false;
        *ret = (uint64_t) i;
        return true;
}

static int get_int(const Gguf *g, const char *key, GgufValueType want, int64_t min, uint64_t max, uint64_t *ret,
                   char *err, size_t errsz) {
        const GgufValue *v;
        char expected[64];
        int r;

        r = lookup(g, key, &v, err, errsz);
        if (r < 0)
                return r;
        if (!type_is_uint(v->type) && !type_is_sint(v->type)) {
                snprintf(expected, sizeof expected, "%s (or another integer type)", gguf_value_type_name(want));
                return wrong_type(key, v, expected, err, errsz);
        }
        if (!int_fits(v->type, v->u, v->i, min, max, ret)) {
                if (type_is_uint(v->type))
                        return fail(err, errsz, -ERANGE, "gguf: key \"%s\" = %" PRIu64 " does not fit %s", key, v->u,
                                    gguf_value_type_name(want));
                return fail(err, errsz, -ERANGE, "gguf: key \"%s\" = %" PRId64 " does not fit %s", key, v->i,
                            gguf_value_type_name(want));
        }
        return 0;
}

#define DEFINE_INT_GETTER(name, ctype, want, min, max)                                                                \
        int gguf_get_##name(const Gguf *g, const char *key, ctype *ret, char *err, size_t errsz) {                    \
                uint64_t bits;                                                                                        \
                int r = get_int(g, key, want, min, max, &bits, err, errsz);                                           \
                if (r < 0)                                                                                            \
                        return r;                                                                                     \
                *ret = (ctype) bits;                                                                                  \
                return 0;                                                                                             \
        }

DEFINE_INT_GETTER(u8, uint8_t, GGUF_VALUE_UINT8, 0, UINT8_MAX)
DEFINE_INT_GETTER(i8, int8_t, GGUF_VALUE_INT8, INT8_MIN, INT8_MAX)
DEFINE_INT_GETTER(u16, uint16_t, GGUF_VALUE_UINT16, 0, UINT16_MAX)
DEFINE_INT_GETTER(i16, int16_t, GGUF_VALUE_INT16, INT16_MIN, INT16_MAX)
DEFINE_INT_GETTER(u32, uint32_t, GGUF_VALUE_UINT32, 0, UINT32_MAX)
DEFINE_INT_GETTER(i32, int32_t, GGUF_VALUE_INT32, INT32_MIN, INT32_MAX)
DEFINE_INT_GETTER(u64, uint64_t, GGUF_VALUE_UINT64, 0, UINT64_MAX)
DEFINE_INT_GETTER(i64, int64_t, GGUF_VALUE_INT64, INT64_MIN, INT64_MAX)

int gguf_get_f64(const Gguf *g, const char *key, double *ret, char *err, size_t errsz) {
        const GgufValue *v;
        int r;

        r = lookup(g, key, &v, err, errsz);
        if (r < 0)
                return r;
        if (!type_is_float(v->type))
                return wrong_type(key, v, "float64 or float32", err, errsz);
        *ret = v->f;
        return 0;
}

int gguf_get_f32(const Gguf *g, const char *key, float *ret, char *err, size_t errsz) {
        const GgufValue *v;
        int r;

        r = lookup(g, key, &v, err, errsz);
        if (r < 0)
                return r;
        if (!type_is_float(v->type))
                return wrong_type(key, v, "float32 or float64", err, errsz);
        if (isfinite(v->f) && fabs(v->f) > FLT_MAX)
                return fail(err, errsz, -ERANGE, "gguf: key \"%s\" = %g does not fit float32", key, v->f);
        *ret = (float) v->f;
        return 0;
}

int gguf_get_bool(const Gguf *g, const char *key, bool *ret, char *err, size_t errsz) {
        const GgufValue *v;
        int r;

        r = lookup(g, key, &v, err, errsz);
        if (r < 0)
                return r;
        if (v->type != GGUF_VALUE_BOOL)
                return wrong_type(key, v, "bool", err, errsz);
        *ret = v->b;
        return 0;
}

int gguf_get_str(const Gguf *g, const char *key, const char **ret, size_t *ret_len, char *err, size_t errsz) {
        const GgufValue *v;
        int r;

        r = lookup(g, key, &v, err, errsz);
        if (r < 0)
                return r;
        if (v->type != GGUF_VALUE_STRING)
                return wrong_type(key, v, "string", err, errsz);
        *ret = v->str.ptr;
        *ret_len = v->str.len;
        return 0;
}

int gguf_get_strdup(const Gguf *g, const char *key, char **ret, char *err, size_t errsz) {
        const char *s = NULL;
        size_t len = 0;
        int r;

        r = gguf_get_str(g, key, &s, &len, err, errsz);
        if (r < 0)
                return r;
        r = gguf_strndup(s, len, ret);
        if (r == -EINVAL)
                return fail(err, errsz, r, "gguf: key \"%s\" holds a NUL byte", key);
        if (r < 0)
                return fail(err, errsz, r, "gguf: out of memory");
        return 0;
}

int gguf_get_array(const Gguf *g, const char *key, GgufValueType elem_type, GgufArray *ret, char *err, size_t errsz) {
        const GgufValue *v;
        char expected[32];
        int r;

        r = lookup(g, key, &v, err, errsz);
        if (r < 0)
                return r;
        if (v->type != GGUF_VALUE_ARRAY || (elem_type != _GGUF_VALUE_TYPE_INVALID && v->arr.type != elem_type)) {
                if (elem_type == _GGUF_VALUE_TYPE_INVALID)
                        snprintf(expected, sizeof expected, "array");
                else
                        snprintf(expected, sizeof expected, "array of %s",
                                 gguf_value_type_name(elem_type) ? gguf_value_type_name(elem_type) : "?");
                return wrong_type(key, v, expected, err, errsz);
        }
        *ret = v->arr;
        return 0;
}

/* Array elements. */

static int array_elem(const GgufArray *a, uint64_t i, GgufValue *ret) {
        size_t esz = gguf_value_type_size(a->type);

        if (esz == 0)
                return -EINVAL;
        if (i >= a->n)
                return -ERANGE;
        decode_scalar(a->type, (const uint8_t *) a->data + (size_t) i * esz, ret);
        return 0;
}

int gguf_array_get_uint(const GgufArray *a, uint64_t i, uint64_t *ret) {
        GgufValue v = {};
        uint64_t bits;
        int r;

        if (!type_is_uint(a->type) && !type_is_sint(a->type))
                return -EINVAL;
        r = array_elem(a, i, &v);
        if (r < 0)
                return r;
        if (!int_fits(v.type, v.u, v.i, 0, UINT64_MAX, &bits))
                return -ERANGE;
        *ret = bits;
        return 0;
}

int gguf_array_get_int(const GgufArray *a, uint64_t i, int64_t *ret) {
        GgufValue v = {};
        uint64_t bits;
        int r;

        if (!type_is_uint(a->type) && !type_is_sint(a->type))
                return -EINVAL;
        r = array_elem(a, i, &v);
        if (r < 0)
                return r;
        if (!int_fits(v.type, v.u, v.i, INT64_MIN, INT64_MAX, &bits))
                return -ERANGE;
        *ret = (int64_t) bits;
        return 0;
}

int gguf_array_get_float(const GgufArray *a, uint64_t i, double *ret) {
        GgufValue v = {};
        int r;

        if (!type_is_float(a->type))
                return -EINVAL;
        r = array_elem(a, i, &v);
        if (r < 0)
                return r;
        *ret = v.f;
        return 0;
}

int gguf_array_get_bool(const GgufArray *a, uint64_t i, bool *ret) {
        GgufValue v = {};
        int r;

        if (a->type != GGUF_VALUE_BOOL)
                return -EINVAL;
        r = array_elem(a, i, &v);
        if (r < 0)
                return r;
        *ret = v.b;
        return 0;
}

int gguf_array_get_str(const GgufArray *a, uint64_t i, const char **ret, size_t *ret_len) {
        const uint8_t *q;
        uint64_t len;

        if (a->type != GGUF_VALUE_STRING)
                return -EINVAL;
        if (i >= a->n)
                return -ERANGE;
        q = (const uint8_t *) a->data + a->str_offsets[i];
        memcpy(&len, q, sizeof len);
        *ret = (const char *) q + sizeof len;
        *ret_len = (size_t) len;
        return 0;
}

int gguf_array_copy(const GgufArray *a, void *dst, size_t dst_size) {
        if (gguf_value_type_size(a->type) == 0)
                return -EINVAL;
        if (dst_size < a->size)
                return -ENOBUFS;
        if (a->size > 0)
                memcpy(dst, a->data, a->size);
        return 0;
}

/* Tensors. */

const GgufTensorInfo *gguf_tensor(const Gguf *g, size_t i) {
        return i < g->n_tensors ? &g->tensors[i] : NULL;
}

int gguf_find_tensor(const Gguf *g, const char *name) {
        GgufTensorInfo **found;

        if (!name || g->n_tensors == 0)
                return -ENOENT;
        found = bsearch(name, g->tensor_by_name, g->n_tensors, sizeof *g->tensor_by_name, tensor_name_cmp);
        if (!found)
                return -ENOENT;
        return (int) (*found - g->tensors);
}

int gguf_get_tensor(const Gguf *g, const char *name, const GgufTensorInfo **ret, char *err, size_t errsz) {
        int i = gguf_find_tensor(g, name);

        if (i < 0)
                return fail(err, errsz, -ENOENT, "gguf: missing tensor \"%s\"", name ? name : "(null)");
        *ret = &g->tensors[i];
        return 0;
}

int gguf_tensor_check_supported(const GgufTensorInfo *t, char *err, size_t errsz) {
        if (gguf_type_is_supported(t->type))
                return 0;
        return fail(err, errsz, -EOPNOTSUPP,
                    "gguf: unsupported tensor type %s for %s (the engine computes with f32, f16, bf16, q8_0, q4_k and "
                    "q6_k)",
                    gguf_type_name(t->type) ? gguf_type_name(t->type) : "(unknown)", t->name);
}
