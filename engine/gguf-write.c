/* gguf-write.c: GGUF v3 writer: metadata serialised when added, tensor data streamed from the caller at write time. */
#include "gguf-write.h"

#include <fcntl.h>
#include <stdlib.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "strbuf.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "gguf-write.c stores values with plain copies; port it before building for a big-endian host"
#endif

typedef struct WriterKv {
        char *key;
        GgufValueType type;
        char *blob; /* the value exactly as the file stores it (for arrays: element type, count, elements) */
        size_t blob_size;
} WriterKv;

typedef struct WriterTensor {
        char *name;
        GgufTensorType type;
        uint32_t n_dims;
        uint64_t ne[GGUF_MAX_DIMS];
        const void *data; /* the caller's */
        size_t size;
} WriterTensor;

struct GgufWriter {
        uint32_t alignment;
        WriterKv *kvs;
        size_t n_kv;
        WriterTensor *tensors;
        size_t n_tensors;
        char error[256];
};

/* Largest serialised metadata value (a tokenizer's merges or a chat template are far below). */
#define VALUE_MAX ((size_t) 1 << 30)
#define VALUE_INIT                                                                                                    \
        { .limit = VALUE_MAX }

static const char *strempty(const char *s) {
        return s ? s : "";
}

_printf_(3, 4) static int fail(GgufWriter *w, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(w->error, sizeof w->error, fmt, ap);
        va_end(ap);
        return r;
}

/* Values are serialised into a StrBuf (a growable byte string). */
static int put_u32(StrBuf *b, uint32_t v) {
        return strbuf_append(b, (const char *) &v, sizeof v);
}

static int put_u64(StrBuf *b, uint64_t v) {
        return strbuf_append(b, (const char *) &v, sizeof v);
}

static int put_string(StrBuf *b, const char *s, size_t len) {
        int r = put_u64(b, len);

        return r < 0 ? r : strbuf_append(b, s, len);
}

/* Appends the element at elem (size bytes) to the array *p of *n elements. */
static int append(void **p, size_t *n, const void *elem, size_t size) {
        void *q = reallocarray(*p, *n + 1, size);

        if (!q)
                return -ENOMEM;
        memcpy((char *) q + *n * size, elem, size);
        *p = q;
        (*n)++;
        return 0;
}

int gguf_writer_new(GgufWriter **ret) {
        GgufWriter *w = calloc(1, sizeof *w);

        if (!w)
                return -ENOMEM;
        w->alignment = GGUF_DEFAULT_ALIGNMENT;
        *ret = w;
        return 0;
}

GgufWriter *gguf_writer_free(GgufWriter *w) {
        if (!w)
                return NULL;
        for (size_t i = 0; i < w->n_kv; i++) {
                free(w->kvs[i].key);
                free(w->kvs[i].blob);
        }
        free(w->kvs);
        for (size_t i = 0; i < w->n_tensors; i++)
                free(w->tensors[i].name);
        free(w->tensors);
        free(w);
        return NULL;
}

const char *gguf_writer_error(const GgufWriter *w) {
        return w->error;
}

static WriterKv *find_kv(GgufWriter *w, const char *key) {
        for (size_t i = 0; i < w->n_kv; i++)
                if (streq(w->kvs[i].key, key))
                        return &w->kvs[i];
        return NULL;
}

static int check_key(GgufWriter *w, const char *key) {
        if (isempty(key))
                return fail(w, -EINVAL, "gguf: metadata key is empty");
        if (strlen(key) > GGUF_KEY_MAX)
                return fail(w, -EINVAL, "gguf: metadata key \"%.64s...\" is longer than %d bytes", key, GGUF_KEY_MAX);
        if (find_kv(w, key))
                return fail(w, -EEXIST, "gguf: duplicate metadata key \"%s\"", key);
        return 0;
}

