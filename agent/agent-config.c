/* agent-config.c: sluice-agent's configuration (schemas/config/agent.schema.json) as a struct. */
#include "agent-config.h"

#include <errno.h>
#include <stdio.h>

#include "config.h"
#include "json.h"
#include "log.h"

int agent_config_load(const char *path, AgentConfig *ret, char *err, size_t errsz) {
        _cleanup_json_ cJSON *doc = NULL;
        AgentConfig c = {};
        const char *level;
        int64_t v;
        char why[256];
        int r;

        r = config_load(path, "config/agent", &doc, err, errsz);
        if (r < 0)
                return r;
        /* the schema checked types, ranges and required fields, and filled the defaults in */
        if ((r = json_get_string(doc, "controller_url", &c.controller_url, why, sizeof why)) < 0 ||
            (r = json_get_string(doc, "agent_url", &c.agent_url, why, sizeof why)) < 0 ||
            (r = json_get_string(doc, "ca_file", &c.ca_file, why, sizeof why)) < 0 ||
            (r = json_get_string(doc, "node_name", &c.node_name, why, sizeof why)) < 0 ||
            (r = json_get_string(doc, "data_dir", &c.data_dir, why, sizeof why)) < 0 ||
            (r = json_get_string(doc, "device", &c.device, why, sizeof why)) < 0 ||
            (r = json_get_string(doc, "log_level", &level, why, sizeof why)) < 0)
                goto fail;
        r = json_get_string(doc, "join_token_file", &c.join_token_file, why, sizeof why);
        if (r == -ENOENT)
                c.join_token_file = NULL;
        else if (r < 0)
                goto fail;
        if ((r = json_get_int(doc, "threads", 0, 1024, &v, why, sizeof why)) < 0)
                goto fail;
        c.threads = (unsigned) v;
        if ((r = json_get_int(doc, "max_sequences", 1, 4096, &v, why, sizeof why)) < 0)
                goto fail;
        c.max_sequences = (unsigned) v;
        if ((r = json_get_int(doc, "max_frame_bytes", 1024, 67108864, &v, why, sizeof why)) < 0)
                goto fail;
        c.max_frame_bytes = (size_t) v;
        if ((r = json_get_int(doc, "classify_timeout_ms", 1, 10000, &v, why, sizeof why)) < 0)
                goto fail;
        c.classify_timeout_ms = (unsigned) v;
        if ((r = log_level_from_string(level, &c.log_level)) < 0) {
                snprintf(why, sizeof why, "log_level: unknown level \"%s\"", level);
                goto fail;
        }
        c.doc = TAKE_PTR(doc);
        *ret = c;
        return 0;
fail:
        snprintf(err, errsz, "config %s: %s", path, why);
        return r;
}

void agent_config_done(AgentConfig *c) {
        cJSON_Delete(c->doc);
        *c = (AgentConfig){};
}
