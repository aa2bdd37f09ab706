/* safetensors.c: parses and validates .safetensors headers, maps the data, widens F16/BF16 to float. */
#include "safetensors.h"

#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "json.h"
#include "quant.h"

struct Safetensors {
        const uint8_t *base; /* the whole file */
        size_t size;
        void *map; /* what safetensors_open() mapped, or NULL */
        size_t map_size;
        SafetensorsTensor *tensors; /* sorted by name */
        size_t n_tensors;
        char **meta_keys, **meta_values;
        size_t n_meta;
};

static const char *const dtype_names[_SAFETENSORS_DTYPE_MAX] = {
        [SAFETENSORS_BOOL] = "BOOL",       [SAFETENSORS_U8] = "U8",           [SAFETENSORS_I8] = "I8",
        [SAFETENSORS_F8_E5M2] = "F8_E5M2", [SAFETENSORS_F8_E4M3] = "F8_E4M3", [SAFETENSORS_I16] = "I16",
        [SAFETENSORS_U16] = "U16",         [SAFETENSORS_F16] = "F16",         [SAFETENSORS_BF16] = "BF16",
        [SAFETENSORS_I32] = "I32",         [SAFETENSORS_U32] = "U32",         [SAFETENSORS_F32] = "F32",
        [SAFETENSORS_F64] = "F64",         [SAFETENSORS_I64] = "I64",         [SAFETENSORS_U64] = "U64",
};

static const uint8_t dtype_sizes[_SAFETENSORS_DTYPE_MAX] = {
        [SAFETENSORS_BOOL] = 1,    [SAFETENSORS_U8] = 1,  [SAFETENSORS_I8] = 1,  [SAFETENSORS_F8_E5M2] = 1,
        [SAFETENSORS_F8_E4M3] = 1, [SAFETENSORS_I16] = 2, [SAFETENSORS_U16] = 2, [SAFETENSORS_F16] = 2,
        [SAFETENSORS_BF16] = 2,    [SAFETENSORS_I32] = 4, [SAFETENSORS_U32] = 4, [SAFETENSORS_F32] = 4,
        [SAFETENSORS_F64] = 8,     [SAFETENSORS_I64] = 8, [SAFETENSORS_U64] = 8,
};

const char *safetensors_dtype_name(SafetensorsDtype t) {
        return t >= 0 && t < _SAFETENSORS_DTYPE_MAX ? dtype_names[t] : NULL;
}

SafetensorsDtype safetensors_dtype_from_name(const char *s) {
        for (int t = 0; s && t < _SAFETENSORS_DTYPE_MAX; t++)
                if (streq(dtype_names[t], s))
                        return (SafetensorsDtype) t;
        return _SAFETENSORS_DTYPE_INVALID;
}

size_t safetensors_dtype_size(SafetensorsDtype t) {
        return t >= 0 && t < _SAFETENSORS_DTYPE_MAX ? dtype_sizes[t] : 0;
}

static int st_errorf(char *err, size_t errsz, const char *fmt, ...) _printf_(3, 4);
static int st_errorf(char *err, size_t errsz, const char *fmt, ...) {
        va_list ap;
        int n;

        if (err && errsz) {
                n = snprintf(err, errsz, "safetensors: ");
                va_start(ap, fmt);
                if (n >= 0 && (size_t) n < errsz)
                        (void) vsnprintf(err + n, errsz - (size_t) n, fmt, ap);
                va_end(ap);
        }
        return -EBADMSG;
}

/* Prints at most 64 bytes of a name, so that an error stays one readable line. */
#define NAME_FMT "\"%.64s%s\""
#define NAME_ARG(s) (s), (strlen(s) > 64 ? "..." : "")

