/* test-agent-message.c: every frame the agent builds passes its schema (schemas/agent-protocol/). */
#include "frame.h"
#include "json.h"
#include "message.h"
#include "test.h"

/* One validator per test case, freed when the case ends. */
static FrameValidator *current;

static void validator_done(FrameValidator **v) {
        *v = frame_validator_free(*v);
        current = NULL;
}
#define WITH_VALIDATOR _cleanup_(validator_done) _unused_ FrameValidator *_v_ = validator()

static FrameValidator *validator(void) {
        char err[256];

        if (!current && frame_validator_new(&current, err, sizeof err) < 0)
                printf("# %s\n", err);
        return current;
}

/* Asserts frame is valid per its schema, then frees it. */
#define ASSERT_FRAME_VALID(frame)                                                                                     \
        do {                                                                                                          \
                _cleanup_json_ cJSON *_f_ = (frame);                                                                  \
                char _err_[512] = "";                                                                                 \
                ASSERT_NOT_NULL(validator());                                                                         \
                ASSERT_NOT_NULL(_f_);                                                                                 \
                if (frame_check(validator(), _f_, _err_, sizeof _err_) < 0) {                                         \
                        _cleanup_free_ char *_t_ = NULL;                                                              \
                        (void) json_print(_f_, &_t_);                                                                 \
                        test_fail(__FILE__, __LINE__, "invalid frame %s: %s", _t_, _err_);                            \
                        return;                                                                                       \
                }                                                                                                     \
        } while (0)

TEST(hello) {
        WITH_VALIDATOR;
        MessageHello h = { .agent_version = "0.1.0", .backend = "cpu", .max_sequences = 16 };
        cJSON *f = NULL;
        const cJSON *cap;

        ASSERT_OK(message_hello_new(&h, &f));
        ASSERT_STREQ(cJSON_GetObjectItem(f, "type")->valuestring, "hello");
        cap = cJSON_GetObjectItem(f, "capacity");
        ASSERT_EQ(cJSON_GetObjectItem(cap, "max_sequences")->valuedouble, 16);
        ASSERT_NULL(cJSON_GetObjectItem(f, "rules_version"));
        ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(f, "models")), 0);
        ASSERT_FRAME_VALID(f);

        h = (MessageHello){
                .agent_version = "0.1.0", .backend = "cuda", .have_rules_version = true, .rules_version = UINT64_MAX
        };
        ASSERT_OK(message_hello_new(&h, &f));
        ASSERT_NULL(cJSON_GetObjectItem(f, "capacity"));
        ASSERT_TRUE(cJSON_GetObjectItem(f, "rules_version")->valuedouble == (double) MESSAGE_INT_MAX);
        ASSERT_FRAME_VALID(f);
}

