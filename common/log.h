/* log.h: structured logging for the daemons: JSON lines on stderr, or journald fields under systemd. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

#include "macro.h"

typedef enum LogTarget {
        LOG_TARGET_AUTO,    /* journald when stderr is connected to the journal, else stderr */
        LOG_TARGET_STDERR,  /* one JSON object per line */
        LOG_TARGET_JOURNAL, /* sd_journal_sendv(), fields upper-cased; needs libsystemd */
} LogTarget;

typedef enum LogFieldType {
        LOG_FIELD_STR,
        LOG_FIELD_INT,
        LOG_FIELD_BOOL,
} LogFieldType;

typedef struct LogField {
        const char *key; /* [a-z0-9_.]; becomes KEY in journald */
        LogFieldType type;
        const char *s;
        int64_t i;
} LogField;

#define LOG_STR(k, v) ((LogField){ .key = (k), .type = LOG_FIELD_STR, .s = (v) })
#define LOG_INT(k, v) ((LogField){ .key = (k), .type = LOG_FIELD_INT, .i = (int64_t) (v) })
#define LOG_BOOL(k, v) ((LogField){ .key = (k), .type = LOG_FIELD_BOOL, .i = !!(v) })
/* Expands to "array, count" for log_with(). */
#define LOG_FIELDS(...)                                                                                \
        ((const LogField[]){ __VA_ARGS__ }),                                                           \
                (sizeof((const LogField[]){ __VA_ARGS__ }) / sizeof(LogField))

/* Sets the service name written with every line (default "sluice"); the string must outlive logging. */
void log_set_ident(const char *ident);
/* Messages above this syslog priority are dropped (default LOG_INFO). */
void log_set_max_level(int level);
int log_get_max_level(void);
/* Chooses where lines go. AUTO is resolved with log_target_detect(). */
void log_set_target(LogTarget target);
/* Where stderr-target lines are written (default 2); for tests and for --log-file. */
void log_set_fd(int fd);
/* JOURNAL when $JOURNAL_STREAM names the device:inode of stderr and libsystemd is built in. */
LogTarget log_target_detect(void);

/* "debug", "info", "notice", "warning", "error", "crit" <-> LOG_DEBUG..LOG_CRIT. -EINVAL on others. */
int log_level_from_string(const char *s, int *ret);
const char *log_level_to_string(int level);

#define LOG_FIELDS_MAX 32 /* fields one line may carry */

/* Sets the request id that every line of this thread carries as "request_id" (unless the line
 * names one itself) until it is set again; NULL clears it. Returns the previous one. The string
 * must outlive the setting. */
const char *log_set_request_id(const char *id);

/* Logs one message with extra fields. error, when nonzero, is an errno (sign ignored) added as the
 * fields "errno" and "error". Returns -abs(error), so `return log_with_errno(...)` propagates it. */
int log_internal(int level, int error, const LogField *fields, size_t n_fields, const char *fmt, ...)
        _printf_(5, 6);

/* Formats the JSON line log_internal() would write (without newline) into a new string. For tests
 * and for callers that ship lines elsewhere. Returns 0 or -ENOMEM. */
int log_format_json(int level, int error, const LogField *fields, size_t n_fields, const char *msg,
                    char **ret);

#define log_with(level, fields, ...) log_internal(level, 0, fields, __VA_ARGS__)
#define log_full(level, ...) log_internal(level, 0, NULL, 0, __VA_ARGS__)
#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)
#define log_error_errno(error, ...) log_internal(LOG_ERR, (error), NULL, 0, __VA_ARGS__)
#define log_warning_errno(error, ...) log_internal(LOG_WARNING, (error), NULL, 0, __VA_ARGS__)
