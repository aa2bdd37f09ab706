/* pki.c: keys, CA, server and node certificates, CSRs and strict identity checks (OpenSSL 3 EVP APIs). */
#include "pki.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "openssl-util.h"
#include "random.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(X509_STORE_CTX *, X509_STORE_CTX_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(GENERAL_NAMES *, GENERAL_NAMES_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_EXTENSION *, X509_EXTENSION_free);

/* ---- errors ---- */

_printf_(4, 0) static void pki_vformat(char *err, size_t errsz, const char *suffix, const char *fmt, va_list ap) {
        char msg[512];

        if (!err || errsz == 0)
                return;
        vsnprintf(msg, sizeof msg, fmt, ap);
        snprintf(err, errsz, "pki: %s%s%s", msg, suffix ? ": " : "", suffix ? suffix : "");
}

/* Writes "pki: <message>" into err, drops whatever OpenSSL queued, returns r. */
_printf_(4, 5) static int pki_err(int r, char *err, size_t errsz, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        pki_vformat(err, errsz, NULL, fmt, ap);
        va_end(ap);
        ERR_clear_error();
        return r;
}

/* Like pki_err(), with OpenSSL's queued reasons appended ("pki: <message>: <reason>"). */
_printf_(4, 5) static int pki_err_ssl(int r, char *err, size_t errsz, const char *fmt, ...) {
        char reason[256];
        va_list ap;

        openssl_error_string(reason, sizeof reason);
        va_start(ap, fmt);
        pki_vformat(err, errsz, reason, fmt, ap);
        va_end(ap);
        return r;
}

/* Turns "pki: <message>" written by a callee into "pki: <path>: <message>". */
static void err_add_path(char *err, size_t errsz, const char *path) {
        char inner[512];

        if (!err || errsz == 0 || !strneq(err, "pki: ", 5))
                return;
        snprintf(inner, sizeof inner, "%s", err + 5);
        snprintf(err, errsz, "pki: %s: %s", path, inner);
}

/* s when it is short printable ASCII, so that untrusted text never reaches a message unfiltered. */
static const char *printable(const char *s) {
        size_t n = 0;

        for (; s[n]; n++)
                if (n >= 80 || s[n] < 0x20 || s[n] > 0x7e)
                        return "(unprintable)";
        return s;
}

static void format_time(int64_t t, char buf[static 32]) {
        time_t tt = (time_t) t;
        struct tm tm;

        if (!gmtime_r(&tt, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, 32, "@%" PRId64, t);
}

static void hex_lower(const unsigned char *p, size_t n, char *out) {
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[p[i] >> 4];
                out[2 * i + 1] = digits[p[i] & 15];
        }
        out[2 * n] = '\0';
}

/* ---- identity fields ---- */

static bool is_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool pki_node_name_valid(const char *name) {
        size_t n;

        if (!name || !is_alnum(name[0]))
                return false;
        n = strnlen(name, PKI_NODE_NAME_MAX);
        if (n >= PKI_NODE_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(name[i]) && name[i] != '.' && name[i] != '_' && name[i] != '-')
                        return false;
        return true;
}

bool pki_zone_valid(const char *zone) {
        return zone && (streq(zone, PKI_ZONE_PRIVATE) || streq(zone, PKI_ZONE_PUBLIC));
}

bool pki_node_id_valid(const char *node_id) {
        if (!node_id || strnlen(node_id, PKI_NODE_ID_SIZE) != PKI_NODE_ID_SIZE - 1)
                return false;
        for (size_t i = 0; i < PKI_NODE_ID_SIZE - 1; i++) {
                char c = node_id[i];

                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (c != '-')
                                return false;
                } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                        return false;
        }
        return true;
}

int pki_identity_check(const PkiIdentity *id, char *err, size_t errsz) {
        if (!id)
                return pki_err(-EINVAL, err, errsz, "no identity given");
        if (!pki_node_name_valid(id->name))
                return pki_err(
                        -EINVAL, err, errsz,
                        "node name \"%s\" is not valid (1-63 of A-Z a-z 0-9 . _ -, starting with a letter or digit)",
                        strnlen(id->name, sizeof id->name) < sizeof id->name ? printable(id->name) : "(too long)");
        if (!pki_zone_valid(id->zone))
                return pki_err(-EINVAL, err, errsz, "zone \"%s\" is not valid (private or public)",
                               strnlen(id->zone, sizeof id->zone) < sizeof id->zone ? printable(id->zone)
                                                                                    : "(too long)");
        if (!pki_node_id_valid(id->node_id))
                return pki_err(-EINVAL, err, errsz, "node id \"%s\" is not a lower-case UUID",
                               strnlen(id->node_id, sizeof id->node_id) < sizeof id->node_id ? printable(id->node_id)
                                                                                             : "(too long)");
        return 0;
}

