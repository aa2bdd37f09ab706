/* cli-admin.h: what the `sluice admin` commands share. Each command is one AdminVerb: the
 * endpoint it calls (its {params} are the command's arguments), its options and help, and a run
 * function. The run function parses its own options with admin_parse(), calls the controller with
 * admin_call() (failures become the exit codes of cli.h, printed in one line), and prints the
 * answer with the printers below, which take a column spec rather than code per resource. */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "http-client.h"

#define ADMIN_PARSED (-1) /* admin_parse(): go on with the command */

typedef struct AdminCmd AdminCmd;

typedef struct AdminVerb {
        const char *name;             /* "create"; NULL: the group itself is the command ("audit") */
        const char *method;           /* the endpoint the command calls... */
        const char *path;             /* ...its {params} are the command's arguments, in order */
        const char *synopsis;         /* the options, for the usage line ("--name NAME [--ttl 1h]") */
        const char *summary;          /* one line */
        const char *help;             /* what --help says besides the usage line */
        const struct option *options; /* the command's own options besides --json and --help; may be NULL */
        int (*run)(AdminCmd *cmd);
        const char *operands; /* arguments after the path's {params} ("FILE"); may be NULL */
} AdminVerb;

typedef struct AdminGroup {
        const char *name;       /* "key" */
        const char *summary;    /* "API keys" */
        const AdminVerb *verbs; /* ends with an entry whose run is NULL */
} AdminGroup;

extern const AdminGroup admin_group_join_tokens, admin_group_keys, admin_group_nodes, admin_group_deployments,
        admin_group_jobs, admin_group_audit, admin_group_rules, admin_group_route;

struct AdminCmd {
        const AdminVerb *verb;
        const char *title; /* "admin key create", for messages */
        const CliGlobals *g;
        bool json; /* --json, before or after the command, or "output": "json" in the config */
        int argc;
        char **argv; /* argv[0] is the command's name */
        char **args; /* after admin_parse(): the arguments, one per {param} of the path, then the operands */
        size_t n_args;
        HttpClient *client; /* opened by the first request, reused by the next (job submit --wait) */
};

/* Frees what a command opened. */
void admin_cmd_done(AdminCmd *cmd);

/* ---- options ---- */

/* Called for each of the verb's own options; returns 0, or an exit code (admin_usage_error). */
typedef int (*AdminOptionFunc)(AdminCmd *cmd, int opt, const char *arg, void *userdata);

/* Parses argv with the verb's options plus --json and --help: --help prints the verb's help and
 * returns CLI_EXIT_OK; an unknown option, a missing value or the wrong number of arguments is a
 * usage error (CLI_EXIT_USAGE, one line); otherwise returns ADMIN_PARSED with cmd->args set. */
int admin_parse(AdminCmd *cmd, AdminOptionFunc option, void *userdata);
/* "sluice: admin key create: <message> (see 'sluice admin key create --help')"; CLI_EXIT_USAGE. */
int admin_usage_error(const AdminCmd *cmd, const char *fmt, ...) _printf_(2, 3);
/* The {params} of a path, uppercased and space-separated ("/api/v1/keys/{id}" -> "ID"), for usage lines. */
void admin_path_params(const char *path, char *buf, size_t bufsz);
/* The arguments a verb takes: its path's {params}, then its operands ("ID FILE"). */
void admin_verb_args(const AdminVerb *v, char *buf, size_t bufsz);
/* Option values: a duration ("30m") of more than zero; an integer within [min, max]. */
bool admin_parse_duration(const char *s, uint64_t *ret_usec);
bool admin_parse_int(const char *s, long long min, long long max, long long *ret);

/* ---- requests ---- */

/* Sends the verb's own request (its method, its path with the arguments escaped into it, then
 * query when not NULL) with body as JSON when not NULL. Returns CLI_EXIT_OK with the answer in
 * *ret (free with http_response_done, which is also safe after a failure), or the exit code of the
 * failure, after one line on stderr; with --json, an error object the controller answered is also
 * printed to stdout, as it came. */
int admin_call(AdminCmd *cmd, const char *query, const cJSON *body, HttpResponse *ret);
/* The same for any endpoint: path_template's {params} are filled from args, in order. */
int admin_request(AdminCmd *cmd, const char *method, const char *path_template, char *const *args, const cJSON *body,
                  HttpResponse *ret);
/* The exit code of a failed http_client_request() (see cli.h). */
int admin_exit_code(int r, const HttpResponse *resp);

/* ---- output ---- */

typedef enum AdminFormat {
        ADMIN_STRING,
        ADMIN_TIME,   /* RFC 3339 shown to the second, UTC */
        ADMIN_BOOL,   /* yes / no */
        ADMIN_NUMBER, /* an integer, else %g */
        ADMIN_LIST,   /* an array of strings: "a,b" */
        ADMIN_MAP,    /* an object of strings: "k=v,k2=v2" */
        ADMIN_JSON,   /* compact JSON; an empty object or array shows as missing */
} AdminFormat;

typedef struct AdminColumn {
        const char *header; /* "CREATED" */
        const char *field;  /* a dotted path below the item ("output.usage.total_tokens") */
        AdminFormat format;
        const char *missing;                /* shown when the field is absent, null or empty; NULL: "-" */
        char *(*derive)(const cJSON *item); /* instead of field: a value computed from the item (a new string) */
} AdminColumn;

/* The value at a dotted path below o, or NULL. */
const cJSON *admin_field(const cJSON *o, const char *path);
/* A string at a dotted path, or NULL when it is absent or not a string. */
const char *admin_str(const cJSON *o, const char *path);
/* Whether the RFC 3339 string at path lies in the past. */
bool admin_past(const cJSON *o, const char *path);
/* One cell as text (a new string; control characters replaced), or NULL on out of memory. */
char *admin_cell(const cJSON *item, const AdminColumn *col);

/* --json: the controller's answer exactly as it came. Otherwise nothing. Returns the exit code. */
int admin_print_raw(const HttpResponse *resp);
/* A list answer ({"data": [...]}): with --json as it came, else a table of cols, or "no WHAT" on
 * stderr when it is empty. */
int admin_print_list(AdminCmd *cmd, const HttpResponse *resp, const AdminColumn *cols, size_t n_cols,
                     const char *what);
/* A command without options or body: admin_parse(), then admin_call(). ADMIN_PARSED when the call
 * succeeded and *ret holds the answer (go on and print it); else the exit code to return (--help
 * printed, a usage error, a failed call). */
int admin_fetch(AdminCmd *cmd, HttpResponse *ret);
/* The whole of a list command without options: parse, call, admin_print_list(). */
int admin_list(AdminCmd *cmd, const AdminColumn *cols, size_t n_cols, const char *what);
/* One object: with --json as it came, else one "FIELD  value" line per column. */
int admin_print_record(AdminCmd *cmd, const HttpResponse *resp, const AdminColumn *cols, size_t n_cols);
/* What a create prints: with --json the whole answer, else the string field alone on stdout (the
 * new secret or id, for $(...)); a missing field is an odd answer (CLI_EXIT_SERVER). */
int admin_print_field(AdminCmd *cmd, const HttpResponse *resp, const char *field);
/* What a change prints: with --json the controller's answer, else the message, one line. */
int admin_print_message(AdminCmd *cmd, const HttpResponse *resp, const char *fmt, ...) _printf_(3, 4);
/* Flushes stdout: CLI_EXIT_OK, or CLI_EXIT_FAILURE when it cannot be written. */
int admin_flush(void);
