/* test-pki.c: CA, server and node certificates with real OpenSSL, every refusal, and a TLS 1.3 mTLS handshake. */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "fileio.h"
#include "openssl-util.h"
#include "pki.h"
#include "test.h"

#define NODE_ID "0f8fad5b-d9cb-469f-a165-70867728950e"
#define SERVER_HOST "controller.test"

DEFINE_TRIVIAL_CLEANUP_FUNC(GENERAL_NAMES *, GENERAL_NAMES_free);

typedef struct Ca {
        EVP_PKEY *key;
        X509 *cert;
} Ca;

static void ca_done(Ca *ca) {
        X509_free(ca->cert);
        EVP_PKEY_free(ca->key);
}

static int ca_make(Ca *ca) {
        char err[256];
        int r;

        *ca = (Ca){};
        r = pki_key_generate(&ca->key, err, sizeof err);
        if (r >= 0)
                r = pki_ca_create(ca->key, NULL, 10, &ca->cert, err, sizeof err);
        if (r < 0)
                printf("# %s\n", err);
        return r;
}

static PkiIdentity identity(const char *name, const char *zone, const char *node_id) {
        PkiIdentity id = {};

        snprintf(id.name, sizeof id.name, "%s", name);
        snprintf(id.zone, sizeof id.zone, "%s", zone);
        snprintf(id.node_id, sizeof id.node_id, "%s", node_id);
        return id;
}

/* The agent's and the controller's halves of enrollment: key, CSR (through PEM), certificate. */
static int enroll(Ca *ca, const char *name, const char *zone, int64_t lifetime, time_t now, EVP_PKEY **ret_key,
                  X509 **ret_cert) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_REQ_freep) X509_REQ *req = NULL, *received = NULL;
        _cleanup_free_ char *pem = NULL;
        PkiIdentity id = identity(name, zone, NODE_ID);
        char err[256];
        size_t n;
        int r;

        r = pki_key_generate(&key, err, sizeof err);
        if (r >= 0)
                r = pki_csr_create(key, name, &req, err, sizeof err);
        if (r >= 0)
                r = pki_csr_to_pem(req, &pem, &n, err, sizeof err);
        if (r >= 0)
                r = pki_csr_from_pem(pem, n, &received, err, sizeof err);
        if (r >= 0)
                r = pki_node_cert_issue(ca->cert, ca->key, received, &id, lifetime, now, ret_cert, err, sizeof err);
        if (r < 0) {
                printf("# %s\n", err);
                return r;
        }
        if (ret_key)
                *ret_key = TAKE_PTR(key);
        return 0;
}

static int server_make(Ca *ca, EVP_PKEY **ret_key, X509 **ret_cert) {
        static const char *const sans[] = { SERVER_HOST, "127.0.0.1", "::1" };
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        char err[256];
        int r;

        r = pki_key_generate(&key, err, sizeof err);
        if (r >= 0)
                r = pki_server_cert_issue(ca->cert, ca->key, key, NULL, sans, ELEMENTSOF(sans), 30, ret_cert, err,
                                          sizeof err);
        if (r < 0) {
                printf("# %s\n", err);
                return r;
        }
        *ret_key = TAKE_PTR(key);
        return 0;
}

static void path_in_tmp(char *buf, size_t size, const char *name) {
        snprintf(buf, size, "%s/%s", test_tmpdir(), name);
}

TEST(ca_certificate_is_a_pathlen_0_ca_with_key_id) {
        _cleanup_(ca_done) Ca ca = {};
        char cn[128], err[256];
        const ASN1_OCTET_STRING *skid;
        int64_t nb, na;
        uint32_t ku;

        ASSERT_OK(ca_make(&ca));
        ASSERT_EQ(X509_check_ca(ca.cert), 1);
        ASSERT_EQ(X509_get_pathlen(ca.cert), 0);
        ku = X509_get_key_usage(ca.cert);
        ASSERT_TRUE(ku & KU_KEY_CERT_SIGN);
        ASSERT_TRUE(ku & KU_CRL_SIGN);
        ASSERT_FALSE(ku & KU_DIGITAL_SIGNATURE);
        skid = X509_get0_subject_key_id(ca.cert);
        ASSERT_NOT_NULL(skid);
        ASSERT_TRUE(X509_NAME_get_text_by_NID(X509_get_subject_name(ca.cert), NID_commonName, cn, sizeof cn) > 0);
        ASSERT_TRUE(strneq(cn, "sluice CA ", 10));
        ASSERT_EQ(strlen(cn), 10 + 16);
        ASSERT_OK(pki_cert_validity(ca.cert, &nb, &na));
        ASSERT_TRUE(na - nb > (int64_t) 10 * 365 * 86400);
        ASSERT_TRUE(nb <= (int64_t) time(NULL));
        /* the CA's own self-check: a self-signed, strictly valid trust anchor */
        ASSERT_EQ(X509_verify(ca.cert, ca.key), 1);
        /* a CA is never a node: its own certificate does not read as an identity */
        PkiIdentity id;
        ASSERT_ERROR(pki_cert_identity(ca.cert, &id, err, sizeof err), -EBADMSG);
        ASSERT_STREQ(err, "pki: certificate is a CA certificate, not a node certificate");

        /* argument checks */
        X509 *x = NULL;
        ASSERT_ERROR(pki_ca_create(ca.key, NULL, 0, &x, err, sizeof err), -EINVAL);
        ASSERT_ERROR(pki_ca_create(ca.key, NULL, 101, &x, err, sizeof err), -EINVAL);
        ASSERT_ERROR(pki_ca_create(ca.key, "bad\nname", 1, &x, err, sizeof err), -EINVAL);
        ASSERT_NULL(x);
        ASSERT_OK(pki_ca_create(ca.key, "sluice CA test", 1, &x, err, sizeof err));
        X509_free(x);
}

