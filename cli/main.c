/* main.c: the sluice command: global options and the table of verbs. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "macro.h"
#if HAVE_CJSON
#include "cli-policy.h"
#endif

static int verb_version(const CliGlobals *g, int argc, char **argv) {
        (void) g, (void) argc, (void) argv;
        printf("sluice %s\n", SLUICE_VERSION);
        return CLI_EXIT_OK;
}

static const CliVerb verbs[] = {
#if HAVE_ADMIN
        { "admin", cli_admin_main, "admin (node|join-token|deployment|key|job|audit)", "manage the controller (see 'sluice admin --help')" },
#endif
#if HAVE_CJSON
        { "config", cli_config_main, "config (check|show|schemas) ...", "validate and show configuration files" },
#endif
        { "bench", cli_bench_main, "bench -m FILE [--threads N]", "measure prefill/decode speed vs memory bandwidth" },
#if HAVE_CJSON
        { "policy", cli_policy, "policy (scan|check-rules|default-rules|eval) ...", "classify text and check rule sets locally" },
#endif
        { "model", cli_model_main, "model (inspect|mk|pull|convert) ...", "look inside and make GGUF model files" },
        { "run", cli_run_main, "run -m FILE -p TEXT [-n N] ...", "generate text locally (streams)" },
        { "tokenize", cli_tokenize_main, "tokenize -m FILE (--text T | --file F)", "print token ids" },
        { "version", verb_version, "version", "print the version" },
        {},
};

int cli_usage_error(const char *fmt, ...) {
        va_list ap;

        fputs("sluice: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs(" (see 'sluice --help')\n", stderr);
        return CLI_EXIT_USAGE;
}

static void help(FILE *f) {
        fprintf(f, "Usage: sluice [--config FILE] [--json] COMMAND [ARGS...]\n\n"
                   "sluice: hybrid-cloud control plane for private LLM inference.\n\n"
                   "Commands:\n");
        for (const CliVerb *v = verbs; v->name; v++)
                fprintf(f, "  %-34s %s\n", v->usage, v->help);
        fprintf(f, "\nOptions:\n"
                   "  -c, --config FILE   CLI config file (default: $SLUICE_CONFIG, else\n"
                   "                      ~/.config/sluice/cli.json when it exists)\n"
                   "      --json          machine-readable output\n"
                   "  -h, --help          show this help\n"
                   "      --version       show the version\n\n"
                   "Exit codes: 0 success, 1 the command failed, 2 bad usage; 3-9 from the controller's\n"
                   "answers, see 'sluice admin --help' and docs/CLI.md.\n");
}

int cli_dispatch(const CliVerb *table, const char *prefix, const CliGlobals *g, int argc, char **argv) {
        if (argc < 1)
                return cli_usage_error("%s: missing command", prefix);
        for (const CliVerb *v = table; v->name; v++)
                if (streq(v->name, argv[0])) {
                        optind = 0; /* the verb parses its own flags from argv[1] on */
                        return v->func(g, argc, argv);
                }
        return cli_usage_error("%s: unknown command \"%s\"", prefix, argv[0]);
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        CliGlobals g = { .config_path = getenv("SLUICE_CONFIG") };
        int c;

        /* '+': stop at the first non-option, so that verbs parse their own flags */
        while ((c = getopt_long(argc, argv, "+c:h", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        g.config_path = optarg;
                        break;
                case 'j':
                        g.json = true;
                        break;
                case 'h':
                        help(stdout);
                        return CLI_EXIT_OK;
                case 'V':
                        return verb_version(&g, 0, NULL);
                default:
                        return CLI_EXIT_USAGE; /* getopt printed the reason */
                }
        if (optind >= argc) {
                help(stderr);
                return CLI_EXIT_USAGE;
        }
        return cli_dispatch(verbs, "sluice", &g, argc - optind, argv + optind);
}
