/* test-jsonschema.c: unit tests for common/jsonschema: keywords, error texts, compile errors, defaults, limits. */
#include <errno.h>
#include <stdlib.h>

#include "json.h"
#include "jsonschema.h"
#include "test.h"

#define ERR_MAX 1024
#define NOT_COMPILED (-ENOTRECOVERABLE) /* the helper's schema did not parse or compile */

/* Parses and compiles schema_text into *ret; on failure err holds the reason. */
static int compile_text(const char *schema_text, JsonSchema **ret, char *err, size_t errsz) {
        _cleanup_json_ cJSON *json = cJSON_Parse(schema_text);

        if (!json) {
                snprintf(err, errsz, "schema is not JSON: %s", schema_text);
                return -EBADMSG;
        }
        return jsonschema_compile(json, ret, err, errsz);
}

/* Validates instance_text against schema_text; NOT_COMPILED if the schema or instance is unusable. */
static int validate_text(const char *schema_text, const char *instance_text, char *err, size_t errsz) {
        _cleanup_(jsonschema_freep) JsonSchema *s = NULL;
        _cleanup_json_ cJSON *instance = NULL;
        int r;

        r = compile_text(schema_text, &s, err, errsz);
        if (r < 0) {
                printf("# compile failed: %s\n", err);
                return NOT_COMPILED;
        }
        instance = cJSON_Parse(instance_text);
        if (!instance) {
                printf("# instance is not JSON: %s\n", instance_text);
                return NOT_COMPILED;
        }
        return jsonschema_validate(s, instance, err, errsz);
}

#define ASSERT_VALID(schema, instance)                                                                 \
        do {                                                                                           \
                char _err_[ERR_MAX] = "";                                                              \
                int _r_ = validate_text((schema), (instance), _err_, sizeof _err_);                    \
                if (_r_ != 0) {                                                                        \
                        test_fail(__FILE__, __LINE__, "%s against %s: expected valid, got %d (%s)",    \
                                  (instance), (schema), _r_, _err_);                                   \
                        return;                                                                        \
                }                                                                                      \
        } while (0)

#define ASSERT_INVALID(schema, instance, message)                                                      \
        do {                                                                                           \
                char _err_[ERR_MAX] = "";                                                              \
                int _r_ = validate_text((schema), (instance), _err_, sizeof _err_);                    \
                if (_r_ != -EINVAL || strcmp(_err_, (message)) != 0) {                                 \
                        test_fail(__FILE__, __LINE__, "%s against %s: expected invalid \"%s\", got %d (%s)", \
                                  (instance), (schema), (message), _r_, _err_);                        \
                        return;                                                                        \
                }                                                                                      \
        } while (0)

#define ASSERT_COMPILE_FAILS(schema, message)                                                          \
        do {                                                                                           \
                _cleanup_(jsonschema_freep) JsonSchema *_s_ = NULL;                                    \
                char _err_[ERR_MAX] = "";                                                              \
                int _r_ = compile_text((schema), &_s_, _err_, sizeof _err_);                           \
                if (_r_ != -EINVAL || _s_ || strcmp(_err_, (message)) != 0) {                          \
                        test_fail(__FILE__, __LINE__, "compiling %s: expected \"%s\", got %d (%s)",    \
                                  (schema), (message), _r_, _err_);                                    \
                        return;                                                                        \
                }                                                                                      \
        } while (0)

#define CONFIG_SCHEMA                                                                                  \
        "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"listen_api\"],"            \
        "\"properties\":{"                                                                             \
        "\"listen_api\":{\"type\":\"string\"},"                                                        \
        "\"port\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":65535},"                             \
        "\"tls\":{\"type\":\"object\",\"required\":[\"cert_file\"],\"additionalProperties\":false,"     \
        "        \"properties\":{\"cert_file\":{\"type\":\"string\"}}},"                               \
        "\"nodes\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"zone\"],"         \
        "        \"properties\":{\"zone\":{\"enum\":[\"private\",\"public\"]}}}}}}"

TEST(config_error_texts) {
        ASSERT_VALID(CONFIG_SCHEMA, "{\"listen_api\":\"127.0.0.1:8443\"}");
        ASSERT_VALID(CONFIG_SCHEMA, "{\"listen_api\":\"x\",\"port\":443,\"tls\":{\"cert_file\":\"c.pem\"},"
                                    "\"nodes\":[{\"zone\":\"private\"},{\"zone\":\"public\"}]}");
        ASSERT_INVALID(CONFIG_SCHEMA, "[]", "expected object");
        ASSERT_INVALID(CONFIG_SCHEMA, "{\"listen_api\":5}", "listen_api: expected string");
        ASSERT_INVALID(CONFIG_SCHEMA, "{\"listen_api\":\"x\",\"tls\":{\"cert_file\":1}}",
                       "tls.cert_file: expected string");
        ASSERT_INVALID(CONFIG_SCHEMA,
                       "{\"listen_api\":\"x\",\"nodes\":["
                       "{\"zone\":\"private\"},{\"zone\":\"public\"},{\"zone\":\"moon\"}]}",
                       "nodes[2].zone: must be one of \"private\", \"public\"");
        ASSERT_INVALID(CONFIG_SCHEMA, "{\"listen_api\":\"x\",\"port\":65536}", "port: must be <= 65535");
        ASSERT_INVALID(CONFIG_SCHEMA, "{\"listen_api\":\"x\",\"port\":0}", "port: must be >= 1");
        ASSERT_INVALID(CONFIG_SCHEMA, "{\"listen_api\":\"x\",\"nodes\":[{}]}",
                       "nodes[0]: missing required field \"zone\"");
        ASSERT_INVALID(CONFIG_SCHEMA, "{}", "missing required field \"listen_api\"");
        ASSERT_INVALID(CONFIG_SCHEMA, "{\"listen_api\":\"x\",\"tls\":{}}", "tls: missing required field \"cert_file\"");
        ASSERT_INVALID(CONFIG_SCHEMA, "{\"listn_api\":\"x\"}", "unknown field \"listn_api\"");
        ASSERT_INVALID(CONFIG_SCHEMA, "{\"listen_api\":\"x\",\"tls\":{\"cert_file\":\"c\",\"key\":1}}",
                       "tls: unknown field \"key\"");
}