TEST(full_chain_ca_server_csr_node_certificate_identity_verification) {
        _cleanup_(ca_done) Ca ca = {};
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *srv_key = NULL, *node_key = NULL;
        _cleanup_(X509_freep) X509 *srv = NULL, *node = NULL, *again = NULL;
        _cleanup_(X509_REQ_freep) X509_REQ *req = NULL, *req2 = NULL;
        _cleanup_free_ char *csr_pem = NULL, *cert_pem = NULL;
        PkiIdentity id = identity("gpu-7.rack2", PKI_ZONE_PRIVATE, NODE_ID), got;
        char err[256], serial[PKI_SERIAL_HEX_MAX], fp[PKI_FINGERPRINT_HEX_SIZE], fp2[65];
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned md_len;
        int64_t nb, na, now = (int64_t) time(NULL);
        size_t n;

        ASSERT_OK(ca_make(&ca));

        /* controller: its TLS server certificate */
        ASSERT_OK(server_make(&ca, &srv_key, &srv));
        ASSERT_OK(pki_verify_cert(ca.cert, srv, PKI_PURPOSE_SERVER, 0, NULL, NULL, err, sizeof err));
        ASSERT_EQ(X509_check_host(srv, SERVER_HOST, 0, 0, NULL), 1);
        ASSERT_EQ(X509_check_ip_asc(srv, "127.0.0.1", 0), 1);
        ASSERT_EQ(X509_check_ip_asc(srv, "::1", 0), 1);
        ASSERT_EQ(X509_check_host(srv, "other.test", 0, 0, NULL), 0);
        ASSERT_TRUE(X509_get_extended_key_usage(srv) & XKU_SSL_SERVER);
        ASSERT_FALSE(X509_get_extended_key_usage(srv) & XKU_SSL_CLIENT);
        ASSERT_EQ(X509_check_ca(srv), 0);
        /* a server certificate is no node certificate, neither by purpose nor by identity */
        ASSERT_ERROR(pki_verify_cert(ca.cert, srv, PKI_PURPOSE_NODE, 0, NULL, NULL, err, sizeof err), -EKEYREJECTED);
        ASSERT_STREQ(err, "pki: certificate rejected: unsuitable certificate purpose");
        ASSERT_ERROR(pki_cert_identity(srv, &got, err, sizeof err), -EBADMSG);

        /* agent: key and CSR, sent as PEM */
        ASSERT_OK(pki_key_generate(&node_key, err, sizeof err));
        ASSERT_OK(pki_csr_create(node_key, id.name, &req, err, sizeof err));
        ASSERT_OK(pki_csr_to_pem(req, &csr_pem, &n, err, sizeof err));
        ASSERT_EQ(strlen(csr_pem), n);
        ASSERT_TRUE(strneq(csr_pem, "-----BEGIN CERTIFICATE REQUEST-----\n", 36));

        /* controller: parse, check, sign */
        ASSERT_OK(pki_csr_from_pem(csr_pem, n, &req2, err, sizeof err));
        ASSERT_OK(pki_csr_check(req2, id.name, err, sizeof err));
        ASSERT_OK(pki_node_cert_issue(ca.cert, ca.key, req2, &id, 6 * 3600, 0, &node, err, sizeof err));

        /* agent: receives the certificate as PEM; it matches its key */
        ASSERT_OK(pki_cert_to_pem(node, &cert_pem, &n, err, sizeof err));
        ASSERT_OK(pki_cert_from_pem(cert_pem, n, &again, err, sizeof err));
        ASSERT_EQ(X509_check_private_key(again, node_key), 1);
        ASSERT_EQ(X509_cmp(again, node), 0);

        /* what the certificate says */
        ASSERT_OK(pki_cert_identity(again, &got, err, sizeof err));
        ASSERT_STREQ(got.name, "gpu-7.rack2");
        ASSERT_STREQ(got.zone, "private");
        ASSERT_STREQ(got.node_id, NODE_ID);
        ASSERT_OK(pki_verify_cert(ca.cert, again, PKI_PURPOSE_NODE, 0, NULL, NULL, err, sizeof err));
        ASSERT_ERROR(pki_verify_cert(ca.cert, again, PKI_PURPOSE_SERVER, 0, NULL, NULL, err, sizeof err),
                     -EKEYREJECTED);
        ASSERT_TRUE(X509_get_extended_key_usage(again) & XKU_SSL_CLIENT);
        ASSERT_FALSE(X509_get_extended_key_usage(again) & XKU_SSL_SERVER);
        ASSERT_EQ(X509_check_ca(again), 0);
        ASSERT_OK(pki_cert_validity(again, &nb, &na));
        ASSERT_EQ(na - nb, 6 * 3600);
        ASSERT_TRUE(nb <= now && nb >= now - PKI_CLOCK_SKEW_SEC - 5);

        /* facts */
        ASSERT_OK(pki_cert_serial_hex(again, serial));
        ASSERT_TRUE(strlen(serial) >= 2 && strlen(serial) <= 32 && strlen(serial) % 2 == 0);
        ASSERT_EQ(strspn(serial, "0123456789abcdef"), strlen(serial));
        ASSERT_OK(pki_cert_fingerprint(again, fp));
        ASSERT_EQ(strlen(fp), 64);
        ASSERT_EQ(X509_digest(again, EVP_sha256(), md, &md_len), 1);
        for (unsigned i = 0; i < md_len; i++)
                snprintf(fp2 + 2 * i, 3, "%02x", md[i]);
        ASSERT_STREQ(fp, fp2);
}

TEST(serials_are_random_128_bit) {
        _cleanup_(ca_done) Ca ca = {};
        _cleanup_(X509_freep) X509 *a = NULL, *b = NULL;
        char sa[PKI_SERIAL_HEX_MAX], sb[PKI_SERIAL_HEX_MAX];
        const ASN1_INTEGER *ai;
        _cleanup_(BN_freep) BIGNUM *bn = NULL;

        ASSERT_OK(ca_make(&ca));
        ASSERT_OK(enroll(&ca, "node-a", "public", 3600, 0, NULL, &a));
        ASSERT_OK(enroll(&ca, "node-a", "public", 3600, 0, NULL, &b));
        ASSERT_OK(pki_cert_serial_hex(a, sa));
        ASSERT_OK(pki_cert_serial_hex(b, sb));
        ASSERT_FALSE(streq(sa, sb));
        ai = X509_get0_serialNumber(a);
        bn = ASN1_INTEGER_to_BN(ai, NULL);
        ASSERT_NOT_NULL(bn);
        ASSERT_FALSE(BN_is_negative(bn));
        ASSERT_TRUE(BN_num_bits(bn) <= 128 && BN_num_bits(bn) > 64);
}

TEST(csr_for_another_node_is_refused) {
        _cleanup_(ca_done) Ca ca = {};
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_REQ_freep) X509_REQ *req = NULL;
        PkiIdentity id = identity("node-a", "private", NODE_ID);
        X509 *cert = NULL;
        char err[256];

        ASSERT_OK(ca_make(&ca));
        ASSERT_OK(pki_key_generate(&key, err, sizeof err));
        ASSERT_OK(pki_csr_create(key, "node-b", &req, err, sizeof err));
        ASSERT_ERROR(pki_csr_check(req, "node-a", err, sizeof err), -EPERM);
        ASSERT_STREQ(err, "pki: CSR names node \"node-b\", token is for \"node-a\"");
        ASSERT_ERROR(pki_node_cert_issue(ca.cert, ca.key, req, &id, 3600, 0, &cert, err, sizeof err), -EPERM);
        ASSERT_STREQ(err, "pki: CSR names node \"node-b\", token is for \"node-a\"");
        ASSERT_NULL(cert);
        /* names are compared exactly, not case-folded */
        ASSERT_ERROR(pki_csr_check(req, "NODE-B", err, sizeof err), -EPERM);
        ASSERT_OK(pki_csr_check(req, "node-b", err, sizeof err));
}

/* A CSR encoded to DER, edited by edit(), decoded again. */
static X509_REQ *csr_edit(X509_REQ *req, void (*edit)(unsigned char *der, int n)) {
        unsigned char *der = NULL;
        const unsigned char *p;
        X509_REQ *out;
        int n = i2d_X509_REQ(req, &der);

        if (n <= 0)
                return NULL;
        edit(der, n);
        p = der;
        out = d2i_X509_REQ(NULL, &p, n);
        OPENSSL_free(der);
        return out;
}

static void rename_b_to_a(unsigned char *der, int n) {
        for (int i = 0; i + 6 <= n; i++)
                if (memcmp(der + i, "node-b", 6) == 0)
                        der[i + 5] = 'a';
}

static void flip_last_byte(unsigned char *der, int n) {
        der[n - 1] ^= 0x01;
}

TEST(tampered_csr_is_refused) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_REQ_freep) X509_REQ *req = NULL, *renamed = NULL, *flipped = NULL;
        char err[256];

        ASSERT_OK(pki_key_generate(&key, err, sizeof err));
        ASSERT_OK(pki_csr_create(key, "node-b", &req, err, sizeof err));
        /* the name edited after signing: the signature no longer covers it */
        renamed = csr_edit(req, rename_b_to_a);
        ASSERT_NOT_NULL(renamed);
        ASSERT_ERROR(pki_csr_check(renamed, "node-a", err, sizeof err), -EKEYREJECTED);
        ASSERT_CONTAINS(err, "pki: CSR signature does not verify");
        flipped = csr_edit(req, flip_last_byte);
        ASSERT_NOT_NULL(flipped);
        ASSERT_ERROR(pki_csr_check(flipped, "node-b", err, sizeof err), -EKEYREJECTED);
        ASSERT_TRUE(ERR_peek_error() == 0);
}

static int csr_with_key(EVP_PKEY *key, const char *cn, X509_REQ **ret) {
        _cleanup_(X509_REQ_freep) X509_REQ *req = X509_REQ_new();
        X509_NAME *name;

        if (!req)
                return -ENOMEM;
        name = X509_REQ_get_subject_name(req);
        if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8, (const unsigned char *) cn, -1, -1, 0) !=
                    1 ||
            X509_REQ_set_pubkey(req, key) != 1 || X509_REQ_sign(req, key, EVP_sha256()) <= 0)
                return -EIO;
        *ret = TAKE_PTR(req);
        return 0;
}

