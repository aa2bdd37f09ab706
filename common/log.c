/* log.c: JSON-lines and journald logging; the daemons' only way to speak to operators. */
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "build-config.h" /* HAVE_LIBSYSTEMD */
#include "strbuf.h"
#include "timeutil.h"

#if HAVE_LIBSYSTEMD
#include <systemd/sd-journal.h>
#endif

#define LOG_FIELDS_MAX 32
#define LOG_MESSAGE_MAX 4096

static const char *log_ident = "sluice";
static int log_max_level = LOG_INFO;
static LogTarget log_target = LOG_TARGET_AUTO;
static int log_fd = STDERR_FILENO;

static const char *const level_names[] = {
        [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",  [LOG_ERR] = "error",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

void log_set_ident(const char *ident) {
        log_ident = ident ? ident : "sluice";
}

void log_set_max_level(int level) {
        log_max_level = level;
}

int log_get_max_level(void) {
        return log_max_level;
}

void log_set_target(LogTarget target) {
        log_target = target;
}

void log_set_fd(int fd) {
        log_fd = fd;
}

int log_level_from_string(const char *s, int *ret) {
        for (int i = LOG_CRIT; i <= LOG_DEBUG; i++)
                if (s && streq(s, level_names[i])) {
                        *ret = i;
                        return 0;
                }
        return -EINVAL;
}

const char *log_level_to_string(int level) {
        if (level < LOG_EMERG || level > LOG_DEBUG)
                return "unknown";
        return level_names[level];
}

LogTarget log_target_detect(void) {
#if HAVE_LIBSYSTEMD
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
            (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino)
                return LOG_TARGET_JOURNAL;
#endif
        return LOG_TARGET_STDERR;
}

static int json_put_field(StrBuf *b, const LogField *f) {
        int r = strbuf_putc(b, ',');

        if (r >= 0)
                r = strbuf_put_json_string(b, f->key, strlen(f->key));
        if (r >= 0)
                r = strbuf_putc(b, ':');
        if (r < 0)
                return r;
        switch (f->type) {
        case LOG_FIELD_INT:
                return strbuf_printf(b, "%" PRId64, f->i);
        case LOG_FIELD_BOOL:
                return strbuf_puts(b, f->i ? "true" : "false");
        case LOG_FIELD_STR:
        default:
                return f->s ? strbuf_put_json_string(b, f->s, strlen(f->s)) : strbuf_puts(b, "null");
        }
}

int log_format_json(int level, int error, const LogField *fields, size_t n_fields, const char *msg,
                    char **ret) {
        StrBuf b = { .limit = LOG_MESSAGE_MAX * 8 };
        char ts[TIME_RFC3339_MAX];
        int r;

        r = strbuf_printf(&b, "{\"@timestamp\":\"%s\",\"log.level\":\"%s\",\"service.name\":",
                          time_format_rfc3339(time_real_usec(), ts), log_level_to_string(level));
        if (r >= 0)
                r = strbuf_put_json_string(&b, log_ident, strlen(log_ident));
        if (r >= 0)
                r = strbuf_puts(&b, ",\"message\":");
        if (r >= 0)
                r = strbuf_put_json_string(&b, msg, strlen(msg));
        if (r >= 0 && error)
                r = strbuf_printf(&b, ",\"errno\":\"%s\",\"error\":\"%s\"",
                                  strerrorname_np(abs(error)) ?: "unknown", strerrordesc_np(abs(error)) ?: "unknown error");
        for (size_t i = 0; r >= 0 && i < n_fields; i++)
                r = json_put_field(&b, &fields[i]);
        if (r >= 0)
                r = strbuf_putc(&b, '}');
        if (r < 0) {
                strbuf_done(&b);
                return r;
        }
        *ret = strbuf_take(&b);
        return *ret ? 0 : -ENOMEM;
}

static void write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return;
                p += k;
                n -= (size_t) k;
        }
}

