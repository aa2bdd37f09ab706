/* enrollment.h: joining the controller once: the key and CSR are made here, the certificate comes
 * from POST <controller_url>/api/v1/enroll (docs/PROTOCOL.md, "Enrollment"). */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pki.h"

#define ENROLL_KEY_FILE "node.key"                /* in data_dir, mode 0600 */
#define ENROLL_CERT_FILE "node.crt"               /* in data_dir, mode 0644 */
#define ENROLL_TOKEN_MAX ((size_t) 1024)          /* join_token_file is at most this long */
#define ENROLL_RESPONSE_MAX ((size_t) 256 * 1024) /* the controller's answer */
#define ENROLL_CONNECT_TIMEOUT_SEC 10L
#define ENROLL_TIMEOUT_SEC 60L

typedef struct EnrollOptions {
        const char *controller_url; /* https://host[:port] */
        const char *ca_file;        /* the controller's CA: the only trust anchor */
        const char *node_name;
        const char *join_token_file; /* may be NULL: enroll_run() then fails with -ENOKEY */
        const char *data_dir;
        volatile sig_atomic_t *cancel; /* may be NULL; when it becomes nonzero, a transfer stops */
} EnrollOptions;

/* What the agent holds after enrollment. */
typedef struct EnrollIdentity {
        PkiIdentity id;    /* name, zone and node id, as the certificate says */
        int64_t not_after; /* Unix time the certificate expires */
        char *key_path;    /* data_dir/node.key */
        char *cert_path;   /* data_dir/node.crt */
} EnrollIdentity;

void enroll_identity_done(EnrollIdentity *e);

/* Loads ca_file, the controller's CA certificate (PEM): the only trust anchor of both the enrollment
 * and the agent connection. Errors as pki_cert_load(), with err naming the file. */
int enroll_load_ca(const char *ca_file, X509 **ret, char *err, size_t errsz);

/* Checks whether data_dir already holds a usable identity: a key file with mode 0600 (no group or
 * other bits), and a certificate that ca issued, that is valid now, whose key is that
 * key, and that names node_name. On success fills *ret (free with enroll_identity_done()).
 * Errors, with one line in err:
 *   -ENOENT        no key or no certificate (not enrolled yet)
 *   -EPERM         the key file is readable by others: fix it, do not enroll again
 *   -EKEYEXPIRED   the certificate expired (or is not valid yet)
 *   -EKEYREJECTED  another CA issued it, or it does not match the key
 *   -ESTALE        it names another node than node_name
 *   -EBADMSG, -EFBIG, -EIO...  unreadable or malformed files */
int enroll_check(const EnrollOptions *o, X509 *ca, EnrollIdentity *ret, char *err, size_t errsz);

/* Enrolls: reads the join token, makes an EC P-256 key and a CSR for node_name, POSTs them with
 * libcurl (TLS 1.3 only, ca_file as the only CA, peer and host verified, bounded answer), checks the
 * certificate it gets back (issued by ca, for this key and node_name), then stores key
 * (0600) and certificate atomically in data_dir (created 0700 when missing); nothing else there is
 * touched. Fills *ret like enroll_check(). Errors, with one line in err:
 *   -ENOKEY         no join_token_file configured; -EINVAL the file holds no token
 *   -ECONNREFUSED, -EHOSTUNREACH, -ETIMEDOUT, -ECONNRESET  the controller could not be reached
 *   -EKEYREJECTED   TLS failed (the server is not what ca_file vouches for), or the certificate
 *                   returned does not verify
 *   -EACCES         the controller refused (403: token unknown, used or expired, CSR mismatch);
 *                   err carries the status, the code and the controller's message
 *   -EINVAL         the controller called the request malformed (400)
 *   -EAGAIN         the controller is overloaded or failing (429, 5xx)
 *   -EBADMSG, -EFBIG  the answer is malformed or too large; -ECANCELED: *cancel was set */
int enroll_run(const EnrollOptions *o, X509 *ca, EnrollIdentity *ret, char *err, size_t errsz);

/* Whether an enroll_run() error may go away by trying again later (unreachable, overloaded). */
bool enroll_error_is_transient(int r);
