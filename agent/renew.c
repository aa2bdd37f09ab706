/* renew.c: renewing the node certificate before it expires. */
#include "renew.h"

#include <errno.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "openssl-util.h"
#include "pki.h"
#include "timeutil.h"

uint64_t renew_delay_usec(int64_t not_before, int64_t not_after, int64_t now, uint64_t random) {
        int64_t life = not_after - not_before, at;

        if (life <= 0)
                return 0;
        /* 70 % plus a random share of the next 20 % */
        at = not_before + life * 7 / 10 + (int64_t) (random % (uint64_t) (life / 5 + 1));
        return at <= now ? 0 : (uint64_t) (at - now) * USEC_PER_SEC;
}

int renew_cert_validity(const char *cert_file, int64_t *ret_not_before, int64_t *ret_not_after, char *err, size_t errsz) {
        _cleanup_(X509_freep) X509 *cert = NULL;
        int r = pki_cert_load(cert_file, &cert, err, errsz);

        return r < 0 ? r : pki_cert_validity(cert, ret_not_before, ret_not_after);
}

int renew_request(const char *key_file, const char *node_name, cJSON **ret, char *err, size_t errsz) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_REQ_freep) X509_REQ *req = NULL;
        _cleanup_free_ char *pem = NULL;
        size_t len;
        cJSON *f;
        int r;

        if ((r = pki_key_load(key_file, &key, err, errsz)) < 0 || (r = pki_csr_create(key, node_name, &req, err, errsz)) < 0 ||
            (r = pki_csr_to_pem(req, &pem, &len, err, errsz)) < 0)
                return r;
        f = cJSON_CreateObject();
        if (!f || !cJSON_AddStringToObject(f, "type", "cert.renew") || !cJSON_AddStringToObject(f, "csr", pem)) {
                cJSON_Delete(f);
                return -ENOMEM;
        }
        *ret = f;
        return 0;
}

int renew_accept(const char *ca_file, const char *cert_file, const char *key_file, const char *node_name, const char *pem,
                 struct ssl_ctx_st *ctx, int64_t *ret_not_before, int64_t *ret_not_after, char *err, size_t errsz) {
        _cleanup_(X509_freep) X509 *ca = NULL, *cert = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        PkiIdentity id;
        int r;

        if ((r = pki_cert_load(ca_file, &ca, err, errsz)) < 0 || (r = pki_cert_from_pem(pem, strlen(pem), &cert, err, errsz)) < 0 ||
            (r = pki_verify_cert(ca, cert, PKI_PURPOSE_NODE, 0, NULL, NULL, err, errsz)) < 0 ||
            (r = pki_cert_identity(cert, &id, err, errsz)) < 0 || (r = pki_key_load(key_file, &key, err, errsz)) < 0)
                return r;
        if (!streq(id.name, node_name)) {
                snprintf(err, errsz, "the renewed certificate names node \"%s\", not \"%s\"", id.name, node_name);
                return -EKEYREJECTED;
        }
        if (X509_check_private_key(cert, key) != 1) {
                snprintf(err, errsz, "the renewed certificate is not for this node's key");
                return -EKEYREJECTED;
        }
        if ((r = pki_cert_save(cert_file, cert, err, errsz)) < 0)
                return r;
        if (ctx && SSL_CTX_use_certificate(ctx, cert) != 1) {
                snprintf(err, errsz, "cannot use the renewed certificate for the next connections");
                return -EIO;
        }
        return pki_cert_validity(cert, ret_not_before, ret_not_after);
}
