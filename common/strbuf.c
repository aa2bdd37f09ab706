/* strbuf.c: growable string buffer with a hard size limit. */
#include "strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

static size_t strbuf_limit(const StrBuf *b) {
        return b->limit ? b->limit : STRBUF_DEFAULT_LIMIT;
}

/* Makes room for extra more bytes plus the NUL. */
static int strbuf_reserve(StrBuf *b, size_t extra) {
        size_t need, cap;
        char *p;

        if (!size_add(b->len, extra, &need) || need > strbuf_limit(b))
                return -E2BIG;
        need++; /* NUL */
        if (need <= b->cap)
                return 0;
        cap = MAX(b->cap, (size_t) 64);
        while (cap < need)
                cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        p = realloc(b->data, cap);
        if (!p)
                return -ENOMEM;
        if (!b->data)
                p[0] = '\0';
        b->data = p;
        b->cap = cap;
        return 0;
}

int strbuf_append(StrBuf *b, const char *s, size_t n) {
        int r = strbuf_reserve(b, n);
        if (r < 0)
                return r;
        if (n)
                memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
}

int strbuf_puts(StrBuf *b, const char *s) {
        return strbuf_append(b, s, strlen(s));
}

int strbuf_putc(StrBuf *b, char c) {
        return strbuf_append(b, &c, 1);
}

int strbuf_vprintf(StrBuf *b, const char *fmt, va_list ap) {
        va_list aq;
        int n, r;

        va_copy(aq, ap);
        n = vsnprintf(NULL, 0, fmt, aq);
        va_end(aq);
        if (n < 0)
                return -EINVAL;
        r = strbuf_reserve(b, (size_t) n);
        if (r < 0)
                return r;
        (void) vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
        b->len += (size_t) n;
        return 0;
}

int strbuf_printf(StrBuf *b, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = strbuf_vprintf(b, fmt, ap);
        va_end(ap);
        return r;
}

int strbuf_put_json_string(StrBuf *b, const char *s, size_t n) {
        size_t saved = b->len;
        int r = strbuf_putc(b, '"');

        for (size_t i = 0; r >= 0 && i < n;) {
                unsigned char c = (unsigned char) s[i];
                uint32_t cp;
                size_t len;

                if (c == '"' || c == '\\') {
                        char esc[2] = { '\\', (char) c };
                        r = strbuf_append(b, esc, 2);
                        i++;
                } else if (c < 0x20) {
                        r = strbuf_printf(b, "\\u%04x", c);
                        i++;
                } else if ((len = utf8_decode((const uint8_t *) s + i, n - i, &cp)) > 0) {
                        r = strbuf_append(b, s + i, len);
                        i += len;
                } else {
                        r = strbuf_puts(b, "\\ufffd");
                        i++;
                }
        }
        if (r >= 0)
                r = strbuf_putc(b, '"');
        if (r < 0)
                strbuf_truncate(b, saved);
        return r;
}

const char *strbuf_str(const StrBuf *b) {
        return b->data ? b->data : "";
}

void strbuf_truncate(StrBuf *b, size_t len) {
        if (!b->data || len > b->len)
                return;
        b->len = len;
        b->data[len] = '\0';
}

char *strbuf_take(StrBuf *b) {
        char *p = b->data ? TAKE_PTR(b->data) : strdup("");

        b->len = b->cap = 0;
        return p;
}

void strbuf_done(StrBuf *b) {
        b->data = mfree(b->data);
        b->len = b->cap = 0;
}
