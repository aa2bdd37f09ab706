/* openai.c: OpenAI request validation and response/chunk building. */
#include "openai.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "errorf.h"
#include "macro.h"

/* A message's content: a string, or an array of {"type":"text","text":...} parts joined. */
static int message_text(const cJSON *content, size_t i, cJSON **ret, char *err, size_t errsz) {
        const cJSON *part;
        size_t len = 0, k = 0;

        if (cJSON_IsString(content)) {
                *ret = cJSON_CreateString(content->valuestring);
                return *ret ? 0 : -ENOMEM;
        }
        if (!cJSON_IsArray(content))
                return errorf(err, errsz, -EINVAL,
                              "messages[%zu].content: expected a string or an array of text parts", i);
        cJSON_ArrayForEach(part, content) {
                const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
                const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
                if (!cJSON_IsString(type) || !streq(type->valuestring, "text") || !cJSON_IsString(text))
                        return errorf(err, errsz, -EINVAL,
                                      "messages[%zu].content[%zu]: only {\"type\":\"text\",\"text\":...} parts are supported",
                                      i, k);
                len += strlen(text->valuestring);
                k++;
        }
        _cleanup_free_ char *joined = malloc(len + 1);
        if (!joined)
                return -ENOMEM;
        joined[0] = '\0';
        cJSON_ArrayForEach(part, content)
                strcat(joined, cJSON_GetObjectItemCaseSensitive(part, "text")->valuestring);
        *ret = cJSON_CreateString(joined);
        return *ret ? 0 : -ENOMEM;
}

static int parse_messages(const cJSON *body, cJSON *infer, char *err, size_t errsz) {
        const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(body, "messages"), *m;
        cJSON *out;
        size_t i = 0;

        if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0)
                return errorf(err, errsz, -EINVAL, "messages: expected a non-empty array");
        if (cJSON_GetArraySize(msgs) > OPENAI_MESSAGES_MAX)
                return errorf(err, errsz, -EINVAL, "messages: more than %d messages", OPENAI_MESSAGES_MAX);
        out = cJSON_AddArrayToObject(infer, "messages");
        cJSON_ArrayForEach(m, msgs) {
                const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
                cJSON *o, *text = NULL;
                const char *r;
                int k;

                if (!cJSON_IsObject(m) || !cJSON_IsString(role))
                        return errorf(err, errsz, -EINVAL, "messages[%zu]: expected an object with a string \"role\"",
                                      i);
                r = role->valuestring;
                if (streq(r, "developer"))
                        r = "system"; /* OpenAI's newer name for the system role */
                if (!streq(r, "system") && !streq(r, "user") && !streq(r, "assistant"))
                        return errorf(err, errsz, -EINVAL,
                                      "messages[%zu].role: \"%.32s\" is not supported (system, developer, user, assistant)",
                                      i, r);
                k = message_text(cJSON_GetObjectItemCaseSensitive(m, "content"), i, &text, err, errsz);
                if (k < 0)
                        return k;
                o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "role", r);
                cJSON_AddItemToObject(o, "content", text);
                cJSON_AddItemToArray(out, o);
                i++;
        }
        return 0;
}

static int parse_number(const cJSON *body, const char *name, double lo, double hi, bool lo_open, cJSON *params,
                        const char *param, char *err, size_t errsz) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);

        if (!v || cJSON_IsNull(v))
                return 0;
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble > hi ||
            (lo_open ? v->valuedouble <= lo : v->valuedouble < lo))
                return errorf(err, errsz, -EINVAL, "%s: expected a number %s %g and <= %g", name,
                              lo_open ? ">" : ">=", lo, hi);
        cJSON_AddNumberToObject(params, param, v->valuedouble);
        return 0;
}

static int parse_max_tokens(const cJSON *body, uint32_t def, uint32_t limit, cJSON *params, char *err, size_t errsz) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "max_completion_tokens");
        const char *name = "max_completion_tokens";

        if (!v || cJSON_IsNull(v))
                v = cJSON_GetObjectItemCaseSensitive(body, name = "max_tokens");
        if (!v || cJSON_IsNull(v)) {
                cJSON_AddNumberToObject(params, "max_tokens", def);
                return 0;
        }
        if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < 1)
                return errorf(err, errsz, -EINVAL, "%s: expected a whole number >= 1", name);
        if (v->valuedouble > limit)
                return errorf(err, errsz, -EINVAL, "%s: %.0f is over this server's limit of %u tokens", name,
                              v->valuedouble, limit);
        cJSON_AddNumberToObject(params, "max_tokens", v->valuedouble);
        return 0;
}