TEST(csr_key_types_other_than_p256_and_ed25519_are_refused) {
        _cleanup_(ca_done) Ca ca = {};
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *rsa = NULL, *p384 = NULL, *ed = NULL;
        _cleanup_(X509_REQ_freep) X509_REQ *req_rsa = NULL, *req_p384 = NULL, *req_ed = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        PkiIdentity id = identity("node-a", "public", NODE_ID), got;
        char err[256];

        ASSERT_OK(ca_make(&ca));
        rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 1024);
        p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
        ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        ASSERT_NOT_NULL(rsa);
        ASSERT_NOT_NULL(p384);
        ASSERT_NOT_NULL(ed);

        ASSERT_OK(csr_with_key(rsa, "node-a", &req_rsa));
        ASSERT_ERROR(pki_csr_check(req_rsa, "node-a", err, sizeof err), -EOPNOTSUPP);
        ASSERT_STREQ(err, "pki: CSR key has key type RSA; only EC P-256 and Ed25519 are accepted");
        ASSERT_OK(csr_with_key(p384, "node-a", &req_p384));
        ASSERT_ERROR(pki_node_cert_issue(ca.cert, ca.key, req_p384, &id, 3600, 0, &cert, err, sizeof err),
                     -EOPNOTSUPP);
        ASSERT_STREQ(err, "pki: CSR key is an EC key on curve secp384r1; only P-256 and Ed25519 are accepted");
        ASSERT_NULL(cert);
        /* the agent side refuses to make such a CSR in the first place */
        ASSERT_ERROR(pki_csr_create(rsa, "node-a", &req_ed, err, sizeof err), -EOPNOTSUPP);
        ASSERT_NULL(req_ed);

        /* Ed25519 is accepted end to end */
        ASSERT_OK(pki_csr_create(ed, "node-a", &req_ed, err, sizeof err));
        ASSERT_OK(pki_node_cert_issue(ca.cert, ca.key, req_ed, &id, 3600, 0, &cert, err, sizeof err));
        ASSERT_OK(pki_verify_cert(ca.cert, cert, PKI_PURPOSE_NODE, 0, NULL, NULL, err, sizeof err));
        ASSERT_OK(pki_cert_identity(cert, &got, err, sizeof err));
        ASSERT_STREQ(got.zone, "public");
}

TEST(certificate_from_another_ca_is_refused) {
        _cleanup_(ca_done) Ca ca = {}, other = {};
        _cleanup_(X509_freep) X509 *cert = NULL;
        char err[256];

        ASSERT_OK(ca_make(&ca));
        ASSERT_OK(ca_make(&other));
        ASSERT_OK(enroll(&other, "node-a", "private", 3600, 0, NULL, &cert));
        ASSERT_ERROR(pki_verify_cert(ca.cert, cert, PKI_PURPOSE_NODE, 0, NULL, NULL, err, sizeof err), -EKEYREJECTED);
        ASSERT_STREQ(err, "pki: certificate rejected: unable to get local issuer certificate");
        ASSERT_OK(pki_verify_cert(other.cert, cert, PKI_PURPOSE_NODE, 0, NULL, NULL, err, sizeof err));
        /* signing with a key that is not the CA's */
        X509 *x = NULL;
        ASSERT_ERROR(pki_server_cert_issue(ca.cert, other.key, other.key, NULL, (const char *const[]){ "a.test" }, 1,
                                           1, &x, err, sizeof err),
                     -EINVAL);
        ASSERT_CONTAINS(err, "pki: the CA key does not match the CA certificate");
        ASSERT_NULL(x);
}

TEST(expired_and_not_yet_valid_certificates_are_refused) {
        _cleanup_(ca_done) Ca ca = {};
        _cleanup_(X509_freep) X509 *old = NULL, *future = NULL, *current = NULL;
        time_t now = time(NULL);
        int64_t na;
        char err[256];

        ASSERT_OK(ca_make(&ca));
        /* the test hook: issued two days ago for one hour */
        ASSERT_OK(enroll(&ca, "node-a", "private", 3600, now - 2 * 86400, NULL, &old));
        ASSERT_ERROR(pki_verify_cert(ca.cert, old, PKI_PURPOSE_NODE, 0, NULL, NULL, err, sizeof err), -EKEYEXPIRED);
        ASSERT_CONTAINS(err, "pki: certificate expired at 20");
        ASSERT_OK(pki_cert_validity(old, NULL, &na));
        ASSERT_EQ(na, (int64_t) now - 2 * 86400 - PKI_CLOCK_SKEW_SEC + 3600);
        /* a current certificate, verified as of after its end */
        ASSERT_OK(enroll(&ca, "node-a", "private", 3600, 0, NULL, &current));
        ASSERT_OK(pki_verify_cert(ca.cert, current, PKI_PURPOSE_NODE, now + 1800, NULL, NULL, err, sizeof err));
        ASSERT_ERROR(pki_verify_cert(ca.cert, current, PKI_PURPOSE_NODE, now + 7200, NULL, NULL, err, sizeof err),
                     -EKEYEXPIRED);
        ASSERT_CONTAINS(err, "pki: certificate expired at");

        ASSERT_OK(enroll(&ca, "node-a", "private", 3600, now + 86400, NULL, &future));
        ASSERT_ERROR(pki_verify_cert(ca.cert, future, PKI_PURPOSE_NODE, 0, NULL, NULL, err, sizeof err), -EKEYEXPIRED);
        ASSERT_CONTAINS(err, "pki: certificate is not valid before 20");
        /* at a time before the CA itself was made, the CA is named */
        ASSERT_ERROR(pki_verify_cert(ca.cert, old, PKI_PURPOSE_NODE, now - 3 * 86400, NULL, NULL, err, sizeof err),
                     -EKEYEXPIRED);
        ASSERT_CONTAINS(err, "not valid before");
}

TEST(node_certificate_lifetime_is_clamped_and_validated) {
        _cleanup_(ca_done) Ca ca = {};
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_REQ_freep) X509_REQ *req = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        PkiIdentity id = identity("node-a", "private", NODE_ID);
        int64_t nb, na;
        char err[256];

        ASSERT_OK(ca_make(&ca));
        ASSERT_OK(pki_key_generate(&key, err, sizeof err));
        ASSERT_OK(pki_csr_create(key, "node-a", &req, err, sizeof err));
        ASSERT_OK(pki_node_cert_issue(ca.cert, ca.key, req, &id, 48 * 3600, 0, &cert, err, sizeof err));
        ASSERT_OK(pki_cert_validity(cert, &nb, &na));
        ASSERT_EQ(na - nb, 24 * 3600);
        X509_free(TAKE_PTR(cert));
        ASSERT_ERROR(pki_node_cert_issue(ca.cert, ca.key, req, &id, 0, 0, &cert, err, sizeof err), -EINVAL);
        ASSERT_STREQ(err, "pki: node certificate lifetime of 0 s is below the minimum of 60 s");
        ASSERT_ERROR(pki_node_cert_issue(ca.cert, ca.key, req, &id, -3600, 0, &cert, err, sizeof err), -EINVAL);
        ASSERT_NULL(cert);
}

