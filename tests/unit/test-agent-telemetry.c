/* test-agent-telemetry.c: /proc/loadavg and /proc/meminfo parsers on sample text, good and bad. */
#include "telemetry.h"
#include "test.h"

static const char meminfo_modern[] = "MemTotal:       16318436 kB\n"
                                     "MemFree:          872104 kB\n"
                                     "MemAvailable:    9043752 kB\n"
                                     "Buffers:          409628 kB\n"
                                     "Cached:          8100140 kB\n"
                                     "SwapCached:            0 kB\n"
                                     "HugePages_Total:       0\n"
                                     "Hugepagesize:       2048 kB\n";

/* before Linux 3.14 there was no MemAvailable */
static const char meminfo_old[] = "MemTotal:        1000 kB\n"
                                  "MemFree:          100 kB\n"
                                  "Buffers:           50 kB\n"
                                  "Cached:           250 kB\n";

TEST(loadavg) {
        double v = -1;

        ASSERT_OK(telemetry_parse_loadavg("0.52 0.58 0.59 1/977 12345\n", &v));
        ASSERT_TRUE(v > 0.519 && v < 0.521);
        ASSERT_OK(telemetry_parse_loadavg("12.00 3.00 1.00 2/100 1\n", &v));
        ASSERT_TRUE(v > 11.99 && v < 12.01);
        ASSERT_OK(telemetry_parse_loadavg("0.00", &v));
        ASSERT_TRUE(v == 0.0);
}

TEST(loadavg_malformed) {
        double v = 42;

        ASSERT_ERROR(telemetry_parse_loadavg("", &v), -EINVAL);
        ASSERT_ERROR(telemetry_parse_loadavg(NULL, &v), -EINVAL);
        ASSERT_ERROR(telemetry_parse_loadavg("abc 1 2", &v), -EINVAL);
        ASSERT_ERROR(telemetry_parse_loadavg("-1.0 1 2", &v), -EINVAL);
        ASSERT_ERROR(telemetry_parse_loadavg("nan 1 2", &v), -EINVAL);
        ASSERT_ERROR(telemetry_parse_loadavg("1e999 1 2", &v), -EINVAL);
        ASSERT_ERROR(telemetry_parse_loadavg("0.5x 1 2", &v), -EINVAL);
        ASSERT_ERROR(telemetry_parse_loadavg(" 0.5 1 2", &v), -EINVAL);
        ASSERT_TRUE(v == 42); /* untouched on failure */
}

TEST(meminfo_uses_memavailable) {
        uint64_t total = 0, used = 0;

        ASSERT_OK(telemetry_parse_meminfo(meminfo_modern, &total, &used));
        ASSERT_UEQ(total, UINT64_C(16318436) * 1024);
        ASSERT_UEQ(used, (UINT64_C(16318436) - UINT64_C(9043752)) * 1024);
}

TEST(meminfo_before_memavailable) {
        uint64_t total = 0, used = 0;

        ASSERT_OK(telemetry_parse_meminfo(meminfo_old, &total, &used));
        ASSERT_UEQ(total, 1000 * 1024);
        ASSERT_UEQ(used, (1000 - 100 - 50 - 250) * 1024);
}

TEST(meminfo_keys_match_whole_names) {
        uint64_t total = 0, used = 0;

        ASSERT_OK(telemetry_parse_meminfo("MemTotalX:  5 kB\nMemTotal:  10 kB\nMemAvailable:  4 kB\n", &total, &used));
        ASSERT_UEQ(total, 10 * 1024);
        ASSERT_UEQ(used, 6 * 1024);
        /* more available than total (a racy read): used is 0, not a wrapped-around huge number */
        ASSERT_OK(telemetry_parse_meminfo("MemTotal: 10 kB\nMemAvailable: 11 kB\n", &total, &used));
        ASSERT_UEQ(used, 0);
}

TEST(meminfo_malformed) {
        uint64_t total = 7, used = 7;

        ASSERT_ERROR(telemetry_parse_meminfo("", &total, &used), -EINVAL);
        ASSERT_ERROR(telemetry_parse_meminfo(NULL, &total, &used), -EINVAL);
        ASSERT_ERROR(telemetry_parse_meminfo("MemFree: 10 kB\nMemAvailable: 5 kB\n", &total, &used), -EINVAL);
        ASSERT_ERROR(telemetry_parse_meminfo("MemTotal: 10 kB\n", &total, &used), -EINVAL);
        ASSERT_ERROR(telemetry_parse_meminfo("MemTotal: 10 MB\nMemAvailable: 5 kB\n", &total, &used), -EINVAL);
        ASSERT_ERROR(telemetry_parse_meminfo("MemTotal: -10 kB\nMemAvailable: 5 kB\n", &total, &used), -EINVAL);
        ASSERT_ERROR(telemetry_parse_meminfo("MemTotal: 10kB\nMemAvailable: 5 kB\n", &total, &used), -EINVAL);
        ASSERT_ERROR(telemetry_parse_meminfo("MemTotal: 99999999999999999999 kB\nMemAvailable: 5 kB\n", &total, &used),
                     -ERANGE);
        ASSERT_ERROR(telemetry_parse_meminfo("MemTotal: 18014398509481984 kB\nMemAvailable: 5 kB\n", &total, &used),
                     -ERANGE); /* 2^54 kB does not fit in bytes */
        ASSERT_UEQ(total, 7);
        ASSERT_UEQ(used, 7);
}

TEST(read_this_machine) {
        Telemetry t;

        telemetry_read(&t);
        ASSERT_TRUE(t.cores > 0);
        ASSERT_TRUE(t.have_load);
        ASSERT_TRUE(t.have_memory);
        ASSERT_TRUE(t.memory_total > 0 && t.memory_used <= t.memory_total);
}
