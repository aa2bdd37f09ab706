/* conn.c: the agent's connection to the controller: TLS context, connect, hello/welcome, heartbeats,
 * reconnect with backoff, systemd notifications. All on the libwebsockets service thread. */
#include "random.h"
#include "renew.h"
#include "conn.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "backoff.h"
#include "json.h"
#include "log.h"
#include "message.h"
#include "notify.h"
#include "openssl-util.h"
#include "pki.h"
#include "telemetry.h"

/* The process has one connection; callbacks that come without a wsi find it here. */
static Conn *current_conn;

/* websocket pings keep a quiet connection honest: a controller that stops answering is given up */
static const lws_retry_bo_t idle_policy = {
        .secs_since_valid_ping = CONN_PING_IDLE_SEC,
        .secs_since_valid_hangup = CONN_HANGUP_IDLE_SEC,
};

int conn_url_parse(const char *url, char *ret_host, size_t hostsz, int *ret_port) {
        const char *p, *host, *end;
        size_t hlen;
        long port = 443;

        if (!url || !strneq(url, "wss://", 6))
                return -EINVAL;
        p = host = url + 6;
        if (*p == '[') {
                end = strchr(p, ']');
                if (!end || end == p + 1)
                        return -EINVAL;
                host = p + 1;
                hlen = (size_t) (end - host);
                if (strspn(host, "0123456789abcdefABCDEF:.") < hlen)
                        return -EINVAL;
                p = end + 1;
        } else {
                hlen = strcspn(p, ":/");
                if (hlen == 0 || strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") < hlen)
                        return -EINVAL;
                p += hlen;
        }
        if (*p == ':') {
                char *e;

                p++;
                if (!(*p >= '0' && *p <= '9'))
                        return -EINVAL;
                errno = 0;
                port = strtol(p, &e, 10);
                if (errno != 0 || port < 1 || port > 65535 || e - p > 5)
                        return -EINVAL;
                p = e;
        }
        if (*p == '/')
                p++;
        if (*p != '\0' || hlen >= hostsz)
                return -EINVAL;
        memcpy(ret_host, host, hlen);
        ret_host[hlen] = '\0';
        *ret_port = (int) port;
        return 0;
}

void conn_set_cause(Conn *c, const char *fmt, ...) {
        va_list ap;

        if (c->cause[0])
                return;
        va_start(ap, fmt);
        (void) vsnprintf(c->cause, sizeof c->cause, fmt, ap);
        va_end(ap);
}

void conn_close(Conn *c, const char *fmt, ...) {
        va_list ap;

        if (!c->cause[0]) {
                va_start(ap, fmt);
                (void) vsnprintf(c->cause, sizeof c->cause, fmt, ap);
                va_end(ap);
        }
        if (!c->wsi)
                return;
        c->close_requested = true;
        lws_callback_on_writable(c->wsi);
}

int conn_send(Conn *c, cJSON *frame) {
        _cleanup_json_ cJSON *f = frame;
        _cleanup_free_ char *text = NULL;
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(f, "type");
        const char *t = cJSON_IsString(type) ? type->valuestring : "?";
        char why[512];
        size_t len;
        int r;

        if (!f)
                return -ENOMEM;
        if (!c->wsi || c->state < CONN_HELLO)
                return -ENOTCONN;
        /* every frame is checked against its schema before it leaves: a failure is a bug here */
        r = frame_check(c->validator, f, why, sizeof why);
        if (r < 0) {
                c->frames_dropped++;
                return log_error_errno(r, "BUG: dropping an invalid outgoing %s frame: %s", t, why);
        }
        r = json_print(f, &text);
        if (r < 0)
                return log_error_errno(r, "cannot serialise a %s frame", t);
        len = strlen(text);
        if (len > c->options.max_frame_bytes) {
                c->frames_dropped++;
                return log_error_errno(EMSGSIZE, "dropping a %s frame of %zu bytes: larger than max_frame_bytes (%zu)",
                                       t, len, c->options.max_frame_bytes);
        }
        r = outq_push(&c->out, text, len);
        if (r < 0) {
                c->frames_dropped++;
                return log_warning_errno(r, "dropping a %s frame: %zu frames (%zu bytes) already wait for the socket",
                                         t, c->out.n, c->out.bytes);
        }
        lws_callback_on_writable(c->wsi);
        return 0;
}

static void sul_watchdog_cb(lws_sorted_usec_list_t *sul) {
        Conn *c = lws_container_of(sul, Conn, sul_watchdog);

        /* pinged from the event loop: a hung loop stops the pings, and systemd restarts us */
        notify_watchdog();
        lws_sul_schedule(c->context, 0, &c->sul_watchdog, sul_watchdog_cb, (lws_usec_t) c->watchdog_usec);
}

static void send_heartbeat(Conn *c) {
        Telemetry t;
        RunnerStats st = {};
        MessageHeartbeat h = {
                .seq = c->heartbeat_seq++,
                .telemetry = &t,
                .backend = c->options.backend,
                .stats = &st,
        };
        cJSON *f;

        telemetry_read(&t);
        if (c->runner)
                runner_stats(c->runner, &st);
        if (message_heartbeat_new(&h, &f) < 0) {
                log_error_errno(ENOMEM, "cannot build a heartbeat");
                return;
        }
        (void) conn_send(c, f);
}

static void sul_heartbeat_cb(lws_sorted_usec_list_t *sul) {
        Conn *c = lws_container_of(sul, Conn, sul_heartbeat);

        if (c->state != CONN_READY)
                return;
        send_heartbeat(c);
        lws_sul_schedule(c->context, 0, &c->sul_heartbeat, sul_heartbeat_cb, (lws_usec_t) c->heartbeat_interval_usec);
}

static void sul_welcome_cb(lws_sorted_usec_list_t *sul) {
        Conn *c = lws_container_of(sul, Conn, sul_welcome);

        if (c->state == CONN_HELLO)
                conn_close(c, "no welcome within %u s of hello",
                           (unsigned) (CONN_WELCOME_TIMEOUT_USEC / USEC_PER_SEC));
}

static void conn_connect(Conn *c);

static void sul_reconnect_cb(lws_sorted_usec_list_t *sul) {
        Conn *c = lws_container_of(sul, Conn, sul_reconnect);

        if (!c->stopping && c->state == CONN_IDLE)
                conn_connect(c);
}

static void sul_stop_cb(lws_sorted_usec_list_t *sul) {
        Conn *c = lws_container_of(sul, Conn, sul_stop);

        log_warning("the connection did not close within %u s; exiting anyway",
                    (unsigned) (CONN_STOP_TIMEOUT_USEC / USEC_PER_SEC));
        c->done = true;
        lws_cancel_service(c->context); /* else lws_service() sleeps on until its next timer */
}

static void conn_connect(Conn *c) {
        struct lws_client_connect_info i = {
                .context = c->context,
                .address = c->host,
                .port = c->port,
                .ssl_connection = LCCSCF_USE_SSL, /* verify the chain and the host name; nothing allowed */
                .path = "/",
                .host = c->host,
                .origin = c->host,
                .protocol = CONN_PROTOCOL_NAME,
                .local_protocol_name = CONN_PROTOCOL_NAME,
                .retry_and_idle_policy = &idle_policy,
        };
        struct lws *wsi;

        c->cause[0] = '\0';
        c->close_requested = false;
        c->hello_answered = false;
        c->tls_handshake_done = c->ws_established = false;
        c->state = CONN_CONNECTING;
        c->wsi = NULL;
        c->connects++;
        log_debug("connecting to %s (attempt %u)", c->options.agent_url, c->attempt + 1);
        wsi = lws_client_connect_via_info(&i);
        if (c->state != CONN_CONNECTING)
                return; /* it failed at once, and conn_on_closed() has run */
        if (!wsi) {
                conn_set_cause(c, "cannot start a connection");
                conn_on_closed(c);
                return;
        }
        c->wsi = wsi;
}

void conn_on_established(Conn *c) {
        RunnerStats st = {};
        MessageHello h = {
                .agent_version = SLUICE_VERSION,
                .backend = c->options.backend,
                .max_sequences = c->options.max_sequences,
                .have_rules_version = c->guard.have_version,
                .rules_version = c->guard.version,
                .stats = &st,
        };
        cJSON *f;

        if (c->runner)
                runner_stats(c->runner, &st);

        c->state = CONN_HELLO;
        c->ws_established = true;
        log_debug("connected to %s; saying hello", c->options.agent_url);
        if (message_hello_new(&h, &f) < 0 || conn_send(c, f) < 0) {
                conn_close(c, "cannot send hello");
                return;
        }
        lws_sul_schedule(c->context, 0, &c->sul_welcome, sul_welcome_cb, (lws_usec_t) CONN_WELCOME_TIMEOUT_USEC);
}

static void sul_renew_cb(lws_sorted_usec_list_t *sul) {
        Conn *c = lws_container_of(sul, Conn, sul_renew);
        char err[512];
        cJSON *f;

        if (c->state != CONN_READY || c->renew_pending)
                return;
        if (renew_request(c->options.key_file, c->options.node_name, &f, err, sizeof err) < 0) {
                log_error("cannot ask for a new certificate: %s", err);
                return;
        }
        if (conn_send(c, f) >= 0) {
                c->renew_pending = true;
                log_info("asked the controller to renew this node's certificate");
        }
}

/* Schedules the renewal at 70-90 % of the current certificate's lifetime. */
static void schedule_renewal(Conn *c) {
        uint64_t rnd = 0, delay;

        (void) random_bytes(&rnd, sizeof rnd);
        delay = renew_delay_usec(c->cert_not_before, c->cert_not_after, (int64_t) (time_real_usec() / USEC_PER_SEC), rnd);
        lws_sul_schedule(c->context, 0, &c->sul_renew, sul_renew_cb, (lws_usec_t) MAX(delay, USEC_PER_SEC));
}

void conn_on_cert_issued(Conn *c, const char *pem) {
        char err[512];
        int r;

        c->renew_pending = false;
        r = renew_accept(c->options.ca_file, c->options.cert_file, c->options.key_file, c->options.node_name, pem,
                         c->ssl_ctx, &c->cert_not_before, &c->cert_not_after, err, sizeof err);
        if (r < 0) {
                log_error("refusing the renewed certificate: %s", err);
                return;
        }
        log_notice("renewed this node's certificate; it expires at %" PRId64, c->cert_not_after);
        schedule_renewal(c);
}

void conn_on_welcome(Conn *c, const char *node_id, const char *node, const char *zone,
                     uint64_t heartbeat_interval_ms) {
        lws_sul_cancel(&c->sul_welcome);
        snprintf(c->node_id, sizeof c->node_id, "%s", node_id);
        snprintf(c->node, sizeof c->node, "%s", node);
        snprintf(c->zone, sizeof c->zone, "%s", zone);
        if (!streq(node, c->options.node_name))
                log_warning("the controller knows this node as \"%s\", but node_name is \"%s\"", node,
                            c->options.node_name);
        c->heartbeat_interval_usec = heartbeat_interval_ms * USEC_PER_MSEC;
        if (c->state == CONN_READY)
                return; /* a second welcome: identity refreshed, heartbeats already flowing */
        c->state = CONN_READY;
        c->welcomed_usec = time_mono_usec();
        log_with(LOG_NOTICE,
                 LOG_FIELDS(LOG_STR("node", node), LOG_STR("node_id", node_id), LOG_STR("zone", zone),
                            LOG_INT("heartbeat_interval_ms", heartbeat_interval_ms)),
                 "welcomed by the controller at %s as node %s (zone %s, id %s); heartbeat every %" PRIu64 " ms",
                 c->options.agent_url, node, zone, node_id, heartbeat_interval_ms);
        notify_status("connected to %s as node %s (zone %s)", c->options.agent_url, node, zone);
        c->renew_pending = false;
        char verr[256];
        if (renew_cert_validity(c->options.cert_file, &c->cert_not_before, &c->cert_not_after, verr, sizeof verr) >= 0)
                schedule_renewal(c);
        send_heartbeat(c);
        lws_sul_schedule(c->context, 0, &c->sul_heartbeat, sul_heartbeat_cb, (lws_usec_t) c->heartbeat_interval_usec);
}

void conn_on_rules(Conn *c) {
        c->hello_answered = true;
        conn_ready_check(c);
}

void conn_ready_check(Conn *c) {
        RunnerStats st = {};
        size_t ready = 0;

        if (c->ready_notified || c->state != CONN_READY || !c->hello_answered)
                return;
        if (c->runner)
                runner_stats(c->runner, &st);
        if (st.loads_pending > 0)
                return;
        for (size_t i = 0; i < st.n_models; i++)
                ready += streq(st.models[i].state, "ready");
        log_info("ready: connected and %zu of %zu model(s) loaded; telling systemd (READY=1)", ready, st.n_models);
        notify_ready("connected to %s as node %s (zone %s); %zu of %zu model(s) loaded", c->options.agent_url, c->node,
                     c->zone, ready, st.n_models);
        c->ready_notified = true;
}

bool conn_cause_is_cert_refused(const char *cause) {
        static const char *const refusals[] = {
                "certificate revoked", "bad certificate",         "certificate required",
                "unknown ca",          "certificate expired",     "certificate unknown",
                "access denied",       "unsupported certificate", "ws upgrade unauthorized",
        };

        for (size_t i = 0; i < ELEMENTSOF(refusals); i++)
                if (strcasestr(cause, refusals[i]))
                        return true;
        return false;
}

void conn_on_closed(Conn *c) {
        bool was_ready = c->state == CONN_READY;
        uint64_t delay;

        if (c->state == CONN_IDLE)
                return; /* this connection's end was already handled */
        c->state = CONN_IDLE;
        c->wsi = NULL;
        c->close_requested = false;
        lws_sul_cancel(&c->sul_welcome);
        lws_sul_cancel(&c->sul_heartbeat);
        outq_clear(&c->out);
        strbuf_done(&c->rx);
        if (!c->cause[0])
                conn_set_cause(c, "connection closed");
        if (!was_ready && c->tls_handshake_done && !c->ws_established && !c->stopping &&
            !conn_cause_is_cert_refused(c->cause) && strlen(c->cause) + 80 < sizeof c->cause)
                /* with TLS 1.3 the server checks our certificate after the client thinks the handshake is done */
                strcat(c->cause, " (after TLS: the controller may have refused this node's certificate)");
        if (c->stopping) {
                log_info("disconnected from %s: %s", c->options.agent_url, c->cause);
                c->done = true;
                return;
        }
        /* the backoff starts over only after a connection that lasted: a controller that welcomes and
         * then drops us at once must not be hammered */
        if (was_ready && time_mono_usec() - c->welcomed_usec >= CONN_STABLE_USEC)
                c->attempt = 0;
        if (backoff_delay_usec(c->attempt, &delay) < 0)
                delay = backoff_ceiling_usec(c->attempt);
        if (c->attempt < UINT_MAX)
                c->attempt++;
        if (conn_cause_is_cert_refused(c->cause))
                log_with(LOG_ERR, LOG_FIELDS(LOG_STR("cause", c->cause), LOG_INT("attempt", c->attempt)),
                         "the controller at %s refused this node's certificate (%s): it may be revoked or expired; "
                         "if it stays refused, enroll the node again with a new join token; retrying in %.1f s "
                         "(attempt %u)",
                         c->options.agent_url, c->cause, (double) delay / USEC_PER_SEC, c->attempt);
        else
                log_with(LOG_WARNING, LOG_FIELDS(LOG_STR("cause", c->cause), LOG_INT("attempt", c->attempt)),
                         "%s %s: %s; reconnecting in %.1f s (attempt %u)",
                         was_ready ? "lost the connection to" : "cannot connect to", c->options.agent_url, c->cause,
                         (double) delay / USEC_PER_SEC, c->attempt);
        notify_status("reconnecting in %.1f s to %s: %s", (double) delay / USEC_PER_SEC, c->options.agent_url,
                      c->cause);
        lws_sul_schedule(c->context, 0, &c->sul_reconnect, sul_reconnect_cb, (lws_usec_t) delay);
}

/* Remembers the TLS alerts the controller sends: with TLS 1.3 a refused client certificate shows
 * only as an alert on the first read, which says more than the read error lws reports. */
static void ssl_info_cb(const SSL *ssl, int where, int ret) {
        Conn *c = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));

        if (!c || c->state == CONN_IDLE)
                return;
        if (where & SSL_CB_HANDSHAKE_DONE)
                c->tls_handshake_done = true;
        if ((where & SSL_CB_READ_ALERT) && (ret >> 8) == SSL3_AL_FATAL)
                conn_set_cause(c, "TLS alert from the controller: %s", SSL_alert_desc_string_long(ret));
}