TEST(identity_to_issue_is_validated) {
        _cleanup_(ca_done) Ca ca = {};
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_REQ_freep) X509_REQ *req = NULL;
        PkiIdentity id;
        X509 *cert = NULL;
        char err[256];

        ASSERT_OK(ca_make(&ca));
        ASSERT_OK(pki_key_generate(&key, err, sizeof err));
        ASSERT_OK(pki_csr_create(key, "node-a", &req, err, sizeof err));
        id = identity("node-a", "dmz", NODE_ID);
        ASSERT_ERROR(pki_node_cert_issue(ca.cert, ca.key, req, &id, 3600, 0, &cert, err, sizeof err), -EINVAL);
        ASSERT_STREQ(err, "pki: zone \"dmz\" is not valid (private or public)");
        id = identity("node-a", "Private", NODE_ID);
        ASSERT_ERROR(pki_identity_check(&id, err, sizeof err), -EINVAL);
        id = identity("node-a", "private", "0F8FAD5B-D9CB-469F-A165-70867728950E");
        ASSERT_ERROR(pki_node_cert_issue(ca.cert, ca.key, req, &id, 3600, 0, &cert, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "is not a lower-case UUID");
        id = identity("node a", "private", NODE_ID);
        ASSERT_ERROR(pki_identity_check(&id, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "pki: node name \"node a\" is not valid");
        ASSERT_NULL(cert);
        ASSERT_ERROR(pki_csr_create(key, "-x", &req, err, sizeof err), -EINVAL);
}

TEST(name_zone_and_node_id_validation) {
        char id[PKI_NODE_ID_SIZE], id2[PKI_NODE_ID_SIZE];
        char long_name[80];

        ASSERT_TRUE(pki_node_name_valid("a"));
        ASSERT_TRUE(pki_node_name_valid("gpu-01.dc1_b"));
        ASSERT_FALSE(pki_node_name_valid(""));
        ASSERT_FALSE(pki_node_name_valid(NULL));
        ASSERT_FALSE(pki_node_name_valid(".a"));
        ASSERT_FALSE(pki_node_name_valid("a/b"));
        ASSERT_FALSE(pki_node_name_valid("a\n"));
        ASSERT_FALSE(pki_node_name_valid("n\xc3\xa9"));
        memset(long_name, 'a', sizeof long_name);
        long_name[63] = '\0';
        ASSERT_TRUE(pki_node_name_valid(long_name));
        long_name[63] = 'a';
        long_name[64] = '\0';
        ASSERT_FALSE(pki_node_name_valid(long_name));

        ASSERT_TRUE(pki_zone_valid("private"));
        ASSERT_TRUE(pki_zone_valid("public"));
        ASSERT_FALSE(pki_zone_valid("PUBLIC"));
        ASSERT_FALSE(pki_zone_valid("private "));
        ASSERT_FALSE(pki_zone_valid(""));

        ASSERT_TRUE(pki_node_id_valid(NODE_ID));
        ASSERT_FALSE(pki_node_id_valid("0f8fad5b-d9cb-469f-a165-70867728950"));
        ASSERT_FALSE(pki_node_id_valid("0f8fad5b-d9cb-469f-a165-70867728950e0"));
        ASSERT_FALSE(pki_node_id_valid("0f8fad5bxd9cb-469f-a165-70867728950e"));
        ASSERT_FALSE(pki_node_id_valid("0f8fad5b-d9cb-469f-a165-70867728950g"));
        ASSERT_OK(pki_node_id_generate(id));
        ASSERT_OK(pki_node_id_generate(id2));
        ASSERT_TRUE(pki_node_id_valid(id));
        ASSERT_FALSE(streq(id, id2));
        ASSERT_EQ(id[14], '4');
        ASSERT_TRUE(strchr("89ab", id[19]) != NULL);
}

static int revoked_list(const char *serial, void *userdata) {
        for (const char *const *s = userdata; *s; s++)
                if (streq(*s, serial))
                        return 1;
        return 0;
}

static int revocation_unknown(const char *serial, void *userdata) {
        return -EIO;
}

TEST(revoked_serial_is_refused) {
        _cleanup_(ca_done) Ca ca = {};
        _cleanup_(X509_freep) X509 *cert = NULL;
        char serial[PKI_SERIAL_HEX_MAX], err[256], expect[128];

        ASSERT_OK(ca_make(&ca));
        ASSERT_OK(enroll(&ca, "node-a", "private", 3600, 0, NULL, &cert));
        ASSERT_OK(pki_cert_serial_hex(cert, serial));
        const char *others[] = { "01", "abcdef", NULL };
        const char *list[] = { "01", serial, NULL };
        ASSERT_OK(pki_verify_cert(ca.cert, cert, PKI_PURPOSE_NODE, 0, revoked_list, others, err, sizeof err));
        ASSERT_ERROR(pki_verify_cert(ca.cert, cert, PKI_PURPOSE_NODE, 0, revoked_list, list, err, sizeof err),
                     -EKEYREVOKED);
        snprintf(expect, sizeof expect, "pki: certificate %s is revoked", serial);
        ASSERT_STREQ(err, expect);
        /* a revocation list that cannot be read fails closed */
        ASSERT_ERROR(pki_verify_cert(ca.cert, cert, PKI_PURPOSE_NODE, 0, revocation_unknown, NULL, err, sizeof err),
                     -EIO);
        ASSERT_CONTAINS(err, "cannot check whether certificate");
}

/* ---- forged certificates: signed by the real CA, with identities that must not be accepted ---- */

typedef struct San {
        int type; /* GEN_URI, GEN_DNS */
        const char *value;
        size_t len; /* 0: strlen(value) */
} San;

static int forge_add_ext(X509 *cert, X509 *issuer, int nid, const char *value) {
        X509V3_CTX ctx;
        X509_EXTENSION *ext;
        int ok;

        X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
        ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
        if (!ext)
                return -EIO;
        ok = X509_add_ext(cert, ext, -1);
        X509_EXTENSION_free(ext);
        return ok ? 0 : -EIO;
}

/* subject: pairs of short names and values ("CN", "node-a", "OU", "private", NULL). */
static X509 *forge(Ca *ca, EVP_PKEY *key, const char *const *subject, const San *sans, size_t n_sans) {
        _cleanup_(X509_freep) X509 *cert = X509_new();
        _cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
        X509_NAME *name;
        static long serial = 1000;

        if (!cert || !gens)
                return NULL;
        name = X509_get_subject_name(cert);
        for (; subject && *subject; subject += 2)
                if (X509_NAME_add_entry_by_txt(name, subject[0], MBSTRING_UTF8, (const unsigned char *) subject[1], -1,
                                               -1, 0) != 1)
                        return NULL;
        if (X509_set_version(cert, X509_VERSION_3) != 1 ||
            ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++) != 1 ||
            X509_set_issuer_name(cert, X509_get_subject_name(ca->cert)) != 1 || X509_set_pubkey(cert, key) != 1 ||
            !X509_gmtime_adj(X509_getm_notBefore(cert), -60) || !X509_gmtime_adj(X509_getm_notAfter(cert), 3600))
                return NULL;
        if (forge_add_ext(cert, ca->cert, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
            forge_add_ext(cert, ca->cert, NID_key_usage, "critical,digitalSignature") < 0 ||
            forge_add_ext(cert, ca->cert, NID_ext_key_usage, "clientAuth") < 0 ||
            forge_add_ext(cert, ca->cert, NID_subject_key_identifier, "hash") < 0 ||
            forge_add_ext(cert, ca->cert, NID_authority_key_identifier, "keyid:always") < 0)
                return NULL;
        for (size_t i = 0; i < n_sans; i++) {
                GENERAL_NAME *g = GENERAL_NAME_new();
                ASN1_IA5STRING *s = ASN1_IA5STRING_new();

                if (!g || !s || ASN1_STRING_set(s, sans[i].value, (int) (sans[i].len ?: strlen(sans[i].value))) != 1) {
                        GENERAL_NAME_free(g);
                        ASN1_IA5STRING_free(s);
                        return NULL;
                }
                GENERAL_NAME_set0_value(g, sans[i].type, s);
                if (sk_GENERAL_NAME_push(gens, g) <= 0) {
                        GENERAL_NAME_free(g);
                        return NULL;
                }
        }
        if (n_sans > 0 && X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1)
                return NULL;
        if (X509_sign(cert, ca->key, EVP_sha256()) <= 0)
                return NULL;
        return TAKE_PTR(cert);
}

#define URI(s)                                                                                                        \
        { GEN_URI, s, 0 }
#define NODE_URI URI("urn:sluice:node:" NODE_ID)

typedef struct Forgery {
        const char *what;
        const char *subject[9];
        San sans[4];
        size_t n_sans;
        const char *error;
} Forgery;

TEST(zone_spoofing_and_malformed_identities_are_refused) {
        static const Forgery forgeries[] = {
                { "two zone URIs",
                  { "CN", "node-a", "OU", "private", NULL },
                  { NODE_URI, URI("urn:sluice:zone:private"), URI("urn:sluice:zone:public") },
                  3,
                  "pki: certificate names more than one zone" },
                { "two OUs",
                  { "CN", "node-a", "OU", "private", "OU", "public", NULL },
                  { NODE_URI, URI("urn:sluice:zone:private") },
                  2,
                  "pki: certificate has more than one zone (OU)" },
                { "OU and URI disagree",
                  { "CN", "node-a", "OU", "private", NULL },
                  { NODE_URI, URI("urn:sluice:zone:public") },
                  2,
                  "pki: certificate zone OU \"private\" and zone URI \"public\" disagree" },
                { "unknown zone in the OU",
                  { "CN", "node-a", "OU", "dmz", NULL },
                  { NODE_URI, URI("urn:sluice:zone:dmz") },
                  2,
                  "pki: certificate zone (OU) \"dmz\" is not private or public" },
                { "unknown zone in the URI",
                  { "CN", "node-a", "OU", "private", NULL },
                  { NODE_URI, URI("urn:sluice:zone:Private") },
                  2,
                  "pki: certificate zone URI names an unknown zone" },
                { "zone URI with a NUL",
                  { "CN", "node-a", "OU", "private", NULL },
                  { NODE_URI, { GEN_URI, "urn:sluice:zone:private\0public", 30 } },
                  2,
                  "pki: certificate zone URI names an unknown zone" },
                { "no zone URI",
                  { "CN", "node-a", "OU", "private", NULL },
                  { NODE_URI },
                  1,
                  "pki: certificate has no zone URI" },
                { "no OU",
                  { "CN", "node-a", NULL },
                  { NODE_URI, URI("urn:sluice:zone:private") },
                  2,
                  "pki: certificate has no zone (OU)" },
                { "zone in another attribute",
                  { "CN", "node-a", "OU", "private", "O", "public", NULL },
                  { NODE_URI, URI("urn:sluice:zone:private") },
                  2,
                  "pki: certificate subject has attributes other than CN and OU" },
                { "two CNs",
                  { "CN", "node-a", "CN", "node-b", "OU", "private", NULL },
                  { NODE_URI, URI("urn:sluice:zone:private") },
                  2,
                  "pki: certificate has more than one node name (CN)" },
                { "no node id",
                  { "CN", "node-a", "OU", "private", NULL },
                  { URI("urn:sluice:zone:private") },
                  1,
                  "pki: certificate has no node id URI" },
                { "two node ids",
                  { "CN", "node-a", "OU", "private", NULL },
                  { NODE_URI, URI("urn:sluice:node:11111111-2222-4333-8444-555555555555"),
                    URI("urn:sluice:zone:private") },
                  3,
                  "pki: certificate names more than one node id" },
                { "unknown sluice URI",
                  { "CN", "node-a", "OU", "private", NULL },
                  { NODE_URI, URI("urn:sluice:zone:private"), URI("urn:sluice:zones:public") },
                  3,
                  "pki: certificate has an unexpected subjectAltName URI" },
                { "DNS name",
                  { "CN", "node-a", "OU", "private", NULL },
                  { NODE_URI, URI("urn:sluice:zone:private"), { GEN_DNS, "public", 0 } },
                  3,
                  "pki: certificate has a subjectAltName entry that is not a URI" },
                { "no SAN",
                  { "CN", "node-a", "OU", "private", NULL },
                  {},
                  0,
                  "pki: certificate has no usable subjectAltName" },
                { "CN with a newline",
                  { "CN", "node-a\nOU=public", "OU", "private", NULL },
                  { NODE_URI, URI("urn:sluice:zone:private") },
                  2,
                  "pki: certificate CN is not a valid node name" },
        };
        _cleanup_(ca_done) Ca ca = {};
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        char err[256];
        PkiIdentity id;

        ASSERT_OK(ca_make(&ca));
        ASSERT_OK(pki_key_generate(&key, err, sizeof err));

        /* the forging helper makes an acceptable certificate when asked to */
        {
                static const char *const subject[] = { "CN", "node-a", "OU", "public", NULL };
                static const San sans[] = { NODE_URI, URI("urn:sluice:zone:public") };
                _cleanup_(X509_freep) X509 *good = forge(&ca, key, subject, sans, ELEMENTSOF(sans));

                ASSERT_NOT_NULL(good);
                ASSERT_OK(pki_verify_cert(ca.cert, good, PKI_PURPOSE_NODE, 0, NULL, NULL, err, sizeof err));
                ASSERT_OK(pki_cert_identity(good, &id, err, sizeof err));
                ASSERT_STREQ(id.zone, "public");
        }

        for (size_t i = 0; i < ELEMENTSOF(forgeries); i++) {
                const Forgery *f = &forgeries[i];
                _cleanup_(X509_freep) X509 *cert = forge(&ca, key, f->subject, f->sans, f->n_sans);

                printf("# %s\n", f->what);
                ASSERT_NOT_NULL(cert);
                memset(&id, 0x55, sizeof id);
                ASSERT_ERROR(pki_cert_identity(cert, &id, err, sizeof err), -EBADMSG);
                ASSERT_STREQ(err, f->error);
                ASSERT_EQ(id.name[0], 0x55); /* untouched on error */
        }
}

TEST(csr_cannot_choose_its_zone_or_node_id) {
        _cleanup_(ca_done) Ca ca = {};
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_REQ_freep) X509_REQ *req = X509_REQ_new();
        _cleanup_(X509_freep) X509 *cert = NULL;
        STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
        X509V3_CTX ctx;
        X509_EXTENSION *ext;
        X509_NAME *name;
        PkiIdentity id = identity("node-a", "private", NODE_ID), got;
        char err[256];

        ASSERT_OK(ca_make(&ca));
        ASSERT_OK(pki_key_generate(&key, err, sizeof err));
        ASSERT_NOT_NULL(req);
        ASSERT_NOT_NULL(exts);
        /* a CSR asking for the public zone, another node id, and CA rights */
        name = X509_REQ_get_subject_name(req);
        ASSERT_EQ(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *) "node-a", -1, -1, 0),
                  1);
        ASSERT_EQ(X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_UTF8, (const unsigned char *) "public", -1, -1, 0),
                  1);
        X509V3_set_ctx(&ctx, NULL, NULL, req, NULL, 0);
        ext = X509V3_EXT_nconf_nid(
                NULL, &ctx, NID_subject_alt_name,
                "URI:urn:sluice:zone:public,URI:urn:sluice:node:11111111-2222-4333-8444-555555555555");
        ASSERT_NOT_NULL(ext);
        sk_X509_EXTENSION_push(exts, ext);
        ext = X509V3_EXT_nconf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
        ASSERT_NOT_NULL(ext);
        sk_X509_EXTENSION_push(exts, ext);
        ASSERT_EQ(X509_REQ_add_extensions(req, exts), 1);
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
        ASSERT_EQ(X509_REQ_set_pubkey(req, key), 1);
        ASSERT_TRUE(X509_REQ_sign(req, key, EVP_sha256()) > 0);

        ASSERT_OK(pki_node_cert_issue(ca.cert, ca.key, req, &id, 3600, 0, &cert, err, sizeof err));
        ASSERT_OK(pki_cert_identity(cert, &got, err, sizeof err));
        ASSERT_STREQ(got.zone, "private");
        ASSERT_STREQ(got.node_id, NODE_ID);
        ASSERT_EQ(X509_check_ca(cert), 0);
        ASSERT_EQ(X509_NAME_entry_count(X509_get_subject_name(cert)), 2);
}

