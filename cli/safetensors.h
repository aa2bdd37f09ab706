/* safetensors.h: a strict reader of Hugging Face .safetensors files (JSON header validated, data mmapped). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define SAFETENSORS_HEADER_MAX ((uint64_t) 100 << 20) /* bytes of JSON header, as the reference library allows */
#define SAFETENSORS_MAX_DIMS 8
#define SAFETENSORS_NAME_MAX 1024 /* bytes in a tensor name */
#define SAFETENSORS_MAX_TENSORS 1000000

/* Element types, as the header spells them (safetensors' Dtype). Sub-byte types are not supported. */
typedef enum SafetensorsDtype {
        SAFETENSORS_BOOL,
        SAFETENSORS_U8,
        SAFETENSORS_I8,
        SAFETENSORS_F8_E5M2,
        SAFETENSORS_F8_E4M3,
        SAFETENSORS_I16,
        SAFETENSORS_U16,
        SAFETENSORS_F16,
        SAFETENSORS_BF16,
        SAFETENSORS_I32,
        SAFETENSORS_U32,
        SAFETENSORS_F32,
        SAFETENSORS_F64,
        SAFETENSORS_I64,
        SAFETENSORS_U64,
        _SAFETENSORS_DTYPE_MAX,
        _SAFETENSORS_DTYPE_INVALID = -EINVAL,
} SafetensorsDtype;

/* One tensor. All pointers are owned by the Safetensors it came from. */
typedef struct SafetensorsTensor {
        const char *name; /* NUL-terminated */
        SafetensorsDtype dtype;
        uint32_t n_dims;                      /* 0 (a scalar) .. SAFETENSORS_MAX_DIMS */
        uint64_t shape[SAFETENSORS_MAX_DIMS]; /* shape[0] slowest (row-major), as in the header */
        uint64_t n_elements;
        uint64_t offset;  /* from the start of the data section */
        size_t size;      /* bytes */
        const void *data; /* into the file; no alignment guarantee */
} SafetensorsTensor;

typedef struct Safetensors Safetensors;

/* Name of a dtype as the header spells it ("BF16"), or NULL when out of range. */
const char *safetensors_dtype_name(SafetensorsDtype t);
/* The dtype the header string s names, or -EINVAL. */
SafetensorsDtype safetensors_dtype_from_name(const char *s);
/* Bytes per element; 0 when out of range. */
size_t safetensors_dtype_size(SafetensorsDtype t);

/* Maps path read-only and validates all of it: the header length (8 bytes, little-endian, at most
 * SAFETENSORS_HEADER_MAX and inside the file), the JSON header (an object whose members are
 * "__metadata__", an object of strings, and tensors with exactly "dtype", "shape" and "data_offsets"),
 * each dtype, each shape (at most SAFETENSORS_MAX_DIMS dimensions, no overflow), each tensor's byte
 * range (end - begin equals its size) and that the ranges tile the data section exactly, with no gap or
 * overlap, as the reference library requires. Duplicate names are rejected. Returns 0 and a
 * Safetensors the caller owns (safetensors_close()), or a negative errno: -EBADMSG for a malformed
 * file, or what open/fstat/mmap failed with. err receives one line ("safetensors: ...") on failure. */
int safetensors_open(const char *path, Safetensors **ret, char *err, size_t errsz);
/* As safetensors_open(), over size bytes at data, which must stay valid and unchanged until
 * safetensors_close() (neither copied nor owned). */
int safetensors_open_buffer(const void *data, size_t size, Safetensors **ret, char *err, size_t errsz);
/* Unmaps and frees. Accepts NULL; returns NULL. */
Safetensors *safetensors_close(Safetensors *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Safetensors *, safetensors_close);
#define _cleanup_safetensors_close_ _cleanup_(safetensors_closep)

/* Tensors, sorted by name. */
size_t safetensors_n_tensors(const Safetensors *s);
/* Tensor i (0 .. n-1), or NULL when i is out of range. Owned by s. */
const SafetensorsTensor *safetensors_tensor(const Safetensors *s, size_t i);
/* The tensor named name (owned by s), or NULL. */
const SafetensorsTensor *safetensors_find(const Safetensors *s, const char *name);
/* Number of "__metadata__" entries, and entry i's key and value (owned by s; NULL when out of range). */
size_t safetensors_n_metadata(const Safetensors *s);
const char *safetensors_metadata_key(const Safetensors *s, size_t i);
const char *safetensors_metadata_value(const Safetensors *s, size_t i);

/* Reads n elements of t from element first on as floats. Accepts F32, F16 and BF16 tensors (others:
 * -EOPNOTSUPP) and a range inside the tensor (else -ERANGE). */
int safetensors_read_f32(const SafetensorsTensor *t, uint64_t first, size_t n, float *out);
