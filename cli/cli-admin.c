/* cli-admin.c: `sluice admin ...`: the table of command groups, help, dispatch, and
 * --list-endpoints (which endpoint of the controller each command calls). The commands live in
 * cli-admin-<resource>.c; what they share in cli-admin-session.c and cli-admin-print.c. */
#include "cli-admin.h"

#include <stdio.h>
#include <string.h>

#include "json.h"

static const AdminGroup *const groups[] = {
        &admin_group_nodes, &admin_group_join_tokens, &admin_group_deployments, &admin_group_keys,
        &admin_group_jobs,  &admin_group_audit,       &admin_group_rules, &admin_group_route,
};

/* "admin key create" or "admin audit". */
static void verb_title(const AdminGroup *grp, const AdminVerb *v, char *buf, size_t bufsz) {
        snprintf(buf, bufsz, "admin %s%s%s", grp->name, v->name ? " " : "", v->name ?: "");
}

/* "admin key revoke ID": the title, then the arguments the path names. */
static void verb_usage(const AdminGroup *grp, const AdminVerb *v, FILE *f) {
        char title[128], params[256];

        verb_title(grp, v, title, sizeof title);
        admin_verb_args(v, params, sizeof params);
        fprintf(f, "%s%s%s%s%s", title, *v->synopsis ? " " : "", v->synopsis, *params ? " " : "", params);
}

static void group_list(const AdminGroup *grp, FILE *f) {
        for (const AdminVerb *v = grp->verbs; v->run; v++) {
                fputs("  ", f);
                verb_usage(grp, v, f);
                fprintf(f, "\n      %s\n", v->summary);
        }
}

