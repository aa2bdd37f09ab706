/* message.h: the frames the agent sends (hello, heartbeat, rules.ack), built as cJSON trees. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "runner.h"
#include "telemetry.h"

/* JSON Schema integers stop at 2^53 - 1 (the largest exactly representable double). */
#define MESSAGE_INT_MAX ((uint64_t) 9007199254740991)

typedef struct MessageHello {
        const char *agent_version;
        const char *backend;    /* "cpu" or "cuda" */
        unsigned max_sequences; /* capacity.max_sequences; 0: left out */
        bool have_rules_version;
        uint64_t rules_version; /* the last rule set this agent acked */
        const RunnerStats *stats; /* may be NULL: no models */
} MessageHello;

typedef struct MessageHeartbeat {
        uint64_t seq;
        const Telemetry *telemetry; /* may be NULL: no cpu/memory objects */
        const char *backend;
        const RunnerStats *stats;   /* may be NULL: no models, idle */
} MessageHeartbeat;

/* Each builder returns 0 and a new frame in *ret (caller owns it; cJSON_Delete), or -ENOMEM. The
 * frames are not checked here: the sender checks every frame with frame_check() (common/frame.h).
 * Numbers above MESSAGE_INT_MAX are clamped to it. */
int message_hello_new(const MessageHello *h, cJSON **ret);
int message_heartbeat_new(const MessageHeartbeat *h, cJSON **ret);
int message_rules_ack_new(uint64_t version, cJSON **ret);

/* The request id of a received frame when it carries a well-formed one ([A-Za-z0-9._:-]{1,128}),
 * else NULL; for answering a refused frame with an error that names the request. Points into frame. */
const char *message_frame_id(const cJSON *frame);
