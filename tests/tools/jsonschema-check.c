/* jsonschema-check: validates JSON files against a schema with common/jsonschema, one verdict a line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "json.h"
#include "jsonschema.h"

#define FILE_SIZE_MAX ((size_t) 64 << 20)

/* Reads and parses a file as one JSON document; prints why not and returns NULL when it cannot. */
static cJSON *load_json(const char *path) {
        _cleanup_free_ char *text = NULL;
        char err[256];
        cJSON *json = NULL;
        size_t size = 0;
        int r;

        r = file_read_all(path, FILE_SIZE_MAX, &text, &size);
        if (r < 0) {
                fprintf(stderr, "jsonschema-check: %s: %s\n", path, strerror(-r));
                return NULL;
        }
        r = json_parse(text, size, &json, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "jsonschema-check: %s: %s\n", path, r == -EINVAL ? err : strerror(-r));
                return NULL;
        }
        return json;
}

int main(int argc, char **argv) {
        _cleanup_(jsonschema_freep) JsonSchema *schema = NULL;
        _cleanup_json_ cJSON *schema_json = NULL;
        char err[1024];
        int r;

        if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
                fprintf(argc < 2 ? stderr : stdout,
                        "Usage: %s SCHEMA.json [INSTANCE.json...]\n"
                        "Prints \"valid\" or \"invalid: <reason>\" for each instance, one line each;\n"
                        "with no instance, only checks that the schema compiles.\n"
                        "Exits 0, or 2 when the schema or an instance cannot be read or parsed.\n",
                        argv[0]);
                return argc < 2 ? 2 : 0;
        }
        schema_json = load_json(argv[1]);
        if (!schema_json)
                return 2;
        r = jsonschema_compile(schema_json, &schema, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "jsonschema-check: %s: %s\n", argv[1], r == -EINVAL ? err : strerror(-r));
                return 2;
        }
        for (int i = 2; i < argc; i++) {
                _cleanup_json_ cJSON *instance = load_json(argv[i]);
                if (!instance)
                        return 2;
                r = jsonschema_validate(schema, instance, err, sizeof err);
                if (r == 0)
                        puts("valid");
                else if (r == -EINVAL)
                        printf("invalid: %s\n", err);
                else {
                        fprintf(stderr, "jsonschema-check: %s: %s%s%s\n", argv[i], strerror(-r), err[0] ? ": " : "",
                                err);
                        return 2;
                }
        }
        if (fflush(stdout) != 0) {
                perror("jsonschema-check: stdout");
                return 2;
        }
        return 0;
}
