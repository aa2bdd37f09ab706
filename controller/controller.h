/* controller.h: the state of one sluice-controller process, shared by its protocols and handlers.
 * Everything here is touched from the single libwebsockets service thread only. */
#pragma once

#include <openssl/x509.h>
#include <stdint.h>

#include "store.h"

struct lws_context;
struct lws_vhost;

typedef struct ControllerConfig {
        char *data_dir;
        char *api_host, *agent_host;
        int api_port, agent_port;
        char **server_names; /* NULL-terminated */
        uint64_t agent_cert_lifetime_usec;
        uint32_t heartbeat_interval_ms;
        size_t max_body_bytes, max_frame_bytes, max_header_bytes;
        uint32_t header_timeout_s, body_timeout_s, max_connections;
        uint32_t default_max_tokens, max_tokens_limit;
        uint32_t max_streams_per_key;
        uint32_t max_jobs_per_key, max_jobs, max_running_jobs, job_max_attempts;
        uint64_t job_retention_usec, job_queue_timeout_usec;
        uint32_t agent_max_frames_per_sec, max_agent_connections_per_node;
        size_t classify_max_bytes;    /* fail closed above it */
        uint32_t classify_timeout_ms; /* fail closed after it */
        int log_level;
} ControllerConfig;

typedef struct Inventory Inventory;
typedef struct FrameValidator FrameValidator;

typedef struct Controller {
        ControllerConfig config;
        Store *store;
        X509 *ca;               /* the agents' trust anchor */
        EVP_PKEY *ca_key;
        char *ca_pem;           /* handed to agents at enrollment */
        char *ca_path, *server_cert_path, *server_key_path;
        Inventory *inventory;   /* connected agents */
        FrameValidator *frames; /* the agent protocol's schemas, compiled */
        uint64_t rules_version;       /* of the current rule set (ruleset.h) */
        struct RuleSet *rules;        /* compiled, read-only; replaced whole */
        char *rules_json;             /* the same rule set as sent to agents */
        struct lws_context *lws;
        struct lws_vhost *api_vhost, *agent_vhost;
        volatile int exiting;
} Controller;

/* Loads and checks the config file (config/controller schema); err names the field. */
int controller_config_load(const char *path, ControllerConfig *ret, char *err, size_t errsz);
void controller_config_done(ControllerConfig *c);

/* First start: creates the data directory's CA, server key and certificate, and the database with
 * its bootstrap admin key (written once to admin.key, mode 0600); later starts load them. */
int controller_datadir_init(Controller *c, char *err, size_t errsz);
void controller_datadir_done(Controller *c);
