/* test-agent-enrollment.c: when a stored identity counts as enrolled, and the join token checks that
 * happen before anything goes on the network. */
#include <sys/stat.h>

#include "enrollment.h"
#include "fileio.h"
#include "openssl-util.h"
#include "test.h"

#define NODE_ID "0f8fad5b-d9cb-469f-a165-70867728950e"

typedef struct Fixture {
        EVP_PKEY *ca_key;
        X509 *ca;
        char dir[512]; /* data_dir */
        EnrollOptions o;
} Fixture;

static void fixture_done(Fixture *f) {
        X509_free(f->ca);
        EVP_PKEY_free(f->ca_key);
}

static int fixture_make(Fixture *f, const char *name) {
        char err[256];
        int r;

        *f = (Fixture){};
        snprintf(f->dir, sizeof f->dir, "%s/%s", test_tmpdir(), name);
        if (mkdir(f->dir, 0700) < 0)
                return -errno;
        f->o = (EnrollOptions){
                .controller_url = "https://127.0.0.1:1",
                .ca_file = "/nonexistent",
                .node_name = "gpu-priv-1",
                .data_dir = f->dir,
        };
        r = pki_key_generate(&f->ca_key, err, sizeof err);
        if (r >= 0)
                r = pki_ca_create(f->ca_key, NULL, 10, &f->ca, err, sizeof err);
        if (r < 0)
                printf("# %s\n", err);
        return r;
}

/* Issues a node certificate for key, named name, by ca, at time now (0: now). */
static int issue(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *key, const char *name, time_t now, X509 **ret) {
        _cleanup_(X509_REQ_freep) X509_REQ *req = NULL;
        PkiIdentity id = {};
        char err[256];
        int r;

        snprintf(id.name, sizeof id.name, "%s", name);
        snprintf(id.zone, sizeof id.zone, "private");
        snprintf(id.node_id, sizeof id.node_id, NODE_ID);
        r = pki_csr_create(key, name, &req, err, sizeof err);
        if (r >= 0)
                r = pki_node_cert_issue(ca, ca_key, req, &id, 3600, now, ret, err, sizeof err);
        if (r < 0)
                printf("# %s\n", err);
        return r;
}

/* Writes data_dir/node.key and node.crt. */
static int store(const Fixture *f, EVP_PKEY *key, X509 *cert) {
        char path[600], err[256];
        int r = 0;

        snprintf(path, sizeof path, "%s/" ENROLL_KEY_FILE, f->dir);
        if (key)
                r = pki_key_save(path, key, err, sizeof err);
        snprintf(path, sizeof path, "%s/" ENROLL_CERT_FILE, f->dir);
        if (r >= 0 && cert)
                r = pki_cert_save(path, cert, err, sizeof err);
        if (r < 0)
                printf("# %s\n", err);
        return r;
}

TEST(enrolled) {
        _cleanup_(fixture_done) Fixture f;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_(enroll_identity_done) EnrollIdentity e = {};
        char err[512] = "";

        ASSERT_OK(fixture_make(&f, "enrolled"));
        ASSERT_OK(pki_key_generate(&key, err, sizeof err));
        ASSERT_OK(issue(f.ca, f.ca_key, key, "gpu-priv-1", 0, &cert));
        ASSERT_OK(store(&f, key, cert));
        ASSERT_OK(enroll_check(&f.o, f.ca, &e, err, sizeof err));
        ASSERT_STREQ(e.id.name, "gpu-priv-1");
        ASSERT_STREQ(e.id.zone, "private");
        ASSERT_STREQ(e.id.node_id, NODE_ID);
        ASSERT_TRUE(e.not_after > time(NULL));
        ASSERT_CONTAINS(e.key_path, "/node.key");
        ASSERT_CONTAINS(e.cert_path, "/node.crt");
}

TEST(not_enrolled) {
        _cleanup_(fixture_done) Fixture f;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        EnrollIdentity e = {};
        char err[512] = "";

        ASSERT_OK(fixture_make(&f, "empty"));
        ASSERT_ERROR(enroll_check(&f.o, f.ca, &e, err, sizeof err), -ENOENT);
        /* a key without a certificate (a crash between the two writes) is not enrolled either */
        ASSERT_OK(pki_key_generate(&key, err, sizeof err));
        ASSERT_OK(store(&f, key, NULL));
        ASSERT_ERROR(enroll_check(&f.o, f.ca, &e, err, sizeof err), -ENOENT);
        ASSERT_NULL(e.key_path);
}

TEST(key_readable_by_others_is_refused) {
        _cleanup_(fixture_done) Fixture f;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        EnrollIdentity e = {};
        char err[512] = "", path[600];

        ASSERT_OK(fixture_make(&f, "perms"));
        ASSERT_OK(pki_key_generate(&key, err, sizeof err));
        ASSERT_OK(issue(f.ca, f.ca_key, key, "gpu-priv-1", 0, &cert));
        ASSERT_OK(store(&f, key, cert));
        snprintf(path, sizeof path, "%s/node.key", f.dir);
        ASSERT_TRUE(chmod(path, 0640) == 0);
        ASSERT_ERROR(enroll_check(&f.o, f.ca, &e, err, sizeof err), -EPERM);
        ASSERT_CONTAINS(err, "chmod 600");
}