/* ---- keys on disk ---- */

TEST(key_files_are_0600_and_loose_modes_are_refused) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL, *back = NULL;
        char path[512], err[512];
        struct stat st;

        path_in_tmp(path, sizeof path, "node.key");
        ASSERT_OK(pki_key_generate(&key, err, sizeof err));
        ASSERT_OK(pki_key_save(path, key, err, sizeof err));
        ASSERT_EQ(stat(path, &st), 0);
        ASSERT_EQ(st.st_mode & 07777, 0600);
        ASSERT_OK(pki_key_load(path, &back, err, sizeof err));
        ASSERT_EQ(EVP_PKEY_eq(key, back), 1);
        EVP_PKEY_free(TAKE_PTR(back));

        ASSERT_EQ(chmod(path, 0644), 0);
        ASSERT_ERROR(pki_key_load(path, &back, err, sizeof err), -EPERM);
        ASSERT_CONTAINS(err, "has mode 0644: it must not be accessible by group or others (chmod 600 it)");
        ASSERT_CONTAINS(err, path);
        ASSERT_EQ(chmod(path, 0640), 0);
        ASSERT_ERROR(pki_key_load(path, &back, err, sizeof err), -EPERM);
        ASSERT_EQ(chmod(path, 0602), 0);
        ASSERT_ERROR(pki_key_load(path, &back, err, sizeof err), -EPERM);
        ASSERT_EQ(chmod(path, 0400), 0);
        ASSERT_OK(pki_key_load(path, &back, err, sizeof err));
        ASSERT_NOT_NULL(back);

        /* overwriting keeps 0600 */
        ASSERT_OK(pki_key_save(path, key, err, sizeof err));
        ASSERT_EQ(stat(path, &st), 0);
        ASSERT_EQ(st.st_mode & 07777, 0600);

        EVP_PKEY *none = NULL;
        path_in_tmp(path, sizeof path, "missing.key");
        ASSERT_ERROR(pki_key_load(path, &none, err, sizeof err), -ENOENT);
        ASSERT_CONTAINS(err, "cannot open key file");
        ASSERT_ERROR(pki_key_load(test_tmpdir(), &none, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "is not a regular file");
        ASSERT_NULL(none);
}

