/* errorf.h: the one line of a failure, written into a caller's `char *err, size_t errsz`. */
#pragma once

#include <stddef.h>

#include "macro.h"

/* Writes the printf-formatted message into err (truncated to errsz bytes, NUL included) and returns r, so
 * that `return errorf(err, errsz, -EINVAL, "...", ...);` reports and fails in one statement. Writes nothing
 * when err is NULL or errsz is 0. */
int errorf(char *err, size_t errsz, int r, const char *fmt, ...) _printf_(4, 5);
