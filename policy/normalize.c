/* normalize.c: see normalize.h. The input is copied in runs (memcpy); only the lead bytes of the
 * few code points that change (C2, E1, E2, E3, EF, F3) are decoded, '%' is looked at for "%40",
 * and ASCII without '%' is skipped eight bytes at a time. The output is never longer than the
 * input, so the buffers are sized once. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "normalize.h"
#include "utf8.h"

#define HIGH_BITS UINT64_C(0x8080808080808080)
#define LOW_BITS UINT64_C(0x0101010101010101)
#define PERCENTS (LOW_BITS * '%')

enum {
        NORM_KEEP = -1,
        NORM_DROP = -2,
};

/* Lead bytes of the code points normalize.h changes; every other byte is copied as it is. */
static const uint8_t special_lead[256] = {
        [0xC2] = 1, /* U+00A0, U+00AD */
        [0xE1] = 1, /* U+1680, U+180E */
        [0xE2] = 1, /* U+2000..U+206F, U+2212 */
        [0xE3] = 1, /* U+3000 */
        [0xEF] = 1, /* U+FE00..U+FE0F, U+FE58, U+FE63, U+FEFF, U+FF01..U+FF5E */
        [0xF3] = 1, /* U+E0001..U+E007F tags, U+E0100..U+E01EF variation selectors */
        ['%'] = 1,  /* %40: a percent-encoded '@' */
};

/* Does the 8-byte word w hold a byte >= 0x80 or a '%'? (A zero byte of w ^ "%%%%%%%%" is a '%'.) */
static bool word_special(uint64_t w) {
        uint64_t p = w ^ PERCENTS;

        return (w & HIGH_BITS) || ((p - LOW_BITS) & ~p & HIGH_BITS);
}

/* What cp becomes: an ASCII byte, NORM_DROP or NORM_KEEP. */
static int map_codepoint(uint32_t cp) {
        if (cp >= 0xFF01 && cp <= 0xFF5E)
                return (int) (cp - 0xFEE0);
        if (cp == 0x00AD || cp == 0x180E || (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
            (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF ||
            (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xE0001 && cp <= 0xE007F) || (cp >= 0xE0100 && cp <= 0xE01EF))
                return NORM_DROP;
        if (cp == 0x00A0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
            cp == 0x202F || cp == 0x205F || cp == 0x3000)
                return ' ';
        if ((cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212 || cp == 0xFE58 || cp == 0xFE63)
                return '-';
        return NORM_KEEP;
}

static int normtext_reserve(NormText *t, size_t len) {
        if (t->cap < len + 1) {
                char *b = realloc(t->buf, len + 1);

                if (!b)
                        return -ENOMEM;
                t->buf = b;
                t->cap = len + 1;
        }
        if (t->want_map && t->map_cap < len + 1) {
                uint32_t *m = reallocarray(t->map, len + 1, sizeof(uint32_t));

                if (!m)
                        return -ENOMEM;
                t->map = m;
                t->map_cap = len + 1;
        }
        return 0;
}

/* Appends in[from..to) to t (map: each byte's own offset). */
static void put_run(NormText *t, const char *in, size_t from, size_t to) {
        size_t n = to - from;

        if (n == 0)
                return;
        memcpy(t->buf + t->len, in + from, n);
        if (t->want_map)
                for (size_t k = 0; k < n; k++)
                        t->map[t->len + k] = (uint32_t) (from + k);
        t->len += n;
}

/* Appends c, the replacement of the character at input offset from. */
static void put_byte(NormText *t, char c, size_t from) {
        t->buf[t->len] = c;
        if (t->want_map)
                t->map[t->len] = (uint32_t) from;
        t->len++;
}

int normalize_text(NormText *t, const char *in, size_t len) {
        const uint8_t *s = (const uint8_t *) in;
        size_t i = 0, run = 0;
        int r;

        if (t->want_map && len > UINT32_MAX)
                return -E2BIG;
        r = normtext_reserve(t, len);
        if (r < 0)
                return r;
        t->len = 0;

        while (i < len) {
                uint32_t cp;
                size_t n;
                int m;

                for (uint64_t w; i + 8 <= len; i += 8) {
                        memcpy(&w, s + i, 8);
                        if (word_special(w))
                                break;
                }
                /* other scripts (Chinese: E4..E9 leads) four bytes at a time */
                while (i + 4 <= len && !(special_lead[s[i]] | special_lead[s[i + 1]] | special_lead[s[i + 2]] |
                                         special_lead[s[i + 3]]))
                        i += 4;
                if (i >= len)
                        break;
                if (s[i] == '%') {
                        if (len - i < 3 || s[i + 1] != '4' || s[i + 2] != '0') {
                                i++;
                                continue;
                        }
                        put_run(t, in, run, i);
                        put_byte(t, '@', i);
                        i += 3;
                        run = i;
                        continue;
                }
                if (!special_lead[s[i]] || (s[i] == 0xE3 && (i + 2 >= len || s[i + 1] != 0x80 || s[i + 2] != 0x80))) {
                        i++; /* not special, or U+3xxx other than U+3000 (、。「」, kana) */
                        continue;
                }
                n = utf8_decode(s + i, len - i, &cp);
                if (n == 0) {
                        i++; /* invalid UTF-8: copied as it is */
                        continue;
                }
                m = map_codepoint(cp);
                if (m == NORM_KEEP) {
                        i += n;
                        continue;
                }
                put_run(t, in, run, i);
                if (m != NORM_DROP)
                        put_byte(t, (char) m, i);
                i += n;
                run = i;
        }
        put_run(t, in, run, len);
        t->buf[t->len] = 0;
        if (t->want_map)
                t->map[t->len] = (uint32_t) len;
        return 0;
}

size_t normtext_source_end(const NormText *t, const char *in, size_t end) {
        size_t i = t->map[end - 1];
        uint8_t c = (uint8_t) in[i];

        if ((uint8_t) t->buf[end - 1] == c)
                return i + 1; /* copied */
        if (c == '%')
                return i + 3; /* %40 */
        return i + (c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2); /* a replaced character, validated whole */
}

void normtext_done(NormText *t) {
        t->buf = mfree(t->buf);
        t->map = mfree(t->map);
        t->len = t->cap = t->map_cap = 0;
}