/* Appends key with type and the serialised value in b, taking b's buffer on success. */
static int add_kv(GgufWriter *w, const char *key, GgufValueType type, StrBuf *b) {
        WriterKv kv = { .type = type, .blob = b->data, .blob_size = b->len };
        int r;

        r = check_key(w, key);
        if (r < 0)
                return r;
        kv.key = strdup(key);
        if (!kv.key)
                return fail(w, -ENOMEM, "gguf: out of memory");
        r = append((void **) &w->kvs, &w->n_kv, &kv, sizeof kv);
        if (r < 0) {
                free(kv.key);
                return fail(w, r, "gguf: out of memory");
        }
        b->data = NULL; /* taken */
        strbuf_done(b);
        return 0;
}

static int add_scalar(GgufWriter *w, const char *key, GgufValueType type, const void *v) {
        _cleanup_(strbuf_done) StrBuf b = VALUE_INIT;
        int r;

        if (key && streq(key, GGUF_KEY_ALIGNMENT) && type != GGUF_VALUE_UINT32)
                return fail(w, -EINVAL, "gguf: %s must be a uint32", GGUF_KEY_ALIGNMENT);
        r = strbuf_append(&b, v, gguf_value_type_size(type));
        if (r < 0)
                return fail(w, r, "gguf: out of memory");
        return add_kv(w, key, type, &b);
}

#define DEFINE_SCALAR_ADDER(name, ctype, type)                                                                        \
        int gguf_writer_add_##name(GgufWriter *w, const char *key, ctype v) {                                         \
                return add_scalar(w, key, type, &v);                                                                  \
        }

DEFINE_SCALAR_ADDER(u8, uint8_t, GGUF_VALUE_UINT8)
DEFINE_SCALAR_ADDER(i8, int8_t, GGUF_VALUE_INT8)
DEFINE_SCALAR_ADDER(u16, uint16_t, GGUF_VALUE_UINT16)
DEFINE_SCALAR_ADDER(i16, int16_t, GGUF_VALUE_INT16)
DEFINE_SCALAR_ADDER(i32, int32_t, GGUF_VALUE_INT32)
DEFINE_SCALAR_ADDER(u64, uint64_t, GGUF_VALUE_UINT64)
DEFINE_SCALAR_ADDER(i64, int64_t, GGUF_VALUE_INT64)
DEFINE_SCALAR_ADDER(f32, float, GGUF_VALUE_FLOAT32)
DEFINE_SCALAR_ADDER(f64, double, GGUF_VALUE_FLOAT64)

int gguf_writer_add_u32(GgufWriter *w, const char *key, uint32_t v) {
        if (key && streq(key, GGUF_KEY_ALIGNMENT))
                return gguf_writer_set_alignment(w, v);
        return add_scalar(w, key, GGUF_VALUE_UINT32, &v);
}

int gguf_writer_add_bool(GgufWriter *w, const char *key, bool v) {
        uint8_t b = v;

        return add_scalar(w, key, GGUF_VALUE_BOOL, &b);
}

int gguf_writer_set_alignment(GgufWriter *w, uint32_t alignment) {
        WriterKv *kv;

        if (alignment == 0 || (alignment & (alignment - 1)) != 0)
                return fail(w, -EINVAL, "gguf: alignment %" PRIu32 " is not a nonzero power of two", alignment);
        kv = find_kv(w, GGUF_KEY_ALIGNMENT);
        if (kv)
                memcpy(kv->blob, &alignment, sizeof alignment);
        else {
                int r = add_scalar(w, GGUF_KEY_ALIGNMENT, GGUF_VALUE_UINT32, &alignment);
                if (r < 0)
                        return r;
        }
        w->alignment = alignment;
        return 0;
}

