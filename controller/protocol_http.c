/* protocol_http.c: the API listener's HTTP protocol: request line and headers, authentication,
 * the route table's permission check, the body (limited), dispatch and the response. */
#include <errno.h>
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <string.h>

#include "api.h"
#include "controller.h"
#include "dispatch.h"
#include "encode.h"
#include "http.h"
#include "log.h"
#include "openssl-util.h"
#include "pki.h"
#include "protocols.h"
#include "random.h"
#include "store-keys.h"
#include "timeutil.h"

static const struct {
        enum lws_token_indexes token;
        const char *method;
} methods[] = {
        { WSI_TOKEN_GET_URI, "GET" },
        { WSI_TOKEN_POST_URI, "POST" },
        { WSI_TOKEN_PUT_URI, "PUT" },
        { WSI_TOKEN_DELETE_URI, "DELETE" },
        { WSI_TOKEN_PATCH_URI, "PATCH" },
        { WSI_TOKEN_OPTIONS_URI, "OPTIONS" },
        { WSI_TOKEN_HEAD_URI, "HEAD" },
};

static void read_method(HttpRequest *r) {
        for (size_t i = 0; i < ELEMENTSOF(methods); i++)
                if (lws_hdr_total_length(r->wsi, methods[i].token) > 0) {
                        snprintf(r->method, sizeof r->method, "%s", methods[i].method);
                        return;
                }
        snprintf(r->method, sizeof r->method, "?");
}

static bool request_id_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > HTTP_REQUEST_ID_MAX)
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") == n;
}

/* X-Request-Id: echoed when it is well-formed, else a new one. */
static void read_request_id(HttpRequest *r) {
        uint8_t raw[12];
        _cleanup_free_ char *hex = NULL;
        int n = lws_hdr_custom_copy(r->wsi, r->request_id, sizeof r->request_id, "x-request-id:", 13);

        if (n > 0 && request_id_valid(r->request_id))
                return;
        if (random_bytes(raw, sizeof raw) >= 0 && encode_hex(raw, sizeof raw, &hex) >= 0)
                snprintf(r->request_id, sizeof r->request_id, "req-%s", hex);
        else
                snprintf(r->request_id, sizeof r->request_id, "req-unknown");
}

static Principal principal_of(StoreRole role) {
        switch (role) {
        case STORE_ROLE_ADMIN: return PRINCIPAL_ADMIN;
        case STORE_ROLE_DEVELOPER: return PRINCIPAL_DEVELOPER;
        case STORE_ROLE_AUDITOR: return PRINCIPAL_AUDITOR;
        default: return PRINCIPAL_NONE;
        }
}

/* Whether the client presented a certificate that this CA issued to a node (which is not an API
 * credential: agents talk to their own listener). */
static bool presented_agent_cert(HttpRequest *r) {
        SSL *ssl = lws_get_ssl(r->wsi);
        _cleanup_(X509_freep) X509 *peer = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
        PkiIdentity id;
        char err[256];

        return peer && pki_verify_cert(r->ctl->ca, peer, PKI_PURPOSE_NODE, 0, NULL, NULL, err, sizeof err) >= 0 &&
               pki_cert_identity(peer, &id, err, sizeof err) >= 0;
}

/* Authorization: Bearer sk-sluice-...; returns 0, or a negative errno with why in err. */
static int authenticate(HttpRequest *r, char *err, size_t errsz) {
        char auth[512];
        int n = lws_hdr_copy(r->wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION);

        r->principal = PRINCIPAL_NONE;
        if (n <= 0 && presented_agent_cert(r)) {
                r->principal = PRINCIPAL_AGENT;
                return 0;
        }
        if (n <= 0) {
                snprintf(err, errsz, "no API key: send Authorization: Bearer sk-sluice-...");
                return -ENOKEY;
        }
        if (strncasecmp(auth, "Bearer ", 7) != 0) {
                snprintf(err, errsz, "Authorization must be \"Bearer <API key>\"");
                return -EINVAL;
        }
        int k = store_api_key_lookup(r->ctl->store, auth + 7, &r->key, err, errsz);
        if (k < 0)
                return k;
        r->principal = principal_of(r->key->role);
        return 0;
}

/* 400/404/405, 401/403: everything decided before the body is read. Returns true when a response
 * is ready. */