TEST(type_each) {
        static const struct {
                const char *type, *good, *bad, *message;
        } cases[] = {
                { "null", "null", "0", "expected null" },
                { "boolean", "true", "1", "expected boolean" },
                { "object", "{}", "[]", "expected object" },
                { "array", "[]", "{}", "expected array" },
                { "number", "1.5", "\"1\"", "expected number" },
                { "integer", "-7", "7.5", "expected integer" },
                { "string", "\"\"", "null", "expected string" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char schema[128];
                snprintf(schema, sizeof schema, "{\"type\":\"%s\"}", cases[i].type);
                ASSERT_VALID(schema, cases[i].good);
                ASSERT_INVALID(schema, cases[i].bad, cases[i].message);
        }
        /* "integer" is any number with a zero fractional part; booleans are not numbers. */
        ASSERT_VALID("{\"type\":\"integer\"}", "1.0");
        ASSERT_VALID("{\"type\":\"integer\"}", "1e3");
        ASSERT_INVALID("{\"type\":\"integer\"}", "true", "expected integer");
        ASSERT_INVALID("{\"type\":\"number\"}", "false", "expected number");
        ASSERT_INVALID("{\"type\":\"integer\"}", "1e400", "expected integer");
        ASSERT_VALID("{\"type\":\"number\"}", "3");
}

TEST(type_list) {
        ASSERT_VALID("{\"type\":[\"string\",\"null\"]}", "null");
        ASSERT_VALID("{\"type\":[\"string\",\"null\"]}", "\"a\"");
        ASSERT_INVALID("{\"type\":[\"string\",\"null\"]}", "1", "expected string or null");
        ASSERT_INVALID("{\"type\":[\"string\",\"integer\",\"null\"]}", "1.5", "expected string, integer or null");
        ASSERT_VALID("{\"type\":[\"string\",\"integer\",\"null\"]}", "2");
}

TEST(enum_and_const) {
        ASSERT_VALID("{\"enum\":[1,\"a\",null,{\"x\":[1,2]}]}", "1.0");
        ASSERT_VALID("{\"enum\":[1,\"a\",null,{\"x\":[1,2]}]}", "null");
        ASSERT_VALID("{\"enum\":[1,\"a\",null,{\"x\":[1,2],\"y\":0}]}", "{\"y\":0,\"x\":[1,2]}");
        ASSERT_INVALID("{\"enum\":[1,\"a\",null]}", "true", "must be one of 1, \"a\", null");
        ASSERT_INVALID("{\"enum\":[{\"x\":[1,2]}]}", "{\"x\":[2,1]}", "must be {\"x\":[1,2]}");
        ASSERT_INVALID("{\"enum\":[]}", "1", "no value is allowed (empty enum)");
        ASSERT_INVALID("{\"enum\":[false]}", "0", "must be false");
        ASSERT_VALID("{\"const\":\"v1\"}", "\"v1\"");
        ASSERT_INVALID("{\"const\":\"v1\"}", "\"v2\"", "must be \"v1\"");
        ASSERT_INVALID("{\"const\":true}", "1", "must be true");
        ASSERT_INVALID("{\"const\":[1,[2,[3,[4]]]]}", "[]", "must be [1,[2,[3,[...]]]]");
        ASSERT_VALID("{\"const\":[1,{\"a\":null}]}", "[1.0,{\"a\":null}]");
        /* Objects are equal only with the same members: neither may have more. */
        ASSERT_INVALID("{\"const\":{\"a\":1}}", "{\"a\":1,\"b\":2}", "must be {\"a\":1}");
        ASSERT_INVALID("{\"const\":{\"a\":1,\"b\":2}}", "{\"a\":1}", "must be {\"a\":1,\"b\":2}");
        ASSERT_INVALID("{\"const\":[1,2]}", "[1,2,3]", "must be [1,2]");
        ASSERT_INVALID("{\"const\":\"a\\\"b\\n\"}", "1", "must be \"a\\\"b\\n\"");
}

TEST(numbers) {
        ASSERT_VALID("{\"minimum\":1.5}", "1.5");
        ASSERT_INVALID("{\"minimum\":1.5}", "1.25", "must be >= 1.5");
        ASSERT_VALID("{\"maximum\":-2}", "-2");
        ASSERT_INVALID("{\"maximum\":-2}", "-1", "must be <= -2");
        ASSERT_VALID("{\"exclusiveMinimum\":0}", "0.001");
        ASSERT_INVALID("{\"exclusiveMinimum\":0}", "0", "must be > 0");
        ASSERT_VALID("{\"exclusiveMaximum\":1}", "0.999");
        ASSERT_INVALID("{\"exclusiveMaximum\":1}", "1", "must be < 1");
        ASSERT_VALID("{\"multipleOf\":3}", "-9");
        ASSERT_INVALID("{\"multipleOf\":3}", "10", "must be a multiple of 3");
        ASSERT_VALID("{\"multipleOf\":2.5}", "10");
        ASSERT_VALID("{\"multipleOf\":0.1}", "0.5");
        ASSERT_INVALID("{\"multipleOf\":0.5}", "0.7", "must be a multiple of 0.5");
        ASSERT_INVALID("{\"multipleOf\":3}", "4.5", "must be a multiple of 3");
        ASSERT_VALID("{\"multipleOf\":0.5}", "1e308"); /* the quotient overflows: decided exactly */
        ASSERT_INVALID("{\"multipleOf\":0.3}", "1e308", "must be a multiple of 0.3");
        ASSERT_VALID("{\"multipleOf\":7}", "0");
        /* Integral divisors are exact: 1e20 / 3 rounds to a whole double, but 1e20 % 3 is 1. */
        ASSERT_INVALID("{\"multipleOf\":3}", "1e20", "must be a multiple of 3");
        ASSERT_VALID("{\"multipleOf\":5}", "1e20");
        /* Number keywords ignore other types. */
        ASSERT_VALID("{\"minimum\":5,\"multipleOf\":2}", "\"3\"");
}

TEST(strings) {
        ASSERT_VALID("{\"minLength\":2,\"maxLength\":3}", "\"ab\"");
        ASSERT_INVALID("{\"minLength\":2}", "\"a\"", "must be at least 2 characters long");
        ASSERT_INVALID("{\"maxLength\":1}", "\"ab\"", "must be at most 1 character long");
        /* Lengths count code points, not bytes: é is 2 bytes, 😀 is 4 (a surrogate pair in JSON). */
        ASSERT_VALID("{\"maxLength\":1}", "\"\xc3\xa9\"");
        ASSERT_VALID("{\"maxLength\":2,\"minLength\":2}", "\"\\ud83d\\ude00\xe4\xb8\xad\"");
        ASSERT_INVALID("{\"maxLength\":2}", "\"\\u00e9\\u00e9\\u00e9\"", "must be at most 2 characters long");
        ASSERT_VALID("{\"minLength\":3}", "5"); /* ignores non-strings */
}

TEST(pattern) {
        /* Unanchored search, as the spec says. */
        ASSERT_VALID("{\"pattern\":\"b+\"}", "\"abbbc\"");
        ASSERT_INVALID("{\"pattern\":\"^b+$\"}", "\"abbbc\"", "must match pattern \"^b+$\"");
        /* $ matches only at the very end (ECMA-262), not before a final newline. */
        ASSERT_INVALID("{\"pattern\":\"^[a-z]+$\"}", "\"abc\\n\"", "must match pattern \"^[a-z]+$\"");
        /* \d is ASCII only; \u escapes work; UTF-8 is matched by code point. */
        ASSERT_VALID("{\"pattern\":\"^\\\\d+$\"}", "\"0123\"");
        ASSERT_INVALID("{\"pattern\":\"^\\\\d+$\"}", "\"\xd9\xa3\"", "must match pattern \"^\\\\d+$\"");
        ASSERT_VALID("{\"pattern\":\"^\\\\u00e9.$\"}", "\"\xc3\xa9\xe4\xb8\xad\"");
        ASSERT_VALID("{\"pattern\":\"^(private|public)-[0-9]{1,3}$\"}", "\"public-42\"");
        ASSERT_INVALID("{\"properties\":{\"id\":{\"pattern\":\"^[0-9]+$\"}}}", "{\"id\":\"12a\"}",
                       "id: must match pattern \"^[0-9]+$\"");
        /* A string that is not UTF-8 cannot be matched: it is rejected. */
        ASSERT_INVALID("{\"pattern\":\"a\"}", "\"a\xff\"", "is not valid UTF-8");
        ASSERT_VALID("{\"pattern\":\"a\"}", "1");
}

TEST(pattern_backtracking_is_bounded) {
        char instance[64];

        memset(instance, 'a', sizeof instance);
        instance[0] = '"';
        instance[sizeof instance - 3] = '!';
        instance[sizeof instance - 2] = '"';
        instance[sizeof instance - 1] = '\0';
        /* (a+)+$ against aaa...! explodes without a match limit; it must end, and fail closed. */
        char err[ERR_MAX];
        int r = validate_text("{\"pattern\":\"^(a|aa)+$\"}", instance, err, sizeof err);
        ASSERT_ERROR(r, -EINVAL);
        ASSERT_TRUE(strstr(err, "must match pattern") || strstr(err, "could not be matched"));
}

TEST(arrays) {
        ASSERT_VALID("{\"minItems\":1,\"maxItems\":2}", "[1]");
        ASSERT_INVALID("{\"minItems\":1}", "[]", "must have at least 1 item");
        ASSERT_INVALID("{\"maxItems\":2}", "[1,2,3]", "must have at most 2 items");
        ASSERT_VALID("{\"items\":{\"type\":\"integer\"}}", "[1,2,3]");
        ASSERT_INVALID("{\"items\":{\"type\":\"integer\"}}", "[1,\"2\",3]", "[1]: expected integer");
        ASSERT_INVALID("{\"items\":{\"items\":{\"type\":\"null\"}}}", "[[],[null,0]]", "[1][1]: expected null");
        ASSERT_VALID("{\"uniqueItems\":true}", "[1,\"1\",true,[1],{\"a\":1},null]");
        ASSERT_INVALID("{\"uniqueItems\":true}", "[1,2,1.0]", "must not contain duplicates (items 0 and 2 are equal)");
        ASSERT_INVALID("{\"uniqueItems\":true}", "[{\"a\":1,\"b\":[2]},{\"b\":[2],\"a\":1}]",
                       "must not contain duplicates (items 0 and 1 are equal)");
        ASSERT_VALID("{\"uniqueItems\":false}", "[1,1]");
        ASSERT_VALID("{\"uniqueItems\":true}", "[{\"a\":1},{\"a\":1,\"b\":2},[1],[1,2],{}]");
        ASSERT_VALID("{\"maxItems\":0}", "{}");
}

TEST(prefix_items) {
        const char *tuple = "{\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"integer\"}],\"items\":false}";

        ASSERT_VALID(tuple, "[\"a\",1]");
        ASSERT_VALID(tuple, "[\"a\"]");
        ASSERT_INVALID(tuple, "[1]", "[0]: expected string");
        ASSERT_INVALID(tuple, "[\"a\",1,2]", "must have at most 2 items");
        tuple = "{\"prefixItems\":[{\"type\":\"string\"}],\"items\":{\"type\":\"boolean\"}}";
        ASSERT_VALID(tuple, "[\"a\",true,false]");
        ASSERT_INVALID(tuple, "[\"a\",true,\"b\"]", "[2]: expected boolean");
}

TEST(objects) {
        ASSERT_VALID("{\"properties\":{\"a\":{\"type\":\"string\"}}}", "{\"b\":1}");
        ASSERT_INVALID("{\"minProperties\":2}", "{\"a\":1}", "must have at least 2 fields");
        ASSERT_INVALID("{\"maxProperties\":1}", "{\"a\":1,\"b\":2}", "must have at most 1 field");
        ASSERT_VALID("{\"additionalProperties\":{\"type\":\"integer\"},\"properties\":{\"s\":{}}}",
                     "{\"s\":\"x\",\"n\":1}");
        ASSERT_INVALID("{\"additionalProperties\":{\"type\":\"integer\"},\"properties\":{\"s\":{}}}",
                       "{\"s\":\"x\",\"n\":\"1\"}", "n: expected integer");
        /* Keys that are not identifiers are quoted in paths and messages. */
        ASSERT_INVALID("{\"additionalProperties\":{\"type\":\"integer\"}}", "{\"a b\":true}",
                       "[\"a b\"]: expected integer");
        ASSERT_INVALID("{\"properties\":{\"x\":{\"additionalProperties\":false}}}", "{\"x\":{\"q\\\"\":1}}",
                       "x: unknown field \"q\\\"\"");
        ASSERT_INVALID("{\"required\":[\"a.b\"]}", "{}", "missing required field \"a.b\"");
        ASSERT_VALID("{\"required\":[\"a\"]}", "[1]"); /* object keywords ignore other types */
}

TEST(pattern_properties) {
        const char *schema = "{\"patternProperties\":{\"^x-\":{\"type\":\"string\"},"
                             "\"^[0-9]+$\":{\"type\":\"integer\"}},"
                             "\"properties\":{\"name\":{}},\"additionalProperties\":false}";

        ASSERT_VALID(schema, "{\"name\":1,\"x-a\":\"b\",\"42\":7}");
        ASSERT_INVALID(schema, "{\"x-a\":1}", "x-a: expected string");
        ASSERT_INVALID(schema, "{\"42\":\"7\"}", "42: expected integer");
        ASSERT_INVALID(schema, "{\"y\":1}", "unknown field \"y\"");
}

TEST(boolean_schemas) {
        ASSERT_VALID("true", "{\"anything\":[1,2]}");
        ASSERT_INVALID("false", "null", "not allowed");
        ASSERT_INVALID("{\"properties\":{\"legacy\":false}}", "{\"legacy\":1}", "legacy: not allowed");
        ASSERT_VALID("{\"properties\":{\"legacy\":false}}", "{}");
        ASSERT_VALID("{\"items\":true}", "[1,\"a\"]");
}

TEST(all_of) {
        const char *schema = "{\"allOf\":[{\"type\":\"integer\"},{\"minimum\":3}]}";

        ASSERT_VALID(schema, "4");
        ASSERT_INVALID(schema, "4.5", "expected integer");
        ASSERT_INVALID(schema, "2", "must be >= 3");
}

TEST(any_of) {
        const char *schema = "{\"anyOf\":[{\"type\":\"string\",\"maxLength\":2},{\"type\":\"integer\",\"minimum\":0}]}";

        ASSERT_VALID(schema, "\"ab\"");
        ASSERT_VALID(schema, "3");
        /* Only one branch accepts the instance's type: its error is the useful one. */
        ASSERT_INVALID(schema, "\"abc\"", "must be at most 2 characters long");
        ASSERT_INVALID(schema, "-1", "must be >= 0");
        /* No branch accepts the type at all. */
        ASSERT_INVALID(schema, "null", "expected integer or string");
        /* Several branches could apply: the generic message. */
        ASSERT_INVALID("{\"anyOf\":[{\"minimum\":10},{\"maximum\":0}]}", "5", "must match at least one of 2 schemas");
        ASSERT_VALID("{\"anyOf\":[{\"minimum\":10},{\"maximum\":0}]}", "10");
}

#define FRAME_SCHEMA                                                                                   \
        "{\"$defs\":{"                                                                                 \
        "\"hello\":{\"type\":\"object\",\"required\":[\"type\",\"node\"],\"properties\":{"             \
        "        \"type\":{\"const\":\"hello\"},\"node\":{\"type\":\"string\"}}},"                     \
        "\"heartbeat\":{\"type\":\"object\",\"required\":[\"type\",\"load\"],\"properties\":{"         \
        "        \"type\":{\"const\":\"heartbeat\"},\"load\":{\"type\":\"number\",\"maximum\":1}}}},"  \
        "\"oneOf\":[{\"$ref\":\"#/$defs/hello\"},{\"$ref\":\"#/$defs/heartbeat\"}]}"

TEST(one_of) {
        ASSERT_VALID(FRAME_SCHEMA, "{\"type\":\"hello\",\"node\":\"n1\"}");
        ASSERT_VALID(FRAME_SCHEMA, "{\"type\":\"heartbeat\",\"load\":0.5}");
        /* Dispatched by the pinned "type": the matching branch's error. */
        ASSERT_INVALID(FRAME_SCHEMA, "{\"type\":\"heartbeat\",\"load\":2}", "load: must be <= 1");
        ASSERT_INVALID(FRAME_SCHEMA, "{\"type\":\"hello\"}", "missing required field \"node\"");
        ASSERT_INVALID(FRAME_SCHEMA, "{\"type\":\"bye\"}", "type: must be one of \"hello\", \"heartbeat\"");
        ASSERT_INVALID(FRAME_SCHEMA, "{\"node\":\"n1\"}", "must match exactly one of 2 schemas (matched 0)");
        ASSERT_INVALID(FRAME_SCHEMA, "[]", "expected object");
        /* More than one branch matches. */
        ASSERT_INVALID("{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":0},{\"maximum\":100}]}", "5",
                       "must match exactly one of 3 schemas (matched 3)");
        ASSERT_VALID("{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":0}]}", "-1");
        ASSERT_INVALID("{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"string\"}]}", "[]",
                       "expected integer or string");
}

