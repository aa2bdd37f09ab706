/* rules-api.c: GET/PUT /api/v1/rules and GET /api/v1/rules/versions (see rules-api.h). */
#include "rules-api.h"

#include <errno.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "controller.h"
#include "json.h"
#include "rules.h"
#include "ruleset.h"
#include "store-rules.h"

#define QUERY_ARG_MAX 64 /* bytes of one "name=value" query argument */

/* Reads the request's query, which may name only name (once), as an integer within [min, max]
 * into *ret (left as it is when absent). 0; or answers 400 naming the problem and returns -EINVAL. */
static int query_int(HttpRequest *r, const char *name, int64_t min, int64_t max, int64_t *ret) {
        size_t nlen = strlen(name);
        bool seen = false;

        for (int i = 0; lws_hdr_fragment_length(r->wsi, WSI_TOKEN_HTTP_URI_ARGS, i) > 0; i++) {
                char arg[QUERY_ARG_MAX + 1], *end;
                const char *v;
                long long n;

                if (lws_hdr_copy_fragment(r->wsi, arg, sizeof arg, WSI_TOKEN_HTTP_URI_ARGS, i) < 0) {
                        http_reply_error(r, 400, NULL, "invalid_request", "query: an argument longer than %d bytes",
                                         QUERY_ARG_MAX);
                        return -EINVAL;
                }
                if (strncmp(arg, name, nlen) != 0 || arg[nlen] != '=') {
                        http_reply_error(r, 400, NULL, "invalid_request",
                                         "query: unknown argument \"%s\" (this endpoint takes only %s=)", arg, name);
                        return -EINVAL;
                }
                if (seen) {
                        http_reply_error(r, 400, NULL, "invalid_request", "query: %s given twice", name);
                        return -EINVAL;
                }
                seen = true;
                v = arg + nlen + 1;
                errno = 0;
                n = strtoll(v, &end, 10);
                if (!*v || *end || errno || v[0] == '-' || v[0] == '+' || n < min || n > max) {
                        http_reply_error(r, 400, NULL, "invalid_request",
                                         "%s: expected a whole number from %" PRId64 " to %" PRId64 ", not \"%s\"",
                                         name, min, max, v);
                        return -EINVAL;
                }
                *ret = n;
        }
        return 0;
}

/* Maps a store failure to 404 (unknown version) or 500. */
static void reply_store_error(HttpRequest *r, int k, const char *err) {
        if (k == -ENOENT)
                http_reply_error(r, 404, NULL, "rules_version_not_found", "%s", err);
        else
                http_reply_error(r, 500, NULL, "internal", "%s", err);
}

void rules_api_get(HttpRequest *r) {
        _cleanup_(store_rule_set_freep) StoreRuleSet *rs = NULL;
        int64_t version = (int64_t) r->ctl->rules_version;
        cJSON *o, *doc = NULL;
        char err[256];
        int k;

        if (query_int(r, "version", 1, INT64_MAX, &version) < 0)
                return;
        k = store_rules_get(r->ctl->store, (uint64_t) version, &rs, err, sizeof err);
        if (k < 0) {
                reply_store_error(r, k, err);
                return;
        }
        if (json_parse(rs->document, strlen(rs->document), &doc, err, sizeof err) < 0) {
                http_reply_error(r, 500, NULL, "internal", "rule set version %" PRIu64 " in the database: %s",
                                 rs->version, err);
                return;
        }
        o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "version", (double) rs->version);
        cJSON_AddItemToObject(o, "rules", doc);
        cJSON_AddStringToObject(o, "actor", rs->actor);
        http_json_add_time(o, "created_at", rs->created_at);
        cJSON_AddBoolToObject(o, "current", rs->version == r->ctl->rules_version);
        http_reply_json(r, 200, o);
}

void rules_api_versions(HttpRequest *r) {
        StoreRuleSet *a = NULL;
        int64_t limit = STORE_RULES_LIST_DEFAULT;
        size_t n = 0;
        char err[256];
        int k;

        if (query_int(r, "limit", 1, STORE_RULES_LIST_MAX, &limit) < 0)
                return;
        k = store_rules_list(r->ctl->store, (unsigned) limit, &a, &n, err, sizeof err);
        if (k < 0) {
                reply_store_error(r, k, err);
                return;
        }
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < n; i++) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddNumberToObject(o, "version", (double) a[i].version);
                cJSON_AddStringToObject(o, "actor", a[i].actor);
                http_json_add_time(o, "created_at", a[i].created_at);
                cJSON_AddBoolToObject(o, "current", a[i].version == r->ctl->rules_version);
                cJSON_AddItemToArray(arr, o);
        }
        store_rule_sets_free(a, n);
        http_reply_list(r, arr);
}

void rules_api_put(HttpRequest *r) {
        StoreActor actor = api_actor(r);
        uint64_t version;
        char err[1024];
        int k;

        if (r->body.len > RULES_DOCUMENT_MAX) {
                http_reply_error(r, 413, NULL, "rules_too_large",
                                 "the rule set is %zu bytes, over the limit of %d (RULES_DOCUMENT_MAX)", r->body.len,
                                 RULES_DOCUMENT_MAX);
                return;
        }
        k = ruleset_replace(r->ctl, strbuf_str(&r->body), r->body.len, &actor, &version, err, sizeof err);
        if (k == -EINVAL || k == -E2BIG) {
                http_reply_error(r, 400, NULL, "invalid_rules", "%s", err);
                return;
        }
        if (k < 0) {
                http_reply_error(r, 500, NULL, "internal", "%s", err);
                return;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "version", (double) version);
        http_reply_json(r, 200, o);
}
