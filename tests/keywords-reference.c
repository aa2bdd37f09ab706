/* keywords-reference.c: see keywords-reference.h. */
#include "keywords-reference.h"

static unsigned char fold(unsigned char c) {
        return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool term_at(const char *text, const RefTerm *t, bool caseless) {
        for (size_t i = 0; i < t->len; i++) {
                unsigned char a = (unsigned char) text[i], b = (unsigned char) t->s[i];

                if (caseless ? fold(a) != fold(b) : a != b)
                        return false;
        }
        return true;
}

uint32_t keywords_reference_count(const char *text, size_t len, const RefTerm *terms, size_t n, size_t list,
                                  bool caseless) {
        uint32_t count = 0;

        for (size_t p = 0; p < len;) {
                size_t best = 0;

                for (size_t i = 0; i < n; i++)
                        if (terms[i].list == list && terms[i].len > best && terms[i].len <= len - p &&
                            term_at(text + p, &terms[i], caseless))
                                best = terms[i].len;
                if (best) {
                        count++;
                        p += best;
                } else
                        p++;
        }
        return count;
}
