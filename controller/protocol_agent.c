/* protocol_agent.c: the agents' WSS protocol (sluice-agent.v1): identity from the client
 * certificate, frames checked against their schemas, hello/welcome, heartbeats, one lws_write per
 * writeable callback. */
#include <errno.h>
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller.h"
#include "deploy.h"
#include "dispatch.h"
#include "frame.h"
#include "inventory.h"
#include "json.h"
#include "log.h"
#include "openssl-util.h"
#include "pki.h"
#include "protocols.h"
#include "ruleset.h"
#include "store-nodes.h"
#include "timeutil.h"

/* $SLUICE_FRAME_LOG names a file that gets every frame sent and received, one JSON line each
 * ({"dir":"in"|"out","node":...,"frame":...}): for tests that check all traffic against the schemas.
 * Frames carry prompts: never set it in production. */
static void frame_log(const char *dir, const AgentConn *a, const char *text, size_t len) {
        static FILE *f;
        static bool opened;
        StrBuf line = STRBUF_INIT;

        if (!opened) {
                const char *path = getenv("SLUICE_FRAME_LOG");
                opened = true;
                f = path ? fopen(path, "ae") : NULL;
        }
        if (!f)
                return;
        if (strbuf_printf(&line, "{\"dir\":\"%s\",\"node\":", dir) >= 0 &&
            strbuf_put_json_string(&line, a->id.name, strlen(a->id.name)) >= 0 && strbuf_puts(&line, ",\"text\":") >= 0 &&
            strbuf_put_json_string(&line, text, len) >= 0 && strbuf_puts(&line, "}\n") >= 0) {
                fwrite(strbuf_str(&line), 1, line.len, f);
                fflush(f);
        }
        strbuf_done(&line);
}

/* The TLS verification callback runs with no wsi or context to find the controller through. */
static Controller *verify_ctl;

void protocol_agent_init(Controller *c) {
        verify_ctl = c;
}

static Controller *ctl_of(struct lws *wsi) {
        return lws_context_user(lws_get_context(wsi));
}

static int revoked_in_store(const char *serial_hex, void *userdata) {
        Controller *c = userdata;
        bool revoked = false;
        char err[256];
        int r = store_cert_serial_is_revoked(c->store, serial_hex, &revoked, err, sizeof err);

        return r < 0 ? r : revoked;
}

/* Verifies the peer certificate again (chain, time, revocation) and reads the node's identity. */
static int identify(Controller *c, struct lws *wsi, AgentConn *a, char *err, size_t errsz) {
        SSL *ssl = lws_get_ssl(wsi);
        _cleanup_(X509_freep) X509 *peer = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
        int r;

        if (!peer) {
                snprintf(err, errsz, "no client certificate");
                return -EACCES;
        }
        r = pki_verify_cert(c->ca, peer, PKI_PURPOSE_NODE, 0, revoked_in_store, c, err, errsz);
        if (r >= 0)
                r = pki_cert_identity(peer, &a->id, err, errsz);
        if (r >= 0)
                r = pki_cert_serial_hex(peer, a->serial);
        return r;
}

static void send_frame(Controller *c, AgentConn *a, cJSON *f) {
        char err[512];
        char *text;

        if (!f)
                return;
        if (frame_check(c->frames, f, err, sizeof err) < 0) { /* a bug here, not the agent's fault */
                log_error("not sending an invalid frame to %s: %s", a->id.name, err);
                cJSON_Delete(f);
                return;
        }
        text = cJSON_PrintUnformatted(f);
        cJSON_Delete(f);
        if (text && agent_send(a, text) == -ENOBUFS)
                log_warning("frame queue of %s is full: dropping a frame", a->id.name);
}

static void reject_frame(Controller *c, AgentConn *a, const char *why) {
        a->frames_rejected++;
        log_with(LOG_WARNING, LOG_FIELDS(LOG_STR("node", a->id.name), LOG_INT("frames_rejected", a->frames_rejected)),
                 "refused a frame from %s: %s", a->id.name, why);
        send_frame(c, a, frame_error(NULL, "bad_frame", why));
}

static void on_hello(Controller *c, AgentConn *a, const cJSON *f) {
        cJSON *w = cJSON_CreateObject();
        const cJSON *models = cJSON_GetObjectItemCaseSensitive(f, "models"), *m;

        cJSON_ArrayForEach(m, models)
                agent_set_model(a, m->valuestring, true);

        cJSON_AddStringToObject(w, "type", "welcome");
        cJSON_AddStringToObject(w, "node_id", a->id.node_id);
        cJSON_AddStringToObject(w, "node", a->id.name);
        cJSON_AddStringToObject(w, "zone", a->id.zone);
        cJSON_AddNumberToObject(w, "heartbeat_interval_ms", c->config.heartbeat_interval_ms);
        cJSON_AddNumberToObject(w, "rules_version", (double) c->rules_version);
        send_frame(c, a, w);
        a->welcomed = true;
        log_with(LOG_NOTICE, LOG_FIELDS(LOG_STR("node", a->id.name), LOG_STR("zone", a->id.zone)),
                 "agent %s (%s zone) said hello", a->id.name, a->id.zone);
        deploy_reconcile(c);
        /* rules come last: they end the answer to hello, so an agent that has them knows every
         * model.load it was sent (its READY waits for those loads; docs/PROTOCOL.md) */
        ruleset_send(c, a);
}

