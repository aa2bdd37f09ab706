/* unicode.c: category flag lookup over the generated range table, and strict UTF-8 decoding/encoding. */
#include "unicode.h"

uint16_t unicode_flags(uint32_t cp) {
        size_t lo = 0, hi = unicode_n_ranges;
        uint32_t key;

        if (cp < 256)
                return unicode_latin1_flags[cp];
        if (cp > UNICODE_MAX)
                return UNICODE_UNDEFINED;

        /* the last entry whose first code point is <= cp: entries compare as (first << bits) | flags */
        key = (cp << UNICODE_FLAG_BITS) | ((1u << UNICODE_FLAG_BITS) - 1);
        while (hi - lo > 1) {
                size_t mid = lo + (hi - lo) / 2;

                if (unicode_ranges[mid] <= key)
                        lo = mid;
                else
                        hi = mid;
        }
        return unicode_ranges[lo] & ((1u << UNICODE_FLAG_BITS) - 1);
}

/* Bytes in the sequence that lead byte b starts, and the allowed range of the second byte (Unicode Table 3-7);
 * 0 for a byte that starts none. */
static unsigned lead_info(uint8_t b, uint8_t *lo, uint8_t *hi) {
        *lo = 0x80, *hi = 0xBF;
        if (b < 0x80)
                return 1;
        if (b < 0xC2)
                return 0;
        if (b < 0xE0)
                return 2;
        if (b < 0xF0) {
                if (b == 0xE0)
                        *lo = 0xA0;
                else if (b == 0xED)
                        *hi = 0x9F;
                return 3;
        }
        if (b < 0xF5) {
                if (b == 0xF0)
                        *lo = 0x90;
                else if (b == 0xF4)
                        *hi = 0x8F;
                return 4;
        }
        return 0;
}

Utf8Status unicode_utf8_decode(const char *s, size_t len, uint32_t *ret_cp, size_t *ret_len) {
        const uint8_t *p = (const uint8_t *) s;
        uint8_t lo, hi;
        unsigned n = lead_info(p[0], &lo, &hi);
        uint32_t cp;

        if (n == 0) {
                *ret_len = 1;
                return UTF8_INVALID;
        }
        if (n == 1) {
                *ret_cp = p[0];
                *ret_len = 1;
                return UTF8_VALID;
        }
        cp = p[0] & (0xFF >> (n + 1));
        for (unsigned i = 1; i < n; i++) {
                if (i >= len) {
                        *ret_len = len;
                        return UTF8_TRUNCATED;
                }
                if (p[i] < lo || p[i] > hi) {
                        *ret_len = i;
                        return UTF8_INVALID;
                }
                cp = (cp << 6) | (p[i] & 0x3F);
                lo = 0x80, hi = 0xBF;
        }
        *ret_cp = cp;
        *ret_len = n;
        return UTF8_VALID;
}

size_t unicode_utf8_encode(uint32_t cp, char buf[static 4]) {
        if (cp < 0x80) {
                buf[0] = (char) cp;
                return 1;
        }
        if (cp < 0x800) {
                buf[0] = (char) (0xC0 | (cp >> 6));
                buf[1] = (char) (0x80 | (cp & 0x3F));
                return 2;
        }
        if (cp < 0x10000) {
                if (cp >= 0xD800 && cp <= 0xDFFF)
                        return 0;
                buf[0] = (char) (0xE0 | (cp >> 12));
                buf[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
                buf[2] = (char) (0x80 | (cp & 0x3F));
                return 3;
        }
        if (cp <= UNICODE_MAX) {
                buf[0] = (char) (0xF0 | (cp >> 18));
                buf[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
                buf[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
                buf[3] = (char) (0x80 | (cp & 0x3F));
                return 4;
        }
        return 0;
}

bool unicode_utf8_valid(const char *s, size_t len) {
        size_t i = 0;

        while (i < len) {
                uint32_t cp;
                size_t n;

                if ((uint8_t) s[i] < 0x80) {
                        i++;
                        continue;
                }
                if (unicode_utf8_decode(s + i, len - i, &cp, &n) != UTF8_VALID)
                        return false;
                i += n;
        }
        return true;
}
