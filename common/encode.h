/* encode.h: hex and base64 (RFC 4648, standard and URL alphabets) encoding and strict decoding. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Encoders return a new NUL-terminated string (free() it) in *ret: 0 or -ENOMEM. */
int encode_hex(const void *data, size_t n, char **ret);
int encode_base64(const void *data, size_t n, bool url, char **ret);

/* Decoders accept exactly len characters of s (no whitespace). Hex takes upper or lower case and
 * an even length. Base64 takes the standard alphabet with '=' padding, or, with url=true, the URL
 * alphabet with padding optional; non-zero trailing bits are rejected (one encoding per value).
 * Return 0 with a new buffer (free() it; NUL-terminated for convenience) and its size, -EINVAL on
 * malformed input, -ENOMEM. */
int decode_hex(const char *s, size_t len, void **ret, size_t *ret_size);
int decode_base64(const char *s, size_t len, bool url, void **ret, size_t *ret_size);