static int make_ssl_ctx(Conn *c, char *err, size_t errsz) {
        _cleanup_(SSL_CTX_freep) SSL_CTX *ctx = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        char why[512], ssl[256];
        int r;

        ctx = SSL_CTX_new(TLS_client_method());
        if (!ctx)
                return snprintf(err, errsz, "cannot create a TLS context: %s", openssl_error_string(ssl, sizeof ssl)),
                       -ENOMEM;
        if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1) {
                snprintf(err, errsz, "this OpenSSL cannot do TLS 1.3 only: %s", openssl_error_string(ssl, sizeof ssl));
                return -EOPNOTSUPP;
        }
        /* the controller's CA and nothing else: no system trust store */
        if (SSL_CTX_load_verify_locations(ctx, c->options.ca_file, NULL) != 1) {
                snprintf(err, errsz, "ca_file %s: %s", c->options.ca_file, openssl_error_string(ssl, sizeof ssl));
                return -EINVAL;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        r = pki_cert_load(c->options.cert_file, &cert, why, sizeof why);
        if (r >= 0)
                r = pki_key_load(c->options.key_file, &key, why, sizeof why);
        if (r < 0) {
                snprintf(err, errsz, "%s", why);
                return r;
        }
        if (SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
                snprintf(err, errsz, "%s and %s do not make a usable client certificate: %s", c->options.cert_file,
                         c->options.key_file, openssl_error_string(ssl, sizeof ssl));
                return -EKEYREJECTED;
        }
        SSL_CTX_set_app_data(ctx, c);
        SSL_CTX_set_info_callback(ctx, ssl_info_cb);
        c->ssl_ctx = TAKE_PTR(ctx);
        return 0;
}

