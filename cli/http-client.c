/* http-client.c: the libcurl JSON client the CLI's admin commands use to call the controller. */
#include "http-client.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "encode.h"
#include "json.h"
#include "random.h"
#include "strbuf.h"

#define HTTP_CLIENT_TIMEOUT_MS_DEFAULT 30000

struct HttpClient {
        CURL *curl;
        char *base_url;    /* no trailing '/' */
        char *ca_file;     /* NULL: the system's CAs */
        char *auth_header; /* "Authorization: Bearer ..." or NULL; wiped on free */
        long timeout_ms;
        size_t max_response;
};

DEFINE_TRIVIAL_CLEANUP_FUNC(struct curl_slist *, curl_slist_free_all);

/* Frees a string that held a secret, wiping it first. */
static char *secret_free(char *s) {
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
        return NULL;
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int http_client_read_key_file(const char *path, char **ret, char *err, size_t errsz) {
        _cleanup_close_ int fd = -EBADF;
        char buf[HTTP_CLIENT_KEY_FILE_MAX + 1];
        size_t len = 0, start = 0;
        struct stat st;
        ssize_t n;
        int r = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                snprintf(err, errsz, "cannot open API key file %s: %s", path, strerror(errno));
                return r;
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                snprintf(err, errsz, "cannot stat API key file %s: %s", path, strerror(errno));
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                snprintf(err, errsz, "API key file %s is not a regular file", path);
                return -EINVAL;
        }
        if (st.st_mode & (S_IRWXG | S_IRWXO)) {
                snprintf(err, errsz,
                         "permissions %04o for API key file %s are too open: it must be accessible by its owner "
                         "only (chmod 600 %s)", (unsigned) (st.st_mode & 07777), path, path);
                return -EACCES;
        }
        while (len < sizeof buf) {
                n = read(fd, buf + len, sizeof buf - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        snprintf(err, errsz, "cannot read API key file %s: %s", path, strerror(errno));
                        goto finish;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (len > HTTP_CLIENT_KEY_FILE_MAX) {
                snprintf(err, errsz, "API key file %s is larger than %d bytes: not an API key", path,
                         HTTP_CLIENT_KEY_FILE_MAX);
                r = -EFBIG;
                goto finish;
        }
        while (len > 0 && is_space(buf[len - 1]))
                len--;
        while (start < len && is_space(buf[start]))
                start++;
        if (start == len) {
                snprintf(err, errsz, "API key file %s is empty", path);
                r = -EINVAL;
                goto finish;
        }
        for (size_t i = start; i < len; i++)
                if (buf[i] < 0x21 || buf[i] > 0x7e) {
                        snprintf(err, errsz, "API key file %s must hold one key of printable characters, "
                                             "without spaces", path);
                        r = -EINVAL;
                        goto finish;
                }
        *ret = strndup(buf + start, len - start);
        if (!*ret) {
                snprintf(err, errsz, "out of memory");
                r = -ENOMEM;
        }
finish:
        explicit_bzero(buf, sizeof buf);
        return r;
}

int http_client_new(const HttpClientOptions *o, HttpClient **ret, char *err, size_t errsz) {
        HttpClient *c;
        size_t n;

        if (!o->base_url || strncasecmp(o->base_url, "https://", 8) != 0 || !o->base_url[8]) {
                snprintf(err, errsz, "controller URL \"%s\" must start with https:// (the API key must not travel "
                                     "in clear)", o->base_url ? o->base_url : "");
                return -EINVAL;
        }
        if (o->ca_file && access(o->ca_file, R_OK) < 0) {
                int r = -errno;
                snprintf(err, errsz, "cannot read ca_file %s: %s", o->ca_file, strerror(errno));
                return r;
        }
        c = calloc(1, sizeof *c);
        if (!c)
                goto oom;
        c->timeout_ms = o->timeout_ms > 0 && o->timeout_ms < LONG_MAX ? (long) o->timeout_ms
                                                                       : HTTP_CLIENT_TIMEOUT_MS_DEFAULT;
        c->max_response = o->max_response ?: HTTP_CLIENT_RESPONSE_MAX;
        c->base_url = strdup(o->base_url);
        if (!c->base_url)
                goto oom;
        n = strlen(c->base_url);
        while (n > 8 && c->base_url[n - 1] == '/')
                c->base_url[--n] = '\0';
        if (o->ca_file && !(c->ca_file = strdup(o->ca_file)))
                goto oom;
        if (o->api_key && asprintf(&c->auth_header, "Authorization: Bearer %s", o->api_key) < 0) {
                c->auth_header = NULL;
                goto oom;
        }
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                goto oom;
        c->curl = curl_easy_init();
        if (!c->curl) {
                curl_global_cleanup();
                goto oom;
        }
        *ret = c;
        return 0;
oom:
        http_client_free(c);
        snprintf(err, errsz, "out of memory");
        return -ENOMEM;
}

HttpClient *http_client_free(HttpClient *c) {
        if (!c)
                return NULL;
        if (c->curl) {
                curl_easy_cleanup(c->curl);
                curl_global_cleanup();
        }
        free(c->base_url);
        free(c->ca_file);
        secret_free(c->auth_header);
        free(c);
        return NULL;
}

const char *http_client_url(const HttpClient *c) {
        return c->base_url;
}

int http_client_escape(const char *s, char **ret) {
        static const char hex[] = "0123456789ABCDEF";
        size_t n = strlen(s), size;
        char *e, *p;

        if (!size_mul(n, 3, &size) || !size_add(size, 1, &size))
                return -ENOMEM;
        e = p = malloc(size);
        if (!e)
                return -ENOMEM;
        for (const unsigned char *c = (const unsigned char *) s; *c; c++)
                if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
                    strchr("-._~", *c))
                        *p++ = (char) *c;
                else {
                        *p++ = '%';
                        *p++ = hex[*c >> 4];
                        *p++ = hex[*c & 15];
                }
        *p = '\0';
        *ret = e;
        return 0;
}

void http_response_done(HttpResponse *r) {
        if (!r)
                return;
        free(r->body);
        cJSON_Delete(r->json);
        *r = (HttpResponse){};
}

typedef struct Sink {
        StrBuf buf;
        bool too_large;
} Sink;

static size_t sink_write(char *data, size_t size, size_t n, void *userdata) {
        Sink *s = userdata;
        int r = strbuf_append(&s->buf, data, size * n);

        if (r < 0) {
                s->too_large = r == -E2BIG;
                return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
        }
        return size * n;
}

/* Copies text into out, control characters replaced, so that a message stays on one line. */
static void one_line(char *out, size_t outsz, const char *text) {
        size_t i = 0;

        for (; text && text[i] && i + 1 < outsz; i++)
                out[i] = (unsigned char) text[i] < 0x20 || text[i] == 0x7f ? ' ' : text[i];
        if (outsz)
                out[MIN(i, outsz - 1)] = '\0';
}

static const char *reason_phrase(long status) {
        switch (status) {
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 409: return "Conflict";
        case 413: return "Payload Too Large";
        case 422: return "Unprocessable Entity";
        case 429: return "Too Many Requests";
        case 500: return "Internal Server Error";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        default: return "";
        }
}

static int errno_of_status(long status) {
        switch (status) {
        case 401: return -EACCES;
        case 403: return -EPERM;
        case 404: return -ENOENT;
        case 409: return -EEXIST;
        default: return -EPROTO;
        }
}

/* An HTTP error: "403 Forbidden: <the controller's message> (code forbidden, request cli-...)"; answer
 * is the body's parse, NULL when it is not JSON. */
static int report_http_error(long status, const cJSON *answer, const char *request_id, char *err, size_t errsz) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(answer, "error");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(e, "code");
        const char *message = cJSON_IsString(m) ? m->valuestring : NULL, *code = cJSON_IsString(k) ? k->valuestring : NULL;
        char line[1024];

        one_line(line, sizeof line, message ?: "(the answer carries no error message)");
        snprintf(err, errsz, "%ld%s%s: %s (%s%s%srequest %s)", status, *reason_phrase(status) ? " " : "",
                 reason_phrase(status), line, code ? "code " : "", code ?: "", code ? ", " : "", request_id);
        return errno_of_status(status);
}

