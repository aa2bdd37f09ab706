/* routes.c: matching request paths against the route table. */
#include "routes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"

/* Compares one pattern with a path segment by segment; fills params on a match. */
static bool pattern_matches(const char *pattern, const char *path, RouteParams *params, int *ret_err) {
        const char *p = pattern, *s = path;

        params->n = 0;
        while (*p && *s) {
                if (*p != '/' || *s != '/')
                        return false;
                p++, s++;
                size_t plen = strcspn(p, "/"), slen = strcspn(s, "/");
                if (p[0] == '{' && plen > 2 && p[plen - 1] == '}') {
                        if (params->n == ROUTE_PARAMS_MAX || slen >= ROUTE_PARAM_LEN_MAX) {
                                *ret_err = -EINVAL;
                                return false;
                        }
                        snprintf(params->name[params->n], sizeof params->name[0], "%.*s", (int) (plen - 2), p + 1);
                        snprintf(params->value[params->n], sizeof params->value[0], "%.*s", (int) slen, s);
                        params->n++;
                } else if (plen != slen || memcmp(p, s, plen) != 0)
                        return false;
                p += plen, s += slen;
        }
        return !*p && !*s;
}

/* An absolute path of non-empty segments, none "." or "..". */
static bool path_valid(const char *path) {
        if (!path || path[0] != '/')
                return false;
        if (streq(path, "/"))
                return true;
        for (const char *s = path; *s == '/';) {
                size_t len = strcspn(++s, "/");
                if (len == 0 || (len == 1 && s[0] == '.') || (len == 2 && strneq(s, "..", 2)))
                        return false;
                s += len;
        }
        return true;
}

int route_match(const Route *table, size_t n, const char *method, const char *path, const Route **ret,
                RouteParams *ret_params, char *ret_allow, size_t allow_size) {
        bool path_known = false;
        size_t used = 0;
        int err = 0;

        if (!path_valid(path))
                return -EINVAL;
        if (ret_allow && allow_size)
                ret_allow[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                RouteParams params;
                if (!pattern_matches(table[i].pattern, path, &params, &err)) {
                        if (err < 0)
                                return err;
                        continue;
                }
                if (streq(table[i].method, method)) {
                        *ret = &table[i];
                        if (ret_params)
                                *ret_params = params;
                        return 0;
                }
                path_known = true;
                if (ret_allow && used < allow_size)
                        used += (size_t) snprintf(ret_allow + used, allow_size - used, "%s%s", used ? ", " : "",
                                                  table[i].method);
        }
        return path_known ? -EBADRQC : -ENOENT;
}

bool route_allows(const Route *r, Principal p) {
        if (r->allowed & PRINCIPAL_PUBLIC)
                return true;
        return p != PRINCIPAL_NONE && (r->allowed & p) != 0;
}

const char *route_param(const RouteParams *p, const char *name) {
        for (size_t i = 0; i < p->n; i++)
                if (streq(p->name[i], name))
                        return p->value[i];
        return NULL;
}
