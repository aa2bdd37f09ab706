#!/usr/bin/env python3
"""gen-unicode-data.py: writes engine/unicode-data.c, the code point -> category flag tables of engine/unicode.h.

Usage: scripts/gen-unicode-data.py > engine/unicode-data.c

The data comes from Python's own unicodedata module (no download), so the Unicode version is the one this
Python was built with; it is recorded in the output. Flags follow the General Category groups the pre-tokenizer
regexes use (\\p{L}, \\p{N}, \\p{P}, \\p{S}, \\p{M}, \\p{Z}, \\p{C}, unassigned) plus White_Space.
"""

import sys
import unicodedata

MAX_CODEPOINT = 0x10FFFF
FLAG_BITS = 9  # flags stored in the low bits of each packed range entry

# keep in sync with the UNICODE_* flags in engine/unicode.h
UNDEFINED = 0x001
NUMBER = 0x002
LETTER = 0x004
SEPARATOR = 0x008
MARK = 0x010
PUNCTUATION = 0x020
SYMBOL = 0x040
CONTROL = 0x080
WHITESPACE = 0x100

CATEGORY_FLAGS = {
    "Cn": UNDEFINED,
    "Cc": CONTROL, "Cf": CONTROL, "Co": CONTROL, "Cs": CONTROL,
    "Ll": LETTER, "Lm": LETTER, "Lo": LETTER, "Lt": LETTER, "Lu": LETTER,
    "Mc": MARK, "Me": MARK, "Mn": MARK,
    "Nd": NUMBER, "Nl": NUMBER, "No": NUMBER,
    "Pc": PUNCTUATION, "Pd": PUNCTUATION, "Pe": PUNCTUATION, "Pf": PUNCTUATION,
    "Pi": PUNCTUATION, "Po": PUNCTUATION, "Ps": PUNCTUATION,
    "Sc": SYMBOL, "Sk": SYMBOL, "Sm": SYMBOL, "So": SYMBOL,
    "Zl": SEPARATOR, "Zp": SEPARATOR, "Zs": SEPARATOR,
}

# The White_Space property of PropList.txt, which unicodedata does not expose (str.isspace() differs from it:
# it adds U+001C..U+001F). Unchanged since Unicode 6.3 removed U+180E.
WHITE_SPACE = set(range(0x09, 0x0D + 1)) | set(range(0x2000, 0x200A + 1)) | {
    0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
}


def flags_of(cp):
    f = CATEGORY_FLAGS[unicodedata.category(chr(cp))]
    if cp in WHITE_SPACE:
        f |= WHITESPACE
    return f


def main():
    flags = [flags_of(cp) for cp in range(MAX_CODEPOINT + 1)]
    ranges = []
    for cp, f in enumerate(flags):
        if not ranges or ranges[-1][1] != f:
            ranges.append((cp, f))

    out = sys.stdout.write
    out("/* unicode-data.c: category flags, Unicode %s (Python %s), by scripts/gen-unicode-data.py; do not edit. */\n"
        % (unicodedata.unidata_version, sys.version.split()[0]))
    out('#include "unicode.h"\n\n')
    out('const char unicode_data_version[] = "%s";\n\n' % unicodedata.unidata_version)
    out("/* Flags of U+0000..U+00FF, for the common case without a search. */\n")
    out("const uint16_t unicode_latin1_flags[256] = {\n")
    for i in range(0, 256, 12):
        out("        " + " ".join("0x%03x," % f for f in flags[i:min(i + 12, 256)]) + "\n")
    out("};\n\n")
    out("/* Ranges of equal flags, sorted: each entry is (first code point << %d) | flags, and runs to the next\n"
        " * entry's first code point (the last one to U+%06X). */\n" % (FLAG_BITS, MAX_CODEPOINT))
    out("const uint32_t unicode_ranges[] = {\n")
    for i in range(0, len(ranges), 6):
        out("        " + " ".join("0x%08x," % ((cp << FLAG_BITS) | f) for cp, f in ranges[i:i + 6]) + "\n")
    out("};\n\n")
    out("const size_t unicode_n_ranges = %d;\n" % len(ranges))


if __name__ == "__main__":
    main()