int gguf_writer_add_strn(GgufWriter *w, const char *key, const char *s, size_t len) {
        _cleanup_(strbuf_done) StrBuf b = VALUE_INIT;
        int r;

        if (!s && len > 0)
                return fail(w, -EINVAL, "gguf: metadata key \"%s\": NULL string", strempty(key));
        if (key && streq(key, GGUF_KEY_ALIGNMENT))
                return fail(w, -EINVAL, "gguf: %s must be a uint32", GGUF_KEY_ALIGNMENT);
        r = put_string(&b, s, len);
        if (r < 0)
                return fail(w, r, "gguf: out of memory");
        return add_kv(w, key, GGUF_VALUE_STRING, &b);
}

int gguf_writer_add_str(GgufWriter *w, const char *key, const char *s) {
        if (!s)
                return fail(w, -EINVAL, "gguf: metadata key \"%s\": NULL string", strempty(key));
        return gguf_writer_add_strn(w, key, s, strlen(s));
}

int gguf_writer_add_array(GgufWriter *w, const char *key, GgufValueType type, const void *data, size_t n) {
        _cleanup_(strbuf_done) StrBuf b = VALUE_INIT;
        size_t esz = gguf_value_type_size(type), bytes;
        int r;

        if (esz == 0)
                return fail(w, -EINVAL, "gguf: metadata key \"%s\": arrays of %s are not written by this call",
                            strempty(key),
                            gguf_value_type_name(type) ? gguf_value_type_name(type) : "an unknown type");
        if (key && streq(key, GGUF_KEY_ALIGNMENT))
                return fail(w, -EINVAL, "gguf: %s must be a uint32", GGUF_KEY_ALIGNMENT);
        if (!size_mul(n, esz, &bytes))
                return fail(w, -EOVERFLOW, "gguf: metadata key \"%s\": array too large", strempty(key));
        if (!data && n > 0)
                return fail(w, -EINVAL, "gguf: metadata key \"%s\": NULL array data", strempty(key));
        if (type == GGUF_VALUE_BOOL)
                for (size_t i = 0; i < n; i++)
                        if (((const uint8_t *) data)[i] > 1)
                                return fail(w, -EINVAL,
                                            "gguf: metadata key \"%s\": bool element %zu is neither 0 nor 1",
                                            strempty(key), i);

        r = put_u32(&b, (uint32_t) type);
        if (r >= 0)
                r = put_u64(&b, n);
        if (r >= 0)
                r = strbuf_append(&b, data, bytes);
        if (r < 0)
                return fail(w, r, "gguf: metadata key \"%s\": %s", strempty(key),
                            r == -E2BIG ? "value too large" : "out of memory");
        return add_kv(w, key, GGUF_VALUE_ARRAY, &b);
}