TEST(stale_identities) {
        _cleanup_(fixture_done) Fixture f, other;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL, *key2 = NULL;
        _cleanup_(X509_freep) X509 *foreign = NULL, *renamed = NULL, *expired = NULL, *mismatched = NULL;
        EnrollIdentity e = {};
        char err[512] = "";

        ASSERT_OK(fixture_make(&f, "stale"));
        ASSERT_OK(fixture_make(&other, "other-ca"));
        ASSERT_OK(pki_key_generate(&key, err, sizeof err));
        ASSERT_OK(pki_key_generate(&key2, err, sizeof err));

        /* issued by another CA */
        ASSERT_OK(issue(other.ca, other.ca_key, key, "gpu-priv-1", 0, &foreign));
        ASSERT_OK(store(&f, key, foreign));
        ASSERT_ERROR(enroll_check(&f.o, f.ca, &e, err, sizeof err), -EKEYREJECTED);
        ASSERT_CONTAINS(err, "node.crt");

        /* for another node name */
        ASSERT_OK(issue(f.ca, f.ca_key, key, "gpu-priv-2", 0, &renamed));
        ASSERT_OK(store(&f, NULL, renamed));
        ASSERT_ERROR(enroll_check(&f.o, f.ca, &e, err, sizeof err), -ESTALE);
        ASSERT_CONTAINS(err, "gpu-priv-2");

        /* expired: issued two days ago for an hour */
        ASSERT_OK(issue(f.ca, f.ca_key, key, "gpu-priv-1", time(NULL) - 2 * 86400, &expired));
        ASSERT_OK(store(&f, NULL, expired));
        ASSERT_ERROR(enroll_check(&f.o, f.ca, &e, err, sizeof err), -EKEYEXPIRED);

        /* a valid certificate, but for another key */
        ASSERT_OK(issue(f.ca, f.ca_key, key2, "gpu-priv-1", 0, &mismatched));
        ASSERT_OK(store(&f, NULL, mismatched));
        ASSERT_ERROR(enroll_check(&f.o, f.ca, &e, err, sizeof err), -EKEYREJECTED);
        ASSERT_CONTAINS(err, "key");
}

TEST(join_token_checked_before_the_network) {
        _cleanup_(fixture_done) Fixture f;
        EnrollIdentity e = {};
        char err[512] = "", path[600], big[2048];
        struct stat st;

        ASSERT_OK(fixture_make(&f, "tokens"));
        snprintf(path, sizeof path, "%s/token", test_tmpdir());
        f.o.join_token_file = NULL;
        ASSERT_ERROR(enroll_run(&f.o, f.ca, &e, err, sizeof err), -ENOKEY);
        ASSERT_CONTAINS(err, "join_token_file");

        f.o.join_token_file = path;
        ASSERT_ERROR(enroll_run(&f.o, f.ca, &e, err, sizeof err), -ENOENT);
        ASSERT_CONTAINS(err, path);
        static const char *const bad[] = { "",         "\n",          "hello",
                                           "sjt-",     "sjt-abc def", "sjt-abc\nsjt-def",
                                           "sjt-ab+c", "xjt-abcdef",  NULL };
        for (size_t i = 0; bad[i]; i++) {
                ASSERT_OK(file_write_atomic(path, bad[i], strlen(bad[i]), 0600));
                if (enroll_run(&f.o, f.ca, &e, err, sizeof err) != -EINVAL) {
                        test_fail(__FILE__, __LINE__, "accepted token file \"%s\"", bad[i]);
                        return;
                }
                ASSERT_CONTAINS(err, "does not hold a join token");
        }
        memset(big, 'a', sizeof big);
        ASSERT_OK(file_write_atomic(path, big, sizeof big, 0600));
        ASSERT_ERROR(enroll_run(&f.o, f.ca, &e, err, sizeof err), -EFBIG);
        /* nothing was written */
        snprintf(path, sizeof path, "%s/node.key", f.dir);
        ASSERT_TRUE(stat(path, &st) < 0 && errno == ENOENT);
        ASSERT_NULL(e.key_path);
}

TEST(transient_errors) {
        ASSERT_TRUE(enroll_error_is_transient(-ECONNREFUSED));
        ASSERT_TRUE(enroll_error_is_transient(-ETIMEDOUT));
        ASSERT_TRUE(enroll_error_is_transient(-EAGAIN));
        ASSERT_FALSE(enroll_error_is_transient(-EACCES));
        ASSERT_FALSE(enroll_error_is_transient(-EKEYREJECTED));
        ASSERT_FALSE(enroll_error_is_transient(-EINVAL));
}
