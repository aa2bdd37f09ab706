/* server.c: libwebsockets context, the two vhosts (API: server TLS; agents: mutual TLS), timers,
 * signals and systemd notification. */
#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <signal.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "api.h"
#include "http.h"
#include "inventory.h"
#include "jobs.h"
#include "log.h"
#include "protocols.h"
#include "timeutil.h"

#define TLS13_ONLY (SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_TLSv1_2)

static const struct lws_protocols api_protocols[] = {
        { "http", protocol_http_callback, sizeof(HttpRequest), 0, 0, NULL, 0 },
        { NULL, NULL, 0, 0, 0, NULL, 0 },
};

static const struct lws_protocols agent_protocols[] = {
        /* first: the TLS client-certificate check is delivered to protocols[0] */
        { PROTOCOL_AGENT_NAME, protocol_agent_callback, sizeof(AgentConn), 65536, 0, NULL, 0 },
        { NULL, NULL, 0, 0, 0, NULL, 0 },
};

static Controller *signal_ctl;

static void on_signal(int sig) {
        (void) sig;
        if (signal_ctl) {
                signal_ctl->exiting = 1;
                lws_cancel_service(signal_ctl->lws);
        }
}

/* lws's own messages go through our logger, so that they reach journald or the JSON lines. */
static void lws_log(int level, const char *line) {
        size_t n = strlen(line);
        while (n > 0 && line[n - 1] == '\n')
                n--;
        log_internal(level == LLL_ERR ? LOG_ERR : level == LLL_WARN ? LOG_WARNING : LOG_DEBUG, 0,
                     LOG_FIELDS(LOG_STR("component", "libwebsockets")), "%.*s", (int) n, line);
}

typedef struct Reaper {
        lws_sorted_usec_list_t sul;
        Controller *ctl;
        size_t agents_reported; /* in the last STATUS line */
} Reaper;

/* STATUS= for systemctl status (after ready, "READY=1\n"; else ""). */
static void notify_status(Controller *c, const char *ready, size_t agents) {
        (void) sd_notifyf(0, "%sSTATUS=serving the API on port %d, agents on port %d; %zu agent(s) connected", ready,
                          c->config.api_port, c->config.agent_port, agents);
}

/* systemd's watchdog, pinged from the event loop: a loop that hangs (a handler stuck, a long wait
 * for a database lock) stops the pings, and systemd restarts the controller. */
typedef struct Watchdog {
        lws_sorted_usec_list_t sul;
        struct lws_context *lws;
        uint64_t interval_usec;
} Watchdog;

static void watchdog_ping(lws_sorted_usec_list_t *sul) {
        Watchdog *w = lws_container_of(sul, Watchdog, sul);

        (void) sd_notify(0, "WATCHDOG=1");
        lws_sul_schedule(w->lws, 0, &w->sul, watchdog_ping, (lws_usec_t) w->interval_usec);
}

/* Pings every half $WATCHDOG_USEC when systemd asks for pings ($WATCHDOG_PID, if set, must name
 * this process); else nothing. */
static void watchdog_start(Watchdog *w, struct lws_context *lws) {
        uint64_t usec = 0;

        if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
                return;
        w->lws = lws;
        w->interval_usec = MAX(usec / 2, (uint64_t) 1);
        log_debug("pinging the systemd watchdog every %" PRIu64 " ms", w->interval_usec / USEC_PER_MSEC);
        watchdog_ping(&w->sul);
}

/* Every heartbeat interval: agents silent for three intervals are disconnected (and marked lost). */
static void reap(lws_sorted_usec_list_t *sul) {
        Reaper *r = lws_container_of(sul, Reaper, sul);
        uint64_t interval = (uint64_t) r->ctl->config.heartbeat_interval_ms * USEC_PER_MSEC;
        size_t n = inventory_reap(r->ctl->inventory, time_mono_usec(), 3 * interval);

        if (n > 0)
                log_warning("disconnected %zu agent(s) that sent no heartbeat for %u ms", n,
                            3 * r->ctl->config.heartbeat_interval_ms);
        n = inventory_count(r->ctl->inventory);
        if (n != r->agents_reported) {
                r->agents_reported = n;
                notify_status(r->ctl, "", n);
        }
        lws_sul_schedule(r->ctl->lws, 0, &r->sul, reap, (lws_usec_t) interval);
}

static const char *iface_of(const char *host) {
        return streq(host, "0.0.0.0") || streq(host, "*") ? NULL : host;
}

