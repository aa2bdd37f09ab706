/* cli.h: what the sluice command's verbs share: global options and exit codes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Exit codes a script can rely on, the same for every command (docs/CLI.md). 3-9 come from the
 * commands that call the controller (sluice admin ...). */
enum {
        CLI_EXIT_OK = 0,
        CLI_EXIT_FAILURE = 1,     /* failed here: a bad file, config or key file, out of memory */
        CLI_EXIT_USAGE = 2,       /* bad flags or arguments */
        CLI_EXIT_DENIED = 3,      /* the controller refused the credentials: 401, 403 */
        CLI_EXIT_NOT_FOUND = 4,   /* 404: no such node, key, deployment or job */
        CLI_EXIT_CONFLICT = 5,    /* 409: exists already, or not in a state for it (a job that ended) */
        CLI_EXIT_REFUSED = 6,     /* any other 4xx: an invalid request (400), too large (413), a limit (429) */
        CLI_EXIT_SERVER = 7,      /* 5xx, or an answer that is not what the API promises */
        CLI_EXIT_UNREACHABLE = 8, /* no answer: cannot connect, TLS or certificate check failed, timeout */
        CLI_EXIT_JOB_FAILED = 9,  /* job submit --wait: the job failed, was cancelled, or outlived --wait-timeout */
};

typedef struct CliGlobals {
        const char *config_path; /* --config, $SLUICE_CONFIG, or NULL for the default location */
        bool json;               /* --json: machine-readable output */
} CliGlobals;

typedef int (*CliVerbFunc)(const CliGlobals *g, int argc, char **argv);

typedef struct CliVerb {
        const char *name;
        CliVerbFunc func;
        const char *usage;
        const char *help;
} CliVerb;

/* Runs the verb named by argv[0] from the table; prints usage on unknown names. */
int cli_dispatch(const CliVerb *verbs, const char *prefix, const CliGlobals *g, int argc, char **argv);
/* Prints "sluice: " + message to stderr and returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cli_config_main(const CliGlobals *g, int argc, char **argv);
/* The CLI's own config (config/cli schema, defaults filled in): --config / $SLUICE_CONFIG, else
 * ~/.config/sluice/cli.json when it exists, else the defaults only. */
typedef struct cJSON cJSON;
int cli_config_load(const CliGlobals *g, cJSON **ret, char *err, size_t errsz);
int cli_model_main(const CliGlobals *g, int argc, char **argv);
int cli_run_main(const CliGlobals *g, int argc, char **argv);
int cli_tokenize_main(const CliGlobals *g, int argc, char **argv);
int cli_convert_main(const CliGlobals *g, int argc, char **argv);
int cli_pull_main(const CliGlobals *g, int argc, char **argv);
int cli_bench_main(const CliGlobals *g, int argc, char **argv);
int cli_admin_main(const CliGlobals *g, int argc, char **argv);