static int parse_stop(const cJSON *body, cJSON *params, char *err, size_t errsz) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "stop"), *s;
        cJSON *arr;

        if (!v || cJSON_IsNull(v))
                return 0;
        arr = cJSON_AddArrayToObject(params, "stop");
        if (cJSON_IsString(v)) {
                if (!*v->valuestring || strlen(v->valuestring) > 256)
                        return errorf(err, errsz, -EINVAL, "stop: expected 1 to 256 bytes");
                cJSON_AddItemToArray(arr, cJSON_CreateString(v->valuestring));
                return 0;
        }
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > 4)
                return errorf(err, errsz, -EINVAL, "stop: expected a string or an array of up to 4 strings");
        cJSON_ArrayForEach(s, v) {
                if (!cJSON_IsString(s) || !*s->valuestring || strlen(s->valuestring) > 256)
                        return errorf(err, errsz, -EINVAL, "stop: each entry must be a string of 1 to 256 bytes");
                cJSON_AddItemToArray(arr, cJSON_CreateString(s->valuestring));
        }
        return 0;
}

static int parse_params(const cJSON *body, uint32_t def, uint32_t limit, cJSON *infer, char *err, size_t errsz) {
        cJSON *params = cJSON_AddObjectToObject(infer, "params");
        const cJSON *seed = cJSON_GetObjectItemCaseSensitive(body, "seed");
        int k;

        if ((k = parse_max_tokens(body, def, limit, params, err, errsz)) < 0 ||
            (k = parse_number(body, "temperature", 0, 2, false, params, "temperature", err, errsz)) < 0 ||
            (k = parse_number(body, "top_p", 0, 1, true, params, "top_p", err, errsz)) < 0 ||
            (k = parse_stop(body, params, err, errsz)) < 0)
                return k;
        if (seed && !cJSON_IsNull(seed)) {
                if (!cJSON_IsNumber(seed) || seed->valuedouble != floor(seed->valuedouble) || seed->valuedouble < 0 ||
                    seed->valuedouble > 9007199254740991.0)
                        return errorf(err, errsz, -EINVAL, "seed: expected a whole number >= 0");
                cJSON_AddNumberToObject(params, "seed", seed->valuedouble);
        }
        return 0;
}

int openai_parse(OpenAIKind kind, const cJSON *body, uint32_t default_max_tokens, uint32_t max_tokens_limit,
                 OpenAIRequest *ret, char *err, size_t errsz) {
        const cJSON *model = cJSON_GetObjectItemCaseSensitive(body, "model");
        const cJSON *stream = cJSON_GetObjectItemCaseSensitive(body, "stream");
        const cJSON *opts = cJSON_GetObjectItemCaseSensitive(body, "stream_options");
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(body, "n");
        cJSON *infer;
        int k;

        if (kind == OPENAI_GENERATE && (!model || cJSON_IsNull(model)))
                model = NULL; /* the controller picks the only model there is */
        else if (!cJSON_IsString(model) || !*model->valuestring)
                return errorf(err, errsz, -EINVAL, "model: expected a model name (GET /v1/models lists them)");
        if (stream && !cJSON_IsNull(stream) && !cJSON_IsBool(stream))
                return errorf(err, errsz, -EINVAL, "stream: expected true or false");
        if (n && !cJSON_IsNull(n) && !(cJSON_IsNumber(n) && n->valuedouble == 1))
                return errorf(err, errsz, -EINVAL, "n: only 1 choice per request is supported");
        infer = cJSON_CreateObject();
        if (!infer)
                return -ENOMEM;
        cJSON_AddStringToObject(infer, "type", "infer");
        if (model)
                cJSON_AddStringToObject(infer, "model", model->valuestring);
        if (kind == OPENAI_CHAT)
                k = parse_messages(body, infer, err, errsz);
        else {
                const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(body, "prompt");
                k = cJSON_IsString(prompt) ? 0 : errorf(err, errsz, -EINVAL, "prompt: expected a string");
                if (k >= 0)
                        cJSON_AddStringToObject(infer, "prompt", prompt->valuestring);
        }
        if (k >= 0)
                k = parse_params(body, default_max_tokens, max_tokens_limit, infer, err, errsz);
        if (k < 0) {
                cJSON_Delete(infer);
                return k;
        }
        *ret = (OpenAIRequest){
                .kind = kind, .model = model ? model->valuestring : NULL, .stream = cJSON_IsTrue(stream), .infer = infer,
                .include_usage = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(opts, "include_usage")),
        };
        return 0;
}

