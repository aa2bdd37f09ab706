/* strbuf.h: a growable, always NUL-terminated byte string with a size limit. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

typedef struct StrBuf {
        char *data;   /* NUL-terminated; NULL until the first append */
        size_t len;   /* bytes in use, not counting the NUL */
        size_t cap;   /* bytes allocated */
        size_t limit; /* largest len allowed; 0 means STRBUF_DEFAULT_LIMIT */
} StrBuf;

#define STRBUF_DEFAULT_LIMIT ((size_t) 64 << 20)
#define STRBUF_INIT { NULL, 0, 0, 0 }

/* Each append returns 0, -ENOMEM when memory runs out, or -E2BIG when len would pass the limit.
 * On error the buffer is left exactly as it was. */
int strbuf_append(StrBuf *b, const char *s, size_t n);
int strbuf_puts(StrBuf *b, const char *s);
int strbuf_putc(StrBuf *b, char c);
int strbuf_printf(StrBuf *b, const char *fmt, ...) _printf_(2, 3);
int strbuf_vprintf(StrBuf *b, const char *fmt, va_list ap) _printf_(2, 0);
/* Appends s (n bytes, UTF-8 expected) as a quoted JSON string; control characters and invalid
 * UTF-8 bytes are escaped (the latter as \ufffd), so the result is always valid JSON. */
int strbuf_put_json_string(StrBuf *b, const char *s, size_t n);

/* Returns the contents ("" when empty), never NULL. Owned by the buffer. */
const char *strbuf_str(const StrBuf *b);
/* Truncates to the first len bytes (len <= b->len). */
void strbuf_truncate(StrBuf *b, size_t len);
/* Hands the NUL-terminated contents to the caller (free() it) and resets the buffer. Returns NULL
 * only on -ENOMEM for an empty buffer. */
char *strbuf_take(StrBuf *b);
void strbuf_done(StrBuf *b);