int gguf_writer_add_strn_array(GgufWriter *w, const char *key, const char *const *strs, const size_t *lens, size_t n) {
        _cleanup_(strbuf_done) StrBuf b = VALUE_INIT;
        int r;

        if (n > 0 && (!strs || !lens))
                return fail(w, -EINVAL, "gguf: metadata key \"%s\": NULL string array", strempty(key));
        if (key && streq(key, GGUF_KEY_ALIGNMENT))
                return fail(w, -EINVAL, "gguf: %s must be a uint32", GGUF_KEY_ALIGNMENT);
        for (size_t i = 0; i < n; i++)
                if (!strs[i] && lens[i] > 0)
                        return fail(w, -EINVAL, "gguf: metadata key \"%s\": string element %zu is NULL", strempty(key),
                                    i);

        r = put_u32(&b, GGUF_VALUE_STRING);
        if (r >= 0)
                r = put_u64(&b, n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = put_string(&b, strs[i], lens[i]);
        if (r < 0)
                return fail(w, r, "gguf: metadata key \"%s\": %s", strempty(key),
                            r == -E2BIG ? "value too large" : "out of memory");
        return add_kv(w, key, GGUF_VALUE_ARRAY, &b);
}

int gguf_writer_add_str_array(GgufWriter *w, const char *key, const char *const *strs, size_t n) {
        _cleanup_free_ size_t *lens = NULL;

        if (n > 0 && !strs)
                return fail(w, -EINVAL, "gguf: metadata key \"%s\": NULL string array", strempty(key));
        if (n > 0) {
                lens = calloc(n, sizeof *lens);
                if (!lens)
                        return fail(w, -ENOMEM, "gguf: out of memory");
        }
        for (size_t i = 0; i < n; i++) {
                if (!strs[i])
                        return fail(w, -EINVAL, "gguf: metadata key \"%s\": string element %zu is NULL", strempty(key),
                                    i);
                lens[i] = strlen(strs[i]);
        }
        return gguf_writer_add_strn_array(w, key, strs, lens, n);
}

/* Tensors. */

static int check_tensor(GgufWriter *w, const char *name, GgufTensorType type, uint32_t n_dims, const uint64_t *ne,
                        const void *data, size_t size) {
        uint64_t nbytes, n = 1;
        int r;

        if (isempty(name) || strlen(name) > GGUF_TENSOR_NAME_MAX)
                return fail(w, -EINVAL, "gguf: tensor name \"%.80s\" is empty or longer than %d bytes", strempty(name),
                            GGUF_TENSOR_NAME_MAX);
        for (size_t i = 0; i < w->n_tensors; i++)
                if (streq(w->tensors[i].name, name))
                        return fail(w, -EEXIST, "gguf: duplicate tensor name \"%s\"", name);
        if (!gguf_type_name(type))
                return fail(w, -EINVAL, "gguf: tensor \"%s\": unknown type %d", name, (int) type);
        if (n_dims > GGUF_MAX_DIMS || (n_dims > 0 && !ne))
                return fail(w, -EINVAL, "gguf: tensor \"%s\": n_dims %" PRIu32 " exceeds %d", name, n_dims,
                            GGUF_MAX_DIMS);
        for (uint32_t j = 0; j < n_dims; j++) {
                if (ne[j] > INT64_MAX)
                        return fail(w, -EINVAL, "gguf: tensor \"%s\": dimension %" PRIu32 " is too large", name, j);
                if (__builtin_mul_overflow(n, ne[j], &n) || n > INT64_MAX)
                        return fail(w, -EOVERFLOW, "gguf: tensor \"%s\": dimension product overflows", name);
        }
        r = gguf_type_nbytes(type, n_dims, ne, &nbytes);
        if (r == -EINVAL)
                return fail(w, r,
                            "gguf: tensor \"%s\": ne[0] = %" PRIu64 " is not a multiple of the %s block size %zu",
                            name, n_dims > 0 ? ne[0] : 1, gguf_type_name(type), gguf_type_block_size(type));
        if (r < 0)
                return fail(w, r, "gguf: tensor \"%s\": size overflows", name);
        if (nbytes != size)
                return fail(w, -EINVAL,
                            "gguf: tensor \"%s\": %zu bytes of data given, %s of this shape takes %" PRIu64, name,
                            size, gguf_type_name(type), nbytes);
        if (!data && size > 0)
                return fail(w, -EINVAL, "gguf: tensor \"%s\": NULL data", name);
        return 0;
}

int gguf_writer_add_tensor(GgufWriter *w, const char *name, GgufTensorType type, uint32_t n_dims, const uint64_t *ne,
                           const void *data, size_t size) {
        WriterTensor t = { .type = type, .n_dims = n_dims, .ne = { 1, 1, 1, 1 }, .data = data, .size = size };
        int r;

        r = check_tensor(w, name, type, n_dims, ne, data, size);
        if (r < 0)
                return r;
        t.name = strdup(name);
        if (!t.name)
                return fail(w, -ENOMEM, "gguf: out of memory");
        for (uint32_t j = 0; j < n_dims; j++)
                t.ne[j] = ne[j];
        r = append((void **) &w->tensors, &w->n_tensors, &t, sizeof t);
        if (r < 0) {
                free(t.name);
                return fail(w, r, "gguf: out of memory");
        }
        return 0;
}

/* Writing. */

/* A FILE that counts what went through it, so that padding can be computed. */
typedef struct Out {
        FILE *f;
        uint64_t pos;
} Out;

static int out_put(Out *o, const void *p, size_t n) {
        if (n > 0 && fwrite(p, 1, n, o->f) != n)
                return negative_errno();
        o->pos += n;
        return 0;
}

static int out_u32(Out *o, uint32_t v) {
        return out_put(o, &v, sizeof v);
}

static int out_u64(Out *o, uint64_t v) {
        return out_put(o, &v, sizeof v);
}

static int out_string(Out *o, const char *s) {
        size_t len = strlen(s);
        int r = out_u64(o, len);

        return r < 0 ? r : out_put(o, s, len);
}

/* Writes zeros up to offset. */
static int out_pad(Out *o, uint64_t offset) {
        static const uint8_t zeros[4096];
        int r;

        while (o->pos < offset) {
                r = out_put(o, zeros, (size_t) MIN(offset - o->pos, (uint64_t) sizeof zeros));
                if (r < 0)
                        return r;
        }
        return 0;
}

static uint64_t align_up(uint64_t x, uint32_t alignment) {
        return (x + alignment - 1) & ~((uint64_t) alignment - 1);
}

static int write_metadata(GgufWriter *w, Out *o) {
        int r;

        for (size_t i = 0; i < w->n_kv; i++) {
                const WriterKv *kv = &w->kvs[i];

                r = out_string(o, kv->key);
                if (r >= 0)
                        r = out_u32(o, (uint32_t) kv->type);
                if (r >= 0)
                        r = out_put(o, kv->blob, kv->blob_size);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int write_tensor_infos(GgufWriter *w, Out *o) {
        uint64_t offset = 0;
        int r;

        for (size_t i = 0; i < w->n_tensors; i++) {
                const WriterTensor *t = &w->tensors[i];

                r = out_string(o, t->name);
                if (r >= 0)
                        r = out_u32(o, t->n_dims);
                for (uint32_t j = 0; r >= 0 && j < t->n_dims; j++)
                        r = out_u64(o, t->ne[j]);
                if (r >= 0)
                        r = out_u32(o, (uint32_t) t->type);
                if (r >= 0)
                        r = out_u64(o, offset);
                if (r < 0)
                        return r;
                offset = align_up(offset + t->size, w->alignment);
        }
        return 0;
}

static int write_tensor_data(GgufWriter *w, Out *o) {
        uint64_t data_start = align_up(o->pos, w->alignment), offset = 0;
        int r;

        for (size_t i = 0; i < w->n_tensors; i++) {
                const WriterTensor *t = &w->tensors[i];

                r = out_pad(o, data_start + offset);
                if (r >= 0)
                        r = out_put(o, t->data, t->size);
                if (r < 0)
                        return r;
                offset = align_up(offset + t->size, w->alignment);
        }
        /* Pad the end too, as ggml does, so that the last tensor is followed by a full aligned block. */
        return w->n_tensors > 0 ? out_pad(o, data_start + offset) : out_pad(o, data_start);
}

static int write_all(GgufWriter *w, FILE *f) {
        Out o = { .f = f };
        int r;

        r = out_put(&o, GGUF_MAGIC, 4);
        if (r >= 0)
                r = out_u32(&o, GGUF_VERSION);
        if (r >= 0)
                r = out_u64(&o, w->n_tensors);
        if (r >= 0)
                r = out_u64(&o, w->n_kv);
        if (r >= 0)
                r = write_metadata(w, &o);
        if (r >= 0)
                r = write_tensor_infos(w, &o);
        if (r >= 0)
                r = write_tensor_data(w, &o);
        if (r >= 0 && fflush(f) != 0)
                r = negative_errno();
        if (r >= 0 && fsync(fileno(f)) < 0)
                r = negative_errno();
        return r;
}

/* fsync()s the directory holding path, so that a rename into it is durable. Best effort. */
static void sync_parent(const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int fd = -EBADF;

        if (!copy)
                return;
        fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0)
                (void) fsync(fd);
}

int gguf_writer_write(GgufWriter *w, const char *path) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        int fd, r;

        if (isempty(path))
                return fail(w, -EINVAL, "gguf: no output path");
        if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
                tmp = NULL;
                return fail(w, -ENOMEM, "gguf: out of memory");
        }
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                r = negative_errno();
                return fail(w, r, "gguf: cannot create a temporary file beside %s: %s", path, strerror(-r));
        }
        f = fdopen(fd, "w");
        if (!f) {
                r = negative_errno();
                (void) close(fd);
                (void) unlink(tmp);
                return fail(w, r, "gguf: cannot write %s: %s", tmp, strerror(-r));
        }

        r = write_all(w, f);
        if (r >= 0 && fchmod(fileno(f), 0644) < 0)
                r = negative_errno();
        if (r >= 0) {
                FILE *closing = TAKE_PTR(f);
                if (fclose(closing) != 0)
                        r = negative_errno();
        }
        if (r >= 0 && rename(tmp, path) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlink(tmp);
                return fail(w, r, "gguf: cannot write %s: %s", path, strerror(-r));
        }
        sync_parent(path);
        return 0;
}

