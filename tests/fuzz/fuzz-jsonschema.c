/* fuzz-jsonschema.c: libFuzzer target: schema text, a NUL byte, instance text; compile, validate, fill defaults. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jsonschema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(jsonschema_freep) JsonSchema *schema = NULL;
        _cleanup_json_ cJSON *schema_json = NULL, *instance = NULL;
        const uint8_t *nul = memchr(data, 0, size);
        size_t schema_size = nul ? (size_t) (nul - data) : size;
        char err[256];

        schema_json = cJSON_ParseWithLength((const char *) data, schema_size);
        if (!schema_json)
                return 0;
        if (jsonschema_compile(schema_json, &schema, err, sizeof err) < 0)
                return 0;
        /* Without a NUL, check the schema document against itself. */
        instance = nul ? cJSON_ParseWithLength((const char *) nul + 1, size - schema_size - 1)
                       : cJSON_Duplicate(schema_json, true);
        if (!instance)
                return 0;
        (void) jsonschema_validate(schema, instance, err, sizeof err);
        if (jsonschema_apply_defaults(schema, instance) >= 0)
                (void) jsonschema_validate(schema, instance, err, sizeof err);
        return 0;
}
