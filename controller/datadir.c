/* datadir.c: the controller's data directory: CA, server certificate, database, bootstrap key. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller.h"
#include "fileio.h"
#include "log.h"
#include "openssl-util.h"
#include "pki.h"
#include "store-keys.h"

static char *path_join(const char *dir, const char *name) {
        char *p = NULL;
        return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

/* The CA: loaded, or created on first start. */
static int ca_init(Controller *c, char *err, size_t errsz) {
        _cleanup_free_ char *key_path = path_join(c->config.data_dir, "ca.key");
        size_t len;
        int r;

        c->ca_path = path_join(c->config.data_dir, "ca.pem");
        if (!key_path || !c->ca_path)
                return -ENOMEM;
        if (access(key_path, F_OK) < 0) {
                if ((r = pki_key_generate(&c->ca_key, err, errsz)) < 0 ||
                    (r = pki_ca_create(c->ca_key, NULL, 10, &c->ca, err, errsz)) < 0 ||
                    (r = pki_key_save(key_path, c->ca_key, err, errsz)) < 0 ||
                    (r = pki_cert_save(c->ca_path, c->ca, err, errsz)) < 0)
                        return r;
                log_notice("created the CA in %s. To enroll an agent: `sluice admin join-token create --name NODE "
                           "--zone private|public`, then give the agent this ca.pem and the token (its config: "
                           "ca_file, join_token_file; see docs/PROTOCOL.md)", c->ca_path);
        } else if ((r = pki_key_load(key_path, &c->ca_key, err, errsz)) < 0 ||
                   (r = pki_cert_load(c->ca_path, &c->ca, err, errsz)) < 0)
                return r;
        return pki_cert_to_pem(c->ca, &c->ca_pem, &len, err, errsz);
}

/* The server certificate: reissued at every start, so that a changed server_names takes effect. */
static int server_cert_init(Controller *c, char *err, size_t errsz) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        size_t n = 0;
        int r;

        c->server_key_path = path_join(c->config.data_dir, "server.key");
        c->server_cert_path = path_join(c->config.data_dir, "server.pem");
        if (!c->server_key_path || !c->server_cert_path)
                return -ENOMEM;
        while (c->config.server_names[n])
                n++;
        if (access(c->server_key_path, F_OK) == 0)
                r = pki_key_load(c->server_key_path, &key, err, errsz);
        else if ((r = pki_key_generate(&key, err, errsz)) >= 0)
                r = pki_key_save(c->server_key_path, key, err, errsz);
        if (r >= 0)
                r = pki_server_cert_issue(c->ca, c->ca_key, key, NULL, (const char *const *) c->config.server_names, n,
                                          365, &cert, err, errsz);
        if (r >= 0)
                r = pki_cert_save(c->server_cert_path, cert, err, errsz);
        return r;
}

static int publish_bootstrap_key(const char *secret, const StoreApiKey *key, void *userdata) {
        const char *path = userdata;
        _cleanup_free_ char *line = NULL;
        int r;

        (void) key;
        if (asprintf(&line, "%s\n", secret) < 0)
                return -ENOMEM;
        r = file_write_atomic(path, line, strlen(line), 0600);
        if (r >= 0)
                log_notice("wrote the bootstrap admin API key to %s (mode 0600); it is not shown anywhere else", path);
        return r;
}

int controller_datadir_init(Controller *c, char *err, size_t errsz) {
        _cleanup_free_ char *db = path_join(c->config.data_dir, "sluice.db");
        _cleanup_free_ char *admin_key = path_join(c->config.data_dir, "admin.key");
        int r;

        if (!db || !admin_key)
                return -ENOMEM;
        if (mkdir(c->config.data_dir, 0700) < 0 && errno != EEXIST) {
                r = -errno;
                snprintf(err, errsz, "cannot create data directory %s: %s", c->config.data_dir, strerror(errno));
                return r;
        }
        if ((r = ca_init(c, err, errsz)) < 0 || (r = server_cert_init(c, err, errsz)) < 0)
                return r;
        r = store_open(db, &c->store, err, errsz);
        if (r < 0)
                return r;
        r = store_api_key_bootstrap(c->store, publish_bootstrap_key, admin_key, err, errsz);
        return r == -EEXIST ? 0 : r;
}

void controller_datadir_done(Controller *c) {
        c->store = store_close(c->store);
        X509_free(c->ca);
        EVP_PKEY_free(c->ca_key);
        free(c->ca_pem);
        free(c->ca_path);
        free(c->server_cert_path);
        free(c->server_key_path);
        c->ca = NULL;
        c->ca_key = NULL;
        c->ca_pem = c->ca_path = c->server_cert_path = c->server_key_path = NULL;
}