static bool reject_early(HttpRequest *r) {
        char why[256] = "";
        int k;

        k = route_match(api_routes, api_n_routes, r->method, r->path, &r->route, &r->params, r->allow, sizeof r->allow);
        if (k == -EINVAL) {
                http_reply_error(r, 400, NULL, "bad_path", "malformed path");
                return true;
        }
        if (k == -ENOENT) {
                http_reply_error(r, 404, NULL, "not_found", "no such endpoint: %s %s", r->method, r->path);
                return true;
        }
        if (k == -EBADRQC) {
                http_reply_error(r, 405, NULL, "method_not_allowed", "%s is not allowed on %s (allowed: %s)", r->method,
                                 r->path, r->allow);
                return true;
        }
        if (r->route->allowed & PRINCIPAL_PUBLIC)
                return false;
        k = authenticate(r, why, sizeof why);
        if (k < 0) {
                http_reply_error(r, 401, NULL, "invalid_api_key", "%s", why);
                return true;
        }
        if (!route_allows(r->route, r->principal)) {
                if (r->principal == PRINCIPAL_AGENT)
                        http_reply_error(r, 403, NULL, "forbidden",
                                         "an agent certificate opens no client or admin API (use an API key)");
                else
                        http_reply_error(r, 403, NULL, "forbidden", "role %s may not call %s %s",
                                         store_role_to_string(r->key->role), r->method, r->route->pattern);
                return true;
        }
        return false;
}

/* A body must be complete within body_timeout_s of its headers: a timer per request, cancelled when
 * the body is complete or the request ends, closes a connection whose body trickles in or stalls. */
static void body_timeout(lws_sorted_usec_list_t *sul) {
        HttpRequest *r = lws_container_of(sul, HttpRequest, body_sul);

        log_warning("closing a connection whose request body took longer than %u s (body_timeout_s)",
                    r->ctl->config.body_timeout_s);
        lws_set_timeout(r->wsi, PENDING_TIMEOUT_HTTP_CONTENT, LWS_TO_KILL_ASYNC);
}

static void body_timer_stop(HttpRequest *r) {
        if (r->body_timer) {
                lws_sul_cancel(&r->body_sul);
                r->body_timer = false;
        }
}

/* Bytes of the header values libwebsockets parsed (request line included). */
static size_t header_bytes(struct lws *wsi) {
        size_t n = 0;

        for (int t = 0; t < WSI_TOKEN_COUNT; t++) {
                int k = lws_hdr_total_length(wsi, (enum lws_token_indexes) t);
                n += k > 0 ? (size_t) k : 0;
        }
        return n;
}

static int begin_request(HttpRequest *r, struct lws *wsi, const char *uri) {
        *r = (HttpRequest){ .wsi = wsi, .ctl = lws_context_user(lws_get_context(wsi)) };
        r->body = (StrBuf){ .limit = r->ctl->config.max_body_bytes };
        read_method(r);
        snprintf(r->path, sizeof r->path, "%s", uri);
        read_request_id(r);
        log_set_request_id(r->request_id); /* the callback's wrapper restores the previous one */
        if (header_bytes(wsi) > r->ctl->config.max_header_bytes) {
                http_reply_error(r, 431, NULL, "headers_too_large",
                                 "request headers are %zu bytes, over the limit of %zu (max_header_bytes)", header_bytes(wsi),
                                 r->ctl->config.max_header_bytes);
                r->decided = true;
                return 1;
        }
        if (reject_early(r)) {
                r->decided = true; /* never dispatch after a refusal, whatever body follows */
                return 1;
        }
        /* requests that carry a body are dispatched once it is complete */
        if ((streq(r->method, "POST") || streq(r->method, "PUT") || streq(r->method, "PATCH")) &&
            lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
                char cl[32];
                lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH);
                if (strtoull(cl, NULL, 10) > r->ctl->config.max_body_bytes) {
                        http_reply_error(r, 413, NULL, "body_too_large", "request body over the limit of %zu bytes",
                                         r->ctl->config.max_body_bytes);
                        r->decided = true;
                        return 1;
                }
                if (strtoull(cl, NULL, 10) > 0) {
                        lws_sul_schedule(lws_get_context(wsi), 0, &r->body_sul, body_timeout,
                                         (lws_usec_t) r->ctl->config.body_timeout_s * LWS_US_PER_SEC);
                        r->body_timer = true;
                        return 0;
                }
        }
        r->decided = true;
        api_dispatch(r);
        return 1;
}

