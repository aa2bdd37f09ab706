/* openai.h: the request and response shapes of the generation endpoints: OpenAI's chat and
 * completions, and sluice's native /v1/generate (also the body of /v1/jobs). Parsing a body into an
 * infer frame, and building responses and stream chunks. Pure functions, no I/O. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OPENAI_MAX_TOKENS_LIMIT 1048576
#define OPENAI_MESSAGES_MAX 1024

typedef enum OpenAIKind {
        OPENAI_CHAT,       /* /v1/chat/completions */
        OPENAI_COMPLETION, /* /v1/completions */
        OPENAI_GENERATE,   /* /v1/generate and /v1/jobs: prompt, model optional */
} OpenAIKind;

typedef struct OpenAIRequest {
        OpenAIKind kind;
        const char *model;  /* NULL: not given (OPENAI_GENERATE only) */
        bool stream;
        bool include_usage; /* stream_options.include_usage */
        cJSON *infer;       /* the infer frame for the agent (owned), "id" and routing fields not yet set */
} OpenAIRequest;

/* Validates an OpenAI request body and builds the agent's infer frame from it: messages (roles
 * system/user/assistant/developer, string content or text parts) or prompt (a string), max_tokens
 * (or max_completion_tokens; 1..max_tokens_limit, default default_max_tokens), temperature (0..2),
 * top_p (0 < p <= 1), seed, stop (string or up to 4 strings). Unknown fields are ignored, as
 * OpenAI's clients send many. -EINVAL with a message naming the field ("messages[1].role: ...")
 * for anything malformed. The caller owns ret->infer. */
int openai_parse(OpenAIKind kind, const cJSON *body, uint32_t default_max_tokens, uint32_t max_tokens_limit,
                 OpenAIRequest *ret, char *err, size_t errsz);

/* The final (non-streamed) response object. */
cJSON *openai_response(OpenAIKind kind, const char *id, const char *model, uint64_t created, const char *text,
                       const char *finish_reason, uint32_t prompt_tokens, uint32_t completion_tokens);
/* One SSE event "data: {...}\n\n" for a chunk of text (text may be NULL for the first, role-only
 * chunk of a chat stream, and finish_reason NULL until the last). Appends to out; 0 or -ENOMEM. */
int openai_stream_chunk(OpenAIKind kind, const char *id, const char *model, uint64_t created, const char *text,
                        const char *finish_reason, char **ret);
/* The usage-only chunk sent when stream_options.include_usage is set; for OPENAI_GENERATE, the last
 * chunk, with the finish reason and the usage together. */
int openai_stream_usage(OpenAIKind kind, const char *id, const char *model, uint64_t created, const char *finish_reason,
                        uint32_t prompt_tokens, uint32_t completion_tokens, char **ret);