static void lws_log_emit(int level, const char *line) {
        size_t n = strlen(line);

        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                n--;
        log_with(LOG_DEBUG, LOG_FIELDS(LOG_INT("lws_level", level)), "libwebsockets: %.*s", (int) n, line);
}

static const struct lws_protocols protocols[] = {
        { .name = CONN_PROTOCOL_NAME, .callback = protocol_agent_callback, .rx_buffer_size = 65536 },
        {},
};

int conn_new(const ConnOptions *o, Conn **ret, char *err, size_t errsz) {
        _cleanup_(conn_freep) Conn *c = NULL;
        struct lws_context_creation_info info = {};
        size_t queue_bytes;
        int r;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->options = *o;
        guard_init(&c->guard, o->max_frame_bytes,
                   (o->classify_timeout_ms ? o->classify_timeout_ms : GUARD_CLASSIFY_TIMEOUT_MS_DEFAULT) * USEC_PER_MSEC);
        if (conn_url_parse(o->agent_url, c->host, sizeof c->host, &c->port) < 0) {
                snprintf(err, errsz, "agent_url: cannot use \"%s\" (expected wss://host[:port]/)", o->agent_url);
                return -EINVAL;
        }
        r = frame_validator_new(&c->validator, err, errsz);
        if (r < 0)
                return r;
        if (!size_mul(o->max_frame_bytes, CONN_QUEUE_FRAMES_FACTOR, &queue_bytes))
                queue_bytes = SIZE_MAX;
        outq_init(&c->out, LWS_PRE, CONN_QUEUE_FRAMES_MAX, queue_bytes);
        c->rx.limit = o->max_frame_bytes;
        r = make_ssl_ctx(c, err, errsz);
        if (r < 0)
                return r;

        lws_set_log_level(log_get_max_level() >= LOG_DEBUG ? LLL_ERR | LLL_WARN | LLL_NOTICE : 0, lws_log_emit);
        info.port = CONTEXT_PORT_NO_LISTEN;
        info.protocols = protocols;
        info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.provided_client_ssl_ctx = c->ssl_ctx;
        info.user = c;
        info.count_threads = 1;
        info.fd_limit_per_thread = 16;
        info.timeout_secs = 15;
        info.connect_timeout_secs = 10;
        c->context = lws_create_context(&info);
        if (!c->context) {
                snprintf(err, errsz, "cannot create the libwebsockets context");
                return -ENOMEM;
        }
        current_conn = c;
        *ret = TAKE_PTR(c);
        return 0;
}

