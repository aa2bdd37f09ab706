/* fuzz-encode.c: strict hex/base64 decoders on arbitrary bytes; decode->encode must give the input back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "macro.h"

static void check_base64(const uint8_t *data, size_t size, bool url) {
        _cleanup_free_ void *dec = NULL;
        _cleanup_free_ char *enc = NULL;
        size_t n;

        if (decode_base64((const char *) data, size, url, &dec, &n) < 0)
                return;
        if (encode_base64(dec, n, url, &enc) < 0)
                abort();
        /* strict decoding means one encoding per value: the URL form may drop padding */
        if (strlen(enc) > size || memcmp(enc, data, strlen(enc)) != 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ void *dec = NULL;
        _cleanup_free_ char *enc = NULL;
        size_t n;

        check_base64(data, size, false);
        check_base64(data, size, true);
        if (decode_hex((const char *) data, size, &dec, &n) == 0) {
                if (encode_hex(dec, n, &enc) < 0 || strlen(enc) != size || strncasecmp(enc, (const char *) data, size) != 0)
                        abort();
        }
        return 0;
}
