/* telemetry.c: what a heartbeat reports about the machine: CPU cores and load, memory in use. */
#include "telemetry.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

int telemetry_parse_loadavg(const char *text, double *ret_load1) {
        char *end;
        double v;

        if (!text || !(*text >= '0' && *text <= '9'))
                return -EINVAL;
        errno = 0;
        v = strtod(text, &end);
        if (errno != 0 || end == text || !isfinite(v) || v < 0 || !(*end == ' ' || *end == '\n' || *end == '\0'))
                return -EINVAL;
        *ret_load1 = v;
        return 0;
}

/* Finds "Key:" at the start of a line and parses "<spaces><digits> kB". -ENOENT when absent. */
static int meminfo_field(const char *text, const char *key, uint64_t *ret_bytes) {
        size_t klen = strlen(key);

        for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
                const char *p = line;
                unsigned long long kb;
                char *end;

                if (!strneq(p, key, klen) || p[klen] != ':')
                        continue;
                p += klen + 1;
                while (*p == ' ' || *p == '\t')
                        p++;
                if (!(*p >= '0' && *p <= '9'))
                        return -EINVAL;
                errno = 0;
                kb = strtoull(p, &end, 10);
                if (errno == ERANGE)
                        return -ERANGE;
                if (!strneq(end, " kB", 3) || !(end[3] == '\n' || end[3] == '\0'))
                        return -EINVAL;
                if (kb > UINT64_MAX / 1024)
                        return -ERANGE;
                *ret_bytes = (uint64_t) kb * 1024;
                return 0;
        }
        return -ENOENT;
}

int telemetry_parse_meminfo(const char *text, uint64_t *ret_total, uint64_t *ret_used) {
        uint64_t total, avail;
        int r;

        if (!text)
                return -EINVAL;
        r = meminfo_field(text, "MemTotal", &total);
        if (r < 0)
                return r == -ENOENT ? -EINVAL : r;
        r = meminfo_field(text, "MemAvailable", &avail);
        if (r == -ENOENT) {
                /* kernels before 3.14: approximate what MemAvailable would say */
                uint64_t free_b, buffers = 0, cached = 0;

                r = meminfo_field(text, "MemFree", &free_b);
                if (r < 0)
                        return r == -ENOENT ? -EINVAL : r;
                r = meminfo_field(text, "Buffers", &buffers);
                if (r < 0 && r != -ENOENT)
                        return r;
                r = meminfo_field(text, "Cached", &cached);
                if (r < 0 && r != -ENOENT)
                        return r;
                if (__builtin_add_overflow(free_b, buffers, &avail) || __builtin_add_overflow(avail, cached, &avail))
                        return -ERANGE;
        } else if (r < 0)
                return r;
        *ret_total = total;
        *ret_used = avail < total ? total - avail : 0;
        return 0;
}

void telemetry_read(Telemetry *ret) {
        _cleanup_free_ char *loadavg = NULL, *meminfo = NULL;
        Telemetry t = {};
        size_t size;
        long n;

        n = sysconf(_SC_NPROCESSORS_ONLN);
        if (n > 0 && n <= UINT32_MAX)
                t.cores = (unsigned) n;
        if (file_read_all("/proc/loadavg", TELEMETRY_PROC_MAX, &loadavg, &size) >= 0)
                t.have_load = telemetry_parse_loadavg(loadavg, &t.load1) >= 0;
        if (file_read_all("/proc/meminfo", TELEMETRY_PROC_MAX, &meminfo, &size) >= 0)
                t.have_memory = telemetry_parse_meminfo(meminfo, &t.memory_total, &t.memory_used) >= 0;
        *ret = t;
}
