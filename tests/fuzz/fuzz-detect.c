/* fuzz-detect.c: the detectors on arbitrary bytes, raw and normalised: hits ordered, never
 * overlapping, non-empty and inside the text, and every checksum-validated hit re-verified
 * from its span (separators dropped). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "detect.h"
#include "macro.h"
#include "normalize.h"

typedef struct Check {
        const char *text;
        size_t len, last_end;
        size_t hits;
} Check;

/* The span's characters without ' ', '-' and '.' separators, upper-cased; its length, or 0 when
 * it is longer than the buffer. */
static size_t compact(const char *s, size_t n, char *out, size_t size) {
        size_t k = 0;

        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if (c == ' ' || c == '-' || c == '.')
                        continue;
                if (k == size)
                        return 0;
                out[k++] = c == 'x' ? 'X' : c;
        }
        return k;
}

static int on_hit(const DetectHit *h, void *userdata) {
        Check *c = userdata;
        char buf[40];
        size_t n;

        if (h->start < c->last_end || h->start >= h->end || h->end > c->len || (unsigned) h->type >= _DETECT_TYPE_MAX)
                abort();
        c->last_end = h->end;
        c->hits++;
        n = compact(c->text + h->start, h->end - h->start, buf, sizeof buf);
        switch (h->type) {
        case DETECT_CN_RESIDENT_ID:
                if (n != 18 || !checksum_gb11643(buf))
                        abort();
                break;
        case DETECT_BANK_CARD:
                if (n < 13 || n > 19 || !checksum_luhn(buf, n))
                        abort();
                break;
        case DETECT_IBAN:
                if (n < 15 || !checksum_iban(buf, n))
                        abort();
                break;
        default:
                break;
        }
        return 0;
}

static void check(const char *text, size_t len) {
        Check c = { .text = text, .len = len };

        if (detect_scan(text, len, on_hit, &c) < 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        NormText t = {};

        check((const char *) data, size);
        if (normalize_text(&t, (const char *) data, size) == 0)
                check(t.buf, t.len);
        normtext_done(&t);
        return 0;
}