/* A transfer that got no answer: one line with the cause and a hint. */
static int report_curl_error(const HttpClient *c, CURLcode cc, const char *detail, const Sink *sink,
                             const char *request_id, char *err, size_t errsz) {
        char d[CURL_ERROR_SIZE + 1];

        one_line(d, sizeof d, detail && *detail ? detail : curl_easy_strerror(cc));
        switch (cc) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                snprintf(err, errsz, "cannot connect to the controller: %s (is the controller running at %s?)", d,
                         c->base_url);
                return -ECONNREFUSED;
        case CURLE_OPERATION_TIMEDOUT:
                snprintf(err, errsz, "no answer from the controller within %ld ms: %s (is the controller running "
                                     "at %s? timeout_ms sets the limit; request %s)", c->timeout_ms, d, c->base_url,
                         request_id);
                return -ETIMEDOUT;
        case CURLE_WRITE_ERROR:
        case CURLE_FILESIZE_EXCEEDED:
                if (sink->too_large || cc == CURLE_FILESIZE_EXCEEDED) {
                        snprintf(err, errsz, "the controller's answer is larger than the limit of %zu bytes "
                                             "(request %s)", c->max_response, request_id);
                        return -EFBIG;
                }
                snprintf(err, errsz, "out of memory reading the controller's answer (request %s)", request_id);
                return -ENOMEM;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
                snprintf(err, errsz, "cannot verify the certificate of the controller at %s: %s (set ca_file or "
                                     "SLUICE_CA_FILE to the controller's CA, DATA_DIR/ca.pem)", c->base_url, d);
                return -ECONNABORTED;
        case CURLE_SSL_CONNECT_ERROR:
                snprintf(err, errsz, "TLS handshake with the controller at %s failed: %s (it speaks TLS 1.3 only; "
                                     "is that port the controller's API?)", c->base_url, d);
                return -ECONNABORTED;
        case CURLE_UNSUPPORTED_PROTOCOL:
                snprintf(err, errsz, "cannot talk to %s: %s (the controller URL must be https://)", c->base_url, d);
                return -EINVAL;
        default:
                snprintf(err, errsz, "request to the controller at %s failed: %s (request %s)", c->base_url, d,
                         request_id);
                return -EIO;
        }
}

