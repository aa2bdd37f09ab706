/* fuzz-pki.c: certificate and CSR parsing (PEM and DER), identity extraction and verification on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "openssl-util.h"
#include "pki.h"

/* The CA that signed the seeds in corpus/pki/ (its key is gone), and a time when the seeds are valid,
 * so that verification runs to the end for inputs derived from them. */
static const char ca_pem[] = "-----BEGIN CERTIFICATE-----\n"
                             "MIIBeDCCAR6gAwIBAgIRAOIuEhImtfv5z6fEiLgvttwwCgYIKoZIzj0EAwIwGTEX\n"
                             "MBUGA1UEAwwOc2x1aWNlIENBIGZ1enowIBcNMjYxMTI1MTYxNTMwWhgPMjA1NjEx\n"
                             "MjUwNDE2MzBaMBkxFzAVBgNVBAMMDnNsdWljZSBDQSBmdXp6MFkwEwYHKoZIzj0C\n"
                             "AQYIKoZIzj0DAQcDQgAElsDE4B5gUGENbXz3U6/+QMUHVDfGwh+ha8Z97+fJRHst\n"
                             "Tf+m4LizkpPr6kUMZPiibj2hABLqHfu1Fo8sw/XJyqNFMEMwEgYDVR0TAQH/BAgw\n"
                             "BgEB/wIBADAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFAx+lepSl3nnLS3u/F67\n"
                             "z1yPlXcwMAoGCCqGSM49BAMCA0gAMEUCIANuby8REc01xW3VxJKskgUpndJlHuhI\n"
                             "9baONoXvPSnBAiEAktIs0JabyMlU2BG8fGztmfbMSYC3cTJyNY/vVuV8j1w=\n"
                             "-----END CERTIFICATE-----\n";
#define SEED_TIME ((time_t) 1795626930)

static X509 *seed_ca(void) {
        static X509 *ca; /* parsed once, kept for the process */

        if (!ca && pki_cert_from_pem(ca_pem, sizeof ca_pem - 1, &ca, NULL, 0) < 0)
                abort();
        return ca;
}

static int revoked_odd(const char *serial, void *userdata) {
        return serial[strlen(serial) - 1] & 1;
}

static void check_cert(X509 *cert) {
        _cleanup_(X509_freep) X509 *again = NULL;
        _cleanup_free_ char *pem = NULL;
        char err[256], serial[PKI_SERIAL_HEX_MAX], fp[PKI_FINGERPRINT_HEX_SIZE];
        PkiIdentity id, id2;
        int64_t nb, na;
        size_t n;
        int r;

        r = pki_cert_identity(cert, &id, err, sizeof err);
        /* what identity extraction accepts is always a well-formed identity */
        if (r == 0 && pki_identity_check(&id, err, sizeof err) < 0)
                abort();
        if (r < 0 && strncmp(err, "pki: ", 5) != 0)
                abort();
        (void) pki_cert_serial_hex(cert, serial);
        (void) pki_cert_fingerprint(cert, fp);
        (void) pki_cert_validity(cert, &nb, &na);
        (void) pki_verify_cert(seed_ca(), cert, PKI_PURPOSE_NODE, SEED_TIME, revoked_odd, NULL, err, sizeof err);
        (void) pki_verify_cert(seed_ca(), cert, PKI_PURPOSE_SERVER, 0, NULL, NULL, err, sizeof err);

        /* PEM round trip: what was parsed once parses again to the same identity */
        if (pki_cert_to_pem(cert, &pem, &n, err, sizeof err) < 0 || n > PKI_PEM_MAX)
                return;
        if (pki_cert_from_pem(pem, n, &again, err, sizeof err) < 0)
                abort();
        if ((pki_cert_identity(again, &id2, err, sizeof err) == 0) != (r == 0))
                abort();
        if (r == 0 && memcmp(&id, &id2, sizeof id) != 0)
                abort();
}

static void check_csr(X509_REQ *req) {
        _cleanup_(X509_REQ_freep) X509_REQ *again = NULL;
        _cleanup_free_ char *pem = NULL;
        char err[256];
        size_t n;
        int r;

        r = pki_csr_check(req, "node-a", err, sizeof err);
        if (pki_csr_to_pem(req, &pem, &n, err, sizeof err) < 0 || n > PKI_PEM_MAX)
                return;
        if (pki_csr_from_pem(pem, n, &again, err, sizeof err) < 0)
                abort();
        if ((pki_csr_check(again, "node-a", err, sizeof err) == 0) != (r == 0))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char err[256];
        X509 *cert = NULL;
        X509_REQ *req = NULL;

        if (pki_cert_from_pem(data, size, &cert, err, sizeof err) == 0) {
                check_cert(cert);
                X509_free(cert);
                cert = NULL;
        }
        if (pki_cert_from_der(data, size, &cert, err, sizeof err) == 0) {
                check_cert(cert);
                X509_free(cert);
        }
        if (pki_csr_from_pem(data, size, &req, err, sizeof err) == 0) {
                check_csr(req);
                X509_REQ_free(req);
                req = NULL;
        }
        if (pki_csr_from_der(data, size, &req, err, sizeof err) == 0) {
                check_csr(req);
                X509_REQ_free(req);
        }
        return 0;
}
