/* normalize.h: undoing trivial obfuscation before the detectors run. Full-width ASCII forms
 * (U+FF01..U+FF5E) become ASCII, the ideographic space U+3000 and other Unicode spaces become ' ',
 * Unicode dashes and minus signs become '-', zero-width and other invisible characters (U+200B..U+200F,
 * U+202A..U+202E, U+2060..U+2064, U+2066..U+2069, U+FEFF, U+00AD, U+180E, variation selectors) are
 * dropped, and "%40" (a percent-encoded '@', as in ?email=jane%40example.org) becomes '@'. Everything
 * else is copied byte for byte (invalid UTF-8 too: it is not an error).
 * Separators inside digit runs are left to the detectors, which know where a separator may sit. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct NormText {
        char *buf;       /* the normalised text, NUL-terminated */
        size_t len, cap;
        uint32_t *map;   /* when want_map: map[i] = offset in the input of output byte i; map[len] = input length */
        size_t map_cap;
        bool want_map;   /* set by the caller before the first use (the map costs time; explain and eval use it) */
} NormText;

/* Replaces t's contents with the normalised form of in[0..len). 0, -ENOMEM, or -E2BIG when len
 * does not fit the offset map (> UINT32_MAX). The output is never longer than the input. */
int normalize_text(NormText *t, const char *in, size_t len);
void normtext_done(NormText *t);
/* With the map: the input offset just past the source character of output byte end - 1 (0 < end
 * <= len), in being the input last normalised. [map[start], normtext_source_end(end)) is the input
 * range of output range [start, end), without invisible characters dropped after it. */
size_t normtext_source_end(const NormText *t, const char *in, size_t end);