int pki_node_id_generate(char ret[static PKI_NODE_ID_SIZE]) {
        unsigned char b[16];
        char h[33];
        int r;

        r = random_bytes(b, sizeof b);
        if (r < 0)
                return r;
        b[6] = (unsigned char) ((b[6] & 0x0f) | 0x40); /* version 4 */
        b[8] = (unsigned char) ((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
        hex_lower(b, sizeof b, h);
        snprintf(ret, PKI_NODE_ID_SIZE, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
        return 0;
}

/* ---- keys ---- */

/* The digest to sign with: Ed25519 signs the message itself (no digest). */
static const EVP_MD *sign_md(EVP_PKEY *key) {
        return EVP_PKEY_is_a(key, "ED25519") ? NULL : EVP_sha256();
}

int pki_key_check(EVP_PKEY *key, const char *what, char *err, size_t errsz) {
        const char *type;
        char curve[64];
        size_t len;

        if (!key)
                return pki_err(-EINVAL, err, errsz, "%s is missing", what);
        if (EVP_PKEY_is_a(key, "ED25519"))
                return 0;
        if (EVP_PKEY_is_a(key, "EC")) {
                if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof curve, &len) != 1)
                        return pki_err(-EOPNOTSUPP, err, errsz,
                                       "%s is an EC key without a named curve; only P-256 and Ed25519 are accepted",
                                       what);
                if (streq(curve, "prime256v1"))
                        return 0;
                return pki_err(-EOPNOTSUPP, err, errsz,
                               "%s is an EC key on curve %s; only P-256 and Ed25519 are accepted", what,
                               printable(curve));
        }
        type = EVP_PKEY_get0_type_name(key);
        return pki_err(-EOPNOTSUPP, err, errsz, "%s has key type %s; only EC P-256 and Ed25519 are accepted", what,
                       type ? printable(type) : "unknown");
}

int pki_key_generate(EVP_PKEY **ret, char *err, size_t errsz) {
        EVP_PKEY *key;

        key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        if (!key)
                return pki_err_ssl(-EIO, err, errsz, "cannot generate an EC P-256 key");
        *ret = key;
        return 0;
}

/* A NUL-terminated copy of a memory BIO's contents. */
static int bio_take(BIO *bio, char **ret, size_t *ret_size) {
        char *data, *s;
        long n;

        n = BIO_get_mem_data(bio, &data);
        if (n <= 0)
                return -EIO;
        s = malloc((size_t) n + 1);
        if (!s)
                return -ENOMEM;
        memcpy(s, data, (size_t) n);
        s[n] = '\0';
        *ret = s;
        if (ret_size)
                *ret_size = (size_t) n;
        return 0;
}

int pki_key_to_pem(EVP_PKEY *key, char **ret, size_t *ret_size, char *err, size_t errsz) {
        _cleanup_(BIO_free_allp) BIO *bio = NULL;
        int r;

        if (!key)
                return pki_err(-EINVAL, err, errsz, "no key given");
        bio = BIO_new(BIO_s_secmem()); /* cleared when freed */
        if (!bio)
                return pki_err(-ENOMEM, err, errsz, "out of memory");
        if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1)
                return pki_err_ssl(-EIO, err, errsz, "cannot encode the private key");
        r = bio_take(bio, ret, ret_size);
        if (r < 0)
                return pki_err(r, err, errsz, "cannot encode the private key: %s", strerror(-r));
        return 0;
}

