/* frame.c: agent-protocol frame checking against the embedded schemas. */
#include "frame.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hashmap.h"
#include "json.h"
#include "jsonschema.h"
#include "schemas.h"

#define FRAME_SCHEMA_PREFIX "agent-protocol/"

struct FrameValidator {
        Hashmap *schemas; /* type -> JsonSchema */
};

static void free_schema(void *p) {
        jsonschema_free(p);
}

int frame_validator_new(FrameValidator **ret, char *err, size_t errsz) {
        _cleanup_(frame_validator_freep) FrameValidator *v = calloc(1, sizeof *v);
        int r;

        if (!v)
                return -ENOMEM;
        r = hashmap_new(free_schema, &v->schemas);
        if (r < 0)
                return r;
        for (size_t i = 0; schemas_name(i); i++) {
                const char *name = schemas_name(i), *text = schemas_find(name);
                _cleanup_json_ cJSON *doc = NULL;
                JsonSchema *s = NULL;
                char why[256];

                if (!strneq(name, FRAME_SCHEMA_PREFIX, strlen(FRAME_SCHEMA_PREFIX)))
                        continue;
                r = json_parse(text, strlen(text), &doc, why, sizeof why);
                if (r >= 0)
                        r = jsonschema_compile(doc, &s, why, sizeof why);
                if (r >= 0 && (r = hashmap_put(v->schemas, name + strlen(FRAME_SCHEMA_PREFIX), s, NULL)) < 0)
                        jsonschema_free(s);
                if (r < 0) {
                        snprintf(err, errsz, "built-in schema %s is broken: %s", name, r == -ENOMEM ? "out of memory" : why);
                        return r;
                }
        }
        *ret = TAKE_PTR(v);
        return 0;
}

FrameValidator *frame_validator_free(FrameValidator *v) {
        if (!v)
                return NULL;
        hashmap_free(v->schemas);
        free(v);
        return NULL;
}

int frame_check(const FrameValidator *v, const cJSON *frame, char *err, size_t errsz) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(frame, "type");
        const JsonSchema *s;
        char why[512];
        int r;

        if (!cJSON_IsObject(frame) || !cJSON_IsString(type)) {
                snprintf(err, errsz, "frame: expected an object with a string \"type\"");
                return -EINVAL;
        }
        s = hashmap_get(v->schemas, type->valuestring);
        if (!s) {
                snprintf(err, errsz, "frame: unknown type \"%.64s\"", type->valuestring);
                return -EINVAL;
        }
        r = jsonschema_validate(s, frame, why, sizeof why);
        if (r == -EINVAL)
                snprintf(err, errsz, "%s: %s", type->valuestring, why);
        else if (r < 0)
                snprintf(err, errsz, "%s: cannot validate: %s", type->valuestring, strerror(-r));
        return r;
}

int frame_parse(const FrameValidator *v, const char *text, size_t len, cJSON **ret, const char **ret_type, char *err,
                size_t errsz) {
        _cleanup_json_ cJSON *j = NULL;
        char why[256];
        int r;

        r = json_parse(text, len, &j, why, sizeof why);
        if (r < 0) {
                snprintf(err, errsz, "frame: %s", why);
                return -EINVAL;
        }
        r = frame_check(v, j, err, errsz);
        if (r < 0)
                return r;
        *ret_type = cJSON_GetObjectItemCaseSensitive(j, "type")->valuestring;
        *ret = TAKE_PTR(j);
        return 0;
}

cJSON *frame_error(const char *id, const char *code, const char *message) {
        cJSON *f = cJSON_CreateObject();
        char msg[1025];

        if (!f)
                return NULL;
        snprintf(msg, sizeof msg, "%s", message);
        if (!cJSON_AddStringToObject(f, "type", "error") || (id && !cJSON_AddStringToObject(f, "id", id)) ||
            !cJSON_AddStringToObject(f, "code", code) || !cJSON_AddStringToObject(f, "message", msg)) {
                cJSON_Delete(f);
                return NULL;
        }
        return f;
}
