/* http-client.h: a small libcurl client for the controller's JSON REST API: TLS 1.3 against the
 * controller's CA, a bearer API key read from a private file, a timeout, a response size limit. */
#pragma once

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define HTTP_CLIENT_RESPONSE_MAX ((size_t) 16 << 20) /* default limit on a response body */
#define HTTP_CLIENT_KEY_FILE_MAX 4096                /* an API key file is one short line */
#define HTTP_CLIENT_REQUEST_ID_MAX 64

typedef struct HttpClient HttpClient;

typedef struct HttpClientOptions {
        const char *base_url; /* "https://host:port[/prefix]"; only https is accepted */
        const char *ca_file;  /* PEM file of the CA to trust (only it); NULL: the system's CAs */
        const char *api_key;  /* sent as "Authorization: Bearer ..."; NULL: none */
        uint64_t timeout_ms;  /* for a whole request; 0: 30 s */
        size_t max_response;  /* 0: HTTP_CLIENT_RESPONSE_MAX */
} HttpClientOptions;

/* The controller's answer. body is NUL-terminated and exactly what the controller sent; json is its
 * parse (NULL when it is not a JSON object). status is 0 when no answer came. */
typedef struct HttpResponse {
        long status;
        char *body;
        size_t body_len;
        cJSON *json;
        char request_id[HTTP_CLIENT_REQUEST_ID_MAX + 1];
} HttpResponse;

/* Reads the API key in path: a regular file of at most HTTP_CLIENT_KEY_FILE_MAX bytes holding one
 * token of printable ASCII, surrounding whitespace ignored. Like ssh with private keys, refuses a
 * file that group or others may access (-EACCES, with the chmod that fixes it in err). Returns 0
 * with a new string in *ret (the caller frees it, ideally after explicit_bzero), or a negative
 * errno with one line in err. */
int http_client_read_key_file(const char *path, char **ret, char *err, size_t errsz);

/* Checks the options (https URL, readable CA file) and copies them; the client keeps no pointer
 * to o. Returns 0, -EINVAL (bad URL), -ENOENT/-EACCES (CA file) or -ENOMEM, with err set. */
int http_client_new(const HttpClientOptions *o, HttpClient **ret, char *err, size_t errsz);
/* Frees the client (NULL is fine) and wipes the key it held; returns NULL. */
HttpClient *http_client_free(HttpClient *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpClient *, http_client_free);

/* Sends method to base_url + path (path starts with '/' and is already URL-escaped, see
 * http_client_escape), with body as JSON when it is not NULL, and a random X-Request-Id.
 * Returns 0 when the controller answered 2xx with a JSON object. Otherwise a negative errno and one
 * line in err that names the cause and the request id:
 *   - the controller answered an error: its OpenAI-shaped message and status; -EACCES (401),
 *     -EPERM (403), -ENOENT (404), -EEXIST (409), -EBADMSG (2xx that is not a JSON object),
 *     -EPROTO (any other status);
 *   - no answer: -ECONNREFUSED (with "is the controller running at URL?"), -ETIMEDOUT,
 *     -EFBIG (response over the limit), -ECONNABORTED (TLS or certificate), -EIO.
 * *ret is always set (free it with http_response_done): on success the answer; when the
 * controller answered an error, its status, request id and body (json too when the body is a
 * JSON object, such as {"error": {...}}); when no answer came, status 0 and our request id. */
int http_client_request(HttpClient *c, const char *method, const char *path, const cJSON *body, HttpResponse *ret,
                        char *err, size_t errsz);

/* Percent-encodes s for use as one path segment (everything but A-Z a-z 0-9 - . _ ~). Returns 0
 * with a new string in *ret (free() it), or -ENOMEM. */
int http_client_escape(const char *s, char **ret);

/* The base URL the client talks to (as given, without a trailing '/'). */
const char *http_client_url(const HttpClient *c);

void http_response_done(HttpResponse *r);
