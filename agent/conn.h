/* conn.h: the agent's connection to the controller: a libwebsockets client on one service thread
 * that connects, says hello, waits for welcome, sends heartbeats, and reconnects with backoff. The
 * frames themselves are handled in protocol_agent.c. Everything here runs on the service thread,
 * except conn_request_stop(). */
#pragma once

#include <libwebsockets.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "frame.h"
#include "guard.h"
#include "outq.h"
#include "runner.h"
#include "strbuf.h"
#include "timeutil.h"

#define CONN_PROTOCOL_NAME "sluice-agent.v1"
#define CONN_HOST_MAX 256
#define CONN_WELCOME_TIMEOUT_USEC (10 * USEC_PER_SEC) /* from hello to welcome */
#define CONN_STOP_TIMEOUT_USEC (2 * USEC_PER_SEC)     /* to close cleanly on shutdown */
#define CONN_STABLE_USEC (10 * USEC_PER_SEC)          /* a welcomed connection this old resets the backoff */
#define CONN_QUEUE_FRAMES_MAX 256                     /* frames waiting for the socket */
#define CONN_QUEUE_FRAMES_FACTOR 4                    /* ... and at most this many max_frame_bytes */
#define CONN_PING_IDLE_SEC 15                         /* websocket ping after this much silence */
#define CONN_HANGUP_IDLE_SEC 45                       /* give the connection up after this much */

typedef struct ConnOptions {
        const char *agent_url; /* wss://host[:port][/] */
        const char *ca_file;   /* the controller's CA: the only trust anchor */
        const char *cert_file; /* the node's certificate and key (data_dir/node.crt, node.key) */
        const char *key_file;
        const char *node_name; /* for messages: the certificate says who we are */
        const char *backend;   /* "cpu" or "cuda" */
        size_t max_frame_bytes;
        unsigned max_sequences;
        uint64_t classify_timeout_ms; /* the guard's time budget; 0: GUARD_CLASSIFY_TIMEOUT_MS_DEFAULT */
        const char *cert_zone; /* the zone this node's own certificate names (NULL: unknown) */
} ConnOptions;

typedef enum ConnState {
        CONN_IDLE,       /* no connection; a reconnect may be scheduled */
        CONN_CONNECTING, /* TCP, TLS and the websocket handshake */
        CONN_HELLO,      /* connected; hello queued or sent, waiting for welcome */
        CONN_READY,      /* welcomed: heartbeats flowing */
} ConnState;

typedef struct Conn {
        ConnOptions options;
        char host[CONN_HOST_MAX];
        int port;
        struct lws_context *context;
        struct ssl_ctx_st *ssl_ctx; /* TLS 1.3 only, our certificate, the CA; owned here */
        FrameValidator *validator;
        struct lws *wsi; /* the connection, or NULL */
        ConnState state;
        OutQueue out;
        /* a frame being received, possibly in fragments */
        StrBuf rx;
        bool rx_too_large;
        bool rx_binary;
        /* why the current connection ended (first cause wins), for the one log line per attempt */
        char cause[512];
        bool close_requested;                    /* close at the next writeable callback, with cause */
        bool tls_handshake_done, ws_established; /* how far the current attempt got */
        /* timers, all on the service thread */
        lws_sorted_usec_list_t sul_reconnect, sul_welcome, sul_heartbeat, sul_watchdog, sul_stop, sul_renew;
        int64_t cert_not_before, cert_not_after; /* the current certificate's validity */
        bool renew_pending;
        unsigned attempt;       /* connections lost or failed since the last stable one */
        uint64_t welcomed_usec; /* when the current connection was welcomed */
        uint64_t heartbeat_interval_usec;
        uint64_t heartbeat_seq;
        uint64_t watchdog_usec; /* 0: no systemd watchdog */
        bool ready_notified;
        bool hello_answered; /* this connection got the rules frame that ends the answer to hello */
        /* what the controller told us */
        char node_id[64], node[64], zone[16];
        Guard guard; /* the rule set acknowledged (its version goes into hello) and the public zone's check */
        /* the engine host (NULL: this agent serves no models) */
        Runner *runner;
        /* counters */
        uint64_t frames_refused, frames_dropped, connects;
        /* shutdown */
        volatile sig_atomic_t stop_requested;
        bool stopping, done;
} Conn;