/* Refuses empty or oversized input. */
static int check_size(size_t size, const char *what, char *err, size_t errsz) {
        if (size == 0)
                return pki_err(-EBADMSG, err, errsz, "%s is empty", what);
        if (size > PKI_PEM_MAX)
                return pki_err(-EFBIG, err, errsz, "%s of %zu bytes exceeds the limit of %zu bytes", what, size,
                               PKI_PEM_MAX);
        return 0;
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The first non-blank text of a PEM must be one of the expected "-----BEGIN <label>-----" lines
 * (prefix match when the label list ends in "*"), so that no other object is silently skipped. */
static bool pem_starts_with(const char *pem, size_t size, const char *const *begins) {
        size_t i = 0;

        while (i < size && is_space(pem[i]))
                i++;
        for (; *begins; begins++) {
                size_t n = strlen(*begins);

                if (size - i >= n && memcmp(pem + i, *begins, n) == 0)
                        return true;
        }
        return false;
}

/* After the first PEM object only whitespace may follow. */
static int check_pem_rest(BIO *bio, const char *what, char *err, size_t errsz) {
        char *rest;
        long n = BIO_get_mem_data(bio, &rest);

        for (long i = 0; i < n; i++)
                if (!is_space(rest[i]))
                        return pki_err(-EBADMSG, err, errsz, "unexpected data after the %s PEM", what);
        return 0;
}

/* Never prompts for a passphrase (OpenSSL's default callback would read the terminal). */
static int no_passphrase(char *buf, int size, int rwflag, void *u) {
        (void) buf, (void) size, (void) rwflag, (void) u;
        return -1;
}

int pki_key_from_pem(const char *pem, size_t size, EVP_PKEY **ret, char *err, size_t errsz) {
        static const char *const begins[] = { "-----BEGIN PRIVATE KEY-----", "-----BEGIN EC PRIVATE KEY-----", NULL };
        _cleanup_(BIO_free_allp) BIO *bio = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        int r;

        if (!pem)
                return pki_err(-EINVAL, err, errsz, "no key PEM given");
        r = check_size(size, "private key PEM", err, errsz);
        if (r < 0)
                return r;
        if (!pem_starts_with(pem, size, begins))
                return pki_err(-EBADMSG, err, errsz,
                               "private key PEM does not start with an unencrypted \"BEGIN PRIVATE KEY\" block");
        bio = BIO_new_mem_buf(pem, (int) size);
        if (!bio)
                return pki_err(-ENOMEM, err, errsz, "out of memory");
        key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
        if (!key)
                return pki_err_ssl(-EBADMSG, err, errsz, "cannot parse the private key PEM");
        r = check_pem_rest(bio, "private key", err, errsz);
        if (r < 0)
                return r;
        r = pki_key_check(key, "private key", err, errsz);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(key);
        return 0;
}

int pki_key_save(const char *path, EVP_PKEY *key, char *err, size_t errsz) {
        char *pem = NULL;
        size_t n;
        int r;

        r = pki_key_to_pem(key, &pem, &n, err, errsz);
        if (r < 0)
                return r;
        r = file_write_atomic(path, pem, n, 0600);
        explicit_bzero(pem, n);
        free(pem);
        if (r < 0)
                return pki_err(r, err, errsz, "cannot write key file %s: %s", path, strerror(-r));
        return 0;
}

/* Reads up to max bytes of fd into buf (max + 1 bytes); -EFBIG when there is more. */
static int read_bounded(int fd, char *buf, size_t max, size_t *ret_size) {
        size_t n = 0;

        for (;;) {
                ssize_t k = read(fd, buf + n, max + 1 - n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > max)
                        return -EFBIG;
        }
        *ret_size = n;
        return 0;
}

int pki_key_load(const char *path, EVP_PKEY **ret, char *err, size_t errsz) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        char *buf;
        size_t n = 0;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return pki_err(-errno, err, errsz, "cannot open key file %s: %s", path, strerror(errno));
        if (fstat(fd, &st) < 0)
                return pki_err(-errno, err, errsz, "cannot stat key file %s: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return pki_err(-EINVAL, err, errsz, "key file %s is not a regular file", path);
        if (st.st_mode & 0077)
                return pki_err(
                        -EPERM, err, errsz,
                        "key file %s has mode %04o: it must not be accessible by group or others (chmod 600 it)", path,
                        (unsigned) (st.st_mode & 07777));
        if ((uint64_t) st.st_size > PKI_PEM_MAX)
                return pki_err(-EFBIG, err, errsz, "key file %s is larger than %zu bytes", path, PKI_PEM_MAX);

        buf = malloc(PKI_PEM_MAX + 1);
        if (!buf)
                return pki_err(-ENOMEM, err, errsz, "out of memory");
        r = read_bounded(fd, buf, PKI_PEM_MAX, &n);
        if (r == -EFBIG)
                r = pki_err(r, err, errsz, "key file %s is larger than %zu bytes", path, PKI_PEM_MAX);
        else if (r < 0)
                r = pki_err(r, err, errsz, "cannot read key file %s: %s", path, strerror(-r));
        else {
                r = pki_key_from_pem(buf, n, ret, err, errsz);
                if (r < 0)
                        err_add_path(err, errsz, path);
        }
        explicit_bzero(buf, MIN(n, PKI_PEM_MAX + 1));
        free(buf);
        return r;
}

/* ---- certificates and CSRs in PEM and DER ---- */

int pki_cert_from_pem(const void *pem, size_t size, X509 **ret, char *err, size_t errsz) {
        static const char *const begins[] = { "-----BEGIN CERTIFICATE-----", NULL };
        _cleanup_(BIO_free_allp) BIO *bio = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        int r;

        if (!pem)
                return pki_err(-EINVAL, err, errsz, "no certificate PEM given");
        r = check_size(size, "certificate PEM", err, errsz);
        if (r < 0)
                return r;
        if (!pem_starts_with(pem, size, begins))
                return pki_err(-EBADMSG, err, errsz,
                               "certificate PEM does not start with \"-----BEGIN CERTIFICATE-----\"");
        bio = BIO_new_mem_buf(pem, (int) size);
        if (!bio)
                return pki_err(-ENOMEM, err, errsz, "out of memory");
        cert = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
        if (!cert)
                return pki_err_ssl(-EBADMSG, err, errsz, "cannot parse the certificate PEM");
        r = check_pem_rest(bio, "certificate", err, errsz);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(cert);
        return 0;
}

int pki_cert_from_der(const void *der, size_t size, X509 **ret, char *err, size_t errsz) {
        const unsigned char *p = der;
        _cleanup_(X509_freep) X509 *cert = NULL;
        int r;

        if (!der)
                return pki_err(-EINVAL, err, errsz, "no certificate DER given");
        r = check_size(size, "certificate DER", err, errsz);
        if (r < 0)
                return r;
        cert = d2i_X509(NULL, &p, (long) size);
        if (!cert)
                return pki_err_ssl(-EBADMSG, err, errsz, "cannot parse the certificate DER");
        if (p != (const unsigned char *) der + size)
                return pki_err(-EBADMSG, err, errsz, "unexpected data after the certificate DER");
        *ret = TAKE_PTR(cert);
        return 0;
}

int pki_cert_to_pem(X509 *cert, char **ret, size_t *ret_size, char *err, size_t errsz) {
        _cleanup_(BIO_free_allp) BIO *bio = NULL;
        int r;

        if (!cert)
                return pki_err(-EINVAL, err, errsz, "no certificate given");
        bio = BIO_new(BIO_s_mem());
        if (!bio)
                return pki_err(-ENOMEM, err, errsz, "out of memory");
        if (PEM_write_bio_X509(bio, cert) != 1)
                return pki_err_ssl(-EIO, err, errsz, "cannot encode the certificate");
        r = bio_take(bio, ret, ret_size);
        if (r < 0)
                return pki_err(r, err, errsz, "cannot encode the certificate: %s", strerror(-r));
        return 0;
}

int pki_csr_from_pem(const void *pem, size_t size, X509_REQ **ret, char *err, size_t errsz) {
        static const char *const begins[] = { "-----BEGIN CERTIFICATE REQUEST-----",
                                              "-----BEGIN NEW CERTIFICATE REQUEST-----", NULL };
        _cleanup_(BIO_free_allp) BIO *bio = NULL;
        _cleanup_(X509_REQ_freep) X509_REQ *req = NULL;
        int r;

        if (!pem)
                return pki_err(-EINVAL, err, errsz, "no CSR PEM given");
        r = check_size(size, "CSR PEM", err, errsz);
        if (r < 0)
                return r;
        if (!pem_starts_with(pem, size, begins))
                return pki_err(-EBADMSG, err, errsz,
                               "CSR PEM does not start with \"-----BEGIN CERTIFICATE REQUEST-----\"");
        bio = BIO_new_mem_buf(pem, (int) size);
        if (!bio)
                return pki_err(-ENOMEM, err, errsz, "out of memory");
        req = PEM_read_bio_X509_REQ(bio, NULL, no_passphrase, NULL);
        if (!req)
                return pki_err_ssl(-EBADMSG, err, errsz, "cannot parse the CSR PEM");
        r = check_pem_rest(bio, "CSR", err, errsz);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(req);
        return 0;
}

int pki_csr_from_der(const void *der, size_t size, X509_REQ **ret, char *err, size_t errsz) {
        const unsigned char *p = der;
        _cleanup_(X509_REQ_freep) X509_REQ *req = NULL;
        int r;

        if (!der)
                return pki_err(-EINVAL, err, errsz, "no CSR DER given");
        r = check_size(size, "CSR DER", err, errsz);
        if (r < 0)
                return r;
        req = d2i_X509_REQ(NULL, &p, (long) size);
        if (!req)
                return pki_err_ssl(-EBADMSG, err, errsz, "cannot parse the CSR DER");
        if (p != (const unsigned char *) der + size)
                return pki_err(-EBADMSG, err, errsz, "unexpected data after the CSR DER");
        *ret = TAKE_PTR(req);
        return 0;
}

int pki_csr_to_pem(X509_REQ *req, char **ret, size_t *ret_size, char *err, size_t errsz) {
        _cleanup_(BIO_free_allp) BIO *bio = NULL;
        int r;

        if (!req)
                return pki_err(-EINVAL, err, errsz, "no CSR given");
        bio = BIO_new(BIO_s_mem());
        if (!bio)
                return pki_err(-ENOMEM, err, errsz, "out of memory");
        if (PEM_write_bio_X509_REQ(bio, req) != 1)
                return pki_err_ssl(-EIO, err, errsz, "cannot encode the CSR");
        r = bio_take(bio, ret, ret_size);
        if (r < 0)
                return pki_err(r, err, errsz, "cannot encode the CSR: %s", strerror(-r));
        return 0;
}

int pki_cert_save(const char *path, X509 *cert, char *err, size_t errsz) {
        _cleanup_free_ char *pem = NULL;
        size_t n;
        int r;

        r = pki_cert_to_pem(cert, &pem, &n, err, errsz);
        if (r < 0)
                return r;
        r = file_write_atomic(path, pem, n, 0644);
        if (r < 0)
                return pki_err(r, err, errsz, "cannot write certificate file %s: %s", path, strerror(-r));
        return 0;
}

int pki_cert_load(const char *path, X509 **ret, char *err, size_t errsz) {
        _cleanup_free_ char *pem = NULL;
        size_t n;
        int r;

        r = file_read_all(path, PKI_PEM_MAX, &pem, &n);
        if (r == -EFBIG)
                return pki_err(r, err, errsz, "certificate file %s is larger than %zu bytes", path, PKI_PEM_MAX);
        if (r < 0)
                return pki_err(r, err, errsz, "cannot read certificate file %s: %s", path, strerror(-r));
        r = pki_cert_from_pem(pem, n, ret, err, errsz);
        if (r < 0)
                err_add_path(err, errsz, path);
        return r;
}

/* ---- certificate facts ---- */

int pki_cert_serial_hex(X509 *cert, char ret[static PKI_SERIAL_HEX_MAX]) {
        const ASN1_INTEGER *ai;
        _cleanup_(BN_freep) BIGNUM *bn = NULL;
        unsigned char b[20];
        int n;

        if (!cert)
                return -EINVAL;
        ai = X509_get0_serialNumber(cert);
        bn = ai ? ASN1_INTEGER_to_BN(ai, NULL) : NULL;
        if (!bn) {
                ERR_clear_error();
                return -EBADMSG;
        }
        if (BN_is_negative(bn) || BN_num_bytes(bn) > (int) sizeof b)
                return -EBADMSG;
        n = BN_bn2bin(bn, b);
        if (n == 0) { /* serial 0: "00" */
                b[0] = 0;
                n = 1;
        }
        hex_lower(b, (size_t) n, ret);
        return 0;
}

int pki_cert_fingerprint(X509 *cert, char ret[static PKI_FINGERPRINT_HEX_SIZE]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;

        if (!cert)
                return -EINVAL;
        if (X509_digest(cert, EVP_sha256(), md, &n) != 1 || n != 32) {
                ERR_clear_error();
                return -EIO;
        }
        hex_lower(md, n, ret);
        return 0;
}

static int asn1_time_to_unix(const ASN1_TIME *t, int64_t *ret) {
        struct tm tm = {};
        time_t u;

        if (!t || ASN1_TIME_to_tm(t, &tm) != 1) {
                ERR_clear_error();
                return -EBADMSG;
        }
        u = timegm(&tm);
        if (u == (time_t) -1)
                return -EBADMSG;
        *ret = (int64_t) u;
        return 0;
}

int pki_cert_validity(X509 *cert, int64_t *ret_not_before, int64_t *ret_not_after) {
        int64_t nb, na;
        int r;

        if (!cert)
                return -EINVAL;
        r = asn1_time_to_unix(X509_get0_notBefore(cert), &nb);
        if (r < 0)
                return r;
        r = asn1_time_to_unix(X509_get0_notAfter(cert), &na);
        if (r < 0)
                return r;
        if (ret_not_before)
                *ret_not_before = nb;
        if (ret_not_after)
                *ret_not_after = na;
        return 0;
}

/* ---- building certificates ---- */

/* A name of (nid, value) pairs, UTF-8 strings. */
static X509_NAME *name_new(int nid1, const char *v1, int nid2, const char *v2) {
        _cleanup_(X509_NAME_freep) X509_NAME *name = X509_NAME_new();

        if (!name)
                return NULL;
        if (X509_NAME_add_entry_by_NID(name, nid1, MBSTRING_UTF8, (const unsigned char *) v1, -1, -1, 0) != 1)
                return NULL;
        if (v2 && X509_NAME_add_entry_by_NID(name, nid2, MBSTRING_UTF8, (const unsigned char *) v2, -1, -1, 0) != 1)
                return NULL;
        return TAKE_PTR(name);
}

/* A random positive 128-bit serial number (RFC 5280 allows up to 20 octets). */
static int set_random_serial(X509 *cert) {
        _cleanup_(BN_freep) BIGNUM *bn = NULL;
        unsigned char b[16];
        int r;

        do {
                r = random_bytes(b, sizeof b);
                if (r < 0)
                        return r;
                BN_free(bn);
                bn = BN_bin2bn(b, sizeof b, NULL);
                if (!bn)
                        return -ENOMEM;
        } while (BN_is_zero(bn));
        if (!BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)))
                return -ENOMEM;
        return 0;
}

