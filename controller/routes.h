/* routes.h: the controller's HTTP route table: method + path pattern -> handler and allowed roles.
 * The table is the single place that says who may call what (deny by default); the permission
 * matrix test enumerates it (sluice-controller --print-routes). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Who a request acts as. A request carries at most one principal. */
typedef enum Principal {
        PRINCIPAL_NONE = 0,            /* no credentials */
        PRINCIPAL_ADMIN = 1u << 0,     /* API key with role admin */
        PRINCIPAL_DEVELOPER = 1u << 1, /* API key with role developer */
        PRINCIPAL_AUDITOR = 1u << 2,   /* API key with role auditor */
        PRINCIPAL_AGENT = 1u << 3,     /* an agent's client certificate (agent endpoint only) */
        PRINCIPAL_PUBLIC = 1u << 4,    /* marks routes anyone may call (health, console files) */
} Principal;

#define ROUTE_PARAMS_MAX 4
#define ROUTE_PARAM_LEN_MAX 128

typedef struct RouteParams {
        size_t n;
        char name[ROUTE_PARAMS_MAX][32];
        char value[ROUTE_PARAMS_MAX][ROUTE_PARAM_LEN_MAX];
} RouteParams;

typedef struct Route {
        const char *method;  /* "GET", "POST", "DELETE" */
        const char *pattern; /* "/api/v1/nodes/{name}": literal segments and {param} segments */
        unsigned allowed;    /* Principal bits; PRINCIPAL_PUBLIC: no credentials needed */
        const char *summary;
        int handler;         /* index into the controller's handler table */
} Route;

/* Finds the route for method and path (no query string). Returns 0 and the route and its
 * parameters; -ENOENT when no pattern matches the path (404); -EBADRQC when the path matches but
 * not with this method (405), with the methods that would have matched in ret_allow (", "
 * separated, NUL-terminated, allow_size bytes); -EINVAL for a path that is not absolute, has empty
 * or dot segments, or a parameter longer than ROUTE_PARAM_LEN_MAX (400). */
int route_match(const Route *table, size_t n, const char *method, const char *path, const Route **ret,
                RouteParams *ret_params, char *ret_allow, size_t allow_size);

/* Whether principal p may call route r (deny by default). */
bool route_allows(const Route *r, Principal p);

/* The value of parameter name, or NULL. */
const char *route_param(const RouteParams *p, const char *name);
