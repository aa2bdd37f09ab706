/* fuzz-json.c: json_parse, the typed getters and the config loader (schema check + defaults). */
#include <stdint.h>
#include <stdlib.h>

#include "config.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_json_ cJSON *j = NULL, *cfg = NULL;
        const char *s;
        const cJSON *o;
        char err[512];
        int64_t i;
        bool b;

        if (json_parse((const char *) data, size, &j, err, sizeof err) == 0) {
                (void) json_get_string(j, "controller_url", &s, err, sizeof err);
                (void) json_get_int(j, "a.b.c", INT64_MIN, INT64_MAX, &i, err, sizeof err);
                (void) json_get_bool(j, "a.b", &b, err, sizeof err);
                (void) json_get_object(j, "a", &o, err, sizeof err);
        }
        (void) config_load_text("fuzz", (const char *) data, size, "config/cli", &cfg, err, sizeof err);
        return 0;
}
