/* telemetry.h: what a heartbeat reports about the machine: CPU cores and load, memory in use. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define TELEMETRY_PROC_MAX ((size_t) 64 * 1024) /* /proc files read at most this much */

typedef struct Telemetry {
        unsigned cores; /* online CPUs; 0 when unknown */
        bool have_load;
        double load1; /* 1-minute load average */
        bool have_memory;
        uint64_t memory_total; /* bytes */
        uint64_t memory_used;  /* bytes: total less what is available */
} Telemetry;

/* Parses the text of /proc/loadavg ("0.52 0.58 0.59 1/977 12345"): the first field, a finite
 * non-negative number. Returns 0 or -EINVAL; *ret_load1 is written only on success. */
int telemetry_parse_loadavg(const char *text, double *ret_load1);

/* Parses the text of /proc/meminfo: MemTotal, and MemAvailable (or, on kernels before 3.14,
 * MemFree + Buffers + Cached) in kB. Returns 0, -EINVAL when MemTotal or every "available" field is
 * missing or malformed, or -ERANGE when a value does not fit in bytes. Used is total less
 * available, never below 0. Results are written only on success. */
int telemetry_parse_meminfo(const char *text, uint64_t *ret_total, uint64_t *ret_used);

/* Fills *ret from sysconf() and /proc. What cannot be read is left out (have_* false, cores 0);
 * never fails. */
void telemetry_read(Telemetry *ret);
