/* test-json.c: parse errors with positions, typed getters naming the field, OOM through cJSON hooks. */
#include <stdlib.h>

#include "json.h"
#include "test.h"

static cJSON *parse_ok(const char *text) {
        char err[256];
        cJSON *j = NULL;

        if (json_parse(text, strlen(text), &j, err, sizeof err) < 0)
                return NULL;
        return j;
}

TEST(parse_reports_line_and_column) {
        const char text[] = "{\n  \"a\": 1,\n  \"b\": tru\n}";
        char err[256];
        cJSON *j = (cJSON *) 1;

        ASSERT_ERROR(json_parse(text, strlen(text), &j, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "line 3, column");
        ASSERT_CONTAINS(err, "invalid JSON");
        ASSERT_TRUE(j == (cJSON *) 1);
}

TEST(parse_rejects_trailing_text_nul_and_truncation) {
        char err[256];
        cJSON *j;

        ASSERT_ERROR(json_parse("{} {}", 5, &j, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "line 1, column 4");
        ASSERT_ERROR(json_parse("{\"a\":\0}", 7, &j, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "NUL");
        ASSERT_ERROR(json_parse("{\"a\": [1, 2", 11, &j, err, sizeof err), -EINVAL);
        ASSERT_ERROR(json_parse("", 0, &j, err, sizeof err), -EINVAL);
        ASSERT_OK(json_parse("{} \n\t", 5, &j, err, sizeof err)); /* trailing white space is fine */
        cJSON_Delete(j);
        /* only len bytes are read: the rest of the buffer is not JSON */
        ASSERT_OK(json_parse("[1]garbage", 3, &j, err, sizeof err));
        cJSON_Delete(j);
}

TEST(getters_name_the_field) {
        _cleanup_json_ cJSON *j = parse_ok("{\"listen_api\": 8443, \"tls\": {\"cert_file\": \"/c\", \"port\": 70000, "
                                           "\"ratio\": 0.5, \"on\": true, \"list\": [1], \"nul\": null}, \"s\": \"x\"}");
        const char *s;
        const cJSON *o;
        char err[256];
        int64_t i;
        double d;
        bool b;

        ASSERT_NOT_NULL(j);
        ASSERT_ERROR(json_get_string(j, "listen_api", &s, err, sizeof err), -EINVAL);
        ASSERT_STREQ(err, "listen_api: expected string");
        ASSERT_OK(json_get_string(j, "tls.cert_file", &s, err, sizeof err));
        ASSERT_STREQ(s, "/c");
        ASSERT_ERROR(json_get_string(j, "tls.key_file", &s, err, sizeof err), -ENOENT);
        ASSERT_STREQ(err, "missing field \"tls.key_file\"");
        ASSERT_ERROR(json_get_string(j, "tls.nul", &s, err, sizeof err), -ENOENT);
        ASSERT_ERROR(json_get_string(j, "s.x", &s, err, sizeof err), -EINVAL);
        ASSERT_STREQ(err, "s: expected object");
        ASSERT_ERROR(json_get_int(j, "tls.port", 1, 65535, &i, err, sizeof err), -EINVAL);
        ASSERT_STREQ(err, "tls.port: must be between 1 and 65535");
        ASSERT_ERROR(json_get_int(j, "tls.ratio", 0, 10, &i, err, sizeof err), -EINVAL);
        ASSERT_STREQ(err, "tls.ratio: expected integer");
        ASSERT_ERROR(json_get_int(j, "s", 0, 10, &i, err, sizeof err), -EINVAL);
        ASSERT_STREQ(err, "s: expected integer");
        ASSERT_OK(json_get_int(j, "listen_api", 1, 65535, &i, err, sizeof err));
        ASSERT_EQ(i, 8443);
        ASSERT_OK(json_get_double(j, "tls.ratio", &d, err, sizeof err));
        ASSERT_TRUE(d == 0.5);
        ASSERT_OK(json_get_bool(j, "tls.on", &b, err, sizeof err));
        ASSERT_TRUE(b);
        ASSERT_ERROR(json_get_bool(j, "s", &b, err, sizeof err), -EINVAL);
        ASSERT_STREQ(err, "s: expected boolean");
        ASSERT_OK(json_get_array(j, "tls.list", &o, err, sizeof err));
        ASSERT_ERROR(json_get_object(j, "tls.list", &o, err, sizeof err), -EINVAL);
        ASSERT_STREQ(err, "tls.list: expected object");
        ASSERT_OK(json_get_object(j, "tls", &o, err, sizeof err));
        ASSERT_ERROR(json_get_array(j, "tls", &o, err, sizeof err), -EINVAL);
        ASSERT_STREQ(err, "tls: expected array");
}

TEST(int_getter_edges) {
        _cleanup_json_ cJSON *j = parse_ok("{\"big\": 1e300, \"neg\": -5, \"exact\": 9007199254740992}");
        char err[256];
        int64_t i;

        ASSERT_ERROR(json_get_int(j, "big", INT64_MIN, INT64_MAX, &i, err, sizeof err), -EINVAL);
        ASSERT_ERROR(json_get_int(j, "neg", 0, 10, &i, err, sizeof err), -EINVAL);
        ASSERT_OK(json_get_int(j, "neg", -10, 10, &i, err, sizeof err));
        ASSERT_EQ(i, -5);
        ASSERT_OK(json_get_int(j, "exact", 0, INT64_MAX, &i, err, sizeof err));
        ASSERT_EQ(i, INT64_C(9007199254740992));
}

/* cJSON's allocator hooks let us fail the n-th allocation and check nothing leaks or crashes. */
static int alloc_budget;
static void *failing_malloc(size_t n) {
        if (alloc_budget-- <= 0)
                return NULL;
        return malloc(n);
}

TEST(out_of_memory_while_parsing_is_an_error_not_a_crash) {
        const char text[] = "{\"a\": [1, 2, {\"b\": \"cccccccccccc\"}], \"d\": {\"e\": null}}";
        cJSON_Hooks hooks = { failing_malloc, free };
        bool succeeded = false;

        cJSON_InitHooks(&hooks);
        for (int budget = 0; budget < 64 && !succeeded; budget++) {
                char err[256];
                cJSON *j = NULL;
                int r;

                alloc_budget = budget;
                r = json_parse(text, strlen(text), &j, err, sizeof err);
                if (r >= 0) {
                        succeeded = true;
                        cJSON_Delete(j);
                } else
                        ASSERT_ERROR(r, -EINVAL); /* cJSON reports OOM as a parse failure */
        }
        cJSON_InitHooks(NULL);
        ASSERT_TRUE(succeeded);
}

TEST(print_roundtrip) {
        _cleanup_json_ cJSON *j = parse_ok("{ \"a\" : [ 1 , \"x\" ] }");
        _cleanup_free_ char *s = NULL;

        ASSERT_OK(json_print(j, &s));
        ASSERT_STREQ(s, "{\"a\":[1,\"x\"]}");
}