static cJSON *envelope(OpenAIKind kind, bool chunk, const char *id, const char *model, uint64_t created) {
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "id", id);
        cJSON_AddStringToObject(o, "object", kind == OPENAI_CHAT       ? (chunk ? "chat.completion.chunk" : "chat.completion")
                                             : kind == OPENAI_GENERATE ? (chunk ? "generation.chunk" : "generation")
                                                                       : "text_completion");
        cJSON_AddNumberToObject(o, "created", (double) created);
        cJSON_AddStringToObject(o, "model", model);
        return o;
}

static cJSON *usage(uint32_t prompt, uint32_t completion) {
        cJSON *u = cJSON_CreateObject();
        cJSON_AddNumberToObject(u, "prompt_tokens", prompt);
        cJSON_AddNumberToObject(u, "completion_tokens", completion);
        cJSON_AddNumberToObject(u, "total_tokens", (double) prompt + completion);
        return u;
}

cJSON *openai_response(OpenAIKind kind, const char *id, const char *model, uint64_t created, const char *text,
                       const char *finish_reason, uint32_t prompt_tokens, uint32_t completion_tokens) {
        cJSON *o = envelope(kind, false, id, model, created), *choices, *c;

        if (kind == OPENAI_GENERATE) {
                cJSON_AddStringToObject(o, "text", text);
                cJSON_AddStringToObject(o, "finish_reason", finish_reason);
                cJSON_AddItemToObject(o, "usage", usage(prompt_tokens, completion_tokens));
                return o;
        }
        choices = cJSON_AddArrayToObject(o, "choices");
        c = cJSON_CreateObject();
        cJSON_AddNumberToObject(c, "index", 0);
        if (kind == OPENAI_CHAT) {
                cJSON *m = cJSON_AddObjectToObject(c, "message");
                cJSON_AddStringToObject(m, "role", "assistant");
                cJSON_AddStringToObject(m, "content", text);
        } else {
                cJSON_AddStringToObject(c, "text", text);
                cJSON_AddNullToObject(c, "logprobs");
        }
        cJSON_AddStringToObject(c, "finish_reason", finish_reason);
        cJSON_AddItemToArray(choices, c);
        cJSON_AddItemToObject(o, "usage", usage(prompt_tokens, completion_tokens));
        return o;
}

static int sse(cJSON *o, char **ret) {
        char *json = cJSON_PrintUnformatted(o);
        int r;

        cJSON_Delete(o);
        if (!json)
                return -ENOMEM;
        r = asprintf(ret, "data: %s\n\n", json);
        free(json);
        return r < 0 ? -ENOMEM : 0;
}

int openai_stream_chunk(OpenAIKind kind, const char *id, const char *model, uint64_t created, const char *text,
                        const char *finish_reason, char **ret) {
        cJSON *o = envelope(kind, true, id, model, created), *choices, *c;

        if (kind == OPENAI_GENERATE) {
                cJSON_AddStringToObject(o, "text", text ? text : "");
                return sse(o, ret);
        }
        choices = cJSON_AddArrayToObject(o, "choices");
        c = cJSON_CreateObject();
        cJSON_AddNumberToObject(c, "index", 0);
        if (kind == OPENAI_CHAT) {
                cJSON *d = cJSON_AddObjectToObject(c, "delta");
                if (!text && !finish_reason)
                        cJSON_AddStringToObject(d, "role", "assistant");
                if (text)
                        cJSON_AddStringToObject(d, "content", text);
        } else {
                cJSON_AddStringToObject(c, "text", text ? text : "");
                cJSON_AddNullToObject(c, "logprobs");
        }
        if (finish_reason)
                cJSON_AddStringToObject(c, "finish_reason", finish_reason);
        else
                cJSON_AddNullToObject(c, "finish_reason");
        cJSON_AddItemToArray(choices, c);
        return sse(o, ret);
}

int openai_stream_usage(OpenAIKind kind, const char *id, const char *model, uint64_t created, const char *finish_reason,
                        uint32_t prompt_tokens, uint32_t completion_tokens, char **ret) {
        cJSON *o = envelope(kind, true, id, model, created);

        if (kind == OPENAI_GENERATE) {
                cJSON_AddStringToObject(o, "text", "");
                cJSON_AddStringToObject(o, "finish_reason", finish_reason);
        } else
                cJSON_AddArrayToObject(o, "choices");
        cJSON_AddItemToObject(o, "usage", usage(prompt_tokens, completion_tokens));
        return sse(o, ret);
}
