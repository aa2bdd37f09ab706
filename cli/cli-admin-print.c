/* cli-admin-print.c: the admin commands' output: the controller's JSON as it came (--json), or
 * tables and records whose columns a spec describes (AdminColumn), never code per resource. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli-admin.h"
#include "json.h"
#include "strbuf.h"
#include "timeutil.h"

int admin_flush(void) {
        return fflush(stdout) == 0 && !ferror(stdout) ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

/* ---- fields ---- */

const cJSON *admin_field(const cJSON *o, const char *path) {
        const char *dot;

        while (o && (dot = strchr(path, '.'))) {
                const cJSON *it;
                cJSON_ArrayForEach(it, o) if (it->string && strlen(it->string) == (size_t) (dot - path) &&
                                              strneq(it->string, path, (size_t) (dot - path))) break;
                o = it;
                path = dot + 1;
        }
        return o ? cJSON_GetObjectItemCaseSensitive(o, path) : NULL;
}

const char *admin_str(const cJSON *o, const char *path) {
        const cJSON *v = admin_field(o, path);
        return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool admin_past(const cJSON *o, const char *path) {
        const char *s = admin_str(o, path);
        uint64_t usec;

        return s && time_parse_rfc3339(s, &usec) >= 0 && usec <= time_real_usec();
}

/* An RFC 3339 string as "2026-11-25T16:29:41Z" (seconds, UTC); as it came when it does not parse. */
static int format_time(StrBuf *b, const char *s) {
        uint64_t usec;
        struct tm tm;
        time_t t;
        char buf[32];

        if (time_parse_rfc3339(s, &usec) < 0)
                return strbuf_puts(b, s);
        t = (time_t) (usec / USEC_PER_SEC);
        if (!gmtime_r(&t, &tm) || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return strbuf_puts(b, s);
        return strbuf_puts(b, buf);
}

/* The strings of an array ("a,b") or of an object ("k=v,k2=v2"); other members are skipped. */
static int format_members(StrBuf *b, const cJSON *v, bool with_keys) {
        const cJSON *it;
        int r = 0;

        cJSON_ArrayForEach(it, v) {
                if (!cJSON_IsString(it) || (with_keys && !it->string))
                        continue;
                if (b->len && (r = strbuf_putc(b, ',')) < 0)
                        return r;
                if (with_keys && (r = strbuf_printf(b, "%s=", it->string)) < 0)
                        return r;
                if ((r = strbuf_puts(b, it->valuestring)) < 0)
                        return r;
        }
        return r;
}

static int format_value(StrBuf *b, const cJSON *v, AdminFormat f) {
        _cleanup_free_ char *text = NULL;

        switch (f) {
        case ADMIN_STRING:
                return cJSON_IsString(v) ? strbuf_puts(b, v->valuestring) : 0;
        case ADMIN_TIME:
                return cJSON_IsString(v) ? format_time(b, v->valuestring) : 0;
        case ADMIN_BOOL:
                return cJSON_IsBool(v) ? strbuf_puts(b, cJSON_IsTrue(v) ? "yes" : "no") : 0;
        case ADMIN_NUMBER:
                if (!cJSON_IsNumber(v))
                        return 0;
                if (v->valuedouble == (double) (long long) v->valuedouble)
                        return strbuf_printf(b, "%lld", (long long) v->valuedouble);
                return strbuf_printf(b, "%g", v->valuedouble);
        case ADMIN_LIST:
                return cJSON_IsArray(v) ? format_members(b, v, false) : 0;
        case ADMIN_MAP:
                return cJSON_IsObject(v) ? format_members(b, v, true) : 0;
        case ADMIN_JSON:
                if (!v || cJSON_IsNull(v) || ((cJSON_IsObject(v) || cJSON_IsArray(v)) && !v->child))
                        return 0;
                if (json_print(v, &text) < 0)
                        return -ENOMEM;
                return strbuf_puts(b, text);
        }
        return -EINVAL;
}

/* Replaces control characters, so that what the controller sends cannot move the terminal's
 * cursor; an empty string becomes missing. Takes s, returns a new string or NULL. */
static char *cell_text(char *s, const char *missing) {
        if (!s)
                return NULL;
        if (!*s) {
                free(s);
                return strdup(missing ?: "-");
        }
        for (char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        *p = '?';
        return s;
}

char *admin_cell(const cJSON *item, const AdminColumn *col) {
        StrBuf b = {};

        if (col->derive)
                return cell_text(col->derive(item), col->missing);
        if (format_value(&b, admin_field(item, col->field), col->format) < 0) {
                strbuf_done(&b);
                return NULL;
        }
        return cell_text(strbuf_take(&b), col->missing);
}

/* ---- tables ---- */

typedef struct Table {
        size_t n_cols, n_cells;
        char **cells; /* row-major; the first row is the header */
} Table;

static void table_done(Table *t) {
        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i]);
        free(t->cells);
        *t = (Table){};
}

/* Appends a row: the headers when item is NULL, else the item's cells. */
static int table_add(Table *t, const AdminColumn *cols, const cJSON *item) {
        char **cells = reallocarray(t->cells, t->n_cells + t->n_cols, sizeof(char *));

        if (!cells)
                return -ENOMEM;
        t->cells = cells;
        for (size_t i = 0; i < t->n_cols; i++) {
                char *c = item ? admin_cell(item, &cols[i]) : strdup(cols[i].header);
                if (!c)
                        return -ENOMEM;
                t->cells[t->n_cells++] = c;
        }
        return 0;
}

/* Columns on a terminal: UTF-8 code points (a fair guess for names and ids). */
static size_t text_width(const char *s) {
        size_t n = 0;
        for (; *s; s++)
                n += ((unsigned char) *s & 0xc0) != 0x80;
        return n;
}

/* Prints the table with columns aligned, two spaces apart; the last column is not padded. */
static int table_print(const Table *t) {
        _cleanup_free_ size_t *width = calloc(t->n_cols, sizeof(size_t));

        if (!width)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_cells; i++)
                width[i % t->n_cols] = MAX(width[i % t->n_cols], text_width(t->cells[i]));
        for (size_t i = 0; i < t->n_cells; i++) {
                size_t col = i % t->n_cols;
                if (col + 1 == t->n_cols)
                        printf("%s\n", t->cells[i]);
                else
                        printf("%s%*s", t->cells[i], (int) (width[col] - text_width(t->cells[i]) + 2), "");
        }
        return 0;
}