Safetensors *safetensors_close(Safetensors *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_tensors; i++)
                free((char *) s->tensors[i].name);
        free(s->tensors);
        for (size_t i = 0; i < s->n_meta; i++) {
                free(s->meta_keys[i]);
                free(s->meta_values[i]);
        }
        free(s->meta_keys);
        free(s->meta_values);
        if (s->map)
                (void) munmap(s->map, s->map_size);
        free(s);
        return NULL;
}

/* Offset of the first byte that is not part of well-formed UTF-8 (no overlongs, surrogates or code
 * points past U+10FFFF), or len when all of it is. */
static size_t utf8_invalid_at(const uint8_t *p, size_t len) {
        size_t i = 0;

        while (i < len) {
                uint8_t c = p[i];
                size_t n;
                uint32_t cp, min;

                if (c < 0x80) {
                        i++;
                        continue;
                }
                if ((c & 0xE0) == 0xC0)
                        n = 1, cp = c & 0x1F, min = 0x80;
                else if ((c & 0xF0) == 0xE0)
                        n = 2, cp = c & 0x0F, min = 0x800;
                else if ((c & 0xF8) == 0xF0)
                        n = 3, cp = c & 0x07, min = 0x10000;
                else
                        return i;
                if (n > len - i - 1)
                        return i;
                for (size_t k = 1; k <= n; k++) {
                        if ((p[i + k] & 0xC0) != 0x80)
                                return i;
                        cp = cp << 6 | (p[i + k] & 0x3F);
                }
                if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                        return i;
                i += n + 1;
        }
        return len;
}

/* A JSON number that is a whole number in [0, 2^53] (beyond that doubles skip integers). */
static bool json_uint(const cJSON *v, uint64_t *ret) {
        double d;

        if (!cJSON_IsNumber(v))
                return false;
        d = v->valuedouble;
        if (!(d >= 0) || d > 9007199254740992.0 || d != floor(d))
                return false;
        *ret = (uint64_t) d;
        return true;
}

static int parse_metadata(Safetensors *s, const cJSON *m, char *err, size_t errsz) {
        size_t n = (size_t) cJSON_GetArraySize(m);

        if (!cJSON_IsObject(m))
                return st_errorf(err, errsz, "__metadata__ is not an object");
        if (s->meta_keys)
                return st_errorf(err, errsz, "__metadata__ appears twice");
        s->meta_keys = calloc(n ? n : 1, sizeof(char *));
        s->meta_values = calloc(n ? n : 1, sizeof(char *));
        if (!s->meta_keys || !s->meta_values)
                return -ENOMEM;
        for (const cJSON *e = m->child; e; e = e->next) {
                if (!cJSON_IsString(e))
                        return st_errorf(err, errsz, "__metadata__." NAME_FMT " is not a string", NAME_ARG(e->string));
                s->meta_keys[s->n_meta] = strdup(e->string);
                s->meta_values[s->n_meta] = strdup(e->valuestring);
                s->n_meta++;
                if (!s->meta_keys[s->n_meta - 1] || !s->meta_values[s->n_meta - 1])
                        return -ENOMEM;
        }
        return 0;
}

