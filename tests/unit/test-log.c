/* test-log.c: JSON-line format, fields and escaping, level filtering, journald detection. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "build-config.h" /* HAVE_LIBSYSTEMD */
#include "log.h"
#include "test.h"

/* Runs one log call with output captured through a pipe; returns the line without newline. */
static char *capture(void (*emit)(void)) {
        static char line[16384];
        int fds[2];
        ssize_t n;

        if (pipe(fds) < 0)
                return NULL;
        log_set_target(LOG_TARGET_STDERR);
        log_set_fd(fds[1]);
        emit();
        log_set_fd(STDERR_FILENO);
        close(fds[1]);
        n = read(fds[0], line, sizeof line - 1);
        close(fds[0]);
        line[n < 0 ? 0 : n] = '\0';
        return line;
}

static void emit_fields(void) {
        log_set_ident("sluice-test");
        log_with(LOG_INFO, LOG_FIELDS(LOG_STR("request_id", "req-1"), LOG_INT("tokens", 42), LOG_BOOL("cached", true),
                                      LOG_STR("quote", "a\"b\n")),
                 "served %s", "ok");
}

TEST(json_line_has_level_time_message_fields) {
        char *line = capture(emit_fields);
        cJSON *j, *v;

        ASSERT_NOT_NULL(line);
        ASSERT_TRUE(strlen(line) > 0 && line[strlen(line) - 1] == '\n');
        ASSERT_EQ(strchr(line, '\n') - line, (long) strlen(line) - 1); /* exactly one line */
        j = cJSON_Parse(line);
        ASSERT_NOT_NULL(j);
        ASSERT_STREQ(cJSON_GetObjectItem(j, "log.level")->valuestring, "info");
        ASSERT_STREQ(cJSON_GetObjectItem(j, "message")->valuestring, "served ok");
        ASSERT_STREQ(cJSON_GetObjectItem(j, "service.name")->valuestring, "sluice-test");
        ASSERT_STREQ(cJSON_GetObjectItem(j, "request_id")->valuestring, "req-1");
        ASSERT_STREQ(cJSON_GetObjectItem(j, "quote")->valuestring, "a\"b\n");
        v = cJSON_GetObjectItem(j, "tokens");
        ASSERT_TRUE(cJSON_IsNumber(v) && v->valueint == 42);
        ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(j, "cached")));
        v = cJSON_GetObjectItem(j, "@timestamp");
        ASSERT_TRUE(cJSON_IsString(v) && strlen(v->valuestring) == 27 && v->valuestring[26] == 'Z');
        cJSON_Delete(j);
}

static int returned;
static void emit_errno(void) {
        returned = log_error_errno(ENOENT, "cannot open %s", "/x");
}

TEST(errno_is_named_and_returned_negative) {
        char *line = capture(emit_errno);

        ASSERT_EQ(returned, -ENOENT);
        ASSERT_CONTAINS(line, "\"log.level\":\"error\"");
        ASSERT_CONTAINS(line, "\"errno\":\"ENOENT\"");
        ASSERT_CONTAINS(line, "\"error\":\"No such file or directory\"");
        ASSERT_CONTAINS(line, "\"message\":\"cannot open /x\"");
}

static void emit_debug(void) {
        log_set_max_level(LOG_INFO);
        log_debug("hidden");
        returned = log_internal(LOG_DEBUG, -EIO, NULL, 0, "hidden too");
}

TEST(levels_above_max_are_dropped) {
        char *line = capture(emit_debug);

        ASSERT_STREQ(line, "");
        ASSERT_EQ(returned, -EIO); /* still propagates the error */
}

static void emit_invalid_utf8(void) {
        log_info("bad \xff byte");
}

TEST(message_with_invalid_utf8_is_still_json) {
        char *line = capture(emit_invalid_utf8);
        cJSON *j = cJSON_Parse(line);

        ASSERT_NOT_NULL(j);
        ASSERT_STREQ(cJSON_GetObjectItem(j, "message")->valuestring, "bad \xef\xbf\xbd byte");
        cJSON_Delete(j);
}

TEST(level_names) {
        int l;

        ASSERT_OK(log_level_from_string("warning", &l));
        ASSERT_EQ(l, LOG_WARNING);
        ASSERT_OK(log_level_from_string("debug", &l));
        ASSERT_EQ(l, LOG_DEBUG);
        ASSERT_ERROR(log_level_from_string("verbose", &l), -EINVAL);
        ASSERT_ERROR(log_level_from_string(NULL, &l), -EINVAL);
        ASSERT_STREQ(log_level_to_string(LOG_ERR), "error");
        ASSERT_STREQ(log_level_to_string(99), "unknown");
}

TEST(journald_detected_from_journal_stream) {
        struct stat st;
        char env[64];

        ASSERT_TRUE(fstat(STDERR_FILENO, &st) == 0);
        snprintf(env, sizeof env, "%llu:%llu", (unsigned long long) st.st_dev, (unsigned long long) st.st_ino);
        setenv("JOURNAL_STREAM", env, 1);
#if HAVE_LIBSYSTEMD
        ASSERT_EQ(log_target_detect(), LOG_TARGET_JOURNAL);
#else
        ASSERT_EQ(log_target_detect(), LOG_TARGET_STDERR);
#endif
        setenv("JOURNAL_STREAM", "1:1", 1); /* another stream: stderr was redirected elsewhere */
        ASSERT_EQ(log_target_detect(), LOG_TARGET_STDERR);
        setenv("JOURNAL_STREAM", "garbage", 1);
        ASSERT_EQ(log_target_detect(), LOG_TARGET_STDERR);
        unsetenv("JOURNAL_STREAM");
        ASSERT_EQ(log_target_detect(), LOG_TARGET_STDERR);
}

TEST(format_json_direct) {
        _cleanup_free_ char *s = NULL;

        ASSERT_OK(log_format_json(LOG_WARNING, 0, LOG_FIELDS(LOG_STR("k", NULL)), "m", &s));
        ASSERT_CONTAINS(s, "\"log.level\":\"warning\"");
        ASSERT_CONTAINS(s, "\"k\":null");
        ASSERT_TRUE(s[strlen(s) - 1] == '}');
}
