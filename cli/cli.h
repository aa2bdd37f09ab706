/* cli.h: what the sluice command's verbs share: global options and exit codes. */
#pragma once

#include <stdbool.h>

/* Exit codes a script can rely on. */
enum {
        CLI_EXIT_OK = 0,
        CLI_EXIT_FAILURE = 1, /* the command ran and failed (invalid file, refused request) */
        CLI_EXIT_USAGE = 2,   /* bad flags or arguments */
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
int cli_model_main(const CliGlobals *g, int argc, char **argv);
int cli_run_main(const CliGlobals *g, int argc, char **argv);
int cli_tokenize_main(const CliGlobals *g, int argc, char **argv);
int cli_convert_main(const CliGlobals *g, int argc, char **argv);
int cli_pull_main(const CliGlobals *g, int argc, char **argv);
int cli_bench_main(const CliGlobals *g, int argc, char **argv);
int cli_admin_main(const CliGlobals *g, int argc, char **argv);
