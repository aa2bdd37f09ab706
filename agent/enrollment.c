/* enrollment.c: joining the controller once: key and CSR made here, certificate from /api/v1/enroll. */
#include "enrollment.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "errorf.h"
#include "fileio.h"
#include "json.h"
#include "notify.h"
#include "openssl-util.h"
#include "strbuf.h"

#define ENROLL_PATH "/api/v1/enroll"
#define TOKEN_PREFIX "sjt-"
#define TOKEN_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

void enroll_identity_done(EnrollIdentity *e) {
        free(e->key_path);
        free(e->cert_path);
        *e = (EnrollIdentity){};
}

bool enroll_error_is_transient(int r) {
        switch (r) {
        case -ECONNREFUSED:
        case -EHOSTUNREACH:
        case -ETIMEDOUT:
        case -ECONNRESET:
        case -EAGAIN:
                return true;
        default:
                return false;
        }
}

int enroll_load_ca(const char *ca_file, X509 **ret, char *err, size_t errsz) {
        char why[512];
        int r;

        r = pki_cert_load(ca_file, ret, why, sizeof why);
        if (r < 0)
                return errorf(err, errsz, r, "ca_file: %s", why);
        return 0;
}

static int identity_paths(const char *data_dir, EnrollIdentity *e) {
        if (asprintf(&e->key_path, "%s/%s", data_dir, ENROLL_KEY_FILE) < 0) {
                e->key_path = NULL;
                return -ENOMEM;
        }
        if (asprintf(&e->cert_path, "%s/%s", data_dir, ENROLL_CERT_FILE) < 0) {
                e->cert_path = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* The checks shared by enroll_check() and enroll_run(): cert issued by ca for a node, valid now,
 * for key, naming node_name. Fills id and not_after. */
static int check_cert(X509 *ca, X509 *cert, EVP_PKEY *key, const char *node_name, PkiIdentity *ret_id,
                      int64_t *ret_not_after, char *err, size_t errsz) {
        PkiIdentity id;
        int64_t not_after;
        int r;

        r = pki_verify_cert(ca, cert, PKI_PURPOSE_NODE, 0, NULL, NULL, err, errsz);
        if (r < 0)
                return r;
        if (X509_check_private_key(cert, key) != 1) {
                ERR_clear_error();
                return errorf(err, errsz, -EKEYREJECTED, "the certificate is not for this node's key");
        }
        r = pki_cert_identity(cert, &id, err, errsz);
        if (r < 0)
                return r;
        if (!streq(id.name, node_name))
                return errorf(err, errsz, -ESTALE, "the certificate is for node \"%s\", not \"%s\"", id.name,
                              node_name);
        r = pki_cert_validity(cert, NULL, &not_after);
        if (r < 0)
                return errorf(err, errsz, r, "cannot read the certificate's validity");
        *ret_id = id;
        *ret_not_after = not_after;
        return 0;
}

int enroll_check(const EnrollOptions *o, X509 *ca, EnrollIdentity *ret, char *err, size_t errsz) {
        _cleanup_(enroll_identity_done) EnrollIdentity e = {};
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        char why[512];
        int r;

        if (identity_paths(o->data_dir, &e) < 0)
                return errorf(err, errsz, -ENOMEM, "out of memory");
        r = pki_key_load(e.key_path, &key, err, errsz);
        if (r < 0)
                return r;
        r = pki_cert_load(e.cert_path, &cert, err, errsz);
        if (r < 0)
                return r;
        r = check_cert(ca, cert, key, o->node_name, &e.id, &e.not_after, why, sizeof why);
        if (r < 0)
                return errorf(err, errsz, r, "%s: %s", e.cert_path, why);
        *ret = e;
        e = (EnrollIdentity){};
        return 0;
}

/* Reads the join token: one line of "sjt-" + base64url, surrounding whitespace ignored. The caller
 * wipes and frees *ret. */
static int read_token(const char *path, char **ret, char *err, size_t errsz) {
        _cleanup_free_ char *text = NULL;
        size_t n, start, len;
        int r;

        if (!path)
                return errorf(err, errsz, -ENOKEY,
                              "not enrolled, and no join_token_file is configured to enroll with");
        r = file_read_all(path, ENROLL_TOKEN_MAX, &text, &n);
        if (r == -EFBIG)
                return errorf(err, errsz, r, "join_token_file %s: larger than %zu bytes: not a join token", path,
                              ENROLL_TOKEN_MAX);
        if (r < 0)
                return errorf(err, errsz, r, "join_token_file %s: %s", path, strerror(-r));
        start = strspn(text, " \t\r\n");
        len = strcspn(text + start, " \t\r\n");
        if (text[start + len + strspn(text + start + len, " \t\r\n")] != '\0' || len <= strlen(TOKEN_PREFIX) ||
            !strneq(text + start, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) ||
            strspn(text + start + strlen(TOKEN_PREFIX), TOKEN_CHARS) != len - strlen(TOKEN_PREFIX)) {
                explicit_bzero(text, n);
                return errorf(err, errsz, -EINVAL,
                              "join_token_file %s: does not hold a join token (expected one line \"sjt-...\")", path);
        }
        memmove(text, text + start, len);
        explicit_bzero(text + len, n - len);
        *ret = TAKE_PTR(text);
        return 0;
}

static void free_secret(char **p) {
        if (*p) {
                explicit_bzero(*p, strlen(*p));
                free(*p);
        }
}

typedef struct Transfer {
        StrBuf body;
        bool too_large;
        volatile sig_atomic_t *cancel;
} Transfer;

static size_t transfer_write(char *data, size_t size, size_t n, void *userdata) {
        Transfer *t = userdata;

        if (strbuf_append(&t->body, data, size * n) < 0) {
                t->too_large = true;
                return 0; /* libcurl stops with CURLE_WRITE_ERROR */
        }
        return size * n;
}

static int transfer_progress(void *userdata, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un) {
        Transfer *t = userdata;

        (void) dt, (void) dn, (void) ut, (void) un;
        notify_watchdog_kick(); /* enrollment runs before the event loop: keep systemd's watchdog fed */
        return t->cancel && *t->cancel ? 1 : 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(CURL *, curl_easy_cleanup);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct curl_slist *, curl_slist_free_all);

/* Maps a failed transfer to an errno and one line. */
static int transfer_error(CURLcode c, const char *url, const char *detail, const Transfer *t, char *err,
                          size_t errsz) {
        const char *d = detail && *detail ? detail : curl_easy_strerror(c);

        switch (c) {
        case CURLE_COULDNT_CONNECT:
                return errorf(err, errsz, -ECONNREFUSED, "cannot connect to the controller at %s: %s", url, d);
        case CURLE_COULDNT_RESOLVE_HOST:
                return errorf(err, errsz, -EHOSTUNREACH, "cannot resolve the controller's host in %s: %s", url, d);
        case CURLE_OPERATION_TIMEDOUT:
                return errorf(err, errsz, -ETIMEDOUT, "the controller at %s did not answer in time: %s", url, d);
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
                return errorf(err, errsz, -EKEYREJECTED,
                              "TLS with the controller at %s failed: %s (is ca_file the controller's CA, and "
                              "is the host name in its server certificate?)",
                              url, d);
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CIPHER:
                return errorf(err, errsz, -ECONNRESET,
                              "TLS handshake with the controller at %s failed: %s (it must speak TLS 1.3)", url, d);
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
                return errorf(err, errsz, -ECONNRESET, "the connection to the controller at %s broke: %s", url, d);
        case CURLE_WRITE_ERROR:
        case CURLE_FILESIZE_EXCEEDED:
                if (t->too_large || c == CURLE_FILESIZE_EXCEEDED)
                        return errorf(err, errsz, -EFBIG, "the controller's answer is larger than %zu bytes",
                                      ENROLL_RESPONSE_MAX);
                break;
        case CURLE_ABORTED_BY_CALLBACK:
                return errorf(err, errsz, -ECANCELED, "enrollment cancelled");
        default:
                break;
        }
        return errorf(err, errsz, -EIO, "enrollment request to %s failed: %s", url, d);
}

/* POSTs body to url; *ret_status and *ret_body (caller frees) on a completed exchange. */
static int post_json(const EnrollOptions *o, const char *url, const char *body, long *ret_status, char **ret_body,
                     char *err, size_t errsz) {
        _cleanup_(curl_easy_cleanupp) CURL *h = NULL;
        _cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
        Transfer t = { .body = { .limit = ENROLL_RESPONSE_MAX }, .cancel = o->cancel };
        char detail[CURL_ERROR_SIZE] = "";
        struct curl_slist *l;
        long status = 0;
        CURLcode c;

        h = curl_easy_init();
        if (!h)
                return errorf(err, errsz, -ENOMEM, "cannot set up libcurl");
        l = curl_slist_append(NULL, "Content-Type: application/json");
        if (l)
                headers = l, l = curl_slist_append(headers, "Accept: application/json");
        if (!l)
                return errorf(err, errsz, -ENOMEM, "out of memory");
        /* every option must take: a TLS option silently ignored would weaken what we check */
        if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
            curl_easy_setopt(h, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_3) != CURLE_OK ||
            curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file) != CURLE_OK ||
            curl_easy_setopt(h, CURLOPT_CAPATH, NULL) != CURLE_OK ||
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
            curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
            curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, ENROLL_CONNECT_TIMEOUT_SEC) != CURLE_OK ||
            curl_easy_setopt(h, CURLOPT_TIMEOUT, ENROLL_TIMEOUT_SEC) != CURLE_OK ||
            curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) ENROLL_RESPONSE_MAX) != CURLE_OK ||
            curl_easy_setopt(h, CURLOPT_ERRORBUFFER, detail) != CURLE_OK ||
            curl_easy_setopt(h, CURLOPT_USERAGENT, "sluice-agent/" SLUICE_VERSION) != CURLE_OK ||
            curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen(body)) != CURLE_OK ||
            curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, transfer_write) != CURLE_OK ||
            curl_easy_setopt(h, CURLOPT_WRITEDATA, &t) != CURLE_OK ||
            curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
            curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, transfer_progress) != CURLE_OK ||
            curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t) != CURLE_OK) {
                strbuf_done(&t.body);
                return errorf(err, errsz, -EOPNOTSUPP, "this libcurl lacks an option enrollment needs (TLS 1.3?)");
        }
        c = curl_easy_perform(h);
        if (c != CURLE_OK) {
                int r = transfer_error(c, url, detail, &t, err, errsz);
                strbuf_done(&t.body);
                return r;
        }
        (void) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        *ret_status = status;
        *ret_body = strbuf_take(&t.body);
        if (!*ret_body)
                return errorf(err, errsz, -ENOMEM, "out of memory");
        return 0;
}

