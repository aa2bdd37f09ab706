/* test-policy-normalize.c: full-width forms, Unicode spaces and dashes, invisible characters,
 * "%40", malformed UTF-8 copied as it is, the offset map, buffer reuse. */
#include <stdlib.h>

#include "normalize.h"
#include "test.h"

/* Normalises in (NUL-terminated) with a map and checks the map's invariants. */
static int norm(NormText *t, const char *in) {
        size_t n = strlen(in);
        int r = normalize_text(t, in, n);

        if (r < 0)
                return r;
        if (t->len > n || t->buf[t->len] != 0 || (t->want_map && t->map[t->len] != n))
                return -EBADMSG;
        for (size_t i = 0; t->want_map && i < t->len; i++)
                if (t->map[i] >= n || (i > 0 && t->map[i] <= t->map[i - 1]))
                        return -EBADMSG;
        return 0;
}

TEST(empty_input) {
        NormText t = { .want_map = true };

        ASSERT_OK(norm(&t, ""));
        ASSERT_UEQ(t.len, 0);
        ASSERT_STREQ(t.buf, "");
        ASSERT_UEQ(t.map[0], 0);
        normtext_done(&t);
        ASSERT_NULL(t.buf);
        ASSERT_NULL(t.map);
}

TEST(ascii_is_copied_with_identity_map) {
        NormText t = { .want_map = true };
        const char *in = "The quick brown fox jumps over 13 lazy dogs; password=hunter22!";

        ASSERT_OK(norm(&t, in));
        ASSERT_STREQ(t.buf, in);
        for (size_t i = 0; i <= t.len; i++)
                ASSERT_UEQ(t.map[i], i);
        normtext_done(&t);
}

TEST(fullwidth_becomes_ascii) {
        NormText t = { .want_map = true };

        /* １２３ＡＢｚ＠．－＝：～！ */
        ASSERT_OK(norm(&t, "\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93\xef\xbc\xa1\xef\xbc\xa2\xef\xbd\x9a\xef\xbc\xa0"
                           "\xef\xbc\x8e\xef\xbc\x8d\xef\xbc\x9d\xef\xbc\x9a\xef\xbd\x9e\xef\xbc\x81"));
        ASSERT_STREQ(t.buf, "123ABz@.-=:~!");
        for (size_t i = 0; i < t.len; i++)
                ASSERT_UEQ(t.map[i], 3 * i); /* each output byte maps to its 3-byte source */
        ASSERT_UEQ(t.map[t.len], 39);
        normtext_done(&t);
}

TEST(spaces_and_dashes) {
        NormText t = { .want_map = true };

        /* U+3000 U+00A0 U+2003 U+202F | U+2010 U+2013 U+2014 U+2212 U+FE63 */
        ASSERT_OK(norm(&t, "a\xe3\x80\x80" "b\xc2\xa0" "c\xe2\x80\x83" "d\xe2\x80\xaf" "e|1\xe2\x80\x90"
                           "2\xe2\x80\x93" "3\xe2\x80\x94" "4\xe2\x88\x92" "5\xef\xb9\xa3" "6"));
        ASSERT_STREQ(t.buf, "a b c d e|1-2-3-4-5-6");
        normtext_done(&t);
}

TEST(invisible_characters_are_dropped) {
        NormText t = { .want_map = true };
        /* 1 ZWSP 2 ZWNJ 3 ZWJ 4 WJ 5 BOM 6 SHY 7 LRM 8 RLO 9 VS16 0 tag-A 1 VS17 2 MVS 3 LRI 4 */
        const char *in = "1\xe2\x80\x8b" "2\xe2\x80\x8c" "3\xe2\x80\x8d" "4\xe2\x81\xa0" "5\xef\xbb\xbf" "6\xc2\xad"
                         "7\xe2\x80\x8e" "8\xe2\x80\xae" "9\xef\xb8\x8f" "0\xf3\xa0\x81\x81" "1\xf3\xa0\x84\x80"
                         "2\xe1\xa0\x8e" "3\xe2\x81\xa6" "4";

        ASSERT_OK(norm(&t, in));
        ASSERT_STREQ(t.buf, "12345678901234");
        ASSERT_UEQ(t.map[0], 0);
        ASSERT_UEQ(t.map[1], 4); /* after the 3-byte ZWSP */
        ASSERT_UEQ(t.map[13], strlen(in) - 1);
        normtext_done(&t);
}