TEST(not) {
        ASSERT_VALID("{\"not\":{\"type\":\"string\"}}", "1");
        ASSERT_INVALID("{\"not\":{\"type\":\"string\"}}", "\"s\"", "must not match the \"not\" schema");
        ASSERT_INVALID("{\"properties\":{\"a\":{\"not\":{}}}}", "{\"a\":null}", "a: must not match the \"not\" schema");
}

TEST(if_then_else) {
        const char *schema = "{\"if\":{\"properties\":{\"zone\":{\"const\":\"public\"}}},"
                             "\"then\":{\"required\":[\"provider\"]},\"else\":{\"properties\":{\"provider\":false}}}";

        ASSERT_VALID(schema, "{\"zone\":\"public\",\"provider\":\"aws\"}");
        ASSERT_INVALID(schema, "{\"zone\":\"public\"}", "missing required field \"provider\"");
        ASSERT_VALID(schema, "{\"zone\":\"private\"}");
        ASSERT_INVALID(schema, "{\"zone\":\"private\",\"provider\":\"aws\"}", "provider: not allowed");
        /* then/else without if are ignored; if alone asserts nothing. */
        ASSERT_VALID("{\"then\":false,\"else\":false}", "1");
        ASSERT_VALID("{\"if\":false}", "1");
}

