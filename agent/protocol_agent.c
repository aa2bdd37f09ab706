/* protocol_agent.c: the agent's side of the wire protocol sluice-agent.v1 (docs/PROTOCOL.md): the
 * libwebsockets callback, frame reassembly and checking, and what each frame from the controller means. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "json.h"
#include "log.h"
#include "message.h"

/* Answers a frame that cannot be accepted with an error frame; the connection stays up. */
static void refuse(Conn *c, const char *id, const char *code, const char *fmt, ...) _printf_(4, 5);
static void refuse(Conn *c, const char *id, const char *code, const char *fmt, ...) {
        char msg[1024];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        c->frames_refused++;
        log_with(LOG_WARNING, LOG_FIELDS(LOG_STR("code", code), LOG_INT("frames_refused", c->frames_refused)),
                 "refused a frame from the controller: %s", msg);
        (void) conn_send(c, frame_error(id, code, msg));
}

static void on_welcome(Conn *c, const cJSON *f) {
        const char *node_id, *node, *zone;
        int64_t interval;
        char why[128];

        /* the schema guarantees these; the getters only fetch them */
        if (json_get_string(f, "node_id", &node_id, why, sizeof why) < 0 ||
            json_get_string(f, "node", &node, why, sizeof why) < 0 ||
            json_get_string(f, "zone", &zone, why, sizeof why) < 0 ||
            json_get_int(f, "heartbeat_interval_ms", 100, 600000, &interval, why, sizeof why) < 0) {
                refuse(c, NULL, "bad_frame", "welcome: %s", why);
                return;
        }
        conn_on_welcome(c, node_id, node, zone, (uint64_t) interval);
}

/* A rule set that does not compile is refused and not acknowledged: the one held stays in force,
 * and the controller keeps this node out of the public zone's choices until it acks the version. */
static void on_rules(Conn *c, const cJSON *f) {
        bool known = c->guard.have_version;
        uint64_t held = c->guard.version;
        int64_t version;
        char why[512];
        cJSON *ack;

        if (json_get_int(f, "version", 0, (int64_t) MESSAGE_INT_MAX, &version, why, sizeof why) < 0) {
                refuse(c, NULL, "bad_frame", "rules: %s", why);
                return;
        }
        if (guard_set_rules(&c->guard, (uint64_t) version, cJSON_GetObjectItemCaseSensitive(f, "rules"), why,
                            sizeof why) < 0)
                refuse(c, NULL, "bad_rules", "rules: version %" PRId64 " does not compile (%s); keeping %s", version,
                       why, known ? "the rule set held" : "no rule set");
        else {
                if (!known || held != (uint64_t) version)
                        log_info("holding rule set version %" PRId64, version);
                if (message_rules_ack_new((uint64_t) version, &ack) < 0)
                        log_error_errno(ENOMEM, "cannot acknowledge rule set version %" PRId64, version);
                else
                        (void) conn_send(c, ack);
        }
        conn_on_rules(c);
}

/* Hands a frame to the runner; a full queue is answered at once. */
static void submit(Conn *c, const cJSON *f) {
        int r = runner_submit(c->runner, f);

        if (r < 0)
                (void) conn_send(c, frame_error(message_frame_id(f), "overloaded",
                                                r == -ENOBUFS ? "this node's queue is full" : "cannot queue the request"));
}

/* The zone the guard goes by: this node's own certificate, not only what the controller's welcome
 * says. Private only when both say private; when they disagree the node is treated as public. */
static const char *guard_zone(const Conn *c) {
        if (c->options.cert_zone && !streq(c->options.cert_zone, c->zone))
                return "(certificate and welcome disagree)";
        return c->zone;
}

