/* notify.c: talking to systemd (sd_notify): READY, STATUS, STOPPING and watchdog pings. */
#include "notify.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "timeutil.h"

static uint64_t last_ping_usec;

void notify_ready(const char *fmt, ...) {
        char line[512];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        (void) sd_notifyf(0, "READY=1\nSTATUS=%s", line);
}

void notify_status(const char *fmt, ...) {
        char line[512];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        (void) sd_notifyf(0, "STATUS=%s", line);
}

void notify_stopping(void) {
        (void) sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

uint64_t notify_watchdog_interval_usec(void) {
        uint64_t usec = 0;

        /* > 0 only when $WATCHDOG_USEC is set and $WATCHDOG_PID (if set) names this process */
        if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
                return 0;
        return usec / 2 > 0 ? usec / 2 : 1;
}

void notify_watchdog(void) {
        last_ping_usec = time_mono_usec();
        (void) sd_notify(0, "WATCHDOG=1");
}

void notify_watchdog_kick(void) {
        uint64_t interval = notify_watchdog_interval_usec();

        if (interval > 0 && time_mono_usec() - last_ping_usec >= interval)
                notify_watchdog();
}