TEST(refs) {
        const char *tree = "{\"type\":\"object\",\"required\":[\"v\"],\"properties\":{\"v\":{\"type\":\"integer\"},"
                           "\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}}}}";

        ASSERT_VALID(tree, "{\"v\":1,\"kids\":[{\"v\":2},{\"v\":3,\"kids\":[{\"v\":4}]}]}");
        ASSERT_INVALID(tree, "{\"v\":1,\"kids\":[{\"v\":2},{\"v\":3,\"kids\":[{\"v\":\"4\"}]}]}",
                       "kids[1].kids[0].v: expected integer");
        /* $ref applies together with its sibling keywords (2020-12). */
        ASSERT_INVALID("{\"$defs\":{\"pos\":{\"minimum\":0}},\"$ref\":\"#/$defs/pos\",\"maximum\":10}", "11",
                       "must be <= 10");
        ASSERT_INVALID("{\"$defs\":{\"pos\":{\"minimum\":0}},\"$ref\":\"#/$defs/pos\",\"maximum\":10}", "-1",
                       "must be >= 0");
        /* JSON pointer escapes (~1 for /) and percent-encoding; pointers to any subschema. */
        ASSERT_INVALID("{\"$defs\":{\"a/b c\":{\"type\":\"string\"}},\"$ref\":\"#/$defs/a~1b%20c\"}", "1",
                       "expected string");
        ASSERT_INVALID("{\"properties\":{\"p\":{\"type\":\"null\"},\"q\":{\"$ref\":\"#/properties/p\"}}}",
                       "{\"q\":1}", "q: expected null");
        ASSERT_VALID("{\"$defs\":{\"a\":{\"$defs\":{\"b\":{\"const\":1}}}},\"$ref\":\"#/$defs/a/$defs/b\"}", "1");
}