/* The guard (guard.h) sees every infer frame before the engine does. */
static void on_infer(Conn *c, const cJSON *f) {
        const char *id = message_frame_id(f);
        GuardDecision d;

        guard_check(&c->guard, guard_zone(c), f, &d);
        if (d.verdict != GUARD_ADMIT) {
                /* entity types and counts, never the text */
                log_with(LOG_WARNING,
                         LOG_FIELDS(LOG_STR("request_id", id), LOG_STR("code", d.code), LOG_STR("zone", c->zone),
                                    LOG_STR("data_class", policy_class_name(d.cls)), LOG_STR("entities", d.entities),
                                    LOG_INT("rules_version", c->guard.version),
                                    LOG_INT("refused_total", c->guard.refused)),
                         "refused request %s: %s", id, d.message);
                (void) conn_send(c, frame_error(id, d.code, d.message));
                return;
        }
        submit(c, f);
}

static void on_error(Conn *c, const cJSON *f) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(f, "code"),
                    *msg = cJSON_GetObjectItemCaseSensitive(f, "message");
        const char *id = message_frame_id(f);

        /* never answered: two sides refusing each other's errors would never stop */
        log_with(LOG_WARNING, LOG_FIELDS(LOG_STR("code", code->valuestring), LOG_STR("request_id", id)),
                 "the controller reports an error%s%s: %s: %s", id ? " for request " : "", id ? id : "",
                 code->valuestring, msg->valuestring);
}

static void on_frame(Conn *c, const cJSON *f, const char *type) {
        if (streq(type, "welcome"))
                on_welcome(c, f);
        else if (streq(type, "rules"))
                on_rules(c, f);
        else if (streq(type, "error"))
                on_error(c, f);
        else if (c->runner && streq(type, "infer"))
                on_infer(c, f);
        else if (c->runner && (streq(type, "model.load") || streq(type, "model.unload") || streq(type, "cancel")))
                submit(c, f);
        else if (streq(type, "cancel"))
                log_debug("cancel for request %s: nothing runs here", message_frame_id(f));
        else if (streq(type, "cert.issued")) {
                if (c->renew_pending)
                        conn_on_cert_issued(c, cJSON_GetObjectItemCaseSensitive(f, "certificate")->valuestring);
                else
                        log_warning("ignoring a certificate the controller sent unasked");
        }
        else if (streq(type, "infer") || streq(type, "model.load") || streq(type, "model.unload"))
                (void) conn_send(
                        c, frame_error(message_frame_id(f), "unsupported", "this agent does not serve models yet"));
        else
                refuse(c, message_frame_id(f), "bad_frame", "frame: type \"%s\" is not sent to agents", type);
}

/* A whole message has arrived in c->rx: check it and act on it. */
static void on_message(Conn *c) {
        _cleanup_json_ cJSON *f = NULL;
        const char *type;
        char why[768];

        if (c->rx_binary) {
                refuse(c, NULL, "bad_frame", "frame: binary messages are not part of sluice-agent.v1");
                return;
        }
        if (c->rx_too_large) {
                refuse(c, NULL, "bad_frame", "frame: larger than max_frame_bytes (%zu bytes)",
                       c->options.max_frame_bytes);
                return;
        }
        if (frame_parse(c->validator, strbuf_str(&c->rx), c->rx.len, &f, &type, why, sizeof why) < 0) {
                _cleanup_json_ cJSON *j = NULL;
                char ignored[64];

                /* name the request in the refusal when the frame is JSON with a usable id */
                (void) json_parse(strbuf_str(&c->rx), c->rx.len, &j, ignored, sizeof ignored);
                refuse(c, j ? message_frame_id(j) : NULL, "bad_frame", "%s", why);
                return;
        }
        on_frame(c, f, type);
}

static void on_receive(Conn *c, struct lws *wsi, const void *in, size_t len) {
        if (lws_is_first_fragment(wsi)) {
                strbuf_truncate(&c->rx, 0);
                c->rx_too_large = false;
                c->rx_binary = lws_frame_is_binary(wsi);
        }
        /* past max_frame_bytes the rest is read and dropped; the frame is refused when it ends */
        if (!c->rx_too_large && strbuf_append(&c->rx, in, len) < 0) {
                c->rx_too_large = true;
                strbuf_done(&c->rx);
        }
        if (!lws_is_final_fragment(wsi))
                return;
        on_message(c);
        if (c->rx.cap > 65536)
                strbuf_done(&c->rx); /* do not keep a large buffer for the small frames that follow */
        else
                strbuf_truncate(&c->rx, 0);
}