/* One line for a refusal: the status, and the controller's OpenAI-shaped error when it sent one. */
static int refusal(long status, const char *body, char *err, size_t errsz) {
        _cleanup_json_ cJSON *j = NULL;
        const char *msg = NULL, *code = NULL;
        char why[64];
        int r;

        r = status == 400                    ? -EINVAL
            : status == 429 || status >= 500 ? -EAGAIN
            : status == 401 || status == 403 ? -EACCES
                                             : -EPROTO;
        if (json_parse(body, strlen(body), &j, why, sizeof why) >= 0) {
                (void) json_get_string(j, "error.message", &msg, why, sizeof why);
                (void) json_get_string(j, "error.code", &code, why, sizeof why);
        }
        return errorf(err, errsz, r, "the controller refused enrollment: HTTP %ld%s%s: %.512s", status,
                      code ? " " : "", code ? code : "", msg ? msg : "(no error message)");
}

static int make_data_dir(const char *path, char *err, size_t errsz) {
        struct stat st;

        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return errorf(err, errsz, -errno, "data_dir %s: cannot create it: %s", path, strerror(errno));
        if (stat(path, &st) < 0)
                return errorf(err, errsz, -errno, "data_dir %s: %s", path, strerror(errno));
        if (!S_ISDIR(st.st_mode))
                return errorf(err, errsz, -ENOTDIR, "data_dir %s: not a directory", path);
        return 0;
}

