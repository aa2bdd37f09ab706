/* cli-config.c: `sluice config check|show|schemas`: validate config files against schemas/. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "json.h"
#include "schemas.h"

#define CLI_DEFAULT_CONFIG "/.config/sluice/cli.json"

/* `config check [--schema NAME] FILE...`: each file against NAME (default config/cli). */
static int verb_check(const CliGlobals *g, int argc, char **argv) {
        static const struct option options[] = { { "schema", required_argument, NULL, 's' }, {} };
        const char *schema = "config/cli";
        int c, failed = 0;

        while ((c = getopt_long(argc, argv, "s:", options, NULL)) >= 0)
                if (c == 's')
                        schema = optarg;
                else
                        return CLI_EXIT_USAGE;
        if (optind >= argc)
                return cli_usage_error("config check: missing FILE");
        if (!schemas_find(schema))
                return cli_usage_error("config check: no built-in schema \"%s\" ('sluice config schemas' lists them)",
                                       schema);
        for (int i = optind; i < argc; i++) {
                _cleanup_json_ cJSON *doc = NULL;
                char err[1024];

                if (config_load(argv[i], schema, &doc, err, sizeof err) < 0) {
                        fprintf(stderr, "%s\n", err);
                        failed++;
                } else if (!g->json)
                        printf("%s: ok (%s)\n", argv[i], schema);
        }
        return failed ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}

int cli_config_load(const CliGlobals *g, cJSON **ret, char *err, size_t errsz) {
        _cleanup_free_ char *home_path = NULL;
        const char *home = getenv("HOME");

        if (g->config_path)
                return config_load(g->config_path, "config/cli", ret, err, errsz);
        if (home && asprintf(&home_path, "%s%s", home, CLI_DEFAULT_CONFIG) >= 0 && access(home_path, F_OK) == 0)
                return config_load(home_path, "config/cli", ret, err, errsz);
        return config_load_text("(defaults)", "{}", 2, "config/cli", ret, err, errsz);
}

static int verb_show(const CliGlobals *g, int argc, char **argv) {
        _cleanup_json_ cJSON *doc = NULL;
        _cleanup_free_ char *text = NULL;
        char err[1024];

        (void) argv;
        if (argc > 1)
                return cli_usage_error("config show: takes no arguments");
        if (cli_config_load(g, &doc, err, sizeof err) < 0) {
                fprintf(stderr, "sluice: %s\n", err);
                return CLI_EXIT_FAILURE;
        }
        text = cJSON_Print(doc);
        if (!text)
                return CLI_EXIT_FAILURE;
        printf("%s\n", text);
        return CLI_EXIT_OK;
}

static int verb_schemas(const CliGlobals *g, int argc, char **argv) {
        (void) g, (void) argv;
        if (argc > 1)
                return cli_usage_error("config schemas: takes no arguments");
        for (size_t i = 0; schemas_name(i); i++)
                printf("%s\n", schemas_name(i));
        return CLI_EXIT_OK;
}

int cli_config_main(const CliGlobals *g, int argc, char **argv) {
        static const CliVerb verbs[] = {
                { "check", verb_check, "check [--schema NAME] FILE...", "validate files" },
                { "show", verb_show, "show", "print the effective CLI config" },
                { "schemas", verb_schemas, "schemas", "list built-in schemas" },
                {},
        };
        return cli_dispatch(verbs, "config", g, argc - 1, argv + 1);
}
