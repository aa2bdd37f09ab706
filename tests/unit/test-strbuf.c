/* test-strbuf.c: growth, limits (buffer untouched on error), JSON string escaping. */
#include "strbuf.h"
#include "test.h"

TEST(append_and_printf) {
        StrBuf b = STRBUF_INIT;

        ASSERT_STREQ(strbuf_str(&b), "");
        ASSERT_OK(strbuf_puts(&b, "hello"));
        ASSERT_OK(strbuf_putc(&b, ' '));
        ASSERT_OK(strbuf_printf(&b, "%s %d", "world", 42));
        ASSERT_STREQ(strbuf_str(&b), "hello world 42");
        ASSERT_UEQ(b.len, 14);
        for (int i = 0; i < 10000; i++)
                ASSERT_OK(strbuf_putc(&b, 'x'));
        ASSERT_UEQ(b.len, 10014);
        ASSERT_UEQ(strlen(strbuf_str(&b)), 10014);
        strbuf_truncate(&b, 5);
        ASSERT_STREQ(strbuf_str(&b), "hello");
        strbuf_truncate(&b, 99); /* past the end: ignored */
        ASSERT_UEQ(b.len, 5);
        strbuf_done(&b);
        ASSERT_NULL(b.data);
}

TEST(limit_rejects_and_keeps_contents) {
        StrBuf b = { .limit = 8 };

        ASSERT_OK(strbuf_puts(&b, "12345678"));
        ASSERT_ERROR(strbuf_putc(&b, '9'), -E2BIG);
        ASSERT_ERROR(strbuf_printf(&b, "%d", 1), -E2BIG);
        ASSERT_ERROR(strbuf_put_json_string(&b, "a", 1), -E2BIG);
        ASSERT_STREQ(strbuf_str(&b), "12345678");
        strbuf_done(&b);
}

TEST(json_string_escapes_partial_failure_rolls_back) {
        StrBuf b = { .limit = 10 };

        ASSERT_OK(strbuf_puts(&b, "ab"));
        /* the escaped form does not fit: nothing of it may remain */
        ASSERT_ERROR(strbuf_put_json_string(&b, "0123456789", 10), -E2BIG);
        ASSERT_STREQ(strbuf_str(&b), "ab");
        strbuf_done(&b);
}

TEST(json_string_escaping) {
        StrBuf b = STRBUF_INIT;
        const char in[] = "q\"b\\n\n\t\x01 \xe4\xb8\xad \xff \xc0\xaf \xed\xa0\x80 \xf0\x9f\x98\x80";

        ASSERT_OK(strbuf_put_json_string(&b, in, sizeof in - 1));
        /* quotes, backslash and controls escaped; valid UTF-8 kept; invalid bytes, overlong
         * forms and surrogates replaced */
        ASSERT_STREQ(strbuf_str(&b), "\"q\\\"b\\\\n\\u000a\\u0009\\u0001 \xe4\xb8\xad \\ufffd \\ufffd\\ufffd "
                                     "\\ufffd\\ufffd\\ufffd \xf0\x9f\x98\x80\"");
        strbuf_done(&b);
        ASSERT_OK(strbuf_put_json_string(&b, "a\0b", 3)); /* embedded NUL escaped */
        ASSERT_STREQ(strbuf_str(&b), "\"a\\u0000b\"");
        strbuf_done(&b);
}

TEST(take_returns_owned_string) {
        StrBuf b = STRBUF_INIT;
        char *s = strbuf_take(&b);

        ASSERT_STREQ(s, ""); /* empty buffer still gives a string */
        free(s);
        ASSERT_OK(strbuf_puts(&b, "kept"));
        s = strbuf_take(&b);
        ASSERT_STREQ(s, "kept");
        ASSERT_NULL(b.data);
        ASSERT_UEQ(b.len, 0);
        free(s);
}

TEST(out_of_memory_leaves_buffer_unchanged) {
        StrBuf b = { .limit = SIZE_MAX - 1 };
        static const char big[1];

        ASSERT_OK(strbuf_puts(&b, "abc"));
        /* a request no allocator can satisfy (tests run with allocator_may_return_null=1) */
        ASSERT_ERROR(strbuf_append(&b, big, SIZE_MAX / 2), -ENOMEM);
        ASSERT_STREQ(strbuf_str(&b), "abc");
        ASSERT_ERROR(strbuf_append(&b, big, SIZE_MAX - 2), -E2BIG);
        strbuf_done(&b);
}
