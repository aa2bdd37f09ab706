/* unicode.h: code point category flags (generated tables in unicode-data.c) and strict UTF-8 decoding/encoding. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UNICODE_MAX 0x10FFFFu
#define UNICODE_REPLACEMENT 0xFFFDu
#define UNICODE_REPLACEMENT_UTF8 "\xef\xbf\xbd"

/* Category flags of a code point: one General Category group, plus UNICODE_WHITESPACE for the White_Space
 * property. Keep the values in sync with scripts/gen-unicode-data.py. */
enum {
        UNICODE_UNDEFINED = 0x001,   /* Cn: unassigned */
        UNICODE_NUMBER = 0x002,      /* \p{N} */
        UNICODE_LETTER = 0x004,      /* \p{L} */
        UNICODE_SEPARATOR = 0x008,   /* \p{Z} */
        UNICODE_MARK = 0x010,        /* \p{M} */
        UNICODE_PUNCTUATION = 0x020, /* \p{P} */
        UNICODE_SYMBOL = 0x040,      /* \p{S} */
        UNICODE_CONTROL = 0x080,     /* \p{C} other than Cn */
        UNICODE_WHITESPACE = 0x100,  /* White_Space (what \s matches) */
        UNICODE_FLAG_BITS = 9,
};

/* The Unicode version the tables were generated from ("14.0.0"). */
extern const char unicode_data_version[];
/* Generated tables, for unicode.c only. */
extern const uint16_t unicode_latin1_flags[256];
extern const uint32_t unicode_ranges[];
extern const size_t unicode_n_ranges;

/* Flags of code point cp (UNICODE_UNDEFINED above UNICODE_MAX). Never 0. */
uint16_t unicode_flags(uint32_t cp);

typedef enum Utf8Status {
        UTF8_VALID,     /* a well-formed sequence */
        UTF8_INVALID,   /* ill-formed: cannot become valid whatever follows */
        UTF8_TRUNCATED, /* the buffer ends inside what may still become a well-formed sequence */
} Utf8Status;

/* Decodes the UTF-8 sequence at the start of s (len >= 1 bytes), strictly: no overlong forms, surrogates or
 * code points past U+10FFFF. For UTF8_VALID writes the code point and its length (1..4); for UTF8_INVALID the
 * length of the maximal ill-formed subpart (1..3, what one U+FFFD replaces); for UTF8_TRUNCATED len. */
Utf8Status unicode_utf8_decode(const char *s, size_t len, uint32_t *ret_cp, size_t *ret_len);
/* Writes the UTF-8 form of cp to buf and returns its length (1..4); 0 for a surrogate or cp > UNICODE_MAX. */
size_t unicode_utf8_encode(uint32_t cp, char buf[static 4]);
/* Whether all len bytes at s are well-formed UTF-8. */
bool unicode_utf8_valid(const char *s, size_t len);
