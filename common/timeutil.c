/* timeutil.c: clocks, RFC 3339 and duration parsing. */
#include "timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "macro.h"

static uint64_t clock_usec(clockid_t id) {
        struct timespec ts;

        if (clock_gettime(id, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

uint64_t time_mono_usec(void) {
        return clock_usec(CLOCK_MONOTONIC);
}

uint64_t time_mono_msec(void) {
        return time_mono_usec() / USEC_PER_MSEC;
}

uint64_t time_real_usec(void) {
        return clock_usec(CLOCK_REALTIME);
}

char *time_format_rfc3339(uint64_t usec, char buf[static TIME_RFC3339_MAX]) {
        time_t secs = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (!gmtime_r(&secs, &tm)) {
                snprintf(buf, TIME_RFC3339_MAX, "invalid-time");
                return buf;
        }
        if (snprintf(buf, TIME_RFC3339_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (unsigned) (usec % USEC_PER_SEC)) >= TIME_RFC3339_MAX) /* cannot happen: gcc -O2 fears it */
                snprintf(buf, TIME_RFC3339_MAX, "invalid-time");
        return buf;
}

/* Reads exactly n digits at *p into *ret and advances *p. */
static int parse_digits(const char **p, int n, int *ret) {
        int v = 0;

        for (int i = 0; i < n; i++) {
                if (!isdigit((unsigned char) (*p)[i]))
                        return -EINVAL;
                v = v * 10 + ((*p)[i] - '0');
        }
        *p += n;
        *ret = v;
        return 0;
}

static int expect_char(const char **p, const char *allowed) {
        if (!**p || !strchr(allowed, **p))
                return -EINVAL;
        (*p)++;
        return 0;
}

static bool is_leap(int y) {
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m) {
        static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), for y >= 1970. */
static int64_t days_from_epoch(int y, int m, int d) {
        int64_t days = 0;

        for (int yy = 1970; yy < y; yy++)
                days += is_leap(yy) ? 366 : 365;
        for (int mm = 1; mm < m; mm++)
                days += days_in_month(y, mm);
        return days + d - 1;
}

/* Parses ".digits" (any count; microseconds kept, the rest truncated). */
static int parse_fraction(const char **p, uint64_t *ret_usec) {
        uint64_t usec = 0;
        int n = 0;

        if (**p != '.') {
                *ret_usec = 0;
                return 0;
        }
        (*p)++;
        for (; isdigit((unsigned char) **p); (*p)++, n++)
                if (n < 6)
                        usec = usec * 10 + (uint64_t) (**p - '0');
        if (n == 0)
                return -EINVAL;
        for (; n < 6; n++)
                usec *= 10;
        *ret_usec = usec;
        return 0;
}

/* Parses "Z" or "±HH:MM" into an offset in seconds east of UTC. */
static int parse_offset(const char **p, int64_t *ret_secs) {
        int hh, mm, sign;

        if (**p == 'Z' || **p == 'z') {
                (*p)++;
                *ret_secs = 0;
                return 0;
        }
        if (**p != '+' && **p != '-')
                return -EINVAL;
        sign = **p == '-' ? -1 : 1;
        (*p)++;
        if (parse_digits(p, 2, &hh) < 0 || expect_char(p, ":") < 0 || parse_digits(p, 2, &mm) < 0)
                return -EINVAL;
        if (hh > 23 || mm > 59)
                return -EINVAL;
        *ret_secs = sign * (int64_t) (hh * 3600 + mm * 60);
        return 0;
}

int time_parse_rfc3339(const char *s, uint64_t *ret_usec) {
        int y, mo, d, h, mi, sec;
        uint64_t frac;
        int64_t offset, total;
        const char *p = s;

        if (!s)
                return -EINVAL;
        if (parse_digits(&p, 4, &y) < 0 || expect_char(&p, "-") < 0 || parse_digits(&p, 2, &mo) < 0 ||
            expect_char(&p, "-") < 0 || parse_digits(&p, 2, &d) < 0 || expect_char(&p, "Tt ") < 0 ||
            parse_digits(&p, 2, &h) < 0 || expect_char(&p, ":") < 0 || parse_digits(&p, 2, &mi) < 0 ||
            expect_char(&p, ":") < 0 || parse_digits(&p, 2, &sec) < 0 || parse_fraction(&p, &frac) < 0 ||
            parse_offset(&p, &offset) < 0 || *p)
                return -EINVAL;
        if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
            sec > 60)
                return -EINVAL;
        if (sec == 60) /* a leap second: counted as the next second, as POSIX time does */
                sec = 59, frac = USEC_PER_SEC - 1;
        total = days_from_epoch(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
        if (total < 0)
                return -EINVAL;
        *ret_usec = (uint64_t) total * USEC_PER_SEC + frac;
        return 0;
}

static int duration_unit(const char **p, uint64_t *ret_mult) {
        static const struct {
                const char *name;
                uint64_t usec;
        } units[] = {
                { "us", 1 },          { "ms", USEC_PER_MSEC },   { "s", USEC_PER_SEC },
                { "m", USEC_PER_MINUTE }, { "h", USEC_PER_HOUR }, { "d", USEC_PER_DAY },
        };
        size_t n = 0;

        while (isalpha((unsigned char) (*p)[n]))
                n++;
        if (n == 0) {
                *ret_mult = USEC_PER_SEC;
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (strlen(units[i].name) == n && strneq(*p, units[i].name, n)) {
                        *p += n;
                        *ret_mult = units[i].usec;
                        return 0;
                }
        return -EINVAL;
}

int time_parse_duration(const char *s, uint64_t *ret_usec) {
        uint64_t total = 0;
        const char *p = s;

        if (isempty(s))
                return -EINVAL;
        while (*p) {
                uint64_t v = 0, mult, part;

                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                for (; isdigit((unsigned char) *p); p++)
                        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t) (*p - '0'), &v))
                                return -ERANGE;
                if (duration_unit(&p, &mult) < 0)
                        return -EINVAL;
                if (__builtin_mul_overflow(v, mult, &part) || __builtin_add_overflow(total, part, &total))
                        return -ERANGE;
        }
        *ret_usec = total;
        return 0;
}
