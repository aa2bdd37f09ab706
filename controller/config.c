/* config.c: sluice-controller's config file, read through the common loader and its schema. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "controller.h"
#include "json.h"
#include "log.h"
#include "timeutil.h"

/* "host:port" -> host and port; the schema has already checked the shape. */
static int split_listen(const char *field, const char *s, char **ret_host, int *ret_port, char *err, size_t errsz) {
        const char *colon = strrchr(s, ':');
        long port = strtol(colon + 1, NULL, 10);

        if (port < 1 || port > 65535) {
                snprintf(err, errsz, "%s: port must be between 1 and 65535", field);
                return -EINVAL;
        }
        *ret_host = strndup(s, (size_t) (colon - s));
        if (!*ret_host)
                return -ENOMEM;
        *ret_port = (int) port;
        return 0;
}

static int read_names(const cJSON *doc, ControllerConfig *c) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, "server_names"), *it;
        size_t n = 0;

        c->server_names = calloc((size_t) cJSON_GetArraySize(arr) + 1, sizeof(char *));
        if (!c->server_names)
                return -ENOMEM;
        cJSON_ArrayForEach(it, arr) {
                c->server_names[n] = strdup(it->valuestring);
                if (!c->server_names[n++])
                        return -ENOMEM;
        }
        return 0;
}

/* The integer keys; the schema has checked their presence, types and ranges. */
static void read_integers(const cJSON *doc, ControllerConfig *c) {
        static const struct {
                const char *key;
                size_t offset;
                bool is_size;
        } keys[] = {
#define U32(k, field) { k, offsetof(ControllerConfig, field), false }
#define SIZE(k, field) { k, offsetof(ControllerConfig, field), true }
                U32("heartbeat_interval_ms", heartbeat_interval_ms),
                SIZE("max_body_bytes", max_body_bytes),
                SIZE("max_frame_bytes", max_frame_bytes),
                SIZE("max_header_bytes", max_header_bytes),
                U32("header_timeout_s", header_timeout_s),
                U32("body_timeout_s", body_timeout_s),
                U32("max_connections", max_connections),
                U32("default_max_tokens", default_max_tokens),
                U32("max_tokens_limit", max_tokens_limit),
                U32("max_streams_per_key", max_streams_per_key),
                U32("max_jobs_per_key", max_jobs_per_key),
                U32("max_jobs", max_jobs),
                U32("max_running_jobs", max_running_jobs),
                U32("job_max_attempts", job_max_attempts),
                U32("agent_max_frames_per_sec", agent_max_frames_per_sec),
                U32("max_agent_connections_per_node", max_agent_connections_per_node),
                SIZE("classify_max_bytes", classify_max_bytes),
                U32("classify_timeout_ms", classify_timeout_ms),
#undef U32
#undef SIZE
        };
        char why[256];
        int64_t v;

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                if (json_get_int(doc, keys[i].key, 0, UINT32_MAX, &v, why, sizeof why) < 0)
                        continue;
                if (keys[i].is_size)
                        *(size_t *) ((char *) c + keys[i].offset) = (size_t) v;
                else
                        *(uint32_t *) ((char *) c + keys[i].offset) = (uint32_t) v;
        }
}

/* A duration key ("24h"), at least one second. */
static int read_duration(const cJSON *doc, const char *key, uint64_t *ret, char *err, size_t errsz) {
        const char *s = NULL;
        char why[256];

        if (json_get_string(doc, key, &s, why, sizeof why) < 0 || time_parse_duration(s, ret) < 0 || *ret < USEC_PER_SEC) {
                snprintf(err, errsz, "config: %s: \"%s\" is not a duration of at least 1s (like 30m, 24h, 7d)", key,
                         s ? s : "");
                return -EINVAL;
        }
        return 0;
}

int controller_config_load(const char *path, ControllerConfig *ret, char *err, size_t errsz) {
        _cleanup_json_ cJSON *doc = NULL;
        ControllerConfig c = {};
        const char *s;
        char why[256];
        int r;

        if (path)
                r = config_load(path, "config/controller", &doc, err, errsz);
        else
                r = config_load_text("(defaults)", "{}", 2, "config/controller", &doc, err, errsz);
        if (r < 0)
                return r;
        /* the schema guarantees presence and types; these reads cannot fail but for memory */
        json_get_string(doc, "data_dir", &s, why, sizeof why);
        c.data_dir = strdup(s);
        json_get_string(doc, "listen_api", &s, why, sizeof why);
        r = split_listen("listen_api", s, &c.api_host, &c.api_port, err, errsz);
        if (r >= 0 && json_get_string(doc, "listen_agents", &s, why, sizeof why) >= 0)
                r = split_listen("listen_agents", s, &c.agent_host, &c.agent_port, err, errsz);
        read_integers(doc, &c);
        if (r >= 0 && json_get_string(doc, "agent_cert_lifetime", &s, why, sizeof why) >= 0 &&
            (time_parse_duration(s, &c.agent_cert_lifetime_usec) < 0 || c.agent_cert_lifetime_usec > USEC_PER_DAY ||
             c.agent_cert_lifetime_usec < 60 * USEC_PER_SEC)) {
                snprintf(err, errsz, "config %s: agent_cert_lifetime: must be between 60s and 24h", path ? path : "");
                r = -EINVAL;
        }
        if (r >= 0)
                r = read_duration(doc, "job_retention", &c.job_retention_usec, err, errsz);
        if (r >= 0)
                r = read_duration(doc, "job_queue_timeout", &c.job_queue_timeout_usec, err, errsz);
        if (r >= 0 && c.max_tokens_limit < c.default_max_tokens) {
                snprintf(err, errsz, "config: default_max_tokens (%u) is over max_tokens_limit (%u)", c.default_max_tokens,
                         c.max_tokens_limit);
                r = -EINVAL;
        }
        if (r >= 0) {
                json_get_string(doc, "log_level", &s, why, sizeof why);
                log_level_from_string(s, &c.log_level);
                r = read_names(doc, &c);
        }
        if (r >= 0 && !c.data_dir)
                r = -ENOMEM;
        if (r < 0) {
                if (r == -ENOMEM)
                        snprintf(err, errsz, "config: out of memory");
                controller_config_done(&c);
                return r;
        }
        *ret = c;
        return 0;
}

void controller_config_done(ControllerConfig *c) {
        free(c->data_dir);
        free(c->api_host);
        free(c->agent_host);
        for (size_t i = 0; c->server_names && c->server_names[i]; i++)
                free(c->server_names[i]);
        free(c->server_names);
        *c = (ControllerConfig){};
}
