/* renew.h: certificate renewal over the mutual-TLS connection: when to ask (70-90 % of the
 * lifetime, jittered), the cert.renew frame, and accepting the cert.issued answer. */
#pragma once

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

struct ssl_ctx_st;

/* Microseconds from now until renewal: a point drawn uniformly (from random) in 70-90 % of
 * [not_before, not_after]; 0 when that point has passed. */
uint64_t renew_delay_usec(int64_t not_before, int64_t not_after, int64_t now, uint64_t random);
/* The validity of the certificate in cert_file (Unix times). */
int renew_cert_validity(const char *cert_file, int64_t *ret_not_before, int64_t *ret_not_after, char *err, size_t errsz);
/* A cert.renew frame with a CSR for the node's existing key. The caller owns *ret. */
int renew_request(const char *key_file, const char *node_name, cJSON **ret, char *err, size_t errsz);
/* Checks a cert.issued certificate (issued by ca_file's CA, valid now, for this node, for our key)
 * and installs it: written atomically over cert_file and loaded into ctx for the next handshakes.
 * Returns its validity. Nothing changes when any check fails (-EKEYREJECTED, -EBADMSG...). */
int renew_accept(const char *ca_file, const char *cert_file, const char *key_file, const char *node_name, const char *pem,
                 struct ssl_ctx_st *ctx, int64_t *ret_not_before, int64_t *ret_not_after, char *err, size_t errsz);