/* A v3 certificate for pubkey with subject, issuer, validity and a random serial; unsigned. */
static int cert_begin(EVP_PKEY *pubkey, const X509_NAME *subject, const X509_NAME *issuer, int64_t not_before,
                      int64_t not_after, X509 **ret, char *err, size_t errsz) {
        _cleanup_(X509_freep) X509 *cert = X509_new();
        int r;

        if (!cert)
                return pki_err(-ENOMEM, err, errsz, "out of memory");
        if (X509_set_version(cert, X509_VERSION_3) != 1 || X509_set_subject_name(cert, subject) != 1 ||
            X509_set_issuer_name(cert, issuer) != 1 || X509_set_pubkey(cert, pubkey) != 1 ||
            !ASN1_TIME_set(X509_getm_notBefore(cert), (time_t) not_before) ||
            !ASN1_TIME_set(X509_getm_notAfter(cert), (time_t) not_after))
                return pki_err_ssl(-EIO, err, errsz, "cannot build the certificate");
        r = set_random_serial(cert);
        if (r < 0)
                return pki_err(r, err, errsz, "cannot make a serial number: %s", strerror(-r));
        *ret = TAKE_PTR(cert);
        return 0;
}

/* Adds an extension written in OpenSSL's config syntax; issuer NULL means self-signed. */
static int cert_add_ext(X509 *cert, X509 *issuer, int nid, const char *value, char *err, size_t errsz) {
        _cleanup_(X509_EXTENSION_freep) X509_EXTENSION *ext = NULL;
        X509V3_CTX ctx;

        X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
        ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
        if (!ext || X509_add_ext(cert, ext, -1) != 1)
                return pki_err_ssl(-EIO, err, errsz, "cannot add extension %s = %s", OBJ_nid2sn(nid), value);
        return 0;
}