static int new_request_id(char ret[static HTTP_CLIENT_REQUEST_ID_MAX + 1]) {
        _cleanup_free_ char *hex = NULL;
        uint8_t raw[12];
        int r;

        r = random_bytes(raw, sizeof raw);
        if (r < 0)
                return r;
        r = encode_hex(raw, sizeof raw, &hex);
        if (r < 0)
                return r;
        snprintf(ret, HTTP_CLIENT_REQUEST_ID_MAX + 1, "cli-%s", hex);
        return 0;
}

/* The X-Request-Id the controller echoed, when it is a sane token; else ours stays. */
static void read_request_id(CURL *h, char request_id[static HTTP_CLIENT_REQUEST_ID_MAX + 1]) {
        struct curl_header *hdr = NULL;
        const char *v;
        size_t n;

        if (curl_easy_header(h, "X-Request-Id", 0, CURLH_HEADER, -1, &hdr) != CURLHE_OK || !hdr->value)
                return;
        v = hdr->value;
        n = strlen(v);
        if (n == 0 || n > HTTP_CLIENT_REQUEST_ID_MAX ||
            strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") != n)
                return;
        memcpy(request_id, v, n + 1);
}

int http_client_request(HttpClient *c, const char *method, const char *path, const cJSON *body,
                        HttpResponse *ret, char *err, size_t errsz) {
        _cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
        _cleanup_free_ char *url = NULL, *text = NULL, *id_header = NULL;
        _cleanup_json_ cJSON *json = NULL;
        char request_id[HTTP_CLIENT_REQUEST_ID_MAX + 1], errbuf[CURL_ERROR_SIZE] = "", why[256];
        Sink sink = { .buf = { .limit = c->max_response } };
        struct curl_slist *l;
        long status = 0;
        CURLcode cc;
        CURL *h = c->curl;
        int r;

        *ret = (HttpResponse){};
        if (!path || path[0] != '/') {
                snprintf(err, errsz, "internal error: request path must start with '/'");
                return -EINVAL;
        }
        r = new_request_id(request_id);
        if (r < 0) {
                snprintf(err, errsz, "cannot make a request id: %s", strerror(-r));
                return r;
        }
        memcpy(ret->request_id, request_id, sizeof request_id);
        if (asprintf(&url, "%s%s", c->base_url, path) < 0 ||
            asprintf(&id_header, "X-Request-Id: %s", request_id) < 0) {
                url = id_header = NULL;
                goto oom;
        }
        if (body && json_print(body, &text) < 0)
                goto oom;
        /* each append either returns the (possibly new) list head or NULL, leaving the old list intact */
        const char *lines[] = { "Accept: application/json", id_header, "Expect:",
                                body ? "Content-Type: application/json" : NULL, c->auth_header };
        for (size_t i = 0; i < ELEMENTSOF(lines); i++) {
                if (!lines[i])
                        continue;
                l = curl_slist_append(headers, lines[i]);
                if (!l)
                        goto oom;
                headers = l;
        }

        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
        curl_easy_setopt(h, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_3);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
        if (c->ca_file) {
                /* trust the controller's CA only: no system CA directory besides it */
                curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
                curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
        }
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L); /* never carry the key elsewhere */
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
        curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) c->max_response);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "sluice/" SLUICE_VERSION);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
        if (streq(method, "GET"))
                curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        else {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, text ?: "");
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) (text ? strlen(text) : 0));
                if (!streq(method, "POST"))
                        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        }

        cc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (cc == CURLE_OK)
                read_request_id(h, request_id);
        memcpy(ret->request_id, request_id, sizeof request_id);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL); /* the list is freed on return */
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
        if (cc != CURLE_OK) {
                r = report_curl_error(c, cc, errbuf, &sink, request_id, err, errsz);
                goto finish;
        }
        /* an answer came: keep it, whatever it says, for the caller to show */
        ret->status = status;
        ret->body_len = sink.buf.len;
        ret->body = strbuf_take(&sink.buf);
        if (!ret->body) {
                http_response_done(ret);
                goto oom;
        }
        if (json_parse(ret->body, ret->body_len, &json, why, sizeof why) >= 0 && cJSON_IsObject(json))
                ret->json = TAKE_PTR(json);
        if (status < 200 || status > 299)
                return report_http_error(status, ret->json, request_id, err, errsz);
        if (!ret->json) {
                snprintf(err, errsz, "the controller at %s answered %ld with something that is not a JSON object "
                                     "(request %s)", c->base_url, status, request_id);
                return -EBADMSG;
        }
        return 0;
oom:
        snprintf(err, errsz, "out of memory");
        r = -ENOMEM;
finish:
        strbuf_done(&sink.buf);
        return r;
}