TEST(key_files_of_other_types_encrypted_or_malformed_are_refused) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *rsa = NULL, *ec = NULL, *ed = NULL, *back = NULL;
        _cleanup_(BIO_free_allp) BIO *bio = BIO_new(BIO_s_mem());
        _cleanup_free_ char *pem = NULL;
        char path[512], err[512], *data;
        size_t n;
        long len;

        rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 1024);
        ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        ASSERT_NOT_NULL(rsa);
        ASSERT_NOT_NULL(ed);
        ASSERT_OK(pki_key_generate(&ec, err, sizeof err));

        /* an RSA key written with the same helper is refused when read */
        ASSERT_OK(pki_key_to_pem(rsa, &pem, &n, err, sizeof err));
        path_in_tmp(path, sizeof path, "rsa.key");
        ASSERT_OK(file_write_atomic(path, pem, n, 0600));
        ASSERT_ERROR(pki_key_load(path, &back, err, sizeof err), -EOPNOTSUPP);
        ASSERT_CONTAINS(err, "has key type RSA");
        ASSERT_CONTAINS(err, path);

        /* Ed25519 keys round-trip */
        path_in_tmp(path, sizeof path, "ed.key");
        ASSERT_OK(pki_key_save(path, ed, err, sizeof err));
        ASSERT_OK(pki_key_load(path, &back, err, sizeof err));
        ASSERT_EQ(EVP_PKEY_eq(ed, back), 1);
        EVP_PKEY_free(TAKE_PTR(back));

        /* encrypted: refused, never prompting for a passphrase */
        ASSERT_NOT_NULL(bio);
        ASSERT_EQ(PEM_write_bio_PrivateKey(bio, ec, EVP_aes_256_cbc(), (unsigned char *) "secret", 6, NULL, NULL), 1);
        len = BIO_get_mem_data(bio, &data);
        ASSERT_ERROR(pki_key_from_pem(data, (size_t) len, &back, err, sizeof err), -EBADMSG);
        ASSERT_CONTAINS(err, "unencrypted");

        /* malformed */
        static const char bad[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        ASSERT_ERROR(pki_key_from_pem(bad, strlen(bad), &back, err, sizeof err), -EBADMSG);
        ASSERT_CONTAINS(err, "pki: cannot parse the private key PEM: ");
        ASSERT_ERROR(pki_key_from_pem("", 0, &back, err, sizeof err), -EBADMSG);
        ASSERT_NULL(back);
        ASSERT_TRUE(ERR_peek_error() == 0);
}

TEST(certificate_files_round_trip) {
        _cleanup_(ca_done) Ca ca = {};
        _cleanup_(X509_freep) X509 *back = NULL;
        char path[512], err[512];
        struct stat st;

        ASSERT_OK(ca_make(&ca));
        path_in_tmp(path, sizeof path, "ca.crt");
        ASSERT_OK(pki_cert_save(path, ca.cert, err, sizeof err));
        ASSERT_EQ(stat(path, &st), 0);
        ASSERT_EQ(st.st_mode & 07777, 0644);
        ASSERT_OK(pki_cert_load(path, &back, err, sizeof err));
        ASSERT_EQ(X509_cmp(back, ca.cert), 0);
        X509_free(TAKE_PTR(back));
        ASSERT_OK(file_write_atomic(path, "junk\n", 5, 0644));
        ASSERT_ERROR(pki_cert_load(path, &back, err, sizeof err), -EBADMSG);
        ASSERT_CONTAINS(err, path);
        ASSERT_CONTAINS(err, "certificate PEM does not start with");
}

/* ---- PEM and DER parsing ---- */

