/* jsonschema-check: validates JSON files against a schema with common/jsonschema, one verdict a line. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonschema.h"

#define FILE_SIZE_MAX (64U << 20)

DEFINE_TRIVIAL_CLEANUP_FUNC(cJSON *, cJSON_Delete);

/* Reads a whole file into a NUL-terminated buffer the caller frees. */
static int read_file(const char *path, char **ret, size_t *ret_size) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated = 0;

        if (!f)
                return negative_errno();
        for (;;) {
                if (allocated - size < 4096) {
                        size_t m = allocated ? allocated * 2 : 65536;
                        char *p;
                        if (m > FILE_SIZE_MAX + 1)
                                return -EFBIG;
                        p = realloc(buf, m);
                        if (!p)
                                return -ENOMEM;
                        buf = p;
                        allocated = m;
                }
                size_t n = fread(buf + size, 1, allocated - size - 1, f);
                size += n;
                if (n == 0)
                        break;
        }
        if (ferror(f))
                return -EIO;
        buf[size] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

/* Parses a file as one JSON document; prints why not and returns NULL when it cannot. */
static cJSON *load_json(const char *path) {
        _cleanup_free_ char *text = NULL;
        const char *end = NULL;
        size_t size = 0;
        cJSON *json;
        int r;

        r = read_file(path, &text, &size);
        if (r < 0) {
                fprintf(stderr, "jsonschema-check: %s: %s\n", path, strerror(-r));
                return NULL;
        }
        if (strlen(text) != size) {
                fprintf(stderr, "jsonschema-check: %s: contains a NUL byte\n", path);
                return NULL;
        }
        json = cJSON_ParseWithOpts(text, &end, true);
        if (!json) {
                end = cJSON_GetErrorPtr();
                fprintf(stderr, "jsonschema-check: %s: not valid JSON (near byte %zu)\n", path,
                        end && end >= text ? (size_t) (end - text) : (size_t) 0);
        }
        return json;
}

int main(int argc, char **argv) {
        _cleanup_(jsonschema_freep) JsonSchema *schema = NULL;
        _cleanup_(cJSON_Deletep) cJSON *schema_json = NULL;
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
                _cleanup_(cJSON_Deletep) cJSON *instance = load_json(argv[i]);
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
