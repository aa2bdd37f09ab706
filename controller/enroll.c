/* enroll.c: agent enrollment: single-use token + CSR -> short-lived certificate naming node and zone. */
#include "enroll.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "controller.h"
#include "json.h"
#include "log.h"
#include "openssl-util.h"
#include "pki.h"
#include "store-nodes.h"
#include "store-tokens.h"
#include "timeutil.h"

static void refuse_token(HttpRequest *r, int k, const char *err) {
        const char *code = k == -EALREADY ? "token_used" : k == -ETIMEDOUT ? "token_expired" : "invalid_token";

        if (k == -ENOMEM || k == -EIO || k == -EBUSY)
                http_reply_error(r, 503, NULL, "unavailable", "%s", err);
        else
                http_reply_error(r, 403, NULL, code, "join token refused: %s", err);
}

/* Signs req for the node and records the certificate; inside the caller's transaction. */
static int issue(HttpRequest *r, X509_REQ *req, const StoreNode *node, X509 **ret, char *err, size_t errsz) {
        PkiIdentity id = {};
        char serial[PKI_SERIAL_HEX_MAX];
        int64_t not_after;
        int k;

        snprintf(id.name, sizeof id.name, "%s", node->name);
        snprintf(id.zone, sizeof id.zone, "%s", store_zone_to_string(node->zone));
        snprintf(id.node_id, sizeof id.node_id, "%s", node->id);
        k = pki_node_cert_issue(r->ctl->ca, r->ctl->ca_key, req, &id,
                                (int64_t) (r->ctl->config.agent_cert_lifetime_usec / USEC_PER_SEC), 0, ret, err, errsz);
        if (k < 0)
                return k;
        if ((k = pki_cert_serial_hex(*ret, serial)) < 0 || (k = pki_cert_validity(*ret, NULL, &not_after)) < 0)
                return k;
        return store_node_set_cert(r->ctl->store, node->name, serial, (uint64_t) not_after * USEC_PER_SEC, err, errsz);
}

static void reply_certificate(HttpRequest *r, X509 *cert, const StoreNode *node) {
        _cleanup_free_ char *pem = NULL;
        char when[TIME_RFC3339_MAX];
        int64_t not_after = 0;
        size_t len;
        char err[256];

        if (pki_cert_to_pem(cert, &pem, &len, err, sizeof err) < 0) {
                http_reply_error(r, 500, NULL, "internal", "%s", err);
                return;
        }
        pki_cert_validity(cert, NULL, &not_after);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "certificate", pem);
        cJSON_AddStringToObject(o, "ca", r->ctl->ca_pem);
        cJSON_AddStringToObject(o, "node_id", node->id);
        cJSON_AddStringToObject(o, "node", node->name);
        cJSON_AddStringToObject(o, "zone", store_zone_to_string(node->zone));
        cJSON_AddStringToObject(o, "not_after", time_format_rfc3339((uint64_t) not_after * USEC_PER_SEC, when));
        http_reply_json(r, 200, o);
}

void enroll_handle(HttpRequest *r) {
        _cleanup_json_ cJSON *body = NULL;
        _cleanup_(X509_REQ_freep) X509_REQ *req = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_(store_join_token_freep) StoreJoinToken *tok = NULL;
        _cleanup_(store_node_freep) StoreNode *node = NULL;
        StoreActor actor = { .key_id = "enrollment", .request_id = r->request_id };
        const char *token, *csr;
        char err[512];
        int k;

        if (http_body_json(r, &body) < 0)
                return;
        if (json_get_string(body, "token", &token, err, sizeof err) < 0 || json_get_string(body, "csr", &csr, err, sizeof err) < 0) {
                http_reply_error(r, 400, NULL, "invalid_request", "%s", err);
                return;
        }
        if (pki_csr_from_pem(csr, strlen(csr), &req, err, sizeof err) < 0) {
                http_reply_error(r, 400, NULL, "bad_csr", "%s", err);
                return;
        }
        k = store_begin(r->ctl->store, err, sizeof err);
        if (k < 0) {
                http_reply_error(r, 503, NULL, "unavailable", "%s", err);
                return;
        }
        k = store_join_token_redeem(r->ctl->store, token, NULL, _STORE_ZONE_INVALID, &tok, err, sizeof err);
        if (k < 0) {
                store_rollback(r->ctl->store);
                refuse_token(r, k, err);
                return;
        }
        /* the CSR must name the node the token was made for: checked before anything is written */
        k = pki_csr_check(req, tok->node_name, err, sizeof err);
        if (k >= 0)
                k = store_node_enroll(r->ctl->store, tok->node_name, tok->zone, &actor, &node, err, sizeof err);
        if (k >= 0)
                k = issue(r, req, node, &cert, err, sizeof err);
        if (k >= 0)
                k = store_commit(r->ctl->store, err, sizeof err);
        if (k < 0) {
                store_rollback(r->ctl->store);
                if (k == -EPERM)
                        http_reply_error(r, 403, NULL, "csr_mismatch", "%s", err);
                else if (k == -EKEYREJECTED || k == -EOPNOTSUPP || k == -EBADMSG)
                        http_reply_error(r, 400, NULL, "bad_csr", "%s", err);
                else
                        http_reply_error(r, 500, NULL, "internal", "enrollment failed: %s", err);
                return;
        }
        log_with(LOG_NOTICE, LOG_FIELDS(LOG_STR("request_id", r->request_id), LOG_STR("node", node->name),
                                        LOG_STR("zone", store_zone_to_string(node->zone))),
                 "enrolled node %s in zone %s", node->name, store_zone_to_string(node->zone));
        reply_certificate(r, cert, node);
}
