/* fuzz-normalize.c: the normaliser on arbitrary bytes: never longer than the input, NUL-terminated,
 * the offset map strictly increasing and inside the input, every output byte either copied from
 * its source, an ASCII replacement of a multi-byte character or the '@' of "%40", and the same
 * text with or without the map. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        NormText with = { .want_map = true }, without = {};
        const char *in = (const char *) data;

        if (normalize_text(&with, in, size) < 0 || normalize_text(&without, in, size) < 0)
                goto done;
        if (with.len > size || with.buf[with.len] != 0 || with.map[with.len] != size)
                abort();
        if (without.len != with.len || memcmp(without.buf, with.buf, with.len) != 0)
                abort();
        for (size_t i = 0; i < with.len; i++) {
                size_t src = with.map[i];

                if (src >= size || (i > 0 && src <= with.map[i - 1]))
                        abort();
                if (data[src] == '%' && with.buf[i] == '@') {
                        if (size - src < 3 || data[src + 1] != '4' || data[src + 2] != '0')
                                abort(); /* only "%40" becomes '@' */
                } else if ((uint8_t) with.buf[i] != data[src] && ((uint8_t) with.buf[i] >= 0x80 || data[src] < 0xC2))
                        abort();
                if (normtext_source_end(&with, in, i + 1) > with.map[i + 1])
                        abort();
        }
done:
        normtext_done(&with);
        normtext_done(&without);
        return 0;
}
