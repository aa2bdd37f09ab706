/* stop.c: stop-string matching for streamed generation. */
#include "stop.h"

#include <errno.h>
#include <string.h>

#include "macro.h"

int stop_init(StopMatcher *m, const char *const *stops, size_t n) {
        *m = (StopMatcher){ .held = STRBUF_INIT };
        if (n > STOP_MAX)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                size_t len = stops[i] ? strlen(stops[i]) : 0;
                if (len == 0 || len > STOP_LEN_MAX) {
                        stop_done(m);
                        return -EINVAL;
                }
                m->stops[i] = strdup(stops[i]);
                if (!m->stops[i]) {
                        stop_done(m);
                        return -ENOMEM;
                }
                m->n_stops++;
        }
        return 0;
}

void stop_done(StopMatcher *m) {
        for (size_t i = 0; i < m->n_stops; i++)
                free(m->stops[i]);
        strbuf_done(&m->held);
        *m = (StopMatcher){};
}

/* Length of the longest suffix of s[0..len) that is a proper prefix of some stop string. */
static size_t partial_suffix(const StopMatcher *m, const char *s, size_t len) {
        size_t best = 0;

        for (size_t i = 0; i < m->n_stops; i++) {
                size_t sl = strlen(m->stops[i]);
                for (size_t k = MIN(len, sl - 1); k > best; k--)
                        if (memcmp(s + len - k, m->stops[i], k) == 0) {
                                best = k;
                                break;
                        }
        }
        return best;
}

int stop_feed(StopMatcher *m, const char *text, size_t len, StrBuf *out) {
        const char *s, *first = NULL;
        size_t keep;
        int r;

        if (m->stopped)
                return 1;
        r = strbuf_append(&m->held, text, len);
        if (r < 0)
                return r;
        s = strbuf_str(&m->held);
        for (size_t i = 0; i < m->n_stops; i++) {
                const char *p = memmem(s, m->held.len, m->stops[i], strlen(m->stops[i]));
                if (p && (!first || p < first))
                        first = p;
        }
        if (first) {
                m->stopped = true;
                r = strbuf_append(out, s, (size_t) (first - s));
                strbuf_truncate(&m->held, 0);
                return r < 0 ? r : 1;
        }
        keep = partial_suffix(m, s, m->held.len);
        r = strbuf_append(out, s, m->held.len - keep);
        if (r < 0)
                return r;
        memmove(m->held.data, s + m->held.len - keep, keep);
        strbuf_truncate(&m->held, keep);
        return 0;
}

int stop_flush(StopMatcher *m, StrBuf *out) {
        int r = m->stopped ? 0 : strbuf_append(out, strbuf_str(&m->held), m->held.len);
        strbuf_truncate(&m->held, 0);
        return r;
}