/* Fills t (name already set) from its header entry e; data_size is the size of the data section. */
static int parse_tensor(SafetensorsTensor *t, const cJSON *e, uint64_t data_size, char *err, size_t errsz) {
        const cJSON *dtype = NULL, *shape = NULL, *offsets = NULL;
        uint64_t begin, end, n = 1, bytes;
        int k;

        if (!cJSON_IsObject(e))
                return st_errorf(err, errsz, "tensor " NAME_FMT ": expected an object", NAME_ARG(t->name));
        for (const cJSON *f = e->child; f; f = f->next) {
                const cJSON **slot = streq(f->string, "dtype")          ? &dtype
                                     : streq(f->string, "shape")        ? &shape
                                     : streq(f->string, "data_offsets") ? &offsets
                                                                        : NULL;
                if (!slot)
                        return st_errorf(err, errsz, "tensor " NAME_FMT ": unknown field " NAME_FMT, NAME_ARG(t->name),
                                         NAME_ARG(f->string));
                if (*slot)
                        return st_errorf(err, errsz, "tensor " NAME_FMT ": field \"%s\" appears twice",
                                         NAME_ARG(t->name), f->string);
                *slot = f;
        }
        if (!dtype || !shape || !offsets)
                return st_errorf(err, errsz, "tensor " NAME_FMT ": missing field \"%s\"", NAME_ARG(t->name),
                                 !dtype   ? "dtype"
                                 : !shape ? "shape"
                                          : "data_offsets");
        if (!cJSON_IsString(dtype))
                return st_errorf(err, errsz, "tensor " NAME_FMT ": dtype is not a string", NAME_ARG(t->name));
        t->dtype = safetensors_dtype_from_name(dtype->valuestring);
        if (t->dtype < 0)
                return st_errorf(err, errsz, "tensor " NAME_FMT ": unknown dtype \"%.16s\"", NAME_ARG(t->name),
                                 dtype->valuestring);
        if (!cJSON_IsArray(shape))
                return st_errorf(err, errsz, "tensor " NAME_FMT ": shape is not an array", NAME_ARG(t->name));
        k = cJSON_GetArraySize(shape);
        if (k > SAFETENSORS_MAX_DIMS)
                return st_errorf(err, errsz, "tensor " NAME_FMT ": %d dimensions, at most %d are supported",
                                 NAME_ARG(t->name), k, SAFETENSORS_MAX_DIMS);
        t->n_dims = 0;
        for (const cJSON *d = shape->child; d; d = d->next) {
                uint64_t v;
                if (!json_uint(d, &v))
                        return st_errorf(err, errsz,
                                         "tensor " NAME_FMT ": shape holds something other than a whole number",
                                         NAME_ARG(t->name));
                if (__builtin_mul_overflow(n, v, &n))
                        return st_errorf(err, errsz, "tensor " NAME_FMT ": too many elements", NAME_ARG(t->name));
                t->shape[t->n_dims++] = v;
        }
        for (uint32_t d = t->n_dims; d < SAFETENSORS_MAX_DIMS; d++)
                t->shape[d] = 1;
        t->n_elements = n;
        if (__builtin_mul_overflow(n, (uint64_t) safetensors_dtype_size(t->dtype), &bytes) || bytes > SIZE_MAX)
                return st_errorf(err, errsz, "tensor " NAME_FMT ": too many elements", NAME_ARG(t->name));
        if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 || !json_uint(offsets->child, &begin) ||
            !json_uint(offsets->child->next, &end))
                return st_errorf(err, errsz, "tensor " NAME_FMT ": data_offsets must be two whole numbers",
                                 NAME_ARG(t->name));
        if (begin > end || end > data_size)
                return st_errorf(err, errsz,
                                 "tensor " NAME_FMT
                                 ": data_offsets [%llu, %llu] are not a range inside the %llu data bytes",
                                 NAME_ARG(t->name), (unsigned long long) begin, (unsigned long long) end,
                                 (unsigned long long) data_size);
        if (end - begin != bytes)
                return st_errorf(err, errsz,
                                 "tensor " NAME_FMT
                                 ": data_offsets [%llu, %llu] hold %llu bytes, but %s of this shape needs %llu",
                                 NAME_ARG(t->name), (unsigned long long) begin, (unsigned long long) end,
                                 (unsigned long long) (end - begin), dtype_names[t->dtype],
                                 (unsigned long long) bytes);
        t->offset = begin;
        t->size = (size_t) bytes;
        return 0;
}

static int cmp_name(const void *a, const void *b) {
        return strcmp(((const SafetensorsTensor *) a)->name, ((const SafetensorsTensor *) b)->name);
}