TEST(hello_with_a_bad_backend_is_caught) {
        WITH_VALIDATOR;
        MessageHello h = { .agent_version = "0.1.0", .backend = "tpu" };
        _cleanup_json_ cJSON *f = NULL;
        char err[256];

        ASSERT_OK(message_hello_new(&h, &f));
        ASSERT_ERROR(frame_check(validator(), f, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "backend");
}

TEST(heartbeat) {
        WITH_VALIDATOR;
        Telemetry t = { .cores = 8,
                        .have_load = true,
                        .load1 = 0.25,
                        .have_memory = true,
                        .memory_total = UINT64_C(64) << 30,
                        .memory_used = UINT64_C(3) << 30 };
        MessageHeartbeat h = { .seq = 3, .telemetry = &t, .backend = "cpu" };
        cJSON *f = NULL;

        ASSERT_OK(message_heartbeat_new(&h, &f));
        ASSERT_EQ(cJSON_GetObjectItem(cJSON_GetObjectItem(f, "cpu"), "cores")->valuedouble, 8);
        ASSERT_TRUE(cJSON_GetObjectItem(cJSON_GetObjectItem(f, "memory"), "used_bytes")->valuedouble ==
                    (double) (UINT64_C(3) << 30));
        ASSERT_EQ(cJSON_GetObjectItem(f, "queue_depth")->valuedouble, 0);
        ASSERT_FRAME_VALID(f);

        /* nothing known about the machine */
        h = (MessageHeartbeat){ .seq = 0, .telemetry = NULL, .backend = "cpu" };
        ASSERT_OK(message_heartbeat_new(&h, &f));
        ASSERT_NULL(cJSON_GetObjectItem(f, "cpu"));
        ASSERT_NULL(cJSON_GetObjectItem(f, "memory"));
        ASSERT_FRAME_VALID(f);

        /* values past 2^53 are clamped, so the frame stays valid */
        t = (Telemetry){ .have_memory = true, .memory_total = UINT64_MAX, .memory_used = UINT64_MAX };
        RunnerStats st = { .queue_depth = 5, .n_models = 1, .tokens_per_second = 12.5 };
        snprintf(st.models[0].name, sizeof st.models[0].name, "m");
        snprintf(st.models[0].state, sizeof st.models[0].state, "ready");
        h = (MessageHeartbeat){ .seq = UINT64_MAX, .telemetry = &t, .backend = "cuda", .stats = &st };
        ASSERT_OK(message_heartbeat_new(&h, &f));
        ASSERT_FRAME_VALID(f);
}

TEST(heartbeat_of_this_machine) {
        WITH_VALIDATOR;
        Telemetry t;
        MessageHeartbeat h = { .seq = 1, .telemetry = &t, .backend = "cpu" };
        cJSON *f = NULL;

        telemetry_read(&t);
        ASSERT_OK(message_heartbeat_new(&h, &f));
        ASSERT_FRAME_VALID(f);
}

TEST(rules_ack) {
        WITH_VALIDATOR;
        cJSON *f = NULL;

        ASSERT_OK(message_rules_ack_new(7, &f));
        ASSERT_EQ(cJSON_GetObjectItem(f, "version")->valuedouble, 7);
        ASSERT_FRAME_VALID(f);
        ASSERT_OK(message_rules_ack_new(UINT64_MAX, &f));
        ASSERT_FRAME_VALID(f);
}

TEST(error_frames_the_agent_answers_with) {
        WITH_VALIDATOR;
        char long_msg[3000];

        memset(long_msg, 'x', sizeof long_msg - 1);
        long_msg[sizeof long_msg - 1] = '\0';
        ASSERT_FRAME_VALID(frame_error(NULL, "bad_frame", "frame: line 1, column 1: invalid JSON"));
        ASSERT_FRAME_VALID(frame_error("req-1", "unsupported", "this agent does not serve models yet"));
        ASSERT_FRAME_VALID(frame_error(NULL, "bad_frame", long_msg)); /* cut to the schema's 1024 */
}

static int parse(const char *text, cJSON **ret) {
        char err[128];

        return json_parse(text, strlen(text), ret, err, sizeof err);
}

TEST(frame_id) {
        _cleanup_json_ cJSON *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;
        char long_id[200];

        ASSERT_OK(parse("{\"id\":\"req-1.a:b_c\"}", &a));
        ASSERT_STREQ(message_frame_id(a), "req-1.a:b_c");
        ASSERT_OK(parse("{\"id\":\"has space\"}", &b));
        ASSERT_NULL(message_frame_id(b));
        ASSERT_OK(parse("{\"id\":7}", &c));
        ASSERT_NULL(message_frame_id(c));
        ASSERT_OK(parse("{\"id\":\"\"}", &d));
        ASSERT_NULL(message_frame_id(d));
        memset(long_id, 'a', sizeof long_id);
        e = cJSON_CreateObject();
        long_id[129] = '\0';
        cJSON_AddStringToObject(e, "id", long_id);
        ASSERT_NULL(message_frame_id(e));
        ASSERT_NULL(message_frame_id(NULL));
}

/* What the controller sends, parsed and checked the way protocol_agent.c does it. */
TEST(received_frames) {
        WITH_VALIDATOR;
        static const char welcome[] = "{\"type\":\"welcome\",\"node_id\":\"0f8fad5b-d9cb-469f-a165-70867728950e\","
                                      "\"node\":\"gpu-priv-1\",\"zone\":\"private\",\"heartbeat_interval_ms\":2000}";
        static const char bad_interval[] =
                "{\"type\":\"welcome\",\"node_id\":\"x\",\"node\":\"n\",\"zone\":\"private\","
                "\"heartbeat_interval_ms\":5}";
        _cleanup_json_ cJSON *f = NULL;
        const char *type = NULL;
        char err[512];

        ASSERT_OK(frame_parse(validator(), welcome, strlen(welcome), &f, &type, err, sizeof err));
        ASSERT_STREQ(type, "welcome");
        ASSERT_ERROR(frame_parse(validator(), bad_interval, strlen(bad_interval), &f, &type, err, sizeof err),
                     -EINVAL);
        ASSERT_CONTAINS(err, "heartbeat_interval_ms");
        ASSERT_ERROR(frame_parse(validator(), "{\"type\":\"nope\"}", 15, &f, &type, err, sizeof err), -EINVAL);
        ASSERT_CONTAINS(err, "nope");
        ASSERT_ERROR(frame_parse(validator(), "[1,2", 4, &f, &type, err, sizeof err), -EINVAL);
}
