/* fileio.h: whole-file reads with a size limit, and atomic, durable writes. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Reads all of path into a new NUL-terminated buffer (free() it). Refuses files larger than max
 * bytes with -EFBIG, and anything that is not a regular file (or a pipe/char device such as
 * /dev/stdin) with -EISDIR/-EINVAL. Returns 0 or a negative errno from open/read. */
int file_read_all(const char *path, size_t max, char **ret, size_t *ret_size);

/* Writes data to path atomically: a temporary file in the same directory, fsync, rename, fsync of
 * the directory. mode is applied at creation (e.g. 0600 for secrets), so the contents are never
 * readable with looser permissions. Returns 0 or a negative errno; path is unchanged on error. */
int file_write_atomic(const char *path, const void *data, size_t n, mode_t mode);