/* Appends a URI, DNS or IP (given as octets) general name. */
static int gens_push(GENERAL_NAMES *gens, int type, const void *data, size_t len) {
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_STRING *s = type == GEN_IPADD ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();

        if (!g || !s || ASN1_STRING_set(s, data, (int) len) != 1) {
                GENERAL_NAME_free(g);
                ASN1_STRING_free(s);
                return -ENOMEM;
        }
        GENERAL_NAME_set0_value(g, type, s);
        if (sk_GENERAL_NAME_push(gens, g) <= 0) {
                GENERAL_NAME_free(g);
                return -ENOMEM;
        }
        return 0;
}

static int cert_sign(X509 *cert, EVP_PKEY *key, char *err, size_t errsz) {
        if (X509_sign(cert, key, sign_md(key)) <= 0)
                return pki_err_ssl(-EIO, err, errsz, "cannot sign the certificate");
        return 0;
}

/* The CA certificate must be a CA, match its key and be usable now. */
static int check_issuer(X509 *ca, EVP_PKEY *ca_key, int64_t now, int64_t *ret_ca_not_after, char *err, size_t errsz) {
        char when[32];
        int64_t na;
        int r;

        if (!ca || !ca_key)
                return pki_err(-EINVAL, err, errsz, "no CA certificate or key given");
        if (X509_check_ca(ca) != 1)
                return pki_err(-EINVAL, err, errsz, "the issuer certificate is not a CA");
        if (X509_check_private_key(ca, ca_key) != 1)
                return pki_err_ssl(-EINVAL, err, errsz, "the CA key does not match the CA certificate");
        r = pki_cert_validity(ca, NULL, &na);
        if (r < 0)
                return pki_err(r, err, errsz, "the CA certificate has an unreadable validity period");
        if (na <= now) {
                format_time(na, when);
                return pki_err(-EKEYEXPIRED, err, errsz, "the CA certificate expired at %s", when);
        }
        *ret_ca_not_after = na;
        return 0;
}

int pki_ca_create(EVP_PKEY *key, const char *cn, unsigned years, X509 **ret, char *err, size_t errsz) {
        _cleanup_(X509_NAME_freep) X509_NAME *name = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        char default_cn[64];
        int64_t now = (int64_t) time(NULL);
        int r;

        r = pki_key_check(key, "CA key", err, errsz);
        if (r < 0)
                return r;
        if (years < 1 || years > PKI_CA_YEARS_MAX)
                return pki_err(-EINVAL, err, errsz, "CA validity of %u years is outside 1..%d", years,
                               PKI_CA_YEARS_MAX);
        if (!cn) {
                unsigned char b[8];
                char h[17];

                r = random_bytes(b, sizeof b);
                if (r < 0)
                        return pki_err(r, err, errsz, "cannot get random bytes: %s", strerror(-r));
                hex_lower(b, sizeof b, h);
                snprintf(default_cn, sizeof default_cn, "sluice CA %s", h);
                cn = default_cn;
        }
        if (isempty(cn) || strlen(cn) > 64 || printable(cn) != cn)
                return pki_err(-EINVAL, err, errsz, "CA name must be 1-64 printable ASCII characters");

        name = name_new(NID_commonName, cn, 0, NULL);
        if (!name)
                return pki_err_ssl(-ENOMEM, err, errsz, "cannot build the CA name");
        r = cert_begin(key, name, name, now - PKI_CLOCK_SKEW_SEC, now + (int64_t) years * 36525 * 864, &cert, err,
                       errsz);
        if (r < 0)
                return r;
        r = cert_add_ext(cert, NULL, NID_basic_constraints, "critical,CA:TRUE,pathlen:0", err, errsz);
        if (r >= 0)
                r = cert_add_ext(cert, NULL, NID_key_usage, "critical,keyCertSign,cRLSign", err, errsz);
        if (r >= 0)
                r = cert_add_ext(cert, NULL, NID_subject_key_identifier, "hash", err, errsz);
        if (r >= 0)
                r = cert_sign(cert, key, err, errsz);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(cert);
        return 0;
}

/* A DNS name for a SAN: dot-separated labels of letters, digits and inner hyphens, ≤ 253 chars. */
static bool dns_name_valid(const char *s) {
        size_t n = strlen(s), label = 0;

        if (n == 0 || n > 253)
                return false;
        for (size_t i = 0; i <= n; i++) {
                char c = s[i];

                if (c == '.' || c == '\0') {
                        if (label == 0 || label > 63 || s[i - 1] == '-')
                                return false;
                        label = 0;
                } else if (is_alnum(c) || (c == '-' && label > 0))
                        label++;
                else
                        return false;
        }
        return true;
}

