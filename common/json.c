/* json.c: parsing with positioned errors, and typed getters that name the field on failure. */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "errorf.h"

static void line_column(const char *text, const char *at, unsigned *ret_line, unsigned *ret_col) {
        unsigned line = 1, col = 1;

        for (const char *p = text; p < at; p++)
                if (*p == '\n')
                        line++, col = 1;
                else
                        col++;
        *ret_line = line;
        *ret_col = col;
}

int json_parse(const char *text, size_t len, cJSON **ret, char *err, size_t errsz) {
        const char *end = NULL;
        unsigned line, col;
        cJSON *j;

        if (memchr(text, '\0', len))
                return errorf(err, errsz, -EINVAL, "NUL byte in JSON text");
        j = cJSON_ParseWithLengthOpts(text, len, &end, false);
        if (j) {
                /* cJSON stops after the first value: anything but white space after it is an error */
                while (end < text + len && strchr(" \t\r\n", *end))
                        end++;
                if (end == text + len) {
                        *ret = j;
                        return 0;
                }
                cJSON_Delete(j);
        } else if (!end)
                end = cJSON_GetErrorPtr();
        if (!end || end < text || end > text + len)
                end = text + len;
        line_column(text, end, &line, &col);
        if (end == text + len && len > 0 && !j)
                return errorf(err, errsz, -EINVAL, "line %u, column %u: invalid JSON (unexpected end)", line, col);
        return errorf(err, errsz, -EINVAL, "line %u, column %u: invalid JSON", line, col);
}

/* Walks a dotted path. -ENOENT when a component is missing or null, -EINVAL when a non-object is
 * in the way. */
static int json_lookup(const cJSON *obj, const char *path, const cJSON **ret, char *err, size_t errsz) {
        const char *p = path;

        while (obj) {
                const char *dot = strchr(p, '.');
                size_t n = dot ? (size_t) (dot - p) : strlen(p);
                char key[256];

                if (!cJSON_IsObject(obj))
                        return errorf(err, errsz, -EINVAL, "%.*s: expected object", (int) (p - path - 1), path);
                if (n >= sizeof key)
                        return errorf(err, errsz, -EINVAL, "%s: field name too long", path);
                memcpy(key, p, n);
                key[n] = '\0';
                obj = cJSON_GetObjectItemCaseSensitive(obj, key);
                if (!dot)
                        break;
                p = dot + 1;
        }
        if (!obj || cJSON_IsNull(obj))
                return errorf(err, errsz, -ENOENT, "missing field \"%s\"", path);
        *ret = obj;
        return 0;
}

int json_get_string(const cJSON *obj, const char *path, const char **ret, char *err, size_t errsz) {
        const cJSON *v;
        int r = json_lookup(obj, path, &v, err, errsz);

        if (r < 0)
                return r;
        if (!cJSON_IsString(v))
                return errorf(err, errsz, -EINVAL, "%s: expected string", path);
        *ret = v->valuestring;
        return 0;
}

int json_get_bool(const cJSON *obj, const char *path, bool *ret, char *err, size_t errsz) {
        const cJSON *v;
        int r = json_lookup(obj, path, &v, err, errsz);

        if (r < 0)
                return r;
        if (!cJSON_IsBool(v))
                return errorf(err, errsz, -EINVAL, "%s: expected boolean", path);
        *ret = cJSON_IsTrue(v);
        return 0;
}

int json_get_double(const cJSON *obj, const char *path, double *ret, char *err, size_t errsz) {
        const cJSON *v;
        int r = json_lookup(obj, path, &v, err, errsz);

        if (r < 0)
                return r;
        if (!cJSON_IsNumber(v))
                return errorf(err, errsz, -EINVAL, "%s: expected number", path);
        *ret = v->valuedouble;
        return 0;
}

int json_get_int(const cJSON *obj, const char *path, int64_t min, int64_t max, int64_t *ret, char *err,
                 size_t errsz) {
        double d;
        int r = json_get_double(obj, path, &d, err, errsz);

        if (r == -EINVAL)
                return errorf(err, errsz, -EINVAL, "%s: expected integer", path);
        if (r < 0)
                return r;
        /* 2^63 is the first double past INT64_MAX; beyond 2^53 doubles are not exact integers */
        if (!isfinite(d) || d != floor(d))
                return errorf(err, errsz, -EINVAL, "%s: expected integer", path);
        if (fabs(d) > 9007199254740992.0 || (int64_t) d < min || (int64_t) d > max)
                return errorf(err, errsz, -EINVAL, "%s: must be between %lld and %lld", path, (long long) min,
                              (long long) max);
        *ret = (int64_t) d;
        return 0;
}

static int json_get_container(const cJSON *obj, const char *path, bool array, const cJSON **ret, char *err,
                              size_t errsz) {
        const cJSON *v;
        int r = json_lookup(obj, path, &v, err, errsz);

        if (r < 0)
                return r;
        if (array ? !cJSON_IsArray(v) : !cJSON_IsObject(v))
                return errorf(err, errsz, -EINVAL, "%s: expected %s", path, array ? "array" : "object");
        *ret = v;
        return 0;
}

int json_get_object(const cJSON *obj, const char *path, const cJSON **ret, char *err, size_t errsz) {
        return json_get_container(obj, path, false, ret, err, errsz);
}

int json_get_array(const cJSON *obj, const char *path, const cJSON **ret, char *err, size_t errsz) {
        return json_get_container(obj, path, true, ret, err, errsz);
}

int json_print(const cJSON *obj, char **ret) {
        char *s = cJSON_PrintUnformatted(obj);

        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}