static int make_vhosts(Controller *c, char *err, size_t errsz) {
        struct lws_context_creation_info v = {};

        v.vhost_name = "api";
        v.port = c->config.api_port;
        v.iface = iface_of(c->config.api_host);
        v.protocols = api_protocols;
        v.ssl_cert_filepath = c->server_cert_path;
        v.ssl_private_key_filepath = c->server_key_path;
        v.ssl_options_set = TLS13_ONLY;
        v.alpn = "http/1.1";
        /* lws enables TLS per vhost by DO_SSL_GLOBAL_INIT; the API asks for a client certificate but
         * does not require one, so that an agent's certificate is recognised and refused (403) */
        v.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT |
                    LWS_SERVER_OPTION_PEER_CERT_NOT_REQUIRED;
        v.ssl_ca_filepath = c->ca_path;
        v.timeout_secs = 30;
        v.keepalive_timeout = (int) c->config.header_timeout_s; /* also the deadline of a request's headers */
        /* a connection holding a header table without completing its head (a slow client): per vhost,
         * and 0 would mean libwebsockets' 10 s, not the context's value */
        v.timeout_secs_ah_idle = c->config.header_timeout_s;
        c->api_vhost = lws_create_vhost(c->lws, &v);
        if (!c->api_vhost) {
                snprintf(err, errsz, "cannot listen for the API on %s:%d (in use, or not an address of this machine?)",
                         c->config.api_host, c->config.api_port);
                return -EADDRINUSE;
        }
        v = (struct lws_context_creation_info){};
        v.vhost_name = "agents";
        v.port = c->config.agent_port;
        v.iface = iface_of(c->config.agent_host);
        v.protocols = agent_protocols;
        v.ssl_cert_filepath = c->server_cert_path;
        v.ssl_private_key_filepath = c->server_key_path;
        v.ssl_ca_filepath = c->ca_path;
        v.ssl_options_set = TLS13_ONLY;
        v.alpn = "http/1.1";
        v.options = LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT;
        v.timeout_secs = 30;
        c->agent_vhost = lws_create_vhost(c->lws, &v);
        if (!c->agent_vhost) {
                snprintf(err, errsz, "cannot listen for agents on %s:%d (in use, or not an address of this machine?)",
                         c->config.agent_host, c->config.agent_port);
                return -EADDRINUSE;
        }
        return 0;
}

int server_run(Controller *c, char *err, size_t errsz) {
        struct lws_context_creation_info info = {};
        Reaper reaper = { .ctl = c };
        Watchdog watchdog = {};
        int r = 0;

        lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
        info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
        info.user = c;
        /* twice the limit, so that requests over it are parsed and answered 431 (protocol_http.c);
         * what overflows this table libwebsockets closes without an answer */
        info.max_http_header_data = (unsigned short) MIN(2 * c->config.max_header_bytes, (size_t) 65535);
        /* a client that has not sent its whole request head by then is cut off (slow clients) */
        info.timeout_secs = c->config.header_timeout_s;
        info.timeout_secs_ah_idle = c->config.header_timeout_s;
        info.fd_limit_per_thread = c->config.max_connections;
        c->lws = lws_create_context(&info);
        if (!c->lws) {
                snprintf(err, errsz, "cannot create the libwebsockets context");
                return -ENOMEM;
        }
        protocol_agent_init(c);
        r = make_vhosts(c, err, errsz);
        if (r >= 0)
                r = jobs_start(c, err, errsz);
        if (r >= 0) {
                signal_ctl = c;
                signal(SIGINT, on_signal);
                signal(SIGTERM, on_signal);
                lws_sul_schedule(c->lws, 0, &reaper.sul, reap, (lws_usec_t) c->config.heartbeat_interval_ms * 1000);
                log_notice("serving the API on https://%s:%d and agents on wss://%s:%d", c->config.api_host,
                           c->config.api_port, c->config.agent_host, c->config.agent_port);
                notify_status(c, "READY=1\n", 0);
                watchdog_start(&watchdog, c->lws);
                while (!c->exiting && lws_service(c->lws, 0) >= 0)
                        ;
                (void) sd_notify(0, "STOPPING=1");
                lws_sul_cancel(&watchdog.sul);
                lws_sul_cancel(&reaper.sul);
        }
        jobs_stop(c);
        lws_context_destroy(c->lws);
        c->lws = NULL;
        signal_ctl = NULL;
        return r;
}
