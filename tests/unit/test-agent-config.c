/* test-agent-config.c: the agent's config file: defaults, and errors that name the field. */
#include "agent-config.h"
#include "fileio.h"
#include "log.h"
#include "test.h"

static int load(const char *text, AgentConfig *c, char *err, size_t errsz) {
        char path[512];
        int r;

        snprintf(path, sizeof path, "%s/agent.json", test_tmpdir());
        r = file_write_atomic(path, text, strlen(text), 0644);
        if (r < 0)
                return r;
        return agent_config_load(path, c, err, errsz);
}

TEST(defaults) {
        _cleanup_(agent_config_done) AgentConfig c = {};
        char err[512] = "";

        ASSERT_OK(load("{\"controller_url\":\"https://ctl:8443\",\"agent_url\":\"wss://ctl:8444/\","
                       "\"ca_file\":\"/etc/sluice/ca.pem\",\"node_name\":\"gpu-priv-1\"}",
                       &c, err, sizeof err));
        ASSERT_STREQ(c.controller_url, "https://ctl:8443");
        ASSERT_STREQ(c.agent_url, "wss://ctl:8444/");
        ASSERT_STREQ(c.node_name, "gpu-priv-1");
        ASSERT_STREQ(c.data_dir, "/var/lib/sluice-agent");
        ASSERT_STREQ(c.device, "auto");
        ASSERT_NULL(c.join_token_file);
        ASSERT_UEQ(c.max_frame_bytes, 1048576);
        ASSERT_UEQ(c.max_sequences, 16);
        ASSERT_UEQ(c.classify_timeout_ms, 200);
        ASSERT_EQ(c.log_level, LOG_INFO);
}

TEST(everything_set) {
        _cleanup_(agent_config_done) AgentConfig c = {};
        char err[512] = "";

        ASSERT_OK(load("{\"controller_url\":\"https://ctl:8443\",\"agent_url\":\"wss://ctl:8444\","
                       "\"ca_file\":\"/c\",\"node_name\":\"n\",\"join_token_file\":\"/t\",\"data_dir\":\"/d\","
                       "\"device\":\"cpu\",\"threads\":4,\"max_sequences\":2,\"max_frame_bytes\":4096,"
                       "\"classify_timeout_ms\":50,\"log_level\":\"debug\"}",
                       &c, err, sizeof err));
        ASSERT_STREQ(c.join_token_file, "/t");
        ASSERT_STREQ(c.data_dir, "/d");
        ASSERT_UEQ(c.threads, 4);
        ASSERT_UEQ(c.max_frame_bytes, 4096);
        ASSERT_UEQ(c.classify_timeout_ms, 50);
        ASSERT_EQ(c.log_level, LOG_DEBUG);
}

TEST(errors_name_the_field) {
        AgentConfig c = {};
        char err[512] = "";

        ASSERT_ERROR(load("{\"controller_url\":\"http://ctl:8443\",\"agent_url\":\"wss://ctl:8444/\","
                          "\"ca_file\":\"/c\",\"node_name\":\"n\"}",
                          &c, err, sizeof err),
                     -EINVAL);
        ASSERT_CONTAINS(err, "controller_url");
        ASSERT_ERROR(load("{\"controller_url\":\"https://ctl:8443\",\"agent_url\":\"wss://ctl:8444/\","
                          "\"ca_file\":\"/c\",\"node_name\":\"bad name\"}",
                          &c, err, sizeof err),
                     -EINVAL);
        ASSERT_CONTAINS(err, "node_name");
        ASSERT_ERROR(load("{\"controller_url\":\"https://ctl:8443\",\"agent_url\":\"wss://ctl:8444/\","
                          "\"node_name\":\"n\"}",
                          &c, err, sizeof err),
                     -EINVAL);
        ASSERT_CONTAINS(err, "ca_file");
        ASSERT_ERROR(load("{\"controller_url\":\"https://ctl:8443\",\"agent_url\":\"wss://ctl:8444/\","
                          "\"ca_file\":\"/c\",\"node_name\":\"n\",\"max_frame_bytes\":10}",
                          &c, err, sizeof err),
                     -EINVAL);
        ASSERT_CONTAINS(err, "max_frame_bytes");
        ASSERT_ERROR(load("{\"controller_url\":\"https://ctl:8443\",\"agent_url\":\"wss://ctl:8444/\","
                          "\"ca_file\":\"/c\",\"node_name\":\"n\",\"classify_timeout_ms\":0}",
                          &c, err, sizeof err),
                     -EINVAL);
        ASSERT_CONTAINS(err, "classify_timeout_ms");
        ASSERT_ERROR(load("{\"controller_url\":\"https://ctl:8443\",\"agent_url\":\"wss://ctl:8444/\","
                          "\"ca_file\":\"/c\",\"node_name\":\"n\",\"heartbeat\":1}",
                          &c, err, sizeof err),
                     -EINVAL);
        ASSERT_CONTAINS(err, "heartbeat");
        ASSERT_NULL(c.doc);
}