static void admin_help(FILE *f) {
        fprintf(f, "Usage: sluice [--config FILE] [--json] admin COMMAND [ARGS...]\n\n"
                   "Manages the controller over its API (https://CONTROLLER/api/v1/... and /v1/jobs).\n\n"
                   "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(groups); i++)
                group_list(groups[i], f);
        fprintf(f, "  --list-endpoints\n      the controller's endpoints each command calls\n");
        fprintf(f, "\nConnection: the CLI config file (--config, $SLUICE_CONFIG, else ~/.config/sluice/cli.json);\n"
                   "these environment variables, when set, override it:\n"
                   "  controller_url  SLUICE_CONTROLLER_URL  the controller's API (default https://127.0.0.1:8443)\n"
                   "  api_key_file    SLUICE_API_KEY_FILE    file holding the API key, mode 600; the controller\n"
                   "                                         writes its first admin key to DATA_DIR/admin.key\n"
                   "  ca_file         SLUICE_CA_FILE         the controller's CA certificate, DATA_DIR/ca.pem\n"
                   "                                         (default: the system's CAs)\n"
                   "  timeout_ms                             limit for one request (default 30000)\n"
                   "\nOutput: tables and messages on stdout, errors on stderr (one line). A command that creates\n"
                   "something prints its secret or id alone on stdout, the details on stderr.\n"
                   "--json (before or after the command, or \"output\": \"json\" in the config) prints the\n"
                   "controller's answer as it came; when the controller refuses, its error object\n"
                   "({\"error\": {...}}) goes to stdout too. Each command takes --json and --help.\n"
                   "\nExit codes, the same for every command:\n"
                   "  0  success\n"
                   "  1  failed here: the config, the key file or the CA file, out of memory\n"
                   "  2  usage: bad flags or arguments\n"
                   "  3  the controller refused the credentials (401: unknown, expired or revoked key;\n"
                   "     403: the key's role may not do this)\n"
                   "  4  not found (404): no such node, key, deployment or job\n"
                   "  5  conflict (409): it exists already, or is not in a state for it\n"
                   "  6  refused otherwise (400 invalid, 413 too large, 429 over a limit, any other 4xx)\n"
                   "  7  the controller failed (5xx), or answered something the API does not promise\n"
                   "  8  no answer: cannot connect, TLS or certificate check failed, timeout\n"
                   "  9  job submit --wait: the job failed, was cancelled, or outlived --wait-timeout\n");
}

/* --list-endpoints [--json]: METHOD PATH COMMAND for each command. */
static int list_endpoints(const CliGlobals *g, int argc, char **argv) {
        _cleanup_json_ cJSON *arr = NULL;
        _cleanup_free_ char *text = NULL;
        bool json = g->json;

        for (int i = 2; i < argc; i++) {
                if (!streq(argv[i], "--json"))
                        return cli_usage_error("admin --list-endpoints: unexpected argument \"%s\"", argv[i]);
                json = true;
        }
        arr = cJSON_CreateArray();
        if (!arr)
                return CLI_EXIT_FAILURE;
        for (size_t i = 0; i < ELEMENTSOF(groups); i++)
                for (const AdminVerb *v = groups[i]->verbs; v->run; v++) {
                        char title[128];
                        verb_title(groups[i], v, title, sizeof title);
                        if (!json) {
                                printf("%-7s %-32s sluice %s\n", v->method, v->path, title);
                                continue;
                        }
                        cJSON *o = cJSON_CreateObject();
                        if (!o || !cJSON_AddItemToArray(arr, o) || !cJSON_AddStringToObject(o, "method", v->method) ||
                            !cJSON_AddStringToObject(o, "path", v->path) ||
                            !cJSON_AddStringToObject(o, "command", title))
                                return CLI_EXIT_FAILURE;
                }
        if (json) {
                if (json_print(arr, &text) < 0)
                        return CLI_EXIT_FAILURE;
                printf("%s\n", text);
        }
        return admin_flush();
}

static int run_verb(const AdminGroup *grp, const AdminVerb *v, const CliGlobals *g, int argc, char **argv) {
        char title[128];
        AdminCmd cmd = { .verb = v, .title = title, .g = g, .json = g->json, .argc = argc, .argv = argv };
        int r;

        verb_title(grp, v, title, sizeof title);
        r = v->run(&cmd);
        admin_cmd_done(&cmd);
        return r;
}

/* argv: GROUP [VERB] [ARGS...]. */
static int run_group(const AdminGroup *grp, const CliGlobals *g, int argc, char **argv) {
        if (!grp->verbs[0].name) /* the group is the command: "admin audit --limit 5" */
                return run_verb(grp, &grp->verbs[0], g, argc, argv);
        if (argc < 2) {
                fprintf(stderr, "sluice: admin %s: missing command (", grp->name);
                for (const AdminVerb *v = grp->verbs; v->run; v++)
                        fprintf(stderr, "%s%s", v == grp->verbs ? "" : ", ", v->name);
                fprintf(stderr, "; see 'sluice admin %s --help')\n", grp->name);
                return CLI_EXIT_USAGE;
        }
        if (streq(argv[1], "--help") || streq(argv[1], "-h")) {
                printf("Usage: sluice [--json] admin %s COMMAND [ARGS...]\n\n%s:\n", grp->name, grp->summary);
                group_list(grp, stdout);
                return admin_flush();
        }
        for (const AdminVerb *v = grp->verbs; v->run; v++)
                if (streq(v->name, argv[1]))
                        return run_verb(grp, v, g, argc - 1, argv + 1);
        return cli_usage_error("admin %s: unknown command \"%s\"", grp->name, argv[1]);
}

int cli_admin_main(const CliGlobals *g, int argc, char **argv) {
        if (argc < 2) {
                admin_help(stderr);
                return CLI_EXIT_USAGE;
        }
        if (streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
                admin_help(stdout);
                return admin_flush();
        }
        if (streq(argv[1], "--list-endpoints"))
                return list_endpoints(g, argc, argv);
        for (size_t i = 0; i < ELEMENTSOF(groups); i++)
                if (streq(groups[i]->name, argv[1]))
                        return run_group(groups[i], g, argc - 1, argv + 1);
        return cli_usage_error("admin: unknown command \"%s\"", argv[1]);
}
