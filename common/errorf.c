/* errorf.c: formats a failure's message into a caller's buffer. */
#include "errorf.h"

#include <stdarg.h>
#include <stdio.h>

int errorf(char *err, size_t errsz, int r, const char *fmt, ...) {
        va_list ap;

        if (err && errsz > 0) {
                va_start(ap, fmt);
                (void) vsnprintf(err, errsz, fmt, ap);
                va_end(ap);
        }
        return r;
}
