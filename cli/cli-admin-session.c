/* cli-admin-session.c: how an admin command talks to the controller: the CLI config and the
 * environment, one HTTP client per command, option parsing, and the exit code of each failure. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli-admin.h"
#include "config.h"
#include "json.h"
#include "strbuf.h"
#include "timeutil.h"

#define ADMIN_PATH_MAX 4096 /* bytes of a request path with its arguments escaped */

void admin_cmd_done(AdminCmd *cmd) {
        cmd->client = http_client_free(cmd->client);
}

/* ---- options ---- */

int admin_usage_error(const AdminCmd *cmd, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "sluice: %s: ", cmd->title);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, " (see 'sluice %s --help')\n", cmd->title);
        return CLI_EXIT_USAGE;
}

bool admin_parse_duration(const char *s, uint64_t *ret_usec) {
        uint64_t usec;

        if (time_parse_duration(s, &usec) < 0 || usec == 0)
                return false;
        *ret_usec = usec;
        return true;
}

bool admin_parse_int(const char *s, long long min, long long max, long long *ret) {
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || end == s || *end || v < min || v > max)
                return false;
        *ret = v;
        return true;
}

void admin_path_params(const char *path, char *buf, size_t bufsz) {
        size_t n = 0;

        buf[0] = '\0';
        for (const char *p = path ? strchr(path, '{') : NULL; p; p = strchr(p + 1, '{')) {
                if (n && n + 1 < bufsz)
                        buf[n++] = ' ';
                for (p++; *p && *p != '}' && n + 1 < bufsz; p++)
                        buf[n++] = (char) (*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
                buf[n] = '\0';
        }
}

void admin_verb_args(const AdminVerb *v, char *buf, size_t bufsz) {
        size_t n;

        admin_path_params(v->path, buf, bufsz);
        n = strlen(buf);
        if (!isempty(v->operands))
                snprintf(buf + n, bufsz - n, "%s%s", n ? " " : "", v->operands);
}

/* The number of arguments a verb takes: its path's {params} and its operands. */
static size_t count_args(const AdminVerb *v) {
        size_t n = 0;

        for (const char *p = v->path; p && (p = strchr(p, '{')); p++)
                n++;
        for (const char *p = v->operands; p && *p;) {
                p += strspn(p, " ");
                if (*p)
                        n++;
                p += strcspn(p, " ");
        }
        return n;
}

static void verb_help(const AdminCmd *cmd) {
        const AdminVerb *v = cmd->verb;
        char params[256];

        admin_verb_args(v, params, sizeof params);
        printf("Usage: sluice [--json] %s%s%s%s%s\n\n%s\n", cmd->title, *v->synopsis ? " " : "", v->synopsis,
               *params ? " " : "", params, v->help);
        printf("\nCalls %s %s. --json prints the controller's answer as it came.\n"
               "Exit codes: see 'sluice admin --help'.\n",
               v->method, v->path);
}

/* getopt's complaints as one usage line (opterr is off; the optstring starts with ':'). */
static int bad_option(const AdminCmd *cmd, int c) {
        const char *arg = optind > 0 && optind <= cmd->argc ? cmd->argv[optind - 1] : "?";

        if (c == ':')
                return admin_usage_error(cmd, "option %s needs a value", arg);
        if (optopt > 0 && optopt < 0x7f)
                return admin_usage_error(cmd, "unknown option -%c", optopt);
        return admin_usage_error(cmd, "unknown option \"%s\"", arg);
}

int admin_parse(AdminCmd *cmd, AdminOptionFunc option, void *userdata) {
        static const struct option common[] = {
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
        };
        const struct option *own = cmd->verb->options;
        _cleanup_free_ struct option *options = NULL;
        size_t n_own = 0, n = 0, k = 0;
        char optstring[128] = ":jh";
        char params[256];
        int c, r;

        while (own && own[n_own].name)
                n_own++;
        options = calloc(n_own + ELEMENTSOF(common) + 1, sizeof(struct option));
        if (!options)
                return CLI_EXIT_FAILURE;
        for (size_t i = 0; i < n_own; i++) {
                options[n++] = own[i];
                k = strlen(optstring);
                /* a printable val is also the short option */
                if (own[i].val > ' ' && own[i].val < 0x7f && k + 3 < sizeof optstring) {
                        optstring[k++] = (char) own[i].val;
                        if (own[i].has_arg == required_argument)
                                optstring[k++] = ':';
                        optstring[k] = '\0';
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(common); i++)
                options[n++] = common[i];

        opterr = 0;
        optind = 0;
        while ((c = getopt_long(cmd->argc, cmd->argv, optstring, options, NULL)) >= 0)
                switch (c) {
                case 'j':
                        cmd->json = true;
                        break;
                case 'h':
                        verb_help(cmd);
                        return admin_flush();
                case '?':
                case ':':
                        return bad_option(cmd, c);
                default:
                        r = option ? option(cmd, c, optarg, userdata) : CLI_EXIT_USAGE;
                        if (r != CLI_EXIT_OK)
                                return r;
                }

        cmd->args = cmd->argv + optind;
        cmd->n_args = (size_t) (cmd->argc - optind);
        admin_verb_args(cmd->verb, params, sizeof params);
        if (cmd->n_args != count_args(cmd->verb)) {
                if (!*params)
                        return admin_usage_error(cmd, "unexpected argument \"%s\"", cmd->args[0]);
                return admin_usage_error(cmd, "expected %s", params);
        }
        for (size_t i = 0; i < cmd->n_args; i++)
                if (isempty(cmd->args[i]))
                        return admin_usage_error(cmd, "expected %s, not an empty string", params);
        return ADMIN_PARSED;
}

/* ---- the connection ---- */

/* An environment variable that is set and not empty, else the config's value (may be NULL). */
static const char *setting(const char *env, const cJSON *config, const char *key) {
        const char *e = getenv(env), *v = NULL;
        char why[128];

        if (!isempty(e))
                return e;
        (void) json_get_string(config, key, &v, why, sizeof why);
        return v;
}

/* Opens cmd->client from the CLI config and the environment, once. Prints one line and returns
 * CLI_EXIT_FAILURE on a problem; "output": "json" in the config turns --json on. */
static int open_client(AdminCmd *cmd) {
        _cleanup_json_ cJSON *config = NULL;
        _cleanup_free_ char *key = NULL;
        const char *key_file, *output = NULL;
        int64_t timeout_ms = 30000;
        char err[1024], why[128];
        int r;

        if (cmd->client)
                return CLI_EXIT_OK;
        if (cli_config_load(cmd->g, &config, err, sizeof err) < 0) {
                fprintf(stderr, "sluice: %s\n", err);
                return CLI_EXIT_FAILURE;
        }
        if (json_get_string(config, "output", &output, why, sizeof why) >= 0 && streq(output, "json"))
                cmd->json = true;
        (void) json_get_int(config, "timeout_ms", 1, 600000, &timeout_ms, why, sizeof why);
        key_file = setting("SLUICE_API_KEY_FILE", config, "api_key_file");
        if (!key_file) {
                fprintf(stderr, "sluice: no API key: set api_key_file in the CLI config, or SLUICE_API_KEY_FILE (the "
                                "controller writes its first admin key to DATA_DIR/admin.key)\n");
                return CLI_EXIT_FAILURE;
        }
        r = http_client_read_key_file(key_file, &key, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "sluice: %s\n", err);
                return CLI_EXIT_FAILURE;
        }
        HttpClientOptions o = {
                .base_url = setting("SLUICE_CONTROLLER_URL", config, "controller_url"),
                .ca_file = setting("SLUICE_CA_FILE", config, "ca_file"),
                .api_key = key,
                .timeout_ms = (uint64_t) timeout_ms,
        };
        r = http_client_new(&o, &cmd->client, err, sizeof err);
        explicit_bzero(key, strlen(key));
        if (r < 0) {
                fprintf(stderr, "sluice: %s\n", err);
                return CLI_EXIT_FAILURE;
        }
        return CLI_EXIT_OK;
}

/* ---- requests ---- */

int admin_exit_code(int r, const HttpResponse *resp) {
        if (r >= 0)
                return CLI_EXIT_OK;
        switch (resp->status) {
        case 401:
        case 403:
                return CLI_EXIT_DENIED;
        case 404:
                return CLI_EXIT_NOT_FOUND;
        case 409:
                return CLI_EXIT_CONFLICT;
        }
        if (resp->status >= 400 && resp->status <= 499)
                return CLI_EXIT_REFUSED;
        if (resp->status > 0 || r == -EFBIG)
                return CLI_EXIT_SERVER; /* 5xx, 1xx/3xx, a 2xx that is not JSON, an answer over the limit */
        switch (r) {
        case -ECONNREFUSED:
        case -ETIMEDOUT:
        case -ECONNABORTED:
        case -EIO:
                return CLI_EXIT_UNREACHABLE;
        default:
                return CLI_EXIT_FAILURE; /* out of memory, an unusable URL */
        }
}

/* path_template with each {param} replaced by the next of args, percent-encoded. */
static int expand_path(const char *path_template, char *const *args, char **ret) {
        StrBuf b = { .limit = ADMIN_PATH_MAX };
        size_t i = 0;
        int r = 0;

        for (const char *p = path_template; *p && r >= 0;) {
                const char *open = strchr(p, '{'), *close = open ? strchr(open, '}') : NULL;
                _cleanup_free_ char *escaped = NULL;

                if (!open || !close) {
                        r = strbuf_puts(&b, p);
                        break;
                }
                r = strbuf_append(&b, p, (size_t) (open - p));
                if (r >= 0)
                        r = http_client_escape(args[i++], &escaped);
                if (r >= 0)
                        r = strbuf_puts(&b, escaped);
                p = close + 1;
        }
        if (r < 0) {
                strbuf_done(&b);
                return r;
        }
        *ret = strbuf_take(&b);
        return *ret ? 0 : -ENOMEM;
}

int admin_request(AdminCmd *cmd, const char *method, const char *path_template, char *const *args, const cJSON *body,
                  HttpResponse *ret) {
        _cleanup_free_ char *path = NULL;
        char err[2048];
        int r;

        *ret = (HttpResponse){};
        if (cmd->g->json)
                cmd->json = true;
        r = open_client(cmd);
        if (r != CLI_EXIT_OK)
                return r;
        r = expand_path(path_template, args, &path);
        if (r < 0) {
                fprintf(stderr, "sluice: %s: the request path is too long\n", cmd->title);
                return r == -ENOMEM ? CLI_EXIT_FAILURE : CLI_EXIT_USAGE;
        }
        r = http_client_request(cmd->client, method, path, body, ret, err, sizeof err);
        if (r >= 0)
                return CLI_EXIT_OK;
        /* with --json, the controller's error object goes to stdout too, for a script to read */
        if (cmd->json && ret->json)
                (void) admin_print_raw(ret);
        fprintf(stderr, "sluice: %s %s: %s\n", method, path, err);
        return admin_exit_code(r, ret);
}

int admin_call(AdminCmd *cmd, const char *query, const cJSON *body, HttpResponse *ret) {
        _cleanup_free_ char *path = NULL;

        if (query && asprintf(&path, "%s?%s", cmd->verb->path, query) < 0) {
                *ret = (HttpResponse){};
                return CLI_EXIT_FAILURE;
        }
        return admin_request(cmd, cmd->verb->method, path ?: cmd->verb->path, cmd->args, body, ret);
}
