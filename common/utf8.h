/* utf8.h: one strict UTF-8 decoder for the whole tree (the engine's tokenizer has its own, with
 * the finer error kinds it reports). Header-only: it sits on the classifier's hot path. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The code point at s[0..n) (n >= 1) and the length of its sequence, or 0 when the bytes are not
 * well-formed UTF-8 (overlong forms, surrogates, values over U+10FFFF, a truncated or broken
 * sequence). */
static inline size_t utf8_decode(const uint8_t *s, size_t n, uint32_t *ret) {
        uint32_t cp, min;
        size_t len;

        if (s[0] < 0x80) {
                *ret = s[0];
                return 1;
        }
        if (s[0] >= 0xC2 && s[0] <= 0xDF)
                len = 2, cp = s[0] & 0x1F, min = 0x80;
        else if (s[0] >= 0xE0 && s[0] <= 0xEF)
                len = 3, cp = s[0] & 0x0F, min = 0x800;
        else if (s[0] >= 0xF0 && s[0] <= 0xF4)
                len = 4, cp = s[0] & 0x07, min = 0x10000;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t k = 1; k < len; k++) {
                if ((s[k] & 0xC0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return 0;
        *ret = cp;
        return len;
}
