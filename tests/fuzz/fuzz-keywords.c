/* fuzz-keywords.c: the keyword automaton against the naive reference (tests/keywords-reference.h)
 * on arbitrary terms and texts, which fuzz-rules seldom reaches (it needs a valid rule set with
 * keyword lists, and has no reference to compare with). Input: one byte of flags (bit i: list i
 * is case-sensitive), then terms separated by '\n' (a term's first byte % 4 picks its list; terms
 * that are not valid UTF-8 are refused and left out), then a NUL byte and the text. Where no term
 * is matched by PCRE2 (cased non-ASCII letters in a caseless list) and the text holds neither
 * U+212A nor U+017F, the counts must equal the reference's. */
#include <stdlib.h>
#include <string.h>

#include "keywords-reference.h"
#include "keywords.h"

enum { LISTS = 4, TERMS_MAX = 256 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *in = (const char *) data, *nul, *text;
        RefTerm terms[TERMS_MAX];
        uint32_t counts[KEYWORDS_LISTS_MAX] = {};
        Keywords *kw = NULL;
        size_t n = 0, text_len;
        char err[256];
        int r;

        if (size < 2 || !(nul = memchr(in + 1, 0, size - 1)))
                return 0;
        text = nul + 1;
        text_len = size - (size_t) (text - in);
        if (keywords_new(&kw) < 0)
                return 0;
        for (int l = 0; l < LISTS; l++)
                if (keywords_add_list(kw, !(data[0] & (1 << l))) != l)
                        abort();
        for (const char *p = in + 1; p < nul && n < TERMS_MAX;) {
                const char *end = memchr(p, '\n', (size_t) (nul - p));
                size_t len = (size_t) ((end ? end : nul) - p);

                if (len > 0 && len <= KEYWORDS_TERM_BYTES_MAX) {
                        RefTerm t = { .s = p, .len = len, .list = (unsigned char) p[0] % LISTS };

                        r = keywords_add_term(kw, (int) t.list, t.s, t.len, NULL);
                        if (r == 0)
                                terms[n++] = t;
                        else if (r != -EINVAL)
                                abort();
                }
                p += len + 1;
        }
        if (keywords_compile(kw, NULL, err, sizeof err) < 0)
                abort();
        r = keywords_scan(kw, text, text_len, counts, 0);
        if (r < 0 && r != -ERANGE)
                abort();
        if (r == 0 && keywords_pcre2_terms(kw) == 0 && !memmem(text, text_len, "\xE2\x84\xAA", 3) &&
            !memmem(text, text_len, "\xC5\xBF", 2))
                for (size_t l = 0; l < LISTS; l++)
                        if (counts[l] != keywords_reference_count(text, text_len, terms, n, l, !(data[0] & (1 << l))))
                                abort();
        keywords_free(kw);
        return 0;
}
