/* json.h: cJSON helpers whose errors name the field ("tls.cert_file: expected string"). */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(cJSON *, cJSON_Delete);
#define _cleanup_json_ _cleanup_(cJSON_Deletep)

/* Parses exactly len bytes of text (NUL bytes inside are an error). On a syntax error returns
 * -EINVAL with "line L, column C: invalid JSON" in err. Trailing non-space text is an error.
 * The caller owns *ret (cJSON_Delete). */
int json_parse(const char *text, size_t len, cJSON **ret, char *err, size_t errsz);

/* Getters look up a dotted path ("tls.cert_file") below obj. They return 0 and set *ret when the
 * value is there with the right type; -ENOENT with "missing field \"tls.cert_file\"" when it (or an
 * object on the way) is absent or null; -EINVAL with "tls.cert_file: expected string" (or the range
 * that was violated) otherwise. Returned pointers point into obj. */
int json_get_string(const cJSON *obj, const char *path, const char **ret, char *err, size_t errsz);
int json_get_bool(const cJSON *obj, const char *path, bool *ret, char *err, size_t errsz);
int json_get_double(const cJSON *obj, const char *path, double *ret, char *err, size_t errsz);
/* An integer (no fraction, exactly representable) within [min, max]. */
int json_get_int(const cJSON *obj, const char *path, int64_t min, int64_t max, int64_t *ret, char *err,
                 size_t errsz);
int json_get_object(const cJSON *obj, const char *path, const cJSON **ret, char *err, size_t errsz);
int json_get_array(const cJSON *obj, const char *path, const cJSON **ret, char *err, size_t errsz);

/* Serialises compactly into a new string (free() it). 0 or -ENOMEM. */
int json_print(const cJSON *obj, char **ret);
