/* agent-config.h: sluice-agent's configuration (schemas/config/agent.schema.json) as a struct. */
#pragma once

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

typedef struct AgentConfig {
        cJSON *doc;                 /* owns every string below */
        const char *controller_url; /* https://host[:port], enrollment */
        const char *agent_url;      /* wss://host[:port]/ */
        const char *ca_file;
        const char *node_name;
        const char *join_token_file; /* NULL: none */
        const char *data_dir;
        const char *device; /* "auto", "cpu", "cuda" */
        unsigned threads;
        unsigned max_sequences;
        size_t max_frame_bytes;
        unsigned classify_timeout_ms; /* the public zone's own check: time for one request */
        int log_level; /* LOG_DEBUG..LOG_CRIT */
} AgentConfig;

/* Loads path against "config/agent": on failure returns a negative errno and one line in err that
 * names the file and the field. The caller frees *ret's contents with agent_config_done(). */
int agent_config_load(const char *path, AgentConfig *ret, char *err, size_t errsz);
void agent_config_done(AgentConfig *c);