static void on_heartbeat(Controller *c, AgentConn *a, cJSON *f) {
        const cJSON *models = cJSON_GetObjectItemCaseSensitive(f, "models"), *m;
        _cleanup_free_ char *telemetry = NULL;
        char err[256];

        cJSON_ArrayForEach(m, models) {
                const char *state = cJSON_GetObjectItemCaseSensitive(m, "state")->valuestring;
                agent_set_model(a, cJSON_GetObjectItemCaseSensitive(m, "name")->valuestring, streq(state, "ready"));
        }

        cJSON_DeleteItemFromObjectCaseSensitive(f, "type");
        telemetry = cJSON_PrintUnformatted(f);
        if (telemetry && store_node_seen(c->store, a->id.name, telemetry, err, sizeof err) < 0)
                log_warning("cannot record the heartbeat of %s: %s", a->id.name, err);
}

/* cert.renew: a new certificate for the identity the current one proves (never for another). */
static void on_renew(Controller *c, AgentConn *a, const cJSON *f) {
        const char *csr = cJSON_GetObjectItemCaseSensitive(f, "csr")->valuestring;
        _cleanup_(X509_REQ_freep) X509_REQ *req = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_free_ char *pem = NULL;
        char err[512], serial[PKI_SERIAL_HEX_MAX], when[TIME_RFC3339_MAX];
        int64_t not_after = 0;
        size_t len;
        int r;

        r = pki_csr_from_pem(csr, strlen(csr), &req, err, sizeof err);
        if (r >= 0)
                r = pki_node_cert_issue(c->ca, c->ca_key, req, &a->id,
                                        (int64_t) (c->config.agent_cert_lifetime_usec / USEC_PER_SEC), 0, &cert, err, sizeof err);
        if (r >= 0 && (r = pki_cert_serial_hex(cert, serial)) >= 0 && (r = pki_cert_validity(cert, NULL, &not_after)) >= 0)
                r = store_node_set_cert(c->store, a->id.name, serial, (uint64_t) not_after * USEC_PER_SEC, err, sizeof err);
        if (r >= 0)
                r = pki_cert_to_pem(cert, &pem, &len, err, sizeof err);
        if (r < 0) {
                log_warning("refused to renew the certificate of %s: %s", a->id.name, err);
                send_frame(c, a, frame_error(NULL, "renew_refused", err));
                return;
        }
        cJSON *issued = cJSON_CreateObject();
        cJSON_AddStringToObject(issued, "type", "cert.issued");
        cJSON_AddStringToObject(issued, "certificate", pem);
        cJSON_AddStringToObject(issued, "not_after", time_format_rfc3339((uint64_t) not_after * USEC_PER_SEC, when));
        send_frame(c, a, issued);
        log_with(LOG_INFO, LOG_FIELDS(LOG_STR("node", a->id.name), LOG_STR("not_after", when)),
                 "renewed the certificate of %s until %s", a->id.name, when);
}

static void handle_frame(Controller *c, AgentConn *a) {
        _cleanup_json_ cJSON *f = NULL;
        const char *type;
        char err[512];

        frame_log("in", a, strbuf_str(&a->rx), a->rx.len);
        if (a->close_reason)
                return; /* closing: what it still sends is dropped */
        if (!agent_frame_allowed(a, c->config.agent_max_frames_per_sec, time_mono_usec())) {
                log_with(LOG_WARNING, LOG_FIELDS(LOG_STR("node", a->id.name)),
                         "%s sends more than %u frames per second (agent_max_frames_per_sec): disconnecting it",
                         a->id.name, c->config.agent_max_frames_per_sec);
                a->close_reason = "more frames per second than agent_max_frames_per_sec";
                lws_callback_on_writable(a->wsi);
                return;
        }
        if (frame_parse(c->frames, strbuf_str(&a->rx), a->rx.len, &f, &type, err, sizeof err) < 0) {
                reject_frame(c, a, err);
                return;
        }
        a->last_frame_usec = time_mono_usec();
        if (!a->welcomed && !streq(type, "hello")) {
                reject_frame(c, a, "the first frame must be hello");
                return;
        }
        if (streq(type, "hello"))
                on_hello(c, a, f);
        else if (streq(type, "heartbeat"))
                on_heartbeat(c, a, f);
        else if (streq(type, "rules.ack"))
                a->rules_version_acked = (uint64_t) cJSON_GetObjectItemCaseSensitive(f, "version")->valuedouble;
        else if (streq(type, "cert.renew"))
                on_renew(c, a, f);
        else if (streq(type, "model.status"))
                deploy_on_status(c, a, f);
        else if (streq(type, "token") || streq(type, "done") || streq(type, "error"))
                dispatch_on_frame(c, a, type, f);
        else
                reject_frame(c, a, "this frame type is not sent by agents");
}