TEST(annotations_are_accepted) {
        ASSERT_VALID("{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"$id\":\"https://x/y.json\","
                     "\"$comment\":\"c\",\"title\":\"t\",\"description\":\"d\",\"examples\":[1],\"deprecated\":true,"
                     "\"readOnly\":false,\"writeOnly\":false,\"format\":\"email\",\"default\":3}",
                     "\"not an email\"");
}

TEST(compile_rejects_unknown_keywords) {
        ASSERT_COMPILE_FAILS("{\"properties\":{\"tls\":{\"properties\":{\"port\":{\"maximun\":5}}}}}",
                             "#/properties/tls/properties/port: unknown or unsupported keyword \"maximun\"");
        ASSERT_COMPILE_FAILS("{\"definitions\":{}}", "#: unknown or unsupported keyword \"definitions\"");
        ASSERT_COMPILE_FAILS("{\"contains\":{}}", "#: unknown or unsupported keyword \"contains\"");
        ASSERT_COMPILE_FAILS("{\"unevaluatedProperties\":false}",
                             "#: unknown or unsupported keyword \"unevaluatedProperties\"");
        ASSERT_COMPILE_FAILS("{\"items\":[{}]}",
                             "#/items: must be a schema (an array of schemas is \"prefixItems\" in 2020-12)");
        ASSERT_COMPILE_FAILS("{\"type\":\"string\",\"type\":\"number\"}", "#: keyword \"type\" appears twice");
}

TEST(compile_rejects_malformed) {
        ASSERT_COMPILE_FAILS("5", "#: a schema must be an object or a boolean");
        ASSERT_COMPILE_FAILS("{\"properties\":{\"a\":[]}}", "#/properties/a: a schema must be an object or a boolean");
        ASSERT_COMPILE_FAILS("{\"type\":5}", "#/type: must be a type name or an array of type names");
        ASSERT_COMPILE_FAILS("{\"type\":\"strin\"}", "#/type: unknown type \"strin\"");
        ASSERT_COMPILE_FAILS("{\"type\":[]}", "#/type: must not be empty");
        ASSERT_COMPILE_FAILS("{\"type\":[\"null\",\"null\"]}", "#/type: lists \"null\" twice");
        ASSERT_COMPILE_FAILS("{\"required\":\"a\"}", "#/required: must be an array of strings");
        ASSERT_COMPILE_FAILS("{\"required\":[\"a\",1]}", "#/required: must be an array of strings");
        ASSERT_COMPILE_FAILS("{\"required\":[\"a\",\"a\"]}", "#/required: names \"a\" twice");
        ASSERT_COMPILE_FAILS("{\"enum\":1}", "#/enum: must be an array");
        ASSERT_COMPILE_FAILS("{\"minimum\":\"1\"}", "#/minimum: must be a number");
        ASSERT_COMPILE_FAILS("{\"minLength\":-1}", "#/minLength: must be a non-negative integer");
        ASSERT_COMPILE_FAILS("{\"maxItems\":1.5}", "#/maxItems: must be a non-negative integer");
        ASSERT_COMPILE_FAILS("{\"multipleOf\":0}", "#/multipleOf: must be a number greater than 0");
        ASSERT_COMPILE_FAILS("{\"uniqueItems\":1}", "#/uniqueItems: must be a boolean");
        ASSERT_COMPILE_FAILS("{\"allOf\":[]}", "#/allOf: must be a non-empty array of schemas");
        ASSERT_COMPILE_FAILS("{\"anyOf\":[{},3]}", "#/anyOf/1: a schema must be an object or a boolean");
        ASSERT_COMPILE_FAILS("{\"properties\":[]}", "#/properties: must be an object whose values are schemas");
        ASSERT_COMPILE_FAILS("{\"properties\":{\"a\":{},\"a\":{}}}", "#/properties: names \"a\" twice");
        ASSERT_COMPILE_FAILS("{\"$schema\":\"http://json-schema.org/draft-07/schema#\"}",
                             "#/$schema: must be \"https://json-schema.org/draft/2020-12/schema\"");
        ASSERT_COMPILE_FAILS("{\"properties\":{\"a\":{\"$id\":\"x\"}}}",
                             "#/properties/a/$id: is only supported at the root (it would change what $ref means)");
}

