/* test-config.c: the config loader: schema errors that name the field, defaults, size and file errors. */
#include <stdio.h>

#include "config.h"
#include "fileio.h"
#include "json.h"
#include "schemas.h"
#include "test.h"

static int load_text(const char *text, cJSON **ret, char *err, size_t errsz) {
        return config_load_text("test.json", text, strlen(text), "config/cli", ret, err, errsz);
}

TEST(valid_config_gets_defaults) {
        _cleanup_json_ cJSON *c = NULL;
        const char *s;
        char err[512];
        int64_t i;

        ASSERT_OK(load_text("{\"controller_url\": \"https://ctl.example:9443\"}", &c, err, sizeof err));
        ASSERT_OK(json_get_string(c, "controller_url", &s, err, sizeof err));
        ASSERT_STREQ(s, "https://ctl.example:9443");
        ASSERT_OK(json_get_int(c, "timeout_ms", 1, 600000, &i, err, sizeof err)); /* default filled in */
        ASSERT_EQ(i, 30000);
        ASSERT_OK(json_get_string(c, "output", &s, err, sizeof err));
        ASSERT_STREQ(s, "text");
        ASSERT_ERROR(json_get_string(c, "api_key_file", &s, err, sizeof err), -ENOENT); /* no default */
}

TEST(errors_name_the_field) {
        static const struct {
                const char *text, *msg;
        } cases[] = {
                { "{\"timeout_ms\": \"fast\"}", "config test.json: timeout_ms: expected integer" },
                { "{\"timeout_ms\": 0}", "config test.json: timeout_ms: must be >= 1" },
                { "{\"output\": \"yaml\"}", "config test.json: output: must be one of" },
                { "{\"controler_url\": \"x\"}", "config test.json: unknown field \"controler_url\"" },
                { "{\"controller_url\": \"ftp://x\"}", "config test.json: controller_url: " },
                { "[1]", "config test.json: expected object" },
                { "{\"timeout_ms\": 5,}", "config test.json: line 1, column" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                cJSON *c = NULL;
                char err[512] = "";
                if (load_text(cases[i].text, &c, err, sizeof err) != -EINVAL || c || !strstr(err, cases[i].msg)) {
                        test_fail(__FILE__, __LINE__, "%s: got \"%s\", want \"%s...\"", cases[i].text, err, cases[i].msg);
                        cJSON_Delete(c);
                        return;
                }
        }
}

TEST(file_errors) {
        char path[512], err[512];
        cJSON *c = NULL;
        _cleanup_free_ char *big = malloc(CONFIG_SIZE_MAX + 2);

        ASSERT_ERROR(config_load("/nonexistent/cli.json", "config/cli", &c, err, sizeof err), -ENOENT);
        ASSERT_STREQ(err, "config /nonexistent/cli.json: No such file or directory");
        snprintf(path, sizeof path, "%s/big.json", test_tmpdir());
        memset(big, ' ', CONFIG_SIZE_MAX + 1);
        big[0] = '{';
        big[CONFIG_SIZE_MAX] = '}';
        ASSERT_OK(file_write_atomic(path, big, CONFIG_SIZE_MAX + 1, 0600));
        ASSERT_ERROR(config_load(path, "config/cli", &c, err, sizeof err), -EFBIG);
        ASSERT_CONTAINS(err, "larger than");
        snprintf(path, sizeof path, "%s/ok.json", test_tmpdir());
        ASSERT_OK(file_write_atomic(path, "{\"output\":\"json\"}\n", 18, 0600));
        ASSERT_OK(config_load(path, "config/cli", &c, err, sizeof err));
        cJSON_Delete(c);
        ASSERT_ERROR(config_load(path, "config/nope", &c, err, sizeof err), -ENOENT);
        ASSERT_CONTAINS(err, "no schema named \"config/nope\"");
}

TEST(every_builtin_schema_compiles) {
        for (size_t i = 0; schemas_name(i); i++) {
                cJSON *c = NULL;
                char err[512] = "";
                int r = config_load_text("probe", "null", 4, schemas_name(i), &c, err, sizeof err);
                /* null is valid for no config schema, but the schema itself must compile */
                if (strstr(err, "is broken")) {
                        test_fail(__FILE__, __LINE__, "%s: %s", schemas_name(i), err);
                        return;
                }
                ASSERT_TRUE(r < 0);
        }
}
