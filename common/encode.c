/* encode.c: hex and base64 codecs with strict decoding (bad input is an error, never guessed). */
#include "encode.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "macro.h"

static const char hex_digits[] = "0123456789abcdef";
static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int encode_hex(const void *data, size_t n, char **ret) {
        const uint8_t *in = data;
        size_t size;
        char *out;

        if (!size_mul(n, 2, &size) || !size_add(size, 1, &size))
                return -ENOMEM;
        out = malloc(size);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                out[2 * i] = hex_digits[in[i] >> 4];
                out[2 * i + 1] = hex_digits[in[i] & 15];
        }
        out[2 * n] = '\0';
        *ret = out;
        return 0;
}

static int hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

int decode_hex(const char *s, size_t len, void **ret, size_t *ret_size) {
        _cleanup_free_ uint8_t *out = NULL;

        if (len % 2)
                return -EINVAL;
        out = malloc(len / 2 + 1);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i += 2) {
                int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                out[i / 2] = (uint8_t) (hi << 4 | lo);
        }
        out[len / 2] = 0;
        *ret_size = len / 2;
        *ret = TAKE_PTR(out);
        return 0;
}

int encode_base64(const void *data, size_t n, bool url, char **ret) {
        const char *alphabet = url ? b64_url : b64_std;
        const uint8_t *in = data;
        size_t size = (n / 3 + 1) * 4 + 1, k = 0;
        char *out;

        if (n > SIZE_MAX / 2)
                return -ENOMEM;
        out = malloc(size);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i += 3) {
                uint32_t v = (uint32_t) in[i] << 16;
                size_t left = n - i;

                if (left > 1)
                        v |= (uint32_t) in[i + 1] << 8;
                if (left > 2)
                        v |= in[i + 2];
                out[k++] = alphabet[(v >> 18) & 63];
                out[k++] = alphabet[(v >> 12) & 63];
                if (left > 1)
                        out[k++] = alphabet[(v >> 6) & 63];
                else if (!url)
                        out[k++] = '=';
                if (left > 2)
                        out[k++] = alphabet[v & 63];
                else if (!url)
                        out[k++] = '=';
        }
        out[k] = '\0';
        *ret = out;
        return 0;
}

static int b64_value(char c, bool url) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == (url ? '-' : '+'))
                return 62;
        if (c == (url ? '_' : '/'))
                return 63;
        return -EINVAL;
}

/* Strips padding: standard base64 must be padded to a multiple of 4, URL base64 may be. */
static int b64_unpadded_len(const char *s, size_t len, bool url, size_t *ret) {
        size_t pad = 0;

        while (pad < 2 && pad < len && s[len - 1 - pad] == '=')
                pad++;
        if ((!url || pad > 0) && len % 4 != 0)
                return -EINVAL;
        len -= pad;
        if (len % 4 == 1)
                return -EINVAL;
        *ret = len;
        return 0;
}

int decode_base64(const char *s, size_t len, bool url, void **ret, size_t *ret_size) {
        _cleanup_free_ uint8_t *out = NULL;
        uint32_t acc = 0;
        size_t n, k = 0;
        int bits = 0, r;

        r = b64_unpadded_len(s, len, url, &n);
        if (r < 0)
                return r;
        out = malloc(n / 4 * 3 + 3);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int v = b64_value(s[i], url);
                if (v < 0)
                        return -EINVAL;
                acc = (acc << 6) | (uint32_t) v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[k++] = (uint8_t) (acc >> bits);
                        acc &= (1u << bits) - 1;
                }
        }
        if (acc != 0) /* non-zero leftover bits: not the canonical encoding of any value */
                return -EINVAL;
        out[k] = 0;
        *ret_size = k;
        *ret = TAKE_PTR(out);
        return 0;
}
