/* notify.h: talking to systemd (sd_notify): READY, STATUS, STOPPING and watchdog pings. Each is a
 * no-op when the agent does not run under a Type=notify unit ($NOTIFY_SOCKET unset). */
#pragma once

#include <stdint.h>

#include "macro.h"

/* READY=1 with a STATUS=<formatted line>. */
void notify_ready(const char *fmt, ...) _printf_(1, 2);
/* STATUS=<formatted line>, shown by systemctl status. */
void notify_status(const char *fmt, ...) _printf_(1, 2);
/* STOPPING=1. */
void notify_stopping(void);

/* The interval at which to ping the watchdog: half of $WATCHDOG_USEC when systemd set one for this
 * process, else 0. */
uint64_t notify_watchdog_interval_usec(void);
/* WATCHDOG=1 now. */
void notify_watchdog(void);
/* WATCHDOG=1 if the last ping is at least an interval old: for long blocking steps outside the
 * event loop (enrollment), which call it as they make progress. */
void notify_watchdog_kick(void);
