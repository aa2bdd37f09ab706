/* test-stop.c: stop strings split across pieces, held-back prefixes, and limits. */
#include "stop.h"
#include "test.h"

static void run(const char *const *stops, size_t n, const char *const *pieces, const char *want, int want_stop) {
        StopMatcher m;
        StrBuf out = STRBUF_INIT;
        int r = 0;

        if (stop_init(&m, stops, n) < 0) {
                test_fail(__FILE__, __LINE__, "init failed");
                return;
        }
        for (size_t i = 0; pieces[i] && r == 0; i++)
                r = stop_feed(&m, pieces[i], strlen(pieces[i]), &out);
        if (r == 0)
                stop_flush(&m, &out);
        if (r != want_stop || !streq(strbuf_str(&out), want))
                test_fail(__FILE__, __LINE__, "got \"%s\" (%d), want \"%s\" (%d)", strbuf_str(&out), r, want, want_stop);
        strbuf_done(&out);
        stop_done(&m);
}

TEST(stop_inside_one_piece) {
        const char *stops[] = { "END" };
        run(stops, 1, (const char *[]){ "hello END world", NULL }, "hello ", 1);
}

TEST(stop_split_across_pieces) {
        const char *stops[] = { "\n\nUser:" };
        run(stops, 1, (const char *[]){ "answer", "\n", "\nUs", "er:", " more", NULL }, "answer", 1);
}

TEST(false_start_is_released) {
        const char *stops[] = { "<end>" };
        run(stops, 1, (const char *[]){ "a <e", "nd but no", " <en", NULL }, "a <end but no <en", 0);
}

TEST(earliest_of_several) {
        const char *stops[] = { "zzz", "b" };
        run(stops, 2, (const char *[]){ "aaa", "bzzz", NULL }, "aaa", 1);
}

TEST(no_stops_passes_everything) {
        run(NULL, 0, (const char *[]){ "x", "y", NULL }, "xy", 0);
}

TEST(limits) {
        StopMatcher m;
        char big[STOP_LEN_MAX + 2];
        const char *too_long[] = { big };
        const char *empty[] = { "" };
        const char *many[STOP_MAX + 1];

        memset(big, 'a', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        for (int i = 0; i <= STOP_MAX; i++)
                many[i] = "x";
        ASSERT_ERROR(stop_init(&m, too_long, 1), -EINVAL);
        ASSERT_ERROR(stop_init(&m, empty, 1), -EINVAL);
        ASSERT_ERROR(stop_init(&m, many, STOP_MAX + 1), -EINVAL);
}
