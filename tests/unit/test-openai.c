/* test-openai.c: OpenAI request validation (errors name the field) and response shapes. */
#include "json.h"
#include "openai.h"
#include "test.h"

static int parse(OpenAIKind kind, const char *text, OpenAIRequest *ret, char *err, size_t errsz) {
        _cleanup_json_ cJSON *j = cJSON_Parse(text);
        return j ? openai_parse(kind, j, 64, 1000, ret, err, errsz) : -EBADMSG;
}

TEST(chat_request_becomes_an_infer_frame) {
        OpenAIRequest oa;
        char err[256], *s;

        ASSERT_OK(parse(OPENAI_CHAT,
                        "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":["
                        "{\"role\":\"developer\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\","
                        "\"text\":\"Hi \"},{\"type\":\"text\",\"text\":\"there\"}]}],\"temperature\":0.5,\"stop\":\"END\","
                        "\"seed\":7,\"user\":\"ignored\",\"max_completion_tokens\":10}",
                        &oa, err, sizeof err));
        ASSERT_TRUE(oa.stream);
        ASSERT_TRUE(oa.include_usage);
        s = cJSON_PrintUnformatted(oa.infer);
        ASSERT_STREQ(s, "{\"type\":\"infer\",\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                        "{\"role\":\"user\",\"content\":\"Hi there\"}],\"params\":{\"max_tokens\":10,\"temperature\":0.5,"
                        "\"stop\":[\"END\"],\"seed\":7}}");
        free(s);
        cJSON_Delete(oa.infer);
}

TEST(completion_defaults) {
        OpenAIRequest oa;
        char err[256], *s;

        ASSERT_OK(parse(OPENAI_COMPLETION, "{\"model\":\"m\",\"prompt\":\"Once\"}", &oa, err, sizeof err));
        ASSERT_FALSE(oa.stream);
        s = cJSON_PrintUnformatted(oa.infer);
        ASSERT_STREQ(s, "{\"type\":\"infer\",\"model\":\"m\",\"prompt\":\"Once\",\"params\":{\"max_tokens\":64}}");
        free(s);
        cJSON_Delete(oa.infer);
}

TEST(errors_name_the_field) {
        static const struct {
                OpenAIKind kind;
                const char *body, *msg;
        } cases[] = {
                { OPENAI_CHAT, "{\"messages\":[]}", "model:" },
                { OPENAI_CHAT, "{\"model\":\"m\",\"messages\":[]}", "messages: expected a non-empty array" },
                { OPENAI_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", "messages[0].role" },
                { OPENAI_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":5}]}", "messages[0].content" },
                { OPENAI_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}",
                  "messages[0].content[0]" },
                { OPENAI_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":5000}",
                  "max_tokens: 5000 is over this server's limit of 1000" },
                { OPENAI_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":0}", "max_tokens" },
                { OPENAI_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":3}", "temperature" },
                { OPENAI_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"top_p\":0}", "top_p" },
                { OPENAI_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", "stop" },
                { OPENAI_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":2}", "n: only 1" },
                { OPENAI_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":\"yes\"}", "stream" },
                { OPENAI_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"seed\":-1}", "seed" },
                { OPENAI_COMPLETION, "{\"model\":\"m\",\"prompt\":[1,2]}", "prompt: expected a string" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                OpenAIRequest oa = {};
                char err[256] = "";
                if (parse(cases[i].kind, cases[i].body, &oa, err, sizeof err) != -EINVAL || !strstr(err, cases[i].msg)) {
                        test_fail(__FILE__, __LINE__, "%s: got \"%s\", want \"%s\"", cases[i].body, err, cases[i].msg);
                        cJSON_Delete(oa.infer);
                        return;
                }
        }
}

TEST(response_and_chunks) {
        cJSON *o = openai_response(OPENAI_CHAT, "chatcmpl-1", "m", 100, "Hello", "stop", 3, 2);
        char *s = cJSON_PrintUnformatted(o), *chunk;

        ASSERT_STREQ(s, "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":100,\"model\":\"m\",\"choices\":["
                        "{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello\"},\"finish_reason\":\"stop\"}],"
                        "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}");
        free(s);
        cJSON_Delete(o);
        ASSERT_OK(openai_stream_chunk(OPENAI_CHAT, "c", "m", 1, NULL, NULL, &chunk));
        ASSERT_STREQ(chunk, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":"
                            "[{\"index\":0,\"delta\":{\"role\":\"assistant\"},\"finish_reason\":null}]}\n\n");
        free(chunk);
        ASSERT_OK(openai_stream_chunk(OPENAI_COMPLETION, "c", "m", 1, "x", "length", &chunk));
        ASSERT_CONTAINS(chunk, "\"object\":\"text_completion\"");
        ASSERT_CONTAINS(chunk, "\"text\":\"x\"");
        ASSERT_CONTAINS(chunk, "\"finish_reason\":\"length\"");
        free(chunk);
        ASSERT_OK(openai_stream_usage(OPENAI_CHAT, "c", "m", 1, NULL, 4, 5, &chunk));
        ASSERT_CONTAINS(chunk, "\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":5,\"total_tokens\":9}");
        free(chunk);
}

TEST(native_generate_form) {
        OpenAIRequest oa;
        char err[256], *s;
        cJSON *o;

        /* the model may be left out (the controller picks the only one) */
        ASSERT_OK(parse(OPENAI_GENERATE, "{\"prompt\":\"Once\",\"temperature\":1.5,\"stream\":true}", &oa, err, sizeof err));
        ASSERT_NULL(oa.model);
        ASSERT_TRUE(oa.stream);
        s = cJSON_PrintUnformatted(oa.infer);
        ASSERT_STREQ(s, "{\"type\":\"infer\",\"prompt\":\"Once\",\"params\":{\"max_tokens\":64,\"temperature\":1.5}}");
        free(s);
        cJSON_Delete(oa.infer);
        ASSERT_OK(parse(OPENAI_GENERATE, "{\"model\":\"m\",\"prompt\":\"x\"}", &oa, err, sizeof err));
        ASSERT_STREQ(cJSON_GetObjectItemCaseSensitive(oa.infer, "model")->valuestring, "m");
        cJSON_Delete(oa.infer);
        ASSERT_ERROR(parse(OPENAI_GENERATE, "{\"messages\":[]}", &oa, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "prompt");
        ASSERT_ERROR(parse(OPENAI_GENERATE, "{\"prompt\":\"x\",\"temperature\":2.01}", &oa, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "temperature");
        ASSERT_ERROR(parse(OPENAI_GENERATE, "{\"prompt\":\"x\",\"max_tokens\":1001}", &oa, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "limit of 1000");
        ASSERT_ERROR(parse(OPENAI_GENERATE, "{\"prompt\":\"x\",\"model\":\"\"}", &oa, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "model");

        o = openai_response(OPENAI_GENERATE, "gen-1", "m", 1, "hello", "stop", 2, 3);
        s = cJSON_PrintUnformatted(o);
        ASSERT_STREQ(s, "{\"id\":\"gen-1\",\"object\":\"generation\",\"created\":1,\"model\":\"m\",\"text\":\"hello\","
                        "\"finish_reason\":\"stop\",\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":3,\"total_tokens\":5}}");
        free(s);
        cJSON_Delete(o);
        ASSERT_OK(openai_stream_chunk(OPENAI_GENERATE, "gen-1", "m", 1, "he", NULL, &s));
        ASSERT_STREQ(s, "data: {\"id\":\"gen-1\",\"object\":\"generation.chunk\",\"created\":1,\"model\":\"m\",\"text\":\"he\"}\n\n");
        free(s);
        ASSERT_OK(openai_stream_usage(OPENAI_GENERATE, "gen-1", "m", 1, "length", 2, 3, &s));
        ASSERT_CONTAINS(s, "\"text\":\"\",\"finish_reason\":\"length\",\"usage\":{\"prompt_tokens\":2");
        free(s);
}
