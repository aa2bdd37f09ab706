/* test-openssl-util.c: cleanup of OpenSSL objects (LeakSanitizer checks it) and error messages. */
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "openssl-util.h"
#include "test.h"

TEST(key_and_certificate_objects_are_freed) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = EVP_EC_gen("P-256");
        _cleanup_(X509_freep) X509 *cert = X509_new();
        _cleanup_(X509_REQ_freep) X509_REQ *req = X509_REQ_new();
        _cleanup_(BIO_free_allp) BIO *bio = BIO_new(BIO_s_mem());
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();

        ASSERT_NOT_NULL(key);
        ASSERT_NOT_NULL(cert);
        ASSERT_NOT_NULL(req);
        ASSERT_NOT_NULL(md);
        ASSERT_TRUE(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1);
        ASSERT_TRUE(BIO_pending(bio) > 0);
}

TEST(error_queue_is_drained_into_a_message) {
        _cleanup_(BIO_free_allp) BIO *bio = BIO_new_mem_buf("not a pem", -1);
        EVP_PKEY *key;
        char buf[512];

        ERR_clear_error();
        ASSERT_STREQ(openssl_error_string(buf, sizeof buf), "unknown OpenSSL error");
        key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        ASSERT_NULL(key);
        openssl_error_string(buf, sizeof buf);
        ASSERT_CONTAINS(buf, "routines"); /* e.g. "error:1E08010C:DECODER routines::unsupported" */
        ASSERT_TRUE(ERR_peek_error() == 0); /* drained */
        ASSERT_TRUE(openssl_error_string(buf, 0) == buf);
}