TEST(malformed_pem_and_der_are_refused) {
        _cleanup_(ca_done) Ca ca = {};
        _cleanup_(X509_freep) X509 *node = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_REQ_freep) X509_REQ *req = NULL;
        _cleanup_free_ char *cert_pem = NULL, *csr_pem = NULL, *two = NULL, *trailing = NULL, *keyfirst = NULL;
        _cleanup_free_ char *key_pem = NULL;
        unsigned char *der = NULL;
        X509 *x = NULL;
        X509_REQ *r = NULL;
        char err[512];
        size_t n, m, k;
        int der_len;

        ASSERT_OK(ca_make(&ca));
        ASSERT_OK(enroll(&ca, "node-a", "private", 3600, 0, &key, &node));
        ASSERT_OK(pki_cert_to_pem(node, &cert_pem, &n, err, sizeof err));
        ASSERT_OK(pki_csr_create(key, "node-a", &req, err, sizeof err));
        ASSERT_OK(pki_csr_to_pem(req, &csr_pem, &m, err, sizeof err));
        ASSERT_OK(pki_key_to_pem(key, &key_pem, &k, err, sizeof err));

        static const char *const bad[] = {
                "not a certificate",
                "-----BEGIN CERTIFICATE-----\n!!!!notbase64!!!!\n-----END CERTIFICATE-----\n",
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "-----BEGIN CERTIFICATE-----\nMIIB\n",
                "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
                "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                ASSERT_ERROR(pki_cert_from_pem(bad[i], strlen(bad[i]), &x, err, sizeof err), -EBADMSG);
                ASSERT_TRUE(strneq(err, "pki: ", 5));
                ASSERT_ERROR(pki_csr_from_pem(bad[i], strlen(bad[i]), &r, err, sizeof err), -EBADMSG);
        }
        ASSERT_ERROR(pki_cert_from_pem("", 0, &x, err, sizeof err), -EBADMSG);
        ASSERT_STREQ(err, "pki: certificate PEM is empty");
        /* the wrong kind of object */
        ASSERT_ERROR(pki_cert_from_pem(csr_pem, m, &x, err, sizeof err), -EBADMSG);
        ASSERT_ERROR(pki_csr_from_pem(cert_pem, n, &r, err, sizeof err), -EBADMSG);
        ASSERT_ERROR(pki_cert_from_pem(key_pem, k, &x, err, sizeof err), -EBADMSG);
        /* a truncated certificate */
        ASSERT_ERROR(pki_cert_from_pem(cert_pem, n - 40, &x, err, sizeof err), -EBADMSG);
        ASSERT_CONTAINS(err, "pki: cannot parse the certificate PEM: ");
        /* exactly one object: no second certificate, no trailing text, nothing skipped before it */
        ASSERT_TRUE(asprintf(&two, "%s%s", cert_pem, cert_pem) > 0);
        ASSERT_ERROR(pki_cert_from_pem(two, 2 * n, &x, err, sizeof err), -EBADMSG);
        ASSERT_STREQ(err, "pki: unexpected data after the certificate PEM");
        ASSERT_TRUE(asprintf(&trailing, "%sjunk\n", cert_pem) > 0);
        ASSERT_ERROR(pki_cert_from_pem(trailing, strlen(trailing), &x, err, sizeof err), -EBADMSG);
        ASSERT_TRUE(asprintf(&keyfirst, "%s%s", key_pem, cert_pem) > 0);
        ASSERT_ERROR(pki_cert_from_pem(keyfirst, strlen(keyfirst), &x, err, sizeof err), -EBADMSG);
        ASSERT_NULL(x);
        ASSERT_NULL(r);
        /* whitespace around is fine; a NUL inside is not */
        free(trailing);
        ASSERT_TRUE(asprintf(&trailing, "\n\r\n%s\n\n", cert_pem) > 0);
        ASSERT_OK(pki_cert_from_pem(trailing, strlen(trailing), &x, err, sizeof err));
        X509_free(TAKE_PTR(x));
        trailing[100] = '\0';
        ASSERT_ERROR(pki_cert_from_pem(trailing, n + 5, &x, err, sizeof err), -EBADMSG);

        /* DER: exactly one object */
        der_len = i2d_X509(node, &der);
        ASSERT_TRUE(der_len > 0);
        ASSERT_OK(pki_cert_from_der(der, (size_t) der_len, &x, err, sizeof err));
        ASSERT_EQ(X509_cmp(x, node), 0);
        X509_free(TAKE_PTR(x));
        ASSERT_ERROR(pki_cert_from_der(der, (size_t) der_len - 1, &x, err, sizeof err), -EBADMSG);
        ASSERT_CONTAINS(err, "pki: cannot parse the certificate DER");
        ASSERT_ERROR(pki_csr_from_der(der, (size_t) der_len, &r, err, sizeof err), -EBADMSG);
        {
                _cleanup_free_ unsigned char *more = malloc((size_t) der_len + 1);

                ASSERT_NOT_NULL(more);
                memcpy(more, der, (size_t) der_len);
                more[der_len] = 0;
                ASSERT_ERROR(pki_cert_from_der(more, (size_t) der_len + 1, &x, err, sizeof err), -EBADMSG);
                ASSERT_STREQ(err, "pki: unexpected data after the certificate DER");
        }
        OPENSSL_free(der);
        der = NULL;
        der_len = i2d_X509_REQ(req, &der);
        ASSERT_TRUE(der_len > 0);
        ASSERT_OK(pki_csr_from_der(der, (size_t) der_len, &r, err, sizeof err));
        ASSERT_OK(pki_csr_check(r, "node-a", err, sizeof err));
        X509_REQ_free(TAKE_PTR(r));
        OPENSSL_free(der);
        ASSERT_NULL(x);
        ASSERT_TRUE(ERR_peek_error() == 0);
}

TEST(oversized_pem_is_refused) {
        _cleanup_free_ char *big = malloc(PKI_PEM_MAX + 1);
        EVP_PKEY *key = NULL;
        X509 *x = NULL;
        X509_REQ *r = NULL;
        char path[512], err[512], expect[128];

        ASSERT_NOT_NULL(big);
        memset(big, '\n', PKI_PEM_MAX + 1);
        memcpy(big, "-----BEGIN CERTIFICATE-----\n", 28);
        ASSERT_ERROR(pki_cert_from_pem(big, PKI_PEM_MAX + 1, &x, err, sizeof err), -EFBIG);
        snprintf(expect, sizeof expect, "pki: certificate PEM of %zu bytes exceeds the limit of %zu bytes",
                 PKI_PEM_MAX + 1, PKI_PEM_MAX);
        ASSERT_STREQ(err, expect);
        ASSERT_ERROR(pki_cert_from_der(big, PKI_PEM_MAX + 1, &x, err, sizeof err), -EFBIG);
        ASSERT_ERROR(pki_csr_from_pem(big, PKI_PEM_MAX + 1, &r, err, sizeof err), -EFBIG);
        ASSERT_ERROR(pki_csr_from_der(big, PKI_PEM_MAX + 1, &r, err, sizeof err), -EFBIG);
        ASSERT_ERROR(pki_key_from_pem(big, PKI_PEM_MAX + 1, &key, err, sizeof err), -EFBIG);
        /* exactly at the limit it is parsed (and fails as malformed, not as too big) */
        ASSERT_ERROR(pki_cert_from_pem(big, PKI_PEM_MAX, &x, err, sizeof err), -EBADMSG);

        path_in_tmp(path, sizeof path, "big.key");
        ASSERT_OK(file_write_atomic(path, big, PKI_PEM_MAX + 1, 0600));
        ASSERT_ERROR(pki_key_load(path, &key, err, sizeof err), -EFBIG);
        ASSERT_CONTAINS(err, "is larger than");
        path_in_tmp(path, sizeof path, "big.crt");
        ASSERT_OK(file_write_atomic(path, big, PKI_PEM_MAX + 1, 0644));
        ASSERT_ERROR(pki_cert_load(path, &x, err, sizeof err), -EFBIG);
        ASSERT_NULL(x);
        ASSERT_NULL(r);
        ASSERT_NULL(key);
}

TEST(server_certificate_names_are_validated) {
        _cleanup_(ca_done) Ca ca = {};
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        X509 *x = NULL;
        char err[256];
        static const char *const bad[] = { "*.example.com", "1.2.3", "bad name", "-a.test",       "a-.test",
                                           "a..test",       "",      "::zz",     "n\xc3\xa9.test" };

        ASSERT_OK(ca_make(&ca));
        ASSERT_OK(pki_key_generate(&key, err, sizeof err));
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                printf("# %s\n", bad[i]);
                ASSERT_ERROR(pki_server_cert_issue(ca.cert, ca.key, key, "c", &bad[i], 1, 30, &x, err, sizeof err),
                             -EINVAL);
        }
        ASSERT_ERROR(pki_server_cert_issue(ca.cert, ca.key, key, "c", bad, 0, 30, &x, err, sizeof err), -EINVAL);
        ASSERT_ERROR(pki_server_cert_issue(ca.cert, ca.key, key, NULL, (const char *const[]){ "a.test" }, 1, 0, &x,
                                           err, sizeof err),
                     -EINVAL);
        ASSERT_NULL(x);
        ASSERT_OK(pki_server_cert_issue(ca.cert, ca.key, key, NULL,
                                        (const char *const[]){ "localhost", "10.0.0.1", "fd00::1" }, 3, 1, &x, err,
                                        sizeof err));
        ASSERT_EQ(X509_check_ip_asc(x, "fd00::1", 0), 1);
        ASSERT_EQ(X509_check_host(x, "localhost", 0, 0, NULL), 1);
        X509_free(x);
}

/* ---- TLS 1.3 with these certificates ---- */

static SSL_CTX *tls_ctx_new(bool server, X509 *ca, X509 *cert, EVP_PKEY *key) {
        _cleanup_(SSL_CTX_freep) SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

        if (!ctx)
                return NULL;
        if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
            SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
                return NULL;
        if (cert && (SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
                     SSL_CTX_check_private_key(ctx) != 1))
                return NULL;
        if (X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca) != 1)
                return NULL;
        X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_X509_STRICT);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
        return TAKE_PTR(ctx);
}

typedef struct Tls {
        int fd[2];
        SSL *server, *client;
        bool server_ok, client_ok;
} Tls;

static void tls_done(Tls *t) {
        SSL_free(t->server);
        SSL_free(t->client);
        safe_close(t->fd[0]);
        safe_close(t->fd[1]);
        ERR_clear_error();
}

