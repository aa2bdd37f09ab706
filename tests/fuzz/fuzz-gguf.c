/* fuzz-gguf.c: gguf_open_buffer on arbitrary bytes, then every kv, element, getter and tensor it accepts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"

static volatile uint8_t sink; /* reads of data go here, so that they are not optimised away */

static void walk_array(const GgufArray *a) {
        const char *s;
        size_t len;
        uint64_t u;
        int64_t i;
        double d;
        bool b;

        for (uint64_t k = 0; k < a->n; k++)
                switch (a->type) {
                case GGUF_VALUE_STRING:
                        if (gguf_array_get_str(a, k, &s, &len) < 0)
                                abort();
                        if (len > 0)
                                sink ^= (uint8_t) (s[0] ^ s[len - 1]);
                        break;
                case GGUF_VALUE_BOOL:
                        if (gguf_array_get_bool(a, k, &b) < 0)
                                abort();
                        break;
                case GGUF_VALUE_FLOAT32:
                case GGUF_VALUE_FLOAT64:
                        if (gguf_array_get_float(a, k, &d) < 0)
                                abort();
                        break;
                default:
                        /* One of the two fits any integer. */
                        if (gguf_array_get_int(a, k, &i) < 0 && gguf_array_get_uint(a, k, &u) < 0)
                                abort();
                        break;
                }

        if (a->type != GGUF_VALUE_STRING) {
                void *copy = malloc(a->size ? a->size : 1);
                if (!copy || gguf_array_copy(a, copy, a->size) < 0)
                        abort();
                free(copy);
        }
}

static void walk_kv(const Gguf *g, size_t i) {
        const char *key = gguf_kv_key(g, i), *s;
        char err[256], *dup = NULL;
        GgufArray a;
        GgufValue v;
        size_t len;
        union {
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
        } x;

        if (!key || gguf_find_key(g, key) != (int) i || gguf_kv_value(g, i, &v) < 0 || v.type != gguf_kv_type(g, i))
                abort();
        if (v.type == GGUF_VALUE_ARRAY) {
                if (gguf_get_array(g, key, v.arr.type, &a, err, sizeof err) < 0)
                        abort();
                walk_array(&a);
        }
        if (v.type == GGUF_VALUE_STRING && gguf_get_str(g, key, &s, &len, err, sizeof err) < 0)
                abort();

        /* Every getter, whatever the type: each succeeds or explains. */
        (void) gguf_get_u8(g, key, &x.u8, err, sizeof err);
        (void) gguf_get_i8(g, key, &x.i8, err, sizeof err);
        (void) gguf_get_u16(g, key, &x.u16, err, sizeof err);
        (void) gguf_get_i16(g, key, &x.i16, err, sizeof err);
        (void) gguf_get_u32(g, key, &x.u32, err, sizeof err);
        (void) gguf_get_i32(g, key, &x.i32, err, sizeof err);
        (void) gguf_get_u64(g, key, &x.u64, err, sizeof err);
        (void) gguf_get_i64(g, key, &x.i64, err, sizeof err);
        (void) gguf_get_f32(g, key, &x.f, err, sizeof err);
        (void) gguf_get_f64(g, key, &x.d, err, sizeof err);
        (void) gguf_get_bool(g, key, &x.b, err, sizeof err);
        if (gguf_get_strdup(g, key, &dup, err, sizeof err) >= 0)
                free(dup);
}

static void walk_tensor(const Gguf *g, size_t i) {
        const GgufTensorInfo *t = gguf_tensor(g, i);
        const uint8_t *base;
        char err[256];
        uint64_t n;

        if (!t || gguf_find_tensor(g, t->name) != (int) i || !gguf_type_name(t->type) || t->n_dims > GGUF_MAX_DIMS)
                abort();
        if (gguf_type_nbytes(t->type, t->n_dims, t->ne, &n) < 0 || n != t->size)
                abort();
        if (t->offset % gguf_alignment(g) != 0 || t->file_offset + t->size > gguf_file_size(g))
                abort();
        base = t->data;
        if (t->size > 0)
                sink ^= base[0] ^ base[t->size - 1];
        (void) gguf_tensor_check_supported(t, err, sizeof err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_gguf_close_ Gguf *g = NULL;
        char err[512];

        err[0] = 0;
        if (gguf_open_buffer(data, size, &g, err, sizeof err) < 0) {
                if (strncmp(err, "gguf: ", 6) != 0) /* every failure explains itself */
                        abort();
                return 0;
        }
        for (size_t i = 0; i < gguf_n_kv(g); i++)
                walk_kv(g, i);
        for (size_t i = 0; i < gguf_n_tensors(g); i++)
                walk_tensor(g, i);
        if (gguf_kv_key(g, gguf_n_kv(g)) || gguf_tensor(g, gguf_n_tensors(g)))
                abort();
        return 0;
}