/* ---- printers ---- */

int admin_print_raw(const HttpResponse *resp) {
        fwrite(resp->body, 1, resp->body_len, stdout);
        if (resp->body_len == 0 || resp->body[resp->body_len - 1] != '\n')
                putchar('\n');
        return admin_flush();
}

static int odd_answer(const HttpResponse *resp, const char *what) {
        fprintf(stderr, "sluice: unexpected answer from the controller: %s (request %s)\n", what, resp->request_id);
        return CLI_EXIT_SERVER;
}

int admin_print_list(AdminCmd *cmd, const HttpResponse *resp, const AdminColumn *cols, size_t n_cols,
                     const char *what) {
        _cleanup_(table_done) Table t = { .n_cols = n_cols };
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(resp->json, "data"), *it;

        if (cmd->json)
                return admin_print_raw(resp);
        if (!cJSON_IsArray(data))
                return odd_answer(resp, "no \"data\" array");
        if (!data->child) {
                fprintf(stderr, "no %s\n", what);
                return CLI_EXIT_OK;
        }
        if (table_add(&t, cols, NULL) < 0)
                return CLI_EXIT_FAILURE;
        cJSON_ArrayForEach(it, data) if (table_add(&t, cols, it) < 0) return CLI_EXIT_FAILURE;
        if (table_print(&t) < 0)
                return CLI_EXIT_FAILURE;
        return admin_flush();
}

int admin_print_record(AdminCmd *cmd, const HttpResponse *resp, const AdminColumn *cols, size_t n_cols) {
        size_t width = 0;

        if (cmd->json)
                return admin_print_raw(resp);
        for (size_t i = 0; i < n_cols; i++)
                width = MAX(width, text_width(cols[i].header));
        for (size_t i = 0; i < n_cols; i++) {
                _cleanup_free_ char *cell = admin_cell(resp->json, &cols[i]);
                if (!cell)
                        return CLI_EXIT_FAILURE;
                printf("%s%*s%s\n", cols[i].header, (int) (width - text_width(cols[i].header) + 2), "", cell);
        }
        return admin_flush();
}

int admin_print_field(AdminCmd *cmd, const HttpResponse *resp, const char *field) {
        const char *v = admin_str(resp->json, field);

        if (cmd->json)
                return admin_print_raw(resp);
        if (!v) {
                char what[128];
                snprintf(what, sizeof what, "no \"%s\"", field);
                return odd_answer(resp, what);
        }
        printf("%s\n", v);
        return admin_flush();
}

int admin_print_message(AdminCmd *cmd, const HttpResponse *resp, const char *fmt, ...) {
        va_list ap;

        if (cmd->json)
                return admin_print_raw(resp);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        return admin_flush();
}

int admin_fetch(AdminCmd *cmd, HttpResponse *ret) {
        int r = admin_parse(cmd, NULL, NULL);

        if (r != ADMIN_PARSED)
                return r;
        r = admin_call(cmd, NULL, NULL, ret);
        return r == CLI_EXIT_OK ? ADMIN_PARSED : r;
}

int admin_list(AdminCmd *cmd, const AdminColumn *cols, size_t n_cols, const char *what) {
        _cleanup_(http_response_done) HttpResponse resp = {};
        int r;

        r = admin_fetch(cmd, &resp);
        if (r != ADMIN_PARSED)
                return r;
        return admin_print_list(cmd, &resp, cols, n_cols, what);
}