static int cmp_range(const void *a, const void *b) {
        const SafetensorsTensor *x = *(const SafetensorsTensor *const *) a, *y = *(const SafetensorsTensor *const *) b;

        if (x->offset != y->offset)
                return x->offset < y->offset ? -1 : 1;
        return x->size < y->size ? -1 : x->size > y->size;
}

/* The tensors' byte ranges must cover [0, data_size) exactly, one after the other. */
static int check_tiling(Safetensors *s, uint64_t data_size, char *err, size_t errsz) {
        _cleanup_free_ const SafetensorsTensor **by_range = calloc(s->n_tensors ? s->n_tensors : 1, sizeof(*by_range));
        uint64_t pos = 0;

        if (!by_range)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_tensors; i++)
                by_range[i] = &s->tensors[i];
        qsort(by_range, s->n_tensors, sizeof(*by_range), cmp_range);
        for (size_t i = 0; i < s->n_tensors; i++) {
                const SafetensorsTensor *t = by_range[i];
                if (t->offset != pos)
                        return st_errorf(err, errsz, "tensor " NAME_FMT ": data starts at %llu, where %s",
                                         NAME_ARG(t->name), (unsigned long long) t->offset,
                                         t->offset > pos ? "a gap before it begins"
                                                         : "it overlaps the tensor before it");
                pos += t->size;
        }
        if (pos != data_size)
                return st_errorf(err, errsz, "%llu bytes of data after the last tensor belong to none",
                                 (unsigned long long) (data_size - pos));
        return 0;
}