TEST(compile_rejects_bad_patterns) {
        ASSERT_COMPILE_FAILS("{\"pattern\":\"(ab\"}",
                             "#/pattern: invalid regular expression at offset 3: missing closing parenthesis");
        ASSERT_COMPILE_FAILS("{\"pattern\":1}", "#/pattern: must be a string");
        ASSERT_COMPILE_FAILS("{\"patternProperties\":{\"[\":{}}}",
                             "#/patternProperties/[: invalid regular expression at offset 1: missing terminating ] "
                             "for character class");
}

TEST(compile_rejects_bad_refs) {
        ASSERT_COMPILE_FAILS("{\"$ref\":\"#/$defs/missing\"}",
                             "#: $ref \"#/$defs/missing\" does not point to a schema in this document");
        ASSERT_COMPILE_FAILS("{\"$defs\":{\"a\":{}},\"properties\":{\"x\":{\"$ref\":\"#/$defs/b\"}}}",
                             "#/properties/x: $ref \"#/$defs/b\" does not point to a schema in this document");
        ASSERT_COMPILE_FAILS("{\"$ref\":\"#/required/0\",\"required\":[\"a\"]}",
                             "#: $ref \"#/required/0\" does not point to a schema in this document");
        ASSERT_COMPILE_FAILS("{\"$ref\":\"other.json#/a\"}",
                             "#/$ref: \"other.json#/a\": only references inside this document (\"#\" or \"#/...\") "
                             "are supported");
        ASSERT_COMPILE_FAILS("{\"$ref\":\"#anchor\"}",
                             "#/$ref: \"#anchor\": only references inside this document (\"#\" or \"#/...\") are "
                             "supported");
        ASSERT_COMPILE_FAILS("{\"$ref\":\"#/$defs/%zz\",\"$defs\":{}}",
                             "#: $ref \"#/$defs/%zz\" has a malformed %-escape");
        ASSERT_COMPILE_FAILS("{\"$ref\":5}", "#/$ref: must be a string");
}