/* One lws_write() per writeable callback (the libwebsockets discipline); asks for the next. */
static int on_writeable(Conn *c, struct lws *wsi) {
        OutFrame *f;
        int n;

        if (c->close_requested) {
                const char *why = c->stopping ? "agent shutting down" : c->cause;

                lws_close_reason(wsi, c->stopping ? LWS_CLOSE_STATUS_GOINGAWAY : LWS_CLOSE_STATUS_NORMAL,
                                 (unsigned char *) why, MIN(strlen(why), (size_t) 123));
                return -1;
        }
        f = outq_peek(&c->out);
        if (!f)
                return 0;
        n = lws_write(wsi, f->buf + c->out.headroom, f->len, LWS_WRITE_TEXT);
        if (n < (int) f->len) {
                conn_set_cause(c, "writing to the socket failed");
                return -1;
        }
        outq_pop(&c->out);
        if (outq_peek(&c->out))
                lws_callback_on_writable(wsi);
        return 0;
}

/* Whether an event on wsi is about the current connection (not a stray one from an earlier). */
static bool is_current(Conn *c, struct lws *wsi) {
        return c->state != CONN_IDLE && (!c->wsi || c->wsi == wsi);
}

int protocol_agent_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
        Conn *c = wsi ? lws_context_user(lws_get_context(wsi)) : NULL;

        if (reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED) {
                /* the runner thread has frames for us; this callback may come without a usable wsi */
                conn_drain_runner(c ? c : conn_current());
                return 0;
        }
        if (!c)
                return 0;
        switch (reason) {
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
                if (!is_current(c, wsi))
                        break;
                conn_set_cause(c, "%s", in ? (const char *) in : "connection failed");
                conn_on_closed(c);
                break;
        case LWS_CALLBACK_CLIENT_ESTABLISHED:
                if (!is_current(c, wsi))
                        return -1;
                c->wsi = wsi;
                conn_on_established(c);
                break;
        case LWS_CALLBACK_CLIENT_RECEIVE:
                if (!is_current(c, wsi))
                        return -1;
                on_receive(c, wsi, in, len);
                break;
        case LWS_CALLBACK_CLIENT_WRITEABLE:
                if (!is_current(c, wsi))
                        return -1;
                return on_writeable(c, wsi);
        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
                if (is_current(c, wsi)) {
                        const unsigned char *p = in;
                        unsigned code = len >= 2 ? (unsigned) p[0] << 8 | p[1] : 0;

                        if (len > 2)
                                conn_set_cause(c, "the controller closed the connection (%u: %.*s)", code,
                                               (int) MIN(len - 2, (size_t) 123), (const char *) p + 2);
                        else
                                conn_set_cause(c, "the controller closed the connection (%u)", code);
                }
                break;
        case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
                /* user is the X509_STORE_CTX, in the SSL, len preverify_ok; OpenSSL decides, we note why */
                if (!len && user && is_current(c, wsi)) {
                        X509_STORE_CTX *x = user;
                        int e = X509_STORE_CTX_get_error(x);

                        conn_set_cause(c, "the controller's certificate is not acceptable: %s (%s)",
                                       X509_verify_cert_error_string(e),
                                       e == X509_V_ERR_HOSTNAME_MISMATCH || e == X509_V_ERR_IP_ADDRESS_MISMATCH
                                               ? "agent_url's host is not in it"
                                               : "is ca_file the controller's CA?");
                }
                break;
        case LWS_CALLBACK_CLIENT_CLOSED:
                if (is_current(c, wsi))
                        conn_on_closed(c);
                break;
        default:
                break;
        }
        return 0;
}