int pki_server_cert_issue(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *pubkey, const char *cn, const char *const *sans,
                          size_t n_sans, unsigned days, X509 **ret, char *err, size_t errsz) {
        _cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *gens = NULL;
        _cleanup_(X509_NAME_freep) X509_NAME *name = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        int64_t now = (int64_t) time(NULL), ca_not_after, not_after;
        int r;

        r = check_issuer(ca, ca_key, now, &ca_not_after, err, errsz);
        if (r < 0)
                return r;
        r = pki_key_check(pubkey, "server key", err, errsz);
        if (r < 0)
                return r;
        if (days < 1 || days > PKI_SERVER_CERT_DAYS_MAX)
                return pki_err(-EINVAL, err, errsz, "server certificate validity of %u days is outside 1..%d", days,
                               PKI_SERVER_CERT_DAYS_MAX);
        if (!sans || n_sans == 0 || n_sans > PKI_SERVER_SANS_MAX)
                return pki_err(-EINVAL, err, errsz, "a server certificate needs 1..%d names", PKI_SERVER_SANS_MAX);

        gens = sk_GENERAL_NAME_new_null();
        if (!gens)
                return pki_err(-ENOMEM, err, errsz, "out of memory");
        for (size_t i = 0; i < n_sans; i++) {
                ASN1_OCTET_STRING *ip;

                if (!sans[i])
                        return pki_err(-EINVAL, err, errsz, "server name %zu is missing", i);
                /* anything made of digits and dots, or with a colon, must be an IP address */
                if (strchr(sans[i], ':') || strspn(sans[i], "0123456789.") == strlen(sans[i])) {
                        ip = a2i_IPADDRESS(sans[i]);
                        if (!ip)
                                return pki_err(-EINVAL, err, errsz, "server name \"%s\" is not a valid IP address",
                                               printable(sans[i]));
                        r = gens_push(gens, GEN_IPADD, ASN1_STRING_get0_data(ip), (size_t) ASN1_STRING_length(ip));
                        ASN1_OCTET_STRING_free(ip);
                } else if (dns_name_valid(sans[i]))
                        r = gens_push(gens, GEN_DNS, sans[i], strlen(sans[i]));
                else
                        return pki_err(-EINVAL, err, errsz,
                                       "server name \"%s\" is neither an IP address nor a DNS name",
                                       printable(sans[i]));
                if (r < 0)
                        return pki_err(r, err, errsz, "out of memory");
        }
        if (!cn)
                cn = sans[0];
        if (isempty(cn) || strlen(cn) > 64 || printable(cn) != cn)
                return pki_err(-EINVAL, err, errsz, "server common name must be 1-64 printable ASCII characters");

        name = name_new(NID_commonName, cn, 0, NULL);
        if (!name)
                return pki_err_ssl(-ENOMEM, err, errsz, "cannot build the server certificate name");
        not_after = MIN(now - PKI_CLOCK_SKEW_SEC + (int64_t) days * 86400, ca_not_after);
        r = cert_begin(pubkey, name, X509_get_subject_name(ca), now - PKI_CLOCK_SKEW_SEC, not_after, &cert, err,
                       errsz);
        if (r < 0)
                return r;
        r = cert_add_ext(cert, ca, NID_basic_constraints, "critical,CA:FALSE", err, errsz);
        if (r >= 0)
                r = cert_add_ext(cert, ca, NID_key_usage, "critical,digitalSignature", err, errsz);
        if (r >= 0)
                r = cert_add_ext(cert, ca, NID_ext_key_usage, "serverAuth", err, errsz);
        if (r >= 0)
                r = cert_add_ext(cert, ca, NID_subject_key_identifier, "hash", err, errsz);
        if (r >= 0)
                r = cert_add_ext(cert, ca, NID_authority_key_identifier, "keyid:always", err, errsz);
        if (r < 0)
                return r;
        if (X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1)
                return pki_err_ssl(-EIO, err, errsz, "cannot add the subjectAltName");
        r = cert_sign(cert, ca_key, err, errsz);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(cert);
        return 0;
}

/* ---- node enrollment ---- */

int pki_csr_create(EVP_PKEY *key, const char *node_name, X509_REQ **ret, char *err, size_t errsz) {
        _cleanup_(X509_REQ_freep) X509_REQ *req = NULL;
        _cleanup_(X509_NAME_freep) X509_NAME *name = NULL;
        int r;

        r = pki_key_check(key, "node key", err, errsz);
        if (r < 0)
                return r;
        if (!pki_node_name_valid(node_name))
                return pki_err(
                        -EINVAL, err, errsz,
                        "node name \"%s\" is not valid (1-63 of A-Z a-z 0-9 . _ -, starting with a letter or digit)",
                        node_name ? printable(node_name) : "");
        req = X509_REQ_new();
        name = name_new(NID_commonName, node_name, 0, NULL);
        if (!req || !name)
                return pki_err(-ENOMEM, err, errsz, "out of memory");
        if (X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 || X509_REQ_set_subject_name(req, name) != 1 ||
            X509_REQ_set_pubkey(req, key) != 1)
                return pki_err_ssl(-EIO, err, errsz, "cannot build the CSR");
        if (X509_REQ_sign(req, key, sign_md(key)) <= 0)
                return pki_err_ssl(-EIO, err, errsz, "cannot sign the CSR");
        *ret = TAKE_PTR(req);
        return 0;
}

/* The single entry nid of name as UTF-8: -ENOENT none, -ENOTUNIQ several, -EBADMSG unusable. */
static int name_get_one(const X509_NAME *name, int nid, char *buf, size_t size) {
        unsigned char *utf8 = NULL;
        const ASN1_STRING *data;
        int i, n;

        i = X509_NAME_get_index_by_NID(name, nid, -1);
        if (i < 0)
                return -ENOENT;
        if (X509_NAME_get_index_by_NID(name, nid, i) >= 0)
                return -ENOTUNIQ;
        data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
        n = data ? ASN1_STRING_to_UTF8(&utf8, data) : -1;
        if (n < 0) {
                ERR_clear_error();
                return -EBADMSG;
        }
        if ((size_t) n >= size || memchr(utf8, 0, (size_t) n)) {
                OPENSSL_free(utf8);
                return -EBADMSG;
        }
        memcpy(buf, utf8, (size_t) n);
        buf[n] = '\0';
        OPENSSL_free(utf8);
        return 0;
}

