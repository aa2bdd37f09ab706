/* test-timeutil.c: clocks, RFC 3339 formatting/parsing, durations, and their malformed inputs. */
#include "test.h"
#include "timeutil.h"

TEST(clocks_move_forward) {
        uint64_t a = time_mono_usec(), b = time_mono_usec();

        ASSERT_TRUE(a > 0);
        ASSERT_TRUE(b >= a);
        ASSERT_TRUE(time_mono_msec() >= a / 1000);
        /* after 2020-01-01 */
        ASSERT_TRUE(time_real_usec() > UINT64_C(1577836800) * USEC_PER_SEC);
}

TEST(rfc3339_format) {
        char buf[TIME_RFC3339_MAX];

        ASSERT_STREQ(time_format_rfc3339(0, buf), "1970-01-01T00:00:00.000000Z");
        ASSERT_STREQ(time_format_rfc3339(UINT64_C(1764084438123456), buf), "2025-11-25T15:27:18.123456Z");
        ASSERT_STREQ(time_format_rfc3339(UINT64_C(951782400) * USEC_PER_SEC, buf), "2000-02-29T00:00:00.000000Z");
}

TEST(rfc3339_parse_valid) {
        uint64_t t;

        ASSERT_OK(time_parse_rfc3339("1970-01-01T00:00:00Z", &t));
        ASSERT_UEQ(t, 0);
        ASSERT_OK(time_parse_rfc3339("2025-11-25T15:27:18.123456Z", &t));
        ASSERT_UEQ(t, UINT64_C(1764084438123456));
        ASSERT_OK(time_parse_rfc3339("2025-11-25T16:27:18.123456789+01:00", &t)); /* extra digits cut */
        ASSERT_UEQ(t, UINT64_C(1764084438123456));
        ASSERT_OK(time_parse_rfc3339("2025-11-25t10:27:18.5-05:00", &t));
        ASSERT_UEQ(t, UINT64_C(1764084438500000));
        ASSERT_OK(time_parse_rfc3339("2000-02-29 00:00:00z", &t));
        ASSERT_UEQ(t, UINT64_C(951782400) * USEC_PER_SEC);
        ASSERT_OK(time_parse_rfc3339("2016-12-31T23:59:60Z", &t)); /* leap second */
}

TEST(rfc3339_roundtrip) {
        char buf[TIME_RFC3339_MAX];
        uint64_t now = time_real_usec(), t;

        ASSERT_OK(time_parse_rfc3339(time_format_rfc3339(now, buf), &t));
        ASSERT_UEQ(t, now);
}

TEST(rfc3339_parse_rejects) {
        static const char *const bad[] = {
                "", "2025", "2025-11-25", "2025-11-25T15:27:18", /* no offset */
                "2025-13-01T00:00:00Z", "2025-02-29T00:00:00Z", "2025-04-31T00:00:00Z",
                "2025-11-25T24:00:00Z", "2025-11-25T23:60:00Z", "2025-11-25T23:59:61Z",
                "2025-11-25T15:27:18.Z", "2025-11-25T15:27:18Zjunk", "2025-11-25T15:27:18+0100",
                "2025-11-25T15:27:18+25:00", "1969-12-31T23:59:59Z", "1970-01-01T00:00:00+00:01",
                "２０２５-11-25T15:27:18Z", "2025-11-25X15:27:18Z", " 2025-11-25T15:27:18Z",
        };
        uint64_t t = 7;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                if (time_parse_rfc3339(bad[i], &t) != -EINVAL) {
                        test_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
                        return;
                }
        }
        ASSERT_ERROR(time_parse_rfc3339(NULL, &t), -EINVAL);
        ASSERT_UEQ(t, 7); /* never written on failure */
}

TEST(durations) {
        uint64_t d;

        ASSERT_OK(time_parse_duration("90", &d));
        ASSERT_UEQ(d, 90 * USEC_PER_SEC);
        ASSERT_OK(time_parse_duration("1h30m", &d));
        ASSERT_UEQ(d, 90 * USEC_PER_MINUTE);
        ASSERT_OK(time_parse_duration("250ms", &d));
        ASSERT_UEQ(d, 250 * USEC_PER_MSEC);
        ASSERT_OK(time_parse_duration("2d", &d));
        ASSERT_UEQ(d, 2 * USEC_PER_DAY);
        ASSERT_OK(time_parse_duration("7us", &d));
        ASSERT_UEQ(d, 7);
        ASSERT_ERROR(time_parse_duration("", &d), -EINVAL);
        ASSERT_ERROR(time_parse_duration("h", &d), -EINVAL);
        ASSERT_ERROR(time_parse_duration("1x", &d), -EINVAL);
        ASSERT_ERROR(time_parse_duration("-1s", &d), -EINVAL);
        ASSERT_ERROR(time_parse_duration("1 h", &d), -EINVAL);
        ASSERT_ERROR(time_parse_duration("1.5h", &d), -EINVAL);
        ASSERT_ERROR(time_parse_duration("99999999999999999999", &d), -ERANGE);
        ASSERT_ERROR(time_parse_duration("9999999999999d", &d), -ERANGE);
}