static void log_to_stderr(int level, int error, const LogField *fields, size_t n, const char *msg) {
        _cleanup_free_ char *line = NULL;

        if (log_format_json(level, error, fields, n, msg, &line) < 0) {
                /* out of memory: still say something */
                write_all(log_fd, msg, strlen(msg));
                write_all(log_fd, "\n", 1);
                return;
        }
        /* one write per line so that concurrent writers do not interleave within a line */
        size_t len = strlen(line);
        line[len] = '\n';
        write_all(log_fd, line, len + 1);
        line[len] = '\0';
}

#if HAVE_LIBSYSTEMD
/* "request_id" -> "REQUEST_ID="; journald accepts only [A-Z0-9_] and no leading underscore. */
static int journal_key(StrBuf *b, const char *key) {
        int r = 0;

        if (*key == '_' || isdigit((unsigned char) *key))
                r = strbuf_putc(b, 'X');
        for (const char *k = key; r >= 0 && *k; k++)
                r = strbuf_putc(b, isalnum((unsigned char) *k) ? (char) toupper((unsigned char) *k) : '_');
        return r < 0 ? r : strbuf_putc(b, '=');
}

static int journal_field(const LogField *f, char **ret) {
        StrBuf b = STRBUF_INIT;
        int r = journal_key(&b, f->key);

        if (r >= 0) {
                if (f->type == LOG_FIELD_STR)
                        r = strbuf_puts(&b, f->s ? f->s : "");
                else if (f->type == LOG_FIELD_BOOL)
                        r = strbuf_puts(&b, f->i ? "true" : "false");
                else
                        r = strbuf_printf(&b, "%" PRId64, f->i);
        }
        if (r < 0) {
                strbuf_done(&b);
                return r;
        }
        *ret = strbuf_take(&b);
        return 0;
}

static void log_to_journal(int level, int error, const LogField *fields, size_t n, const char *msg) {
        char *owned[LOG_FIELDS_MAX + 4] = {};
        struct iovec iov[LOG_FIELDS_MAX + 4];
        size_t k = 0;

        n = MIN(n, (size_t) LOG_FIELDS_MAX);
        if (asprintf(&owned[k++], "MESSAGE=%s", msg) < 0 || asprintf(&owned[k++], "PRIORITY=%d", level) < 0 ||
            asprintf(&owned[k++], "SYSLOG_IDENTIFIER=%s", log_ident) < 0 ||
            (error && asprintf(&owned[k++], "ERRNO=%d", abs(error)) < 0))
                goto out;
        for (size_t i = 0; i < n; i++)
                if (journal_field(&fields[i], &owned[k++]) < 0)
                        goto out;
        for (size_t i = 0; i < k; i++)
                iov[i] = (struct iovec){ owned[i], strlen(owned[i]) };
        (void) sd_journal_sendv(iov, (int) k);
out:
        for (size_t i = 0; i < k; i++)
                free(owned[i]);
}
#endif

static _Thread_local const char *log_request_id;

const char *log_set_request_id(const char *id) {
        const char *old = log_request_id;
        log_request_id = id;
        return old;
}

static bool has_field(const LogField *fields, size_t n, const char *key) {
        for (size_t i = 0; i < n; i++)
                if (streq(fields[i].key, key))
                        return true;
        return false;
}

int log_internal(int level, int error, const LogField *fields, size_t n_fields, const char *fmt, ...) {
        char msg[LOG_MESSAGE_MAX];
        int saved_errno = errno;
        LogField with_id[LOG_FIELDS_MAX + 1];
        va_list ap;

        if (level > log_max_level)
                return -abs(error);
        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        /* the request being handled names itself in every line logged meanwhile */
        if (log_request_id && n_fields < LOG_FIELDS_MAX && !has_field(fields, n_fields, "request_id")) {
                for (size_t i = 0; i < n_fields; i++)
                        with_id[i] = fields[i];
                with_id[n_fields++] = LOG_STR("request_id", log_request_id);
                fields = with_id;
        }
        if (log_target == LOG_TARGET_AUTO)
                log_target = log_target_detect();
#if HAVE_LIBSYSTEMD
        if (log_target == LOG_TARGET_JOURNAL)
                log_to_journal(level, error, fields, n_fields, msg);
        else
#endif
                log_to_stderr(level, error, fields, n_fields, msg);
        errno = saved_errno;
        return -abs(error);
}
