/* rules-api.h: the admin API of the routing rule set (docs/API.md): read the current or an older
 * version, list the versions, replace it (ruleset.h). */
#pragma once

#include "http.h"

/* GET /api/v1/rules[?version=N]: {"version","rules","actor","created_at"}; 404 for an unknown version. */
void rules_api_get(HttpRequest *r);
/* GET /api/v1/rules/versions[?limit=N]: {"data":[{"version","actor","created_at","current"}]},
 * newest first (STORE_RULES_LIST_DEFAULT without ?limit, at most STORE_RULES_LIST_MAX). */
void rules_api_versions(HttpRequest *r);
/* PUT /api/v1/rules: the body is the new document; 200 {"version"}, 400 naming the field, 413 past
 * RULES_DOCUMENT_MAX. */
void rules_api_put(HttpRequest *r);