static int parse_header(Safetensors *s, char *err, size_t errsz) {
        _cleanup_json_ cJSON *root = NULL;
        const char *text = (const char *) s->base + 8;
        uint64_t hlen, data_size;
        char jerr[160];
        size_t bad, n;
        int r;

        if (s->size < 8)
                return st_errorf(err, errsz, "file of %zu bytes is shorter than its 8-byte header length", s->size);
        memcpy(&hlen, s->base, 8); /* little-endian, as the hosts we run on */
        if (hlen > SAFETENSORS_HEADER_MAX)
                return st_errorf(err, errsz, "header length %llu is over the limit of %llu bytes",
                                 (unsigned long long) hlen, (unsigned long long) SAFETENSORS_HEADER_MAX);
        if (hlen > s->size - 8)
                return st_errorf(err, errsz,
                                 "header length %llu runs past the end of the file (%zu bytes): truncated?",
                                 (unsigned long long) hlen, s->size);
        data_size = s->size - 8 - hlen;
        if (hlen == 0 || text[0] != '{')
                return st_errorf(err, errsz, "the header does not start with '{'");
        bad = utf8_invalid_at((const uint8_t *) text, hlen);
        if (bad < hlen)
                return st_errorf(err, errsz, "the header is not UTF-8 (byte %zu)", bad);
        r = json_parse(text, hlen, &root, jerr, sizeof jerr);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return st_errorf(err, errsz, "header: %s", jerr);
        n = (size_t) cJSON_GetArraySize(root);
        if (n > SAFETENSORS_MAX_TENSORS)
                return st_errorf(err, errsz, "%zu header entries, over the limit of %d", n, SAFETENSORS_MAX_TENSORS);
        s->tensors = calloc(n ? n : 1, sizeof *s->tensors);
        if (!s->tensors)
                return -ENOMEM;
        for (const cJSON *e = root->child; e; e = e->next) {
                SafetensorsTensor *t;
                if (streq(e->string, "__metadata__")) {
                        r = parse_metadata(s, e, err, errsz);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (isempty(e->string) || strlen(e->string) > SAFETENSORS_NAME_MAX)
                        return st_errorf(err, errsz, "a tensor name is empty or longer than %d bytes",
                                         SAFETENSORS_NAME_MAX);
                t = &s->tensors[s->n_tensors];
                t->name = strdup(e->string);
                if (!t->name)
                        return -ENOMEM;
                s->n_tensors++;
                r = parse_tensor(t, e, data_size, err, errsz);
                if (r < 0)
                        return r;
                t->data = s->base + 8 + hlen + t->offset;
        }
        qsort(s->tensors, s->n_tensors, sizeof *s->tensors, cmp_name);
        for (size_t i = 1; i < s->n_tensors; i++)
                if (streq(s->tensors[i - 1].name, s->tensors[i].name))
                        return st_errorf(err, errsz, "tensor " NAME_FMT " appears twice",
                                         NAME_ARG(s->tensors[i].name));
        return check_tiling(s, data_size, err, errsz);
}

int safetensors_open_buffer(const void *data, size_t size, Safetensors **ret, char *err, size_t errsz) {
        _cleanup_safetensors_close_ Safetensors *s = calloc(1, sizeof *s);
        int r;

        if (!s)
                return -ENOMEM;
        s->base = data;
        s->size = size;
        r = parse_header(s, err, errsz);
        if (r == -ENOMEM)
                st_errorf(err, errsz, "out of memory");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

int safetensors_open(const char *path, Safetensors **ret, char *err, size_t errsz) {
        static const uint8_t empty[1];
        _cleanup_close_ int fd = -EBADF;
        Safetensors *s = NULL;
        void *map = NULL;
        struct stat st;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
                r = negative_errno();
                st_errorf(err, errsz, "%s", strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                st_errorf(err, errsz, "not a regular file");
                return -EINVAL;
        }
        if ((uint64_t) st.st_size > SIZE_MAX) {
                st_errorf(err, errsz, "file too large");
                return -EFBIG;
        }
        if (st.st_size > 0) {
                map = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
                if (map == MAP_FAILED) {
                        r = negative_errno();
                        st_errorf(err, errsz, "mmap: %s", strerror(-r));
                        return r;
                }
        }
        r = safetensors_open_buffer(map ? map : empty, (size_t) st.st_size, &s, err, errsz);
        if (r < 0) {
                if (map)
                        (void) munmap(map, (size_t) st.st_size);
                return r;
        }
        s->map = map;
        s->map_size = (size_t) st.st_size;
        *ret = s;
        return 0;
}

size_t safetensors_n_tensors(const Safetensors *s) {
        return s->n_tensors;
}

const SafetensorsTensor *safetensors_tensor(const Safetensors *s, size_t i) {
        return i < s->n_tensors ? &s->tensors[i] : NULL;
}

const SafetensorsTensor *safetensors_find(const Safetensors *s, const char *name) {
        SafetensorsTensor key = { .name = name };

        return s->n_tensors ? bsearch(&key, s->tensors, s->n_tensors, sizeof key, cmp_name) : NULL;
}

size_t safetensors_n_metadata(const Safetensors *s) {
        return s->n_meta;
}

const char *safetensors_metadata_key(const Safetensors *s, size_t i) {
        return i < s->n_meta ? s->meta_keys[i] : NULL;
}

const char *safetensors_metadata_value(const Safetensors *s, size_t i) {
        return i < s->n_meta ? s->meta_values[i] : NULL;
}

int safetensors_read_f32(const SafetensorsTensor *t, uint64_t first, size_t n, float *out) {
        const uint8_t *p;

        if (first > t->n_elements || n > t->n_elements - first)
                return -ERANGE;
        switch (t->dtype) {
        case SAFETENSORS_F32:
                memcpy(out, (const uint8_t *) t->data + first * 4, n * 4);
                return 0;
        case SAFETENSORS_F16:
        case SAFETENSORS_BF16:
                p = (const uint8_t *) t->data + first * 2;
                for (size_t i = 0; i < n; i++) {
                        uint16_t h;
                        memcpy(&h, p + 2 * i, 2);
                        out[i] = t->dtype == SAFETENSORS_F16 ? fp16_to_fp32(h) : bf16_to_fp32(h);
                }
                return 0;
        default:
                return -EOPNOTSUPP;
        }
}
