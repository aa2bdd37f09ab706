/* gguf-write.h: builds GGUF v3 files: metadata of every type and tensors, written atomically, data streamed. */
#pragma once

#include "gguf.h"

typedef struct GgufWriter GgufWriter;

/* A new, empty writer with the default alignment (32). The caller owns it (gguf_writer_free()).
 * Returns 0 or -ENOMEM. */
int gguf_writer_new(GgufWriter **ret);
/* Frees w and all it copied. Accepts NULL; returns NULL. */
GgufWriter *gguf_writer_free(GgufWriter *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(GgufWriter *, gguf_writer_free);
#define _cleanup_gguf_writer_free_ _cleanup_(gguf_writer_freep)

/* One line saying why the last failed call on w failed ("" before any failure). Owned by w. Every
 * function below returns 0 or a negative errno and, on failure, leaves w as it was. */
const char *gguf_writer_error(const GgufWriter *w);

/* Sets the data alignment and records it as general.alignment (uint32), replacing an earlier value.
 * Rejects 0 and non-powers of two (-EINVAL). */
int gguf_writer_set_alignment(GgufWriter *w, uint32_t alignment);

/* Metadata, written in the order added. Each copies key and value. Rejects a NULL or empty key, one
 * longer than GGUF_KEY_MAX (-EINVAL) and one already added (-EEXIST). general.alignment may only be
 * added as uint32, which acts as gguf_writer_set_alignment(). */
int gguf_writer_add_u8(GgufWriter *w, const char *key, uint8_t v);
int gguf_writer_add_i8(GgufWriter *w, const char *key, int8_t v);
int gguf_writer_add_u16(GgufWriter *w, const char *key, uint16_t v);
int gguf_writer_add_i16(GgufWriter *w, const char *key, int16_t v);
int gguf_writer_add_u32(GgufWriter *w, const char *key, uint32_t v);
int gguf_writer_add_i32(GgufWriter *w, const char *key, int32_t v);
int gguf_writer_add_u64(GgufWriter *w, const char *key, uint64_t v);
int gguf_writer_add_i64(GgufWriter *w, const char *key, int64_t v);
int gguf_writer_add_f32(GgufWriter *w, const char *key, float v);
int gguf_writer_add_f64(GgufWriter *w, const char *key, double v);
int gguf_writer_add_bool(GgufWriter *w, const char *key, bool v);
/* A NUL-terminated string (NULL is rejected with -EINVAL). */
int gguf_writer_add_str(GgufWriter *w, const char *key, const char *s);
/* len bytes at s, which may hold any bytes. */
int gguf_writer_add_strn(GgufWriter *w, const char *key, const char *s, size_t len);
/* n elements of a fixed-size type (not STRING or ARRAY: -EINVAL), packed in host (little-endian)
 * order at data, copied. Bool elements must be 0 or 1 (-EINVAL). */
int gguf_writer_add_array(GgufWriter *w, const char *key, GgufValueType type, const void *data, size_t n);
/* n NUL-terminated strings, copied. A NULL element is rejected (-EINVAL). */
int gguf_writer_add_str_array(GgufWriter *w, const char *key, const char *const *strs, size_t n);
/* n strings given as pointers and byte lengths, copied. */
int gguf_writer_add_strn_array(GgufWriter *w, const char *key, const char *const *strs, const size_t *lens, size_t n);

/* A value read from another file (gguf_kv_value()), of any type, arrays included; copied. */
int gguf_writer_add_value(GgufWriter *w, const char *key, const GgufValue *v);

/* A tensor, written in the order added, each at the next aligned offset. Copies name and shape but
 * NOT the data: data (size bytes) must stay valid and unchanged until gguf_writer_write() returns,
 * which streams it to the file (so it may well be mmapped from elsewhere). Rejects an empty name or
 * one longer than GGUF_TENSOR_NAME_MAX, an unknown type, n_dims > GGUF_MAX_DIMS, a dimension over
 * INT64_MAX, ne[0] not a multiple of the type's block size, a size other than gguf_type_nbytes()
 * (all -EINVAL), overflow (-EOVERFLOW) and a name already added (-EEXIST). */
int gguf_writer_add_tensor(GgufWriter *w, const char *name, GgufTensorType type, uint32_t n_dims, const uint64_t *ne,
                           const void *data, size_t size);

/* Writes the file to path atomically: to a temporary file beside it, fsync()ed, then renamed over
 * path (mode 0644), so that path holds either its old content or the whole new file. The temporary
 * file is removed on failure. w stays usable. Returns 0 or the negative errno of the failed call. */
int gguf_writer_write(GgufWriter *w, const char *path);