TEST(compile_rejects_ref_cycles) {
        char err[ERR_MAX];
        JsonSchema *s = NULL;

        ASSERT_COMPILE_FAILS("{\"$ref\":\"#\"}", "#: $ref \"#\" is circular without descending into the instance");
        ASSERT_ERROR(compile_text("{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},"
                                  "\"b\":{\"allOf\":[{\"$ref\":\"#/$defs/a\"}]}},"
                                  "\"properties\":{\"x\":{\"$ref\":\"#/$defs/a\"}}}",
                                  &s, err, sizeof err),
                     -EINVAL);
        ASSERT_NULL(s);
        ASSERT_CONTAINS(err, "is circular without descending into the instance");
        ASSERT_ERROR(compile_text("{\"anyOf\":[{\"not\":{\"$ref\":\"#\"}}]}", &s, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "circular");
        /* Recursion through properties/items descends into the instance: fine. */
        ASSERT_OK(compile_text("{\"properties\":{\"next\":{\"$ref\":\"#\"}},\"items\":{\"$ref\":\"#\"}}", &s, err,
                               sizeof err));
        s = jsonschema_free(s);
        ASSERT_NULL(s);
}

/* A string holding n nested arrays: [[[...]]]. */
static char *nested_arrays(size_t n) {
        char *s = malloc(2 * n + 1);

        if (!s)
                return NULL;
        memset(s, '[', n);
        memset(s + n, ']', n);
        s[2 * n] = '\0';
        return s;
}

TEST(instance_depth_limit) {
        _cleanup_free_ char *ok = nested_arrays(JSONSCHEMA_INSTANCE_DEPTH_MAX);
        _cleanup_free_ char *deep = nested_arrays(JSONSCHEMA_INSTANCE_DEPTH_MAX + 1);
        char err[ERR_MAX];

        ASSERT_NOT_NULL(ok);
        ASSERT_NOT_NULL(deep);
        ASSERT_VALID("{\"items\":{\"$ref\":\"#\"}}", ok);
        ASSERT_VALID("true", ok);
        ASSERT_ERROR(validate_text("{\"items\":{\"$ref\":\"#\"}}", deep, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "[0][0][0]");
        ASSERT_CONTAINS(err, ": nested deeper than 128 levels");
        /* The limit holds even where the schema would not look. */
        ASSERT_ERROR(validate_text("true", deep, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "nested deeper than 128 levels");
        /* Paths name where the limit was passed: root, a, b and 126 arrays are 129 levels. */
        _cleanup_free_ char *arrays = nested_arrays(JSONSCHEMA_INSTANCE_DEPTH_MAX - 1);
        _cleanup_free_ char *mixed = NULL, *expected = NULL;
        ASSERT_NOT_NULL(arrays);
        ASSERT_TRUE(asprintf(&mixed, "{\"a\":{\"b\":%s}}", arrays) > 0);
        expected = malloc(4 * JSONSCHEMA_INSTANCE_DEPTH_MAX + 64);
        ASSERT_NOT_NULL(expected);
        strcpy(expected, "a.b");
        for (unsigned i = 0; i < JSONSCHEMA_INSTANCE_DEPTH_MAX - 2; i++)
                strcat(expected, "[0]");
        strcat(expected, ": nested deeper than 128 levels");
        ASSERT_INVALID("true", mixed, expected);
        arrays[0] = ' ', arrays[JSONSCHEMA_INSTANCE_DEPTH_MAX * 2 - 3] = ' '; /* one level less */
        free(mixed);
        ASSERT_TRUE(asprintf(&mixed, "{\"a\":{\"b\":%s}}", arrays) > 0);
        ASSERT_VALID("true", mixed);
}

/* A schema whose $defs chain d0 -> d1 -> ... -> d(n-1) by $ref, the last one being tail. */
static char *ref_chain(size_t n, const char *tail, const char *root_extra) {
        size_t size = 64 * n + strlen(tail) + strlen(root_extra) + 128;
        char *s = malloc(size), *p = s;

        if (!s)
                return NULL;
        p += sprintf(p, "{%s\"$ref\":\"#/$defs/d0\",\"$defs\":{", root_extra);
        for (size_t i = 0; i + 1 < n; i++)
                p += sprintf(p, "\"d%zu\":{\"$ref\":\"#/$defs/d%zu\"},", i, i + 1);
        sprintf(p, "\"d%zu\":%s}}", n - 1, tail);
        return s;
}

TEST(ref_chain_limits) {
        _cleanup_free_ char *too_long = ref_chain(JSONSCHEMA_EVAL_DEPTH_MAX + 10, "{\"type\":\"string\"}", "");
        _cleanup_free_ char *long_ok = ref_chain(300, "{\"type\":\"string\"}", "");
        _cleanup_free_ char *recursive = ref_chain(300, "{\"items\":{\"$ref\":\"#\"}}", "");
        char err[ERR_MAX];
        JsonSchema *s = NULL;

        ASSERT_NOT_NULL(too_long);
        ASSERT_NOT_NULL(long_ok);
        ASSERT_NOT_NULL(recursive);
        ASSERT_ERROR(compile_text(too_long, &s, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "$ref chain deeper than 512 levels");
        ASSERT_INVALID(long_ok, "1", "expected string");
        /* 300 $refs per instance level: the second level passes the evaluation depth limit. */
        ASSERT_VALID(recursive, "[]");
        ASSERT_ERROR(validate_text(recursive, "[[[]]]", err, sizeof err), -ELOOP);
        ASSERT_CONTAINS(err, "schema evaluation nested deeper than 512 levels");
}

/* n schemas nested as {"not":{"not":...true...}}. */
static char *nested_nots(size_t n) {
        char *s = malloc(8 * n + 8), *p = s;

        if (!s)
                return NULL;
        for (size_t i = 0; i < n; i++)
                p = stpcpy(p, "{\"not\":");
        p = stpcpy(p, "true");
        memset(p, '}', n);
        p[n] = '\0';
        return s;
}

TEST(schema_depth_limit) {
        _cleanup_free_ char *ok = nested_nots(JSONSCHEMA_SCHEMA_DEPTH_MAX);
        _cleanup_free_ char *deep = nested_nots(JSONSCHEMA_SCHEMA_DEPTH_MAX + 1);
        char err[8192];
        JsonSchema *s = NULL;

        ASSERT_NOT_NULL(ok);
        ASSERT_NOT_NULL(deep);
        /* 256 nots: an even number, so "true" is negated back to accepting everything. */
        ASSERT_VALID(ok, "1");
        ASSERT_ERROR(compile_text(deep, &s, err, sizeof err), -EINVAL);
        ASSERT_NULL(s);
        ASSERT_CONTAINS(err, "#/not/not/not/");
        ASSERT_CONTAINS(err, "/not: schema nested deeper than 256 levels");
}

TEST(evaluation_step_limit) {
        char schema[4096], *p = schema;
        char err[ERR_MAX];

        /* d_i = allOf [d_{i+1}, d_{i+1}]: 2^40 evaluations if nothing stopped it. */
        p += sprintf(p, "{\"$ref\":\"#/$defs/d0\",\"$defs\":{");
        for (int i = 0; i < 40; i++)
                p += sprintf(p, "\"d%d\":{\"allOf\":[{\"$ref\":\"#/$defs/d%d\"},{\"$ref\":\"#/$defs/d%d\"}]},",
                             i, i + 1, i + 1);
        sprintf(p, "\"d40\":true}}");
        ASSERT_ERROR(validate_text(schema, "1", err, sizeof err), -E2BIG);
        ASSERT_CONTAINS(err, "validation needs more than 4194304 schema evaluations");
}

TEST(error_buffer_handling) {
        _cleanup_(jsonschema_freep) JsonSchema *s = NULL;
        _cleanup_json_ cJSON *inst = cJSON_Parse("{\"listen_api\":5}");
        char err[ERR_MAX], small[8];

        ASSERT_NOT_NULL(inst);
        ASSERT_OK(compile_text(CONFIG_SCHEMA, &s, err, sizeof err));
        ASSERT_ERROR(jsonschema_validate(s, inst, NULL, 0), -EINVAL);
        ASSERT_ERROR(jsonschema_validate(s, inst, small, sizeof small), -EINVAL);
        ASSERT_STREQ(small, "listen_");
        ASSERT_ERROR(jsonschema_validate(NULL, inst, small, sizeof small), -EINVAL);
        ASSERT_ERROR(jsonschema_validate(s, NULL, NULL, 0), -EINVAL);
        ASSERT_NULL(jsonschema_free(NULL));
}

TEST(compile_leaves_ret_alone_on_failure) {
        _cleanup_json_ cJSON *bad = cJSON_Parse("{\"type\":\"nope\"}");
        JsonSchema *s = (JsonSchema *) 0x1;

        ASSERT_NOT_NULL(bad);
        ASSERT_ERROR(jsonschema_compile(bad, &s, NULL, 0), -EINVAL);
        ASSERT_TRUE(s == (JsonSchema *) 0x1);
        ASSERT_ERROR(jsonschema_compile(NULL, &s, NULL, 0), -EINVAL);
}

/* Applies the schema's defaults to instance_text and compares the result with expected (compact JSON). */
static int defaults_text(const char *schema_text, const char *instance_text, char *out, size_t outsz) {
        _cleanup_(jsonschema_freep) JsonSchema *s = NULL;
        _cleanup_json_ cJSON *instance = cJSON_Parse(instance_text);
        _cleanup_free_ char *printed = NULL;
        int r;

        if (!instance)
                return NOT_COMPILED;
        r = compile_text(schema_text, &s, out, outsz);
        if (r < 0)
                return NOT_COMPILED;
        r = jsonschema_apply_defaults(s, instance);
        if (r < 0)
                return r;
        printed = cJSON_PrintUnformatted(instance);
        if (!printed)
                return -ENOMEM;
        snprintf(out, outsz, "%s", printed);
        return 0;
}

#define ASSERT_DEFAULTS(schema, instance, expected)                                                    \
        do {                                                                                           \
                char _out_[ERR_MAX] = "";                                                              \
                ASSERT_OK(defaults_text((schema), (instance), _out_, sizeof _out_));                   \
                ASSERT_STREQ(_out_, (expected));                                                       \
        } while (0)

TEST(defaults) {
        const char *schema =
                "{\"type\":\"object\",\"properties\":{"
                "\"port\":{\"type\":\"integer\",\"default\":8443},"
                "\"name\":{\"type\":\"string\"},"
                "\"tls\":{\"type\":\"object\",\"default\":{},\"properties\":{"
                "        \"min_version\":{\"default\":\"1.3\"},\"ciphers\":{\"default\":[\"a\"]}}},"
                "\"limits\":{\"type\":\"object\",\"properties\":{\"body\":{\"default\":1048576}}},"
                "\"nodes\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
                "        \"zone\":{\"default\":\"private\"}}}},"
                "\"log\":{\"$ref\":\"#/$defs/log\"}},"
                "\"allOf\":[{\"properties\":{\"workers\":{\"default\":4}}}],"
                "\"$defs\":{\"log\":{\"type\":\"string\",\"default\":\"info\"}}}";

        /* Absent properties get their default; an object default is then filled in itself; objects that
         * exist are filled; "limits" is absent and has no default, so it stays absent. */
        ASSERT_DEFAULTS(schema, "{}",
                        "{\"workers\":4,\"log\":\"info\",\"port\":8443,"
                        "\"tls\":{\"ciphers\":[\"a\"],\"min_version\":\"1.3\"}}");
        ASSERT_DEFAULTS(schema,
                        "{\"port\":1,\"limits\":{},\"nodes\":[{},{\"zone\":\"public\"},3],\"tls\":{\"ciphers\":[]}}",
                        "{\"port\":1,\"limits\":{\"body\":1048576},"
                        "\"nodes\":[{\"zone\":\"private\"},{\"zone\":\"public\"},3],"
                        "\"tls\":{\"ciphers\":[],\"min_version\":\"1.3\"},\"workers\":4,\"log\":\"info\"}");
        /* Non-objects are left alone; defaults that do not validate are copied as they are. */
        ASSERT_DEFAULTS(schema, "[1]", "[1]");
        ASSERT_DEFAULTS("{\"properties\":{\"a\":{\"type\":\"string\",\"default\":5}}}", "{}", "{\"a\":5}");
        /* Conditional applicators are not followed. */
        ASSERT_DEFAULTS("{\"anyOf\":[{\"properties\":{\"a\":{\"default\":1}}}]}", "{}", "{}");
}

TEST(defaults_that_recreate_themselves_are_bounded) {
        _cleanup_(jsonschema_freep) JsonSchema *s = NULL;
        _cleanup_json_ cJSON *one = cJSON_CreateObject(), *two = cJSON_CreateObject();
        char err[ERR_MAX];
        size_t depth = 0;

        ASSERT_NOT_NULL(one);
        ASSERT_NOT_NULL(two);
        /* Each created {} gets its own "a": the chain stops at the instance depth limit. */
        ASSERT_OK(compile_text("{\"properties\":{\"a\":{\"$ref\":\"#\",\"default\":{}}}}", &s, err, sizeof err));
        ASSERT_OK(jsonschema_apply_defaults(s, one));
        for (const cJSON *j = one; j; j = cJSON_GetObjectItemCaseSensitive(j, "a"))
                depth++;
        ASSERT_UEQ(depth, JSONSCHEMA_INSTANCE_DEPTH_MAX + 1);
        s = jsonschema_free(s);
        /* Two such properties would make a tree of 2^128 objects. */
        ASSERT_OK(compile_text("{\"properties\":{\"a\":{\"$ref\":\"#\",\"default\":{}},"
                               "\"b\":{\"$ref\":\"#\",\"default\":{}}}}",
                               &s, err, sizeof err));
        ASSERT_ERROR(jsonschema_apply_defaults(s, two), -E2BIG);
        ASSERT_ERROR(jsonschema_apply_defaults(NULL, two), -EINVAL);
}

TEST(validate_after_defaults) {
        _cleanup_(jsonschema_freep) JsonSchema *s = NULL;
        _cleanup_json_ cJSON *inst = cJSON_Parse("{\"listen_api\":\"x\"}");
        char err[ERR_MAX];

        ASSERT_NOT_NULL(inst);
        ASSERT_OK(compile_text("{\"required\":[\"listen_api\",\"port\"],\"properties\":{\"port\":{\"default\":443,"
                               "\"type\":\"integer\"}}}",
                               &s, err, sizeof err));
        ASSERT_ERROR(jsonschema_validate(s, inst, err, sizeof err), -EINVAL);
        ASSERT_STREQ(err, "missing required field \"port\"");
        ASSERT_OK(jsonschema_apply_defaults(s, inst));
        ASSERT_OK(jsonschema_validate(s, inst, err, sizeof err));
        ASSERT_STREQ(err, "");
}
