/* frame.h: agent-protocol frames (sluice-agent.v1): parse, check against schemas/agent-protocol/,
 * and build. Shared by the controller and the agent, so both sides enforce the same contract. */
#pragma once

#include <cjson/cJSON.h>
#include <stddef.h>

#include "macro.h"

typedef struct FrameValidator FrameValidator;

/* Compiles every built-in agent-protocol schema once. -ENOMEM, or -EINVAL when a built-in schema
 * is broken (a build bug; err says which). */
int frame_validator_new(FrameValidator **ret, char *err, size_t errsz);
FrameValidator *frame_validator_free(FrameValidator *v);
DEFINE_TRIVIAL_CLEANUP_FUNC(FrameValidator *, frame_validator_free);

/* Parses len bytes of text as one frame and checks it against the schema of its "type". On success
 * *ret is the frame (caller owns it) and *ret_type points into it. Fails with -EINVAL and a message
 * naming the problem: not JSON, no string "type", an unknown type, or the schema's complaint
 * ("heartbeat: seq: expected integer"). */
int frame_parse(const FrameValidator *v, const char *text, size_t len, cJSON **ret, const char **ret_type, char *err,
                size_t errsz);
/* Checks a frame about to be sent (a bug in the sender when it fails). */
int frame_check(const FrameValidator *v, const cJSON *frame, char *err, size_t errsz);

/* An error frame {"type":"error","code","message"[,"id"]}; id may be NULL. Caller owns the result
 * (NULL on -ENOMEM). The message is cut at the schema's 1024 bytes. */
cJSON *frame_error(const char *id, const char *code, const char *message);
