/* timeutil.h: monotonic and wall-clock time, RFC 3339 timestamps and human durations ("1h30m"). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_MINUTE (UINT64_C(60) * USEC_PER_SEC)
#define USEC_PER_HOUR (UINT64_C(60) * USEC_PER_MINUTE)
#define USEC_PER_DAY (UINT64_C(24) * USEC_PER_HOUR)

/* Time since an arbitrary point (CLOCK_MONOTONIC): for timeouts and intervals. */
uint64_t time_mono_usec(void);
uint64_t time_mono_msec(void);
/* Microseconds since the Unix epoch (CLOCK_REALTIME): for timestamps. */
uint64_t time_real_usec(void);

#define TIME_RFC3339_MAX 40
/* Writes usec since the epoch as "2026-11-25T15:27:18.123456Z" (UTC, microseconds) into buf, which
 * must hold TIME_RFC3339_MAX bytes. Returns buf. */
char *time_format_rfc3339(uint64_t usec, char buf[static TIME_RFC3339_MAX]);
/* Parses an RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)", 't'/'z'/' ' accepted as the
 * spec allows. Rejects out-of-range fields, dates before 1970, and trailing text with -EINVAL. */
int time_parse_rfc3339(const char *s, uint64_t *ret_usec);

/* Parses a duration: one or more <number><unit> with units us, ms, s, m, h, d ("90s", "1h30m"); a
 * bare number is seconds. Rejects empty strings, unknown units and overflow with -EINVAL/-ERANGE. */
int time_parse_duration(const char *s, uint64_t *ret_usec);