TEST(percent_encoded_at_sign) {
        NormText t = { .want_map = true };
        const char *in = "?email=jane%40example.org&q=100%25%4%4x%%40";

        ASSERT_OK(norm(&t, in));
        ASSERT_STREQ(t.buf, "?email=jane@example.org&q=100%25%4%4x%@");
        ASSERT_UEQ(t.map[11], 11);                         /* '@' <- "%40" */
        ASSERT_UEQ(t.map[12], 14);                         /* 'e' after it */
        ASSERT_UEQ(normtext_source_end(&t, in, 12), 14);   /* the span ending at '@' covers "%40" */
        ASSERT_UEQ(normtext_source_end(&t, in, t.len), strlen(in));
        /* at the end of the input, cut short, and found by the eight-byte skip */
        ASSERT_OK(norm(&t, "%40"));
        ASSERT_STREQ(t.buf, "@");
        ASSERT_OK(norm(&t, "abc%4"));
        ASSERT_STREQ(t.buf, "abc%4");
        ASSERT_OK(norm(&t, "0123456789abcdef%40%40"));
        ASSERT_STREQ(t.buf, "0123456789abcdef@@");
        ASSERT_UEQ(t.map[17], 19);
        normtext_done(&t);
}

TEST(other_text_is_kept) {
        NormText t = { .want_map = true };
        /* Chinese, the ideographic full stop and comma-less text, an emoji, U+00E9 */
        const char *in = "身份证号码。\xf0\x9f\x98\x80 caf\xc3\xa9 \xc2\xa9";

        ASSERT_OK(norm(&t, in));
        ASSERT_STREQ(t.buf, in);
        for (size_t i = 0; i < t.len; i++)
                ASSERT_UEQ(t.map[i], i);
        normtext_done(&t);
}

TEST(malformed_utf8_is_copied) {
        NormText t = { .want_map = true };
        /* lone continuation, overlong '/', surrogate, a truncated ZWSP at the end, 0xFF */
        const char in[] = "\x80" "a\xc0\xaf" "b\xed\xa0\x80" "c\xff" "d\xe2\x80";

        ASSERT_OK(norm(&t, in));
        ASSERT_UEQ(t.len, sizeof in - 1);
        ASSERT_MEMEQ(t.buf, in, sizeof in - 1);
        /* a special lead byte with a bad continuation is copied, the next character still mapped */
        ASSERT_OK(norm(&t, "\xef\xbc" "\xef\xbc\x91"));
        ASSERT_STREQ(t.buf, "\xef\xbc" "1");
        ASSERT_UEQ(t.map[2], 2);
        normtext_done(&t);
}

TEST(embedded_nul_and_reuse_without_map) {
        NormText t = {};
        const char in[] = "a\0\xef\xbc\x91";

        ASSERT_OK(normalize_text(&t, in, sizeof in - 1));
        ASSERT_UEQ(t.len, 3);
        ASSERT_MEMEQ(t.buf, "a\0" "1", 3);
        ASSERT_NULL(t.map);
        /* reused for a longer then a shorter text */
        const char *longer = "\xef\xbd\x90\xef\xbd\x97\xef\xbd\x84 long enough to grow the buffer";

        ASSERT_OK(normalize_text(&t, longer, strlen(longer)));
        ASSERT_STREQ(t.buf, "pwd long enough to grow the buffer");
        ASSERT_OK(normalize_text(&t, "x", 1));
        ASSERT_STREQ(t.buf, "x");
        normtext_done(&t);
}

TEST(random_bytes_keep_invariants) {
        NormText t = { .want_map = true };
        static const char alphabet[] = { 'a', '1', ' ', '\x80', '\xbc', '\xc2', '\xad', '\xe2', '\x80', '\x8b',
                                         '\xe3', '\xef', '\xbc', '\x91', '\xf3', '\xa0', '\xff', '%', '4', '0', 0 };
        uint32_t seed = 12345;
        char buf[257];

        for (int round = 0; round < 2000; round++) {
                size_t n = (size_t) round % 256;

                for (size_t i = 0; i < n; i++) {
                        seed = seed * 1103515245u + 12345u;
                        buf[i] = alphabet[(seed >> 16) % sizeof alphabet];
                        if (buf[i] == 0)
                                buf[i] = 'z';
                }
                buf[n] = 0;
                ASSERT_OK(norm(&t, buf));
        }
        normtext_done(&t);
}