int enroll_run(const EnrollOptions *o, X509 *ca, EnrollIdentity *ret, char *err, size_t errsz) {
        _cleanup_(enroll_identity_done) EnrollIdentity e = {};
        _cleanup_(free_secret) char *token = NULL, *request = NULL;
        _cleanup_free_ char *url = NULL, *csr_pem = NULL, *answer = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_REQ_freep) X509_REQ *csr = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_json_ cJSON *body = NULL, *reply = NULL;
        const char *cert_pem;
        char why[512];
        size_t len;
        long status = 0;
        int r;

        if (identity_paths(o->data_dir, &e) < 0 || asprintf(&url, "%s%s", o->controller_url, ENROLL_PATH) < 0)
                return errorf(err, errsz, -ENOMEM, "out of memory");
        r = read_token(o->join_token_file, &token, err, errsz);
        if (r < 0)
                return r;
        if ((r = pki_key_generate(&key, err, errsz)) < 0 ||
            (r = pki_csr_create(key, o->node_name, &csr, err, errsz)) < 0 ||
            (r = pki_csr_to_pem(csr, &csr_pem, &len, err, errsz)) < 0)
                return r;
        body = cJSON_CreateObject();
        if (!body || !cJSON_AddStringToObject(body, "token", token) ||
            !cJSON_AddStringToObject(body, "csr", csr_pem) || json_print(body, &request) < 0)
                return errorf(err, errsz, -ENOMEM, "out of memory");
        /* the tree holds a copy of the token: wipe it before it is freed */
        explicit_bzero(cJSON_GetObjectItemCaseSensitive(body, "token")->valuestring, strlen(token));

        r = post_json(o, url, request, &status, &answer, err, errsz);
        if (r < 0)
                return r;
        if (status != 200)
                return refusal(status, answer, err, errsz);

        r = json_parse(answer, strlen(answer), &reply, why, sizeof why);
        if (r >= 0)
                r = json_get_string(reply, "certificate", &cert_pem, why, sizeof why);
        if (r < 0)
                return errorf(err, errsz, -EBADMSG, "the controller's enrollment answer is malformed: %s", why);
        r = pki_cert_from_pem(cert_pem, strlen(cert_pem), &cert, why, sizeof why);
        if (r >= 0)
                r = check_cert(ca, cert, key, o->node_name, &e.id, &e.not_after, why, sizeof why);
        if (r < 0)
                return errorf(err, errsz, r == -ENOMEM ? r : -EKEYREJECTED,
                              "the certificate the controller issued does not check out: %s", why);

        /* key first: a crash in between leaves a key without a certificate, which reads as "not enrolled" */
        if ((r = make_data_dir(o->data_dir, err, errsz)) < 0 || (r = pki_key_save(e.key_path, key, err, errsz)) < 0 ||
            (r = pki_cert_save(e.cert_path, cert, err, errsz)) < 0)
                return r;
        *ret = e;
        e = (EnrollIdentity){};
        return 0;
}