Conn *conn_free(Conn *c) {
        if (!c)
                return NULL;
        if (current_conn == c)
                current_conn = NULL;
        /* callbacks from the teardown below must find nothing to do */
        c->stopping = true;
        if (c->context) {
                lws_sul_cancel(&c->sul_reconnect);
                lws_sul_cancel(&c->sul_welcome);
                lws_sul_cancel(&c->sul_heartbeat);
                lws_sul_cancel(&c->sul_watchdog);
                lws_sul_cancel(&c->sul_stop);
                lws_sul_cancel(&c->sul_renew);
                c->state = CONN_IDLE;
                lws_context_destroy(c->context);
        }
        SSL_CTX_free(c->ssl_ctx);
        frame_validator_free(c->validator);
        outq_clear(&c->out);
        strbuf_done(&c->rx);
        guard_done(&c->guard);
        free(c);
        return NULL;
}

void conn_request_stop(Conn *c) {
        c->stop_requested = 1;
        if (c->context)
                lws_cancel_service(c->context); /* wakes the loop up: a write(2) to its pipe */
}

static void conn_begin_stop(Conn *c) {
        c->stopping = true;
        notify_stopping();
        lws_sul_cancel(&c->sul_reconnect);
        lws_sul_cancel(&c->sul_heartbeat);
        lws_sul_cancel(&c->sul_welcome);
        if (c->state == CONN_IDLE) {
                c->done = true;
                return;
        }
        conn_close(c, "the agent is shutting down");
        if (!c->wsi) {
                c->done = true; /* still connecting: nothing to close cleanly */
                return;
        }
        lws_sul_schedule(c->context, 0, &c->sul_stop, sul_stop_cb, (lws_usec_t) CONN_STOP_TIMEOUT_USEC);
}

