/* config.c: load + validate + default a JSON config file against schemas/. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "errorf.h"
#include "fileio.h"
#include "json.h"
#include "jsonschema.h"
#include "schemas.h"

int config_compile_schema(const char *name, JsonSchema **ret, char *err, size_t errsz) {
        _cleanup_json_ cJSON *doc = NULL;
        const char *text = schemas_find(name);
        char why[256];
        int r;

        if (!text)
                return errorf(err, errsz, -ENOENT, "no schema named \"%s\" is built in", name);
        r = json_parse(text, strlen(text), &doc, why, sizeof why);
        if (r >= 0)
                r = jsonschema_compile(doc, ret, why, sizeof why);
        if (r < 0) /* a broken built-in schema is a build bug; say so plainly */
                return errorf(err, errsz, r, "built-in schema \"%s\" is broken: %s", name, why);
        return 0;
}

int config_load_text(const char *label, const char *text, size_t len, const char *schema_name, cJSON **ret,
                     char *err, size_t errsz) {
        _cleanup_(jsonschema_freep) JsonSchema *schema = NULL;
        _cleanup_json_ cJSON *doc = NULL;
        char why[512];
        int r;

        r = config_compile_schema(schema_name, &schema, err, errsz);
        if (r < 0)
                return r;
        r = json_parse(text, len, &doc, why, sizeof why);
        if (r >= 0)
                r = jsonschema_validate(schema, doc, why, sizeof why);
        if (r >= 0) {
                r = jsonschema_apply_defaults(schema, doc);
                if (r == -E2BIG)
                        snprintf(why, sizeof why, "the schema's defaults nest too deeply");
        }
        if (r == -ENOMEM)
                return errorf(err, errsz, r, "config %s: out of memory", label);
        if (r < 0)
                return errorf(err, errsz, r, "config %s: %s", label, why);
        *ret = TAKE_PTR(doc);
        return 0;
}

int config_load(const char *path, const char *schema_name, cJSON **ret, char *err, size_t errsz) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        r = file_read_all(path, CONFIG_SIZE_MAX, &text, &len);
        if (r == -EFBIG)
                return errorf(err, errsz, r, "config %s: larger than %zu bytes", path, CONFIG_SIZE_MAX);
        if (r < 0)
                return errorf(err, errsz, r, "config %s: %s", path, strerror(-r));
        return config_load_text(path, text, len, schema_name, ret, err, errsz);
}
