/* fuzz-safetensors.c: safetensors_open_buffer on arbitrary bytes, then every tensor, value and metadata entry of what
 * it accepts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"

static volatile float sink; /* values read go here, so that the reads are not optimised away */

static void walk_tensor(const Safetensors *s, size_t i, const uint8_t *data, size_t size) {
        const SafetensorsTensor *t = safetensors_tensor(s, i);
        uint64_t n = 1;
        float buf[64];

        if (!t || safetensors_find(s, t->name) != t || !safetensors_dtype_name(t->dtype) ||
            t->n_dims > SAFETENSORS_MAX_DIMS)
                abort();
        for (uint32_t d = 0; d < t->n_dims; d++)
                n *= t->shape[d];
        if (n != t->n_elements || t->size != n * safetensors_dtype_size(t->dtype))
                abort();
        /* the data lies inside the input, after the header */
        if ((const uint8_t *) t->data < data + 8 || (const uint8_t *) t->data + t->size > data + size)
                abort();
        for (uint64_t k = 0; k < t->n_elements; k += 64) {
                size_t m = (size_t) (t->n_elements - k < 64 ? t->n_elements - k : 64);
                int r = safetensors_read_f32(t, k, m, buf);
                if (r == -EOPNOTSUPP && t->dtype != SAFETENSORS_F32 && t->dtype != SAFETENSORS_F16 &&
                    t->dtype != SAFETENSORS_BF16)
                        break;
                if (r < 0)
                        abort();
                sink += buf[0] + buf[m - 1];
        }
        if (safetensors_read_f32(t, t->n_elements, 1, buf) != -ERANGE)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_safetensors_close_ Safetensors *s = NULL;
        char err[512];
        int r;

        err[0] = 0;
        r = safetensors_open_buffer(data, size, &s, err, sizeof err);
        if (r < 0) {
                if (strncmp(err, "safetensors: ", 13) != 0) /* every failure explains itself */
                        abort();
                return 0;
        }
        for (size_t i = 0; i < safetensors_n_tensors(s); i++)
                walk_tensor(s, i, data, size);
        for (size_t i = 0; i < safetensors_n_metadata(s); i++)
                if (!safetensors_metadata_key(s, i) || !safetensors_metadata_value(s, i))
                        abort();
        if (safetensors_tensor(s, safetensors_n_tensors(s)) || safetensors_metadata_key(s, safetensors_n_metadata(s)))
                abort();
        return 0;
}