int gguf_writer_add_value(GgufWriter *w, const char *key, const GgufValue *v) {
        switch (v->type) {
        case GGUF_VALUE_UINT8: return gguf_writer_add_u8(w, key, (uint8_t) v->u);
        case GGUF_VALUE_UINT16: return gguf_writer_add_u16(w, key, (uint16_t) v->u);
        case GGUF_VALUE_UINT32: return gguf_writer_add_u32(w, key, (uint32_t) v->u);
        case GGUF_VALUE_UINT64: return gguf_writer_add_u64(w, key, v->u);
        case GGUF_VALUE_INT8: return gguf_writer_add_i8(w, key, (int8_t) v->i);
        case GGUF_VALUE_INT16: return gguf_writer_add_i16(w, key, (int16_t) v->i);
        case GGUF_VALUE_INT32: return gguf_writer_add_i32(w, key, (int32_t) v->i);
        case GGUF_VALUE_INT64: return gguf_writer_add_i64(w, key, v->i);
        case GGUF_VALUE_FLOAT32: return gguf_writer_add_f32(w, key, (float) v->f);
        case GGUF_VALUE_FLOAT64: return gguf_writer_add_f64(w, key, v->f);
        case GGUF_VALUE_BOOL: return gguf_writer_add_bool(w, key, v->b);
        case GGUF_VALUE_STRING: return gguf_writer_add_strn(w, key, v->str.ptr, v->str.len);
        default: break;
        }
        /* arrays */
        const GgufArray *a = &v->arr;
        if (a->type != GGUF_VALUE_STRING) {
                size_t size = a->n * gguf_value_type_size(a->type);
                _cleanup_free_ void *copy = malloc(size ? size : 1);
                if (!copy)
                        return -ENOMEM;
                int r = gguf_array_copy(a, copy, size);
                return r < 0 ? r : gguf_writer_add_array(w, key, a->type, copy, a->n);
        }
        _cleanup_free_ const char **ptrs = calloc(a->n ? a->n : 1, sizeof *ptrs);
        _cleanup_free_ size_t *lens = calloc(a->n ? a->n : 1, sizeof *lens);
        if (!ptrs || !lens)
                return -ENOMEM;
        for (uint64_t i = 0; i < a->n; i++) {
                int r = gguf_array_get_str(a, i, &ptrs[i], &lens[i]);
                if (r < 0)
                        return r;
        }
        return gguf_writer_add_strn_array(w, key, ptrs, lens, a->n);
}
