/* jsonschema.h: compile and check a strict subset of JSON Schema 2020-12 against cJSON trees. */
#pragma once

#include <cjson/cJSON.h>
#include <stddef.h>

#include "macro.h"

/* Limits on what a schema or an instance may make the validator do. */
#define JSONSCHEMA_INSTANCE_DEPTH_MAX 128U /* nesting of arrays and objects in an instance */
#define JSONSCHEMA_SCHEMA_DEPTH_MAX 256U   /* nesting of subschemas in a schema document */
#define JSONSCHEMA_EVAL_DEPTH_MAX 512U     /* subschemas ($ref included) active at once while checking */
#define JSONSCHEMA_EVAL_STEPS_MAX (1U << 22) /* subschema evaluations in one jsonschema_validate() */
#define JSONSCHEMA_DEFAULTS_MAX (1U << 16)   /* defaults added by one jsonschema_apply_defaults() */

typedef struct JsonSchema JsonSchema;

/* Compiles a schema document (an object or a boolean). The cJSON tree is not kept: the compiled
 * form owns everything it needs, and the caller owns the result (free with jsonschema_free()).
 * Rejects with -EINVAL, and a message naming the schema location ("#/properties/port/maximum: ...")
 * in err, any keyword it does not implement, any keyword of the wrong shape, regular expressions
 * PCRE2 cannot compile, $ref other than "#" or "#/json/pointer" into this document, $ref that
 * point nowhere, and $ref cycles that never descend into the instance. Annotation keywords
 * ($schema, $id, $comment, title, description, examples, deprecated, readOnly, writeOnly, format)
 * are accepted and ignored; "default" is kept for jsonschema_apply_defaults(). err may be NULL.
 * Returns 0, -EINVAL or -ENOMEM. */
int jsonschema_compile(const cJSON *schema, JsonSchema **ret, char *err, size_t errsz);

/* Frees a compiled schema. Accepts NULL; returns NULL. */
JsonSchema *jsonschema_free(JsonSchema *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(JsonSchema *, jsonschema_free);

/* Checks instance against s; neither is modified, and one compiled schema may be used by several
 * threads at once. Returns 0 if valid; -EINVAL if not, with the first error in err as
 * "path: message" (path like "nodes[2].zone", empty at the top level so the message stands alone);
 * also -EINVAL for instances nested deeper than JSONSCHEMA_INSTANCE_DEPTH_MAX. Returns -ELOOP or
 * -E2BIG (with a message) when the schema needs more than JSONSCHEMA_EVAL_DEPTH_MAX nested or
 * JSONSCHEMA_EVAL_STEPS_MAX total evaluations, -ENOMEM on allocation failure. err may be NULL. */
int jsonschema_validate(const JsonSchema *s, const cJSON *instance, char *err, size_t errsz);

/* Adds the "default" of each absent property, in place, to the objects of instance the schema
 * reaches through properties, items, prefixItems, $ref and allOf (not through the conditional
 * anyOf, oneOf, not, if/then/else), recursing into objects that exist and into objects created
 * from an object default; a property whose schema has no default (nor one through its $ref) is
 * left absent. Stops descending after JSONSCHEMA_INSTANCE_DEPTH_MAX levels. Defaults are copied;
 * the caller keeps owning instance. Returns 0, -ENOMEM, or -E2BIG after JSONSCHEMA_EVAL_STEPS_MAX
 * steps or JSONSCHEMA_DEFAULTS_MAX added defaults (a schema whose defaults keep creating objects);
 * instance may then be partly filled. */
int jsonschema_apply_defaults(const JsonSchema *s, cJSON *instance);