static int write_headers(HttpRequest *r) {
        uint8_t buf[LWS_PRE + 2048], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;

        if (lws_add_http_common_headers(r->wsi, (unsigned) r->status, r->content_type ? r->content_type : "application/json",
                                        r->response.len, &p, end) ||
            lws_add_http_header_by_name(r->wsi, (const unsigned char *) "x-request-id:",
                                        (const unsigned char *) r->request_id, (int) strlen(r->request_id), &p, end) ||
            (r->zone[0] && lws_add_http_header_by_name(r->wsi, (const unsigned char *) "x-sluice-zone:",
                                                       (const unsigned char *) r->zone, (int) strlen(r->zone), &p, end)) ||
            (r->location[0] && lws_add_http_header_by_name(r->wsi, (const unsigned char *) "location:",
                                                           (const unsigned char *) r->location, (int) strlen(r->location),
                                                           &p, end)) ||
            (r->allow[0] && r->status == 405 &&
             lws_add_http_header_by_name(r->wsi, (const unsigned char *) "allow:", (const unsigned char *) r->allow,
                                         (int) strlen(r->allow), &p, end)) ||
            lws_finalize_write_http_header(r->wsi, start, &p, end))
                return -1;
        r->headers_sent = true;
        return 0;
}

static int write_body(HttpRequest *r) {
        size_t n = r->response.len;
        _cleanup_free_ uint8_t *buf = malloc(LWS_PRE + n + 1);

        if (!buf)
                return -1;
        memcpy(buf + LWS_PRE, strbuf_str(&r->response), n);
        if (lws_write(r->wsi, buf + LWS_PRE, n, LWS_WRITE_HTTP_FINAL) != (int) n)
                return -1;
        r->sent = n;
        return 0;
}

static void end_request(HttpRequest *r) {
        if (!r) /* lws calls CLOSED_HTTP also for connections that never had session data */
                return;
        if (r->status)
                log_with(LOG_INFO, LOG_FIELDS(LOG_STR("request_id", r->request_id), LOG_STR("method", r->method),
                                              LOG_STR("path", r->path), LOG_INT("status", r->status),
                                              LOG_STR("data_class", r->data_class), LOG_STR("rule", r->rule),
                                              LOG_STR("zone", r->zone)),
                         "%s %s %d", r->method, r->path, r->status);
        body_timer_stop(r);
        dispatch_http_closed(r);
        strbuf_done(&r->body);
        strbuf_done(&r->response);
        r->key = store_api_key_free(r->key);
        r->status = 0;
}

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, HttpRequest *r, void *in, size_t len) {

        switch (reason) {
        case LWS_CALLBACK_HTTP:
                if (begin_request(r, wsi, in) > 0)
                        lws_callback_on_writable(wsi);
                return 0;
        case LWS_CALLBACK_HTTP_BODY:
                if (!r->decided && !r->body_too_large && strbuf_append(&r->body, in, len) < 0)
                        r->body_too_large = true;
                return 0;
        case LWS_CALLBACK_HTTP_BODY_COMPLETION:
                body_timer_stop(r);
                if (r->decided) {
                        lws_callback_on_writable(wsi);
                        return 0;
                }
                r->decided = true;
                if (r->body_too_large)
                        http_reply_error(r, 413, NULL, "body_too_large", "request body over the limit of %zu bytes",
                                         r->ctl->config.max_body_bytes);
                else
                        api_dispatch(r);
                lws_callback_on_writable(wsi);
                return 0;
        case LWS_CALLBACK_HTTP_WRITEABLE:
                if (r->streaming || (r->infer && !r->status))
                        return dispatch_http_writeable(r); /* a stream, or a response still being generated */
                if (!r->status)
                        return 0;
                if (!r->headers_sent) {
                        if (write_headers(r) < 0)
                                return -1;
                        lws_callback_on_writable(wsi);
                        return 0;
                }
                {
                        int k = write_body(r);
                        end_request(r); /* before the transaction ends: lws frees the session data then */
                        if (k < 0 || lws_http_transaction_completed(wsi))
                                return -1;
                        return 0;
                }
        case LWS_CALLBACK_CLOSED_HTTP:
        case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
                end_request(r);
                return 0;
        default:
                return lws_callback_http_dummy(wsi, reason, r, in, len);
        }
}

int protocol_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
        bool http = reason == LWS_CALLBACK_HTTP_BODY || reason == LWS_CALLBACK_HTTP_BODY_COMPLETION ||
                    reason == LWS_CALLBACK_HTTP_WRITEABLE || reason == LWS_CALLBACK_CLOSED_HTTP;
        /* user is the request only for the HTTP reasons (the TLS verification callback, for one,
         * passes an X509_STORE_CTX); every line logged while a request is handled carries its id */
        HttpRequest *r = user;
        const char *prev = log_set_request_id(http && r && r->request_id[0] ? r->request_id : NULL);
        int k = http_callback(wsi, reason, r, in, len);

        log_set_request_id(prev);
        return k;
}
