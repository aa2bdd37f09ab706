/* http.h: one HTTP request on the API listener, from first header to last byte of the response,
 * and the helpers handlers use to answer (JSON bodies, OpenAI-shaped errors). */
#pragma once

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <stdbool.h>

#include "routes.h"
#include "strbuf.h"

struct lws;
typedef struct Controller Controller;
typedef struct StoreApiKey StoreApiKey;
typedef struct InferRequest InferRequest;

#define HTTP_REQUEST_ID_MAX 128

typedef struct HttpRequest {
        struct lws *wsi;
        Controller *ctl;
        char method[8];
        char path[1024];
        char request_id[HTTP_REQUEST_ID_MAX + 1];
        const Route *route;
        RouteParams params;
        Principal principal;
        StoreApiKey *key;     /* the caller's API key when it presented one */
        StrBuf body;          /* request body, limited to max_body_bytes */
        bool body_too_large;
        lws_sorted_usec_list_t body_sul; /* body_timeout_s, while the body is awaited */
        bool body_timer;
        bool decided;         /* answered or dispatched: a body that still arrives is ignored */
        /* the response */
        int status;
        StrBuf response;      /* body to send */
        const char *content_type;
        char allow[64];       /* Allow header for 405 */
        char location[96];    /* Location header (202 of a job) */
        size_t sent;          /* bytes of response already written */
        bool headers_sent;
        char zone[16];        /* X-Sluice-Zone: where the request was served */
        char data_class[16];  /* a generation's class and the rule that decided it, for the request log */
        char rule[72];
        InferRequest *infer;  /* a generation in flight for this request (dispatch.c) */
        bool streaming;       /* the response is an SSE stream that dispatch.c writes */
} HttpRequest;

/* Sets a JSON response (takes ownership of body). */
void http_reply_json(HttpRequest *r, int status, cJSON *body);
/* Sets the 200 answer of an admin list endpoint: {"data": arr} (takes ownership of arr). */
void http_reply_list(HttpRequest *r, cJSON *arr);
/* Sets an error response shaped as OpenAI's: {"error":{"message","type","code"}}. */
void http_reply_error(HttpRequest *r, int status, const char *type, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
/* Parses the request body as a JSON object; on failure replies 400 (naming the problem) and returns
 * a negative errno. */
int http_body_json(HttpRequest *r, cJSON **ret);

/* Adds key: an RFC 3339 time, or null when usec is 0 (never). */
void http_json_add_time(cJSON *o, const char *key, uint64_t usec);

/* The "type" of an OpenAI error for a status code. */
const char *http_error_type(int status);
