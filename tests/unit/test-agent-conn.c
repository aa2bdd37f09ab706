/* test-agent-conn.c: the pure parts of the agent's connection: agent_url parsing, refusal causes. */
#include "conn.h"
#include "test.h"

static int parse(const char *url, char *host, int *port) {
        return conn_url_parse(url, host, CONN_HOST_MAX, port);
}

TEST(url_accepted) {
        char host[CONN_HOST_MAX];
        int port = 0;

        ASSERT_OK(parse("wss://ctl.example:8444/", host, &port));
        ASSERT_STREQ(host, "ctl.example");
        ASSERT_EQ(port, 8444);
        ASSERT_OK(parse("wss://127.0.0.1:1", host, &port));
        ASSERT_STREQ(host, "127.0.0.1");
        ASSERT_EQ(port, 1);
        ASSERT_OK(parse("wss://controller", host, &port));
        ASSERT_STREQ(host, "controller");
        ASSERT_EQ(port, 443);
        ASSERT_OK(parse("wss://[::1]:65535/", host, &port));
        ASSERT_STREQ(host, "::1");
        ASSERT_EQ(port, 65535);
}

TEST(url_refused) {
        static const char *const bad[] = {
                "ws://ctl:8444/",
                "https://ctl:8444",
                "wss://",
                "wss:///",
                "wss://:8444/",
                "wss://ctl:/",
                "wss://ctl:0/",
                "wss://ctl:65536/",
                "wss://ctl:008444/",
                "wss://ctl:-1/",
                "wss://ctl:84x/",
                "wss://ctl:8444/path",
                "wss://ctl:8444//",
                "wss://c tl:8444/",
                "wss://ctl@evil:8444/",
                "wss://[::1/",
                "wss://[]:1/",
                "wss://[::g]:1/",
                "wss://ctl:8444/?q",
                NULL,
        };
        char host[CONN_HOST_MAX] = "untouched", longurl[400];
        int port = 7;

        for (size_t i = 0; bad[i]; i++)
                if (parse(bad[i], host, &port) != -EINVAL) {
                        test_fail(__FILE__, __LINE__, "accepted %s", bad[i]);
                        return;
                }
        ASSERT_ERROR(parse(NULL, host, &port), -EINVAL);
        snprintf(longurl, sizeof longurl, "wss://%0300d:1/", 0);
        ASSERT_ERROR(parse(longurl, host, &port), -EINVAL);
        ASSERT_STREQ(host, "untouched");
        ASSERT_EQ(port, 7);
}

TEST(certificate_refusals_are_recognised) {
        ASSERT_TRUE(conn_cause_is_cert_refused("TLS alert from the controller: certificate revoked"));
        ASSERT_TRUE(conn_cause_is_cert_refused("TLS alert from the controller: bad certificate"));
        ASSERT_TRUE(conn_cause_is_cert_refused("TLS alert from the controller: certificate required"));
        ASSERT_TRUE(conn_cause_is_cert_refused("TLS alert from the controller: unknown CA")); /* OpenSSL's spelling */
        ASSERT_TRUE(conn_cause_is_cert_refused("HS: ws upgrade unauthorized"));
        ASSERT_FALSE(conn_cause_is_cert_refused("connect failed"));
        ASSERT_FALSE(conn_cause_is_cert_refused("the controller closed the connection (1001: restarting)"));
}