int pki_csr_check(X509_REQ *req, const char *expected_name, char *err, size_t errsz) {
        char cn[PKI_NODE_NAME_MAX];
        EVP_PKEY *pub;
        int r;

        if (!req)
                return pki_err(-EINVAL, err, errsz, "no CSR given");
        if (!pki_node_name_valid(expected_name))
                return pki_err(-EINVAL, err, errsz, "expected node name \"%s\" is not valid",
                               expected_name ? printable(expected_name) : "");
        pub = X509_REQ_get0_pubkey(req);
        if (!pub)
                return pki_err_ssl(-EBADMSG, err, errsz, "CSR has no usable public key");
        if (X509_REQ_verify(req, pub) != 1)
                return pki_err_ssl(-EKEYREJECTED, err, errsz, "CSR signature does not verify");
        r = pki_key_check(pub, "CSR key", err, errsz);
        if (r < 0)
                return r;
        r = name_get_one(X509_REQ_get_subject_name(req), NID_commonName, cn, sizeof cn);
        if (r == -ENOENT)
                return pki_err(-EBADMSG, err, errsz, "CSR has no common name (CN)");
        if (r == -ENOTUNIQ)
                return pki_err(-EBADMSG, err, errsz, "CSR has more than one common name (CN)");
        if (r < 0 || !pki_node_name_valid(cn))
                return pki_err(-EBADMSG, err, errsz, "CSR common name is not a valid node name");
        if (!streq(cn, expected_name))
                return pki_err(-EPERM, err, errsz, "CSR names node \"%s\", token is for \"%s\"", cn, expected_name);
        return 0;
}

int pki_node_cert_issue(X509 *ca, EVP_PKEY *ca_key, X509_REQ *req, const PkiIdentity *id, int64_t lifetime_sec,
                        time_t now, X509 **ret, char *err, size_t errsz) {
        _cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *gens = NULL;
        _cleanup_(X509_NAME_freep) X509_NAME *name = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        int64_t t = now ? (int64_t) now : (int64_t) time(NULL), ca_not_after, not_before, not_after;
        char uri[64];
        int r, k;

        r = pki_identity_check(id, err, errsz);
        if (r < 0)
                return r;
        if (lifetime_sec < PKI_NODE_CERT_LIFETIME_MIN_SEC)
                return pki_err(-EINVAL, err, errsz,
                               "node certificate lifetime of %" PRId64 " s is below the minimum of %d s", lifetime_sec,
                               PKI_NODE_CERT_LIFETIME_MIN_SEC);
        lifetime_sec = MIN(lifetime_sec, (int64_t) PKI_NODE_CERT_LIFETIME_MAX_SEC);
        r = check_issuer(ca, ca_key, t, &ca_not_after, err, errsz);
        if (r < 0)
                return r;
        r = pki_csr_check(req, id->name, err, errsz);
        if (r < 0)
                return r;

        gens = sk_GENERAL_NAME_new_null();
        if (!gens)
                return pki_err(-ENOMEM, err, errsz, "out of memory");
        k = snprintf(uri, sizeof uri, PKI_URN_NODE_PREFIX "%s", id->node_id);
        r = gens_push(gens, GEN_URI, uri, (size_t) k);
        if (r >= 0) {
                k = snprintf(uri, sizeof uri, PKI_URN_ZONE_PREFIX "%s", id->zone);
                r = gens_push(gens, GEN_URI, uri, (size_t) k);
        }
        if (r < 0)
                return pki_err(r, err, errsz, "out of memory");

        name = name_new(NID_commonName, id->name, NID_organizationalUnitName, id->zone);
        if (!name)
                return pki_err_ssl(-ENOMEM, err, errsz, "cannot build the node certificate name");
        not_before = t - PKI_CLOCK_SKEW_SEC;
        not_after = MIN(not_before + lifetime_sec, ca_not_after);
        r = cert_begin(X509_REQ_get0_pubkey(req), name, X509_get_subject_name(ca), not_before, not_after, &cert, err,
                       errsz);
        if (r < 0)
                return r;
        r = cert_add_ext(cert, ca, NID_basic_constraints, "critical,CA:FALSE", err, errsz);
        if (r >= 0)
                r = cert_add_ext(cert, ca, NID_key_usage, "critical,digitalSignature", err, errsz);
        if (r >= 0)
                r = cert_add_ext(cert, ca, NID_ext_key_usage, "clientAuth", err, errsz);
        if (r >= 0)
                r = cert_add_ext(cert, ca, NID_subject_key_identifier, "hash", err, errsz);
        if (r >= 0)
                r = cert_add_ext(cert, ca, NID_authority_key_identifier, "keyid:always", err, errsz);
        if (r < 0)
                return r;
        if (X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1)
                return pki_err_ssl(-EIO, err, errsz, "cannot add the subjectAltName");
        r = cert_sign(cert, ca_key, err, errsz);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(cert);
        return 0;
}

/* ---- reading and verifying ---- */

/* Copies an IA5 URI after prefix into buf: -EBADMSG when it has NULs or does not fit. */
static int uri_value(const ASN1_IA5STRING *s, size_t prefix_len, char *buf, size_t size) {
        const unsigned char *p = ASN1_STRING_get0_data(s);
        size_t n = (size_t) ASN1_STRING_length(s) - prefix_len;

        if (n >= size || memchr(p + prefix_len, 0, n))
                return -EBADMSG;
        memcpy(buf, p + prefix_len, n);
        buf[n] = '\0';
        return 0;
}

static bool uri_has_prefix(const ASN1_IA5STRING *s, const char *prefix) {
        size_t n = strlen(prefix);

        return (size_t) ASN1_STRING_length(s) >= n && memcmp(ASN1_STRING_get0_data(s), prefix, n) == 0;
}

