/* config.h: the JSON config loader every binary uses: bounded read, parse, schema check, defaults. */
#pragma once

#include <cjson/cJSON.h>
#include <stddef.h>

typedef struct JsonSchema JsonSchema;

#define CONFIG_SIZE_MAX ((size_t) 1 << 20)

/* Loads the config file at path against the embedded schema named schema_name (for example
 * "config/controller", i.e. schemas/config/controller.schema.json). The file may be at most
 * CONFIG_SIZE_MAX bytes. On success *ret is the document with the schema's defaults filled in
 * (caller owns it; cJSON_Delete). On failure returns a negative errno and one line in err that
 * names the file and the problem: "config /etc/sluice/x.json: listen_api: expected string". */
int config_load(const char *path, const char *schema_name, cJSON **ret, char *err, size_t errsz);
/* The same for text already in memory; label names it in messages. */
int config_load_text(const char *label, const char *text, size_t len, const char *schema_name, cJSON **ret,
                     char *err, size_t errsz);
/* Compiles the embedded schema named name (as above). -ENOENT when there is none, -EINVAL (a
 * build bug: err says so) or -ENOMEM. Caller owns *ret (jsonschema_free). */
int config_compile_schema(const char *name, JsonSchema **ret, char *err, size_t errsz);
