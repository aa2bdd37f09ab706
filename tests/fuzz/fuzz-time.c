/* fuzz-time.c: RFC 3339 and duration parsers on arbitrary bytes; parse->format->parse must agree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);
        char buf[TIME_RFC3339_MAX];
        uint64_t t, t2;

        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        if (time_parse_rfc3339(s, &t) == 0 && t < UINT64_C(253402300800) * 1000000) {
                /* whatever was accepted must survive a round trip (year <= 9999) */
                if (time_parse_rfc3339(time_format_rfc3339(t, buf), &t2) != 0 || t2 != t)
                        abort();
        }
        (void) time_parse_duration(s, &t);
        free(s);
        return 0;
}