int pki_cert_identity(X509 *cert, PkiIdentity *ret, char *err, size_t errsz) {
        _cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *gens = NULL;
        const X509_NAME *subject;
        PkiIdentity id = {};
        char ou[PKI_ZONE_MAX], zone[PKI_ZONE_MAX];
        unsigned n_node = 0, n_zone = 0;
        int r, crit = 0;

        if (!cert || !ret)
                return pki_err(-EINVAL, err, errsz, "no certificate given");
        if (X509_check_ca(cert) != 0)
                return pki_err(-EBADMSG, err, errsz, "certificate is a CA certificate, not a node certificate");

        subject = X509_get_subject_name(cert);
        r = name_get_one(subject, NID_commonName, id.name, sizeof id.name);
        if (r == -ENOENT)
                return pki_err(-EBADMSG, err, errsz, "certificate has no node name (CN)");
        if (r == -ENOTUNIQ)
                return pki_err(-EBADMSG, err, errsz, "certificate has more than one node name (CN)");
        if (r < 0 || !pki_node_name_valid(id.name))
                return pki_err(-EBADMSG, err, errsz, "certificate CN is not a valid node name");
        r = name_get_one(subject, NID_organizationalUnitName, ou, sizeof ou);
        if (r == -ENOENT)
                return pki_err(-EBADMSG, err, errsz, "certificate has no zone (OU)");
        if (r == -ENOTUNIQ)
                return pki_err(-EBADMSG, err, errsz, "certificate has more than one zone (OU)");
        if (r < 0 || !pki_zone_valid(ou))
                return pki_err(-EBADMSG, err, errsz, "certificate zone (OU) \"%s\" is not private or public",
                               r < 0 ? "(unreadable)" : printable(ou));
        if (X509_NAME_entry_count(subject) != 2)
                return pki_err(-EBADMSG, err, errsz, "certificate subject has attributes other than CN and OU");

        gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
        if (!gens) {
                ERR_clear_error();
                return pki_err(-EBADMSG, err, errsz, "certificate has %s",
                               crit == -2 ? "more than one subjectAltName extension" : "no usable subjectAltName");
        }
        for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
                const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
                int type;
                const ASN1_IA5STRING *uri = GENERAL_NAME_get0_value(g, &type);

                if (type != GEN_URI)
                        return pki_err(-EBADMSG, err, errsz,
                                       "certificate has a subjectAltName entry that is not a URI");
                if (uri_has_prefix(uri, PKI_URN_NODE_PREFIX)) {
                        if (++n_node > 1)
                                return pki_err(-EBADMSG, err, errsz, "certificate names more than one node id");
                        if (uri_value(uri, strlen(PKI_URN_NODE_PREFIX), id.node_id, sizeof id.node_id) < 0 ||
                            !pki_node_id_valid(id.node_id))
                                return pki_err(-EBADMSG, err, errsz, "certificate node id is not a lower-case UUID");
                } else if (uri_has_prefix(uri, PKI_URN_ZONE_PREFIX)) {
                        if (++n_zone > 1)
                                return pki_err(-EBADMSG, err, errsz, "certificate names more than one zone");
                        if (uri_value(uri, strlen(PKI_URN_ZONE_PREFIX), zone, sizeof zone) < 0 ||
                            !pki_zone_valid(zone))
                                return pki_err(-EBADMSG, err, errsz, "certificate zone URI names an unknown zone");
                } else
                        return pki_err(-EBADMSG, err, errsz, "certificate has an unexpected subjectAltName URI");
        }
        if (n_node == 0)
                return pki_err(-EBADMSG, err, errsz, "certificate has no node id URI");
        if (n_zone == 0)
                return pki_err(-EBADMSG, err, errsz, "certificate has no zone URI");
        if (!streq(zone, ou))
                return pki_err(-EBADMSG, err, errsz, "certificate zone OU \"%s\" and zone URI \"%s\" disagree", ou,
                               zone);
        snprintf(id.zone, sizeof id.zone, "%s", zone);
        *ret = id;
        return 0;
}

int pki_verify_cert(X509 *ca, X509 *cert, PkiPurpose purpose, time_t now, PkiRevokedFunc revoked, void *userdata,
                    char *err, size_t errsz) {
        _cleanup_(X509_STORE_freep) X509_STORE *store = NULL;
        _cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = NULL;
        X509_VERIFY_PARAM *param;
        char serial[PKI_SERIAL_HEX_MAX];
        int r;

        if (!ca || !cert)
                return pki_err(-EINVAL, err, errsz, "no CA or certificate given");
        if (purpose != PKI_PURPOSE_NODE && purpose != PKI_PURPOSE_SERVER)
                return pki_err(-EINVAL, err, errsz, "unknown certificate purpose %d", (int) purpose);
        store = X509_STORE_new();
        ctx = X509_STORE_CTX_new();
        if (!store || !ctx)
                return pki_err(-ENOMEM, err, errsz, "out of memory");
        if (X509_STORE_add_cert(store, ca) != 1 || X509_STORE_CTX_init(ctx, store, cert, NULL) != 1)
                return pki_err_ssl(-EIO, err, errsz, "cannot set up certificate verification");
        param = X509_STORE_CTX_get0_param(ctx);
        X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
        if (X509_VERIFY_PARAM_set_purpose(param, purpose == PKI_PURPOSE_NODE ? X509_PURPOSE_SSL_CLIENT
                                                                             : X509_PURPOSE_SSL_SERVER) != 1)
                return pki_err_ssl(-EIO, err, errsz, "cannot set the certificate purpose");
        if (now)
                X509_VERIFY_PARAM_set_time(param, now);

        if (X509_verify_cert(ctx) != 1) {
                int e = X509_STORE_CTX_get_error(ctx);
                const char *which = X509_STORE_CTX_get_error_depth(ctx) > 0 ? "the CA certificate" : "certificate";
                X509 *bad = X509_STORE_CTX_get_current_cert(ctx);
                int64_t nb = 0, na = 0;
                char when[32];

                ERR_clear_error();
                if (bad)
                        (void) pki_cert_validity(bad, &nb, &na);
                if (e == X509_V_ERR_CERT_HAS_EXPIRED) {
                        format_time(na, when);
                        return pki_err(-EKEYEXPIRED, err, errsz, "%s expired at %s", which, when);
                }
                if (e == X509_V_ERR_CERT_NOT_YET_VALID) {
                        format_time(nb, when);
                        return pki_err(-EKEYEXPIRED, err, errsz, "%s is not valid before %s", which, when);
                }
                return pki_err(-EKEYREJECTED, err, errsz, "%s rejected: %s", which, X509_verify_cert_error_string(e));
        }

        if (!revoked)
                return 0;
        r = pki_cert_serial_hex(cert, serial);
        if (r < 0)
                return pki_err(r, err, errsz, "certificate serial number is unreadable");
        r = revoked(serial, userdata);
        if (r < 0)
                return pki_err(r, err, errsz, "cannot check whether certificate %s is revoked: %s", serial,
                               strerror(-r));
        if (r > 0)
                return pki_err(-EKEYREVOKED, err, errsz, "certificate %s is revoked", serial);
        return 0;
}