int conn_run(Conn *c) {
        c->watchdog_usec = notify_watchdog_interval_usec();
        if (c->watchdog_usec > 0) {
                log_debug("pinging the systemd watchdog every %" PRIu64 " ms", c->watchdog_usec / USEC_PER_MSEC);
                sul_watchdog_cb(&c->sul_watchdog);
        }
        notify_status("connecting to %s", c->options.agent_url);
        conn_connect(c);
        while (!c->done) {
                if (c->stop_requested && !c->stopping)
                        conn_begin_stop(c);
                if (c->done)
                        break;
                if (lws_service(c->context, 0) < 0)
                        return log_error_errno(EIO, "the libwebsockets event loop failed");
        }
        lws_sul_cancel(&c->sul_watchdog);
        lws_sul_cancel(&c->sul_stop);
        return 0;
}

Conn *conn_current(void) {
        return current_conn;
}

void conn_wake(void *userdata) {
        Conn *c = userdata;
        lws_cancel_service(c->context);
}

void conn_drain_runner(Conn *c) {
        for (char *text; c && c->runner && (text = runner_pop(c->runner));) {
                cJSON *f = cJSON_Parse(text);
                free(text);
                /* while disconnected the frames have no one to go to: the controller fails those requests over */
                if (f && c->state == CONN_READY)
                        (void) conn_send(c, f);
                else
                        cJSON_Delete(f);
        }
        if (c)
                conn_ready_check(c); /* a model load may have ended */
}