/* Parses agent_url: "wss://" host (a name, IPv4, or [IPv6]) ":" port (default 443), then an optional
 * "/". Writes the host without brackets. -EINVAL for anything else. */
int conn_url_parse(const char *url, char *ret_host, size_t hostsz, int *ret_port);

/* Whether the cause of a failed connection says the controller refused our certificate (a TLS
 * alert such as "certificate revoked", or an HTTP 401 at the upgrade). */
bool conn_cause_is_cert_refused(const char *cause);

/* Sets up the TLS context (TLS 1.3 only; cert_file/key_file as the client certificate; ca_file as
 * the only CA), the frame validator and the libwebsockets context. Nothing connects yet. err gets
 * one line. The caller owns *ret (conn_free()). */
int conn_new(const ConnOptions *o, Conn **ret, char *err, size_t errsz);
Conn *conn_free(Conn *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Conn *, conn_free);

/* Connects and keeps connecting until conn_request_stop(); then closes the connection cleanly (at
 * most CONN_STOP_TIMEOUT_USEC) and returns 0. A negative errno when the event loop fails. */
int conn_run(Conn *c);
/* Hands the runner's frames to the connection: call from any thread (the runner's wake callback,
 * with c as userdata); the service thread then drains runner_pop() into the send queue. */
void conn_wake(void *userdata);
/* On the service thread: queue every frame the runner has produced. Accepts NULL. */
void conn_drain_runner(Conn *c);
/* cert.issued arrived: install the certificate and schedule the next renewal. */
void conn_on_cert_issued(Conn *c, const char *pem);

/* The process's one connection (for callbacks that come without a wsi), or NULL. */
Conn *conn_current(void);

/* Asks conn_run() to return. Async-signal-safe: for SIGTERM/SIGINT handlers. */
void conn_request_stop(Conn *c);

/* ---- for protocol_agent.c ---- */

/* The libwebsockets callback of protocol "sluice-agent.v1" (protocol_agent.c). */
int protocol_agent_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

/* Checks frame against its schema, serialises it and queues it for the socket, asking for a
 * writeable callback. Takes ownership of frame. A frame that fails its schema (a bug here), is
 * larger than max_frame_bytes or does not fit the queue is logged and dropped: -EINVAL, -EMSGSIZE,
 * -ENOBUFS; -ENOTCONN without a connection. */
int conn_send(Conn *c, cJSON *frame);
/* Records why the connection ends, unless a cause is already recorded. */
void conn_set_cause(Conn *c, const char *fmt, ...) _printf_(2, 3);
/* Asks the service thread to close the connection (at its next writeable callback), with cause. */
void conn_close(Conn *c, const char *fmt, ...) _printf_(2, 3);
/* The websocket is up: send hello and wait for welcome. */
void conn_on_established(Conn *c);
/* welcome arrived: heartbeats every heartbeat_interval_ms. */
void conn_on_welcome(Conn *c, const char *node_id, const char *node, const char *zone, uint64_t heartbeat_interval_ms);
/* rules arrived: the controller's answer to hello is complete (docs/PROTOCOL.md: welcome, a
 * model.load for each deployment placed here, then rules), so every load it asked for is queued. */
void conn_on_rules(Conn *c);
/* READY=1, once per process, when the agent is welcomed, the answer to hello is complete and the
 * runner has no model.load queued or running ("connected and its models loaded"; a failed load
 * counts as ended). Called when rules arrive and whenever the runner has produced frames. */
void conn_ready_check(Conn *c);
/* The connection failed or ended (wsi is gone): log once, schedule the next attempt. */
void conn_on_closed(Conn *c);
