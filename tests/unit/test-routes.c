/* test-routes.c: route matching, 404 vs 405, parameters, and deny-by-default permissions. */
#include "routes.h"
#include "test.h"

static const Route table[] = {
        { "GET", "/healthz", PRINCIPAL_PUBLIC, "health", 0 },
        { "GET", "/", PRINCIPAL_PUBLIC, "console", 6 },
        { "GET", "/api/v1/nodes", PRINCIPAL_ADMIN | PRINCIPAL_AUDITOR, "list nodes", 1 },
        { "GET", "/api/v1/nodes/{name}", PRINCIPAL_ADMIN | PRINCIPAL_AUDITOR, "get node", 2 },
        { "DELETE", "/api/v1/nodes/{name}", PRINCIPAL_ADMIN, "remove node", 3 },
        { "POST", "/v1/chat/completions", PRINCIPAL_DEVELOPER | PRINCIPAL_ADMIN, "chat", 4 },
        { "GET", "/v1/jobs/{id}/events/{n}", PRINCIPAL_DEVELOPER, "nested params", 5 },
};

TEST(exact_and_parameter_matches) {
        const Route *r;
        RouteParams p;
        char allow[64];

        ASSERT_OK(route_match(table, ELEMENTSOF(table), "GET", "/healthz", &r, &p, allow, sizeof allow));
        ASSERT_EQ(r->handler, 0);
        ASSERT_OK(route_match(table, ELEMENTSOF(table), "GET", "/", &r, &p, allow, sizeof allow));
        ASSERT_EQ(r->handler, 6);
        ASSERT_OK(route_match(table, ELEMENTSOF(table), "GET", "/api/v1/nodes/gpu-1", &r, &p, allow, sizeof allow));
        ASSERT_EQ(r->handler, 2);
        ASSERT_STREQ(route_param(&p, "name"), "gpu-1");
        ASSERT_NULL(route_param(&p, "other"));
        ASSERT_OK(route_match(table, ELEMENTSOF(table), "DELETE", "/api/v1/nodes/gpu-1", &r, &p, allow, sizeof allow));
        ASSERT_EQ(r->handler, 3);
        ASSERT_OK(route_match(table, ELEMENTSOF(table), "GET", "/v1/jobs/j1/events/7", &r, &p, allow, sizeof allow));
        ASSERT_STREQ(route_param(&p, "id"), "j1");
        ASSERT_STREQ(route_param(&p, "n"), "7");
}

TEST(not_found_and_wrong_method) {
        const Route *r = NULL;
        RouteParams p;
        char allow[64];

        ASSERT_ERROR(route_match(table, ELEMENTSOF(table), "GET", "/nope", &r, &p, allow, sizeof allow), -ENOENT);
        ASSERT_ERROR(route_match(table, ELEMENTSOF(table), "GET", "/api/v1/nodes/a/b", &r, &p, allow, sizeof allow), -ENOENT);
        ASSERT_ERROR(route_match(table, ELEMENTSOF(table), "POST", "/api/v1/nodes/x", &r, &p, allow, sizeof allow), -EBADRQC);
        ASSERT_STREQ(allow, "GET, DELETE");
        ASSERT_ERROR(route_match(table, ELEMENTSOF(table), "GET", "/healthz/", &r, &p, allow, sizeof allow), -EINVAL);
        ASSERT_NULL(r);
}

TEST(malformed_paths) {
        const Route *r;
        RouteParams p;
        char allow[64], longname[300];

        ASSERT_ERROR(route_match(table, ELEMENTSOF(table), "GET", "healthz", &r, &p, allow, sizeof allow), -EINVAL);
        ASSERT_ERROR(route_match(table, ELEMENTSOF(table), "GET", "/api//v1/nodes", &r, &p, allow, sizeof allow), -EINVAL);
        ASSERT_ERROR(route_match(table, ELEMENTSOF(table), "GET", "/api/v1/nodes/..", &r, &p, allow, sizeof allow), -EINVAL);
        ASSERT_ERROR(route_match(table, ELEMENTSOF(table), "GET", "/api/v1/nodes/.", &r, &p, allow, sizeof allow), -EINVAL);
        memset(longname, 'a', sizeof longname);
        memcpy(longname, "/api/v1/nodes/", 14);
        longname[sizeof longname - 1] = '\0';
        ASSERT_ERROR(route_match(table, ELEMENTSOF(table), "GET", longname, &r, &p, allow, sizeof allow), -EINVAL);
        ASSERT_ERROR(route_match(table, ELEMENTSOF(table), "GET", NULL, &r, &p, allow, sizeof allow), -EINVAL);
}

TEST(deny_by_default) {
        ASSERT_TRUE(route_allows(&table[0], PRINCIPAL_NONE));    /* public */
        ASSERT_FALSE(route_allows(&table[2], PRINCIPAL_NONE));
        ASSERT_FALSE(route_allows(&table[2], PRINCIPAL_DEVELOPER));
        ASSERT_TRUE(route_allows(&table[2], PRINCIPAL_AUDITOR));
        ASSERT_FALSE(route_allows(&table[4], PRINCIPAL_AUDITOR)); /* auditors read, never write */
        ASSERT_FALSE(route_allows(&table[5], PRINCIPAL_AGENT));   /* agent certificates open no API */
        ASSERT_FALSE(route_allows(&table[5], PRINCIPAL_AUDITOR));
        ASSERT_TRUE(route_allows(&table[5], PRINCIPAL_DEVELOPER));
}