/* Steps one side of the handshake: 1 done, 0 wants more, -1 failed. */
static int tls_step(SSL *ssl) {
        int r = SSL_do_handshake(ssl), e;

        if (r == 1)
                return 1;
        e = SSL_get_error(ssl, r);
        return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

/* Runs both ends of a handshake over a socketpair in this thread. */
static int tls_handshake(Tls *t, SSL_CTX *sctx, SSL_CTX *cctx, const char *host) {
        int s = 0, c = 0;

        *t = (Tls){ .fd = { -EBADF, -EBADF } };
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, t->fd) < 0)
                return -errno;
        t->server = SSL_new(sctx);
        t->client = SSL_new(cctx);
        if (!t->server || !t->client || SSL_set_fd(t->server, t->fd[0]) != 1 || SSL_set_fd(t->client, t->fd[1]) != 1 ||
            SSL_set_tlsext_host_name(t->client, host) != 1 || SSL_set1_host(t->client, host) != 1)
                return -EIO;
        SSL_set_accept_state(t->server);
        SSL_set_connect_state(t->client);
        for (int i = 0; i < 100 && (s == 0 || c == 0); i++) {
                if (c == 0)
                        c = tls_step(t->client);
                if (s == 0)
                        s = tls_step(t->server);
        }
        t->server_ok = s == 1;
        t->client_ok = c == 1;
        return 0;
}

/* Moves n bytes from one end to the other; 0 or -EIO. */
static int tls_send(SSL *from, SSL *to, const char *msg, char *buf, size_t size) {
        size_t n = strlen(msg);

        if (SSL_write(from, msg, (int) n) != (int) n)
                return -EIO;
        for (int i = 0; i < 100; i++) {
                int k = SSL_read(to, buf, (int) size - 1);

                if (k > 0) {
                        buf[k] = '\0';
                        return (size_t) k == n ? 0 : -EIO;
                }
                if (SSL_get_error(to, k) != SSL_ERROR_WANT_READ)
                        return -EIO;
        }
        return -EIO;
}

typedef struct Pki {
        Ca ca;
        EVP_PKEY *srv_key, *node_key;
        X509 *srv, *node;
} Pki;

static void pki_done(Pki *p) {
        ca_done(&p->ca);
        EVP_PKEY_free(p->srv_key);
        EVP_PKEY_free(p->node_key);
        X509_free(p->srv);
        X509_free(p->node);
}

static int pki_make(Pki *p, const char *zone) {
        int r;

        *p = (Pki){};
        r = ca_make(&p->ca);
        if (r >= 0)
                r = server_make(&p->ca, &p->srv_key, &p->srv);
        if (r >= 0)
                r = enroll(&p->ca, "gpu-1", zone, 3600, 0, &p->node_key, &p->node);
        return r;
}

TEST(tls13_mutual_handshake_with_issued_certificates) {
        _cleanup_(pki_done) Pki p = {};
        _cleanup_(tls_done) Tls t = { .fd = { -EBADF, -EBADF } };
        _cleanup_(SSL_CTX_freep) SSL_CTX *sctx = NULL, *cctx = NULL;
        PkiIdentity id;
        X509 *peer;
        char buf[64], err[256];

        ASSERT_OK(pki_make(&p, "public"));
        sctx = tls_ctx_new(true, p.ca.cert, p.srv, p.srv_key);
        cctx = tls_ctx_new(false, p.ca.cert, p.node, p.node_key);
        ASSERT_NOT_NULL(sctx);
        ASSERT_NOT_NULL(cctx);
        ASSERT_OK(tls_handshake(&t, sctx, cctx, SERVER_HOST));
        ASSERT_TRUE(t.server_ok);
        ASSERT_TRUE(t.client_ok);
        ASSERT_EQ(SSL_version(t.server), TLS1_3_VERSION);
        ASSERT_EQ(SSL_get_verify_result(t.server), X509_V_OK);
        ASSERT_EQ(SSL_get_verify_result(t.client), X509_V_OK);

        /* the controller takes the node's identity from the verified peer certificate */
        peer = SSL_get0_peer_certificate(t.server);
        ASSERT_NOT_NULL(peer);
        ASSERT_OK(pki_verify_cert(p.ca.cert, peer, PKI_PURPOSE_NODE, 0, NULL, NULL, err, sizeof err));
        ASSERT_OK(pki_cert_identity(peer, &id, err, sizeof err));
        ASSERT_STREQ(id.name, "gpu-1");
        ASSERT_STREQ(id.zone, "public");
        ASSERT_STREQ(id.node_id, NODE_ID);
        peer = SSL_get0_peer_certificate(t.client);
        ASSERT_NOT_NULL(peer);
        ASSERT_EQ(X509_cmp(peer, p.srv), 0);

        /* and application data flows both ways */
        ASSERT_OK(tls_send(t.client, t.server, "hello controller", buf, sizeof buf));
        ASSERT_STREQ(buf, "hello controller");
        ASSERT_OK(tls_send(t.server, t.client, "hello gpu-1", buf, sizeof buf));
        ASSERT_STREQ(buf, "hello gpu-1");
}

TEST(tls_handshake_rejects_client_certificate_from_another_ca) {
        _cleanup_(pki_done) Pki p = {}, other = {};
        _cleanup_(tls_done) Tls t = { .fd = { -EBADF, -EBADF } };
        _cleanup_(SSL_CTX_freep) SSL_CTX *sctx = NULL, *cctx = NULL;

        ASSERT_OK(pki_make(&p, "private"));
        ASSERT_OK(pki_make(&other, "private"));
        /* the client trusts the real controller, but its certificate comes from another CA */
        sctx = tls_ctx_new(true, p.ca.cert, p.srv, p.srv_key);
        cctx = tls_ctx_new(false, p.ca.cert, other.node, other.node_key);
        ASSERT_NOT_NULL(sctx);
        ASSERT_NOT_NULL(cctx);
        ASSERT_OK(tls_handshake(&t, sctx, cctx, SERVER_HOST));
        ASSERT_FALSE(t.server_ok);
        ASSERT_TRUE(SSL_get_verify_result(t.server) == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
                    SSL_get_verify_result(t.server) == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE);
}

TEST(tls_handshake_rejects_server_from_another_ca_and_missing_client_certificate) {
        _cleanup_(pki_done) Pki p = {}, other = {};
        _cleanup_(tls_done) Tls t1 = { .fd = { -EBADF, -EBADF } }, t2 = { .fd = { -EBADF, -EBADF } },
                                t3 = { .fd = { -EBADF, -EBADF } };
        _cleanup_(SSL_CTX_freep) SSL_CTX *sctx = NULL, *other_sctx = NULL, *cctx = NULL, *anon_cctx = NULL;

        ASSERT_OK(pki_make(&p, "private"));
        ASSERT_OK(pki_make(&other, "private"));
        sctx = tls_ctx_new(true, p.ca.cert, p.srv, p.srv_key);
        other_sctx = tls_ctx_new(true, p.ca.cert, other.srv, other.srv_key);
        cctx = tls_ctx_new(false, p.ca.cert, p.node, p.node_key);
        anon_cctx = tls_ctx_new(false, p.ca.cert, NULL, NULL);
        ASSERT_NOT_NULL(sctx);
        ASSERT_NOT_NULL(other_sctx);
        ASSERT_NOT_NULL(cctx);
        ASSERT_NOT_NULL(anon_cctx);

        /* an impostor controller */
        ASSERT_OK(tls_handshake(&t1, other_sctx, cctx, SERVER_HOST));
        ASSERT_FALSE(t1.client_ok);
        ASSERT_FALSE(t1.server_ok);
        ASSERT_TRUE(SSL_get_verify_result(t1.client) != X509_V_OK);

        /* the right controller under a name its certificate does not carry */
        ASSERT_OK(tls_handshake(&t2, sctx, cctx, "evil.test"));
        ASSERT_FALSE(t2.client_ok);
        ASSERT_EQ(SSL_get_verify_result(t2.client), X509_V_ERR_HOSTNAME_MISMATCH);

        /* a client without a certificate */
        ASSERT_OK(tls_handshake(&t3, sctx, anon_cctx, SERVER_HOST));
        ASSERT_FALSE(t3.server_ok);
}
