/* http.c: response helpers shared by the API handlers. */
#include "http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "json.h"
#include "timeutil.h"

void http_reply_json(HttpRequest *r, int status, cJSON *body) {
        char *text = body ? cJSON_PrintUnformatted(body) : NULL;

        r->status = status;
        r->content_type = "application/json";
        strbuf_truncate(&r->response, 0);
        if (!text || strbuf_puts(&r->response, text) < 0) {
                r->status = 500;
                strbuf_truncate(&r->response, 0);
                (void) strbuf_puts(&r->response, "{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\",\"code\":\"internal\"}}");
        }
        free(text);
        cJSON_Delete(body);
}

const char *http_error_type(int status) {
        switch (status) {
        case 401: return "authentication_error";
        case 403: return "permission_error";
        case 404: return "not_found_error";
        case 429: return "rate_limit_error";
        default: return status >= 500 ? "server_error" : "invalid_request_error";
        }
}

void http_reply_error(HttpRequest *r, int status, const char *type, const char *code, const char *fmt, ...) {
        char msg[1024];
        va_list ap;
        cJSON *body = cJSON_CreateObject(), *e = cJSON_CreateObject();

        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        cJSON_AddStringToObject(e, "message", msg);
        cJSON_AddStringToObject(e, "type", type ? type : http_error_type(status));
        if (code)
                cJSON_AddStringToObject(e, "code", code);
        else
                cJSON_AddNullToObject(e, "code");
        cJSON_AddItemToObject(body, "error", e);
        http_reply_json(r, status, body);
}

int http_body_json(HttpRequest *r, cJSON **ret) {
        char err[256];
        cJSON *j = NULL;
        int k;

        k = json_parse(strbuf_str(&r->body), r->body.len, &j, err, sizeof err);
        if (k < 0) {
                http_reply_error(r, 400, NULL, "invalid_json", "request body: %s", err);
                return k;
        }
        if (!cJSON_IsObject(j)) {
                cJSON_Delete(j);
                http_reply_error(r, 400, NULL, "invalid_json", "request body: expected a JSON object");
                return -EINVAL;
        }
        *ret = j;
        return 0;
}

void http_json_add_time(cJSON *o, const char *key, uint64_t usec) {
        char buf[TIME_RFC3339_MAX];

        if (usec)
                cJSON_AddStringToObject(o, key, time_format_rfc3339(usec, buf));
        else
                cJSON_AddNullToObject(o, key);
}

void http_reply_list(HttpRequest *r, cJSON *arr) {
        cJSON *o = cJSON_CreateObject();

        cJSON_AddItemToObject(o, "data", arr);
        http_reply_json(r, 200, o);
}