static int on_established(Controller *c, struct lws *wsi, AgentConn *a) {
        char err[512];
        int r;

        *a = (AgentConn){ .wsi = wsi, .rx = { .limit = c->config.max_frame_bytes } };
        r = identify(c, wsi, a, err, sizeof err);
        if (r < 0) {
                log_warning("refused an agent connection: %s", err);
                return -1;
        }
        a->connected_usec = a->last_frame_usec = a->frame_budget_usec = time_mono_usec();
        a->frame_budget = c->config.agent_max_frames_per_sec;
        r = inventory_conn_open(c->inventory, a->id.name, c->config.max_agent_connections_per_node);
        if (r < 0) {
                log_with(LOG_WARNING, LOG_FIELDS(LOG_STR("node", a->id.name)),
                         "refused a connection of %s: it has %u open already (max_agent_connections_per_node)",
                         a->id.name, c->config.max_agent_connections_per_node);
                a->id.name[0] = '\0'; /* nothing to undo in on_closed */
                return -1;
        }
        a->counted = true;
        if (inventory_add(c->inventory, a) < 0)
                return -1;
        if (store_node_set_state(c->store, a->id.name, STORE_NODE_ONLINE, err, sizeof err) < 0)
                log_warning("cannot mark %s online: %s", a->id.name, err);
        log_with(LOG_INFO, LOG_FIELDS(LOG_STR("node", a->id.name), LOG_STR("zone", a->id.zone)), "agent %s connected",
                 a->id.name);
        return 0;
}

static void on_receive(Controller *c, struct lws *wsi, AgentConn *a, const void *in, size_t len) {
        if (!a->rx_overflow && strbuf_append(&a->rx, in, len) < 0)
                a->rx_overflow = true;
        if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
                return;
        if (a->rx_overflow)
                reject_frame(c, a, "frame larger than max_frame_bytes");
        else
                handle_frame(c, a);
        strbuf_truncate(&a->rx, 0);
        a->rx_overflow = false;
}

static int on_writeable(struct lws *wsi, AgentConn *a) {
        if (a->close_reason) {
                lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *) a->close_reason,
                                 strlen(a->close_reason));
                return -1;
        }
        if (a->q_len == 0)
                return 0;
        char *text = a->queue[a->q_head];
        size_t n = strlen(text);
        _cleanup_free_ uint8_t *buf = malloc(LWS_PRE + n);
        if (!buf)
                return -1;
        memcpy(buf + LWS_PRE, text, n);
        frame_log("out", a, text, n);
        a->q_head = (a->q_head + 1) % AGENT_QUEUE_MAX;
        a->q_len--;
        free(text);
        if (lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int) n)
                return -1;
        if (a->q_len > 0)
                lws_callback_on_writable(wsi);
        return 0;
}

static void on_closed(Controller *c, AgentConn *a) {
        char err[256];

        if (!a->id.name[0])
                return;
        if (a->counted)
                inventory_conn_closed(c->inventory, a->id.name);
        if (inventory_find(c->inventory, a->id.name) == a) {
                inventory_remove(c->inventory, a);
                dispatch_agent_gone(c, a);
                if (store_node_set_state(c->store, a->id.name, STORE_NODE_LOST, err, sizeof err) < 0)
                        log_debug("cannot mark %s lost: %s", a->id.name, err);
        }
        log_with(LOG_INFO, LOG_FIELDS(LOG_STR("node", a->id.name), LOG_STR("reason", a->close_reason ? a->close_reason : "closed")),
                 "agent %s disconnected", a->id.name);
        agent_conn_done(a);
}

/* Refuses revoked certificates during the TLS handshake (OpenSSL has checked the chain). */
static int verify_client_cert(Controller *c, X509_STORE_CTX *ctx, int preverify_ok) {
        X509 *cert = X509_STORE_CTX_get_current_cert(ctx);
        char serial[PKI_SERIAL_HEX_MAX];

        if (!preverify_ok || !cert)
                return 1;
        if (X509_STORE_CTX_get_error_depth(ctx) > 0)
                return 0; /* the CA itself */
        if (pki_cert_serial_hex(cert, serial) < 0 || revoked_in_store(serial, c) != 0) {
                X509_STORE_CTX_set_error(ctx, X509_V_ERR_CERT_REVOKED);
                return 1;
        }
        return 0;
}

int protocol_agent_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
        AgentConn *a = user;

        switch (reason) {
        case LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION:
                return verify_ctl ? verify_client_cert(verify_ctl, user, (int) len) : 1;
        case LWS_CALLBACK_ESTABLISHED:
                return on_established(ctl_of(wsi), wsi, a);
        case LWS_CALLBACK_RECEIVE:
                on_receive(ctl_of(wsi), wsi, a, in, len);
                return 0;
        case LWS_CALLBACK_SERVER_WRITEABLE:
                return on_writeable(wsi, a);
        case LWS_CALLBACK_CLOSED:
                on_closed(ctl_of(wsi), a);
                return 0;
        default:
                return lws_callback_http_dummy(wsi, reason, user, in, len);
        }
}
