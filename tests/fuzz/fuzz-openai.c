/* fuzz-openai.c: the generation request parser (OpenAI chat and completions, the native form) on
 * any JSON, and the route matcher on any method and path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "openai.h"
#include "routes.h"

static const Route table[] = {
        { "GET", "/v1/jobs/{id}", PRINCIPAL_DEVELOPER, "", 0 },
        { "DELETE", "/v1/jobs/{id}", PRINCIPAL_DEVELOPER, "", 1 },
        { "POST", "/api/v1/nodes/{name}/revoke", PRINCIPAL_ADMIN, "", 2 },
        { "GET", "/healthz", PRINCIPAL_PUBLIC, "", 3 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_json_ cJSON *j = NULL;
        char err[512], path[1100], allow[64];
        const Route *route;
        RouteParams params;

        if (json_parse((const char *) data, size, &j, err, sizeof err) == 0)
                for (OpenAIKind k = OPENAI_CHAT; k <= OPENAI_GENERATE; k++) {
                        OpenAIRequest oa;
                        if (openai_parse(k, j, 16, 4096, &oa, err, sizeof err) == 0)
                                cJSON_Delete(oa.infer);
                }
        /* the input as a path (up to the first NUL), with each method */
        snprintf(path, sizeof path, "%.*s", (int) MIN(size, sizeof path - 1), (const char *) data);
        (void) route_match(table, ELEMENTSOF(table), "GET", path, &route, &params, allow, sizeof allow);
        (void) route_match(table, ELEMENTSOF(table), "DELETE", path, &route, &params, allow, sizeof allow);
        return 0;
}
