/* cli-admin.c: `sluice admin ...`: join tokens, API keys, nodes and the audit trail, over the
 * controller's admin REST API (/api/v1/...). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "http-client.h"
#include "json.h"
#include "timeutil.h"

#define CLI_DEFAULT_CONFIG "/.config/sluice/cli.json"
#define AUDIT_LIMIT_MAX 1000 /* the controller's STORE_AUDIT_LIST_MAX */

/* ---- connection: CLI config, environment, one request ---- */

/* The CLI config as `sluice config show` reads it: --config / $SLUICE_CONFIG, else
 * ~/.config/sluice/cli.json when it exists, else the schema's defaults. */
static int admin_load_config(const CliGlobals *g, cJSON **ret, char *err, size_t errsz) {
        _cleanup_free_ char *home_path = NULL;
        const char *home = getenv("HOME");

        if (g->config_path)
                return config_load(g->config_path, "config/cli", ret, err, errsz);
        if (home && asprintf(&home_path, "%s%s", home, CLI_DEFAULT_CONFIG) >= 0 && access(home_path, F_OK) == 0)
                return config_load(home_path, "config/cli", ret, err, errsz);
        return config_load_text("(defaults)", "{}", 2, "config/cli", ret, err, errsz);
}

/* An environment variable that is set and not empty, else the config's value (may be NULL). */
static const char *setting(const char *env, const cJSON *config, const char *key) {
        const char *e = getenv(env), *v = NULL;
        char why[128];

        if (!isempty(e))
                return e;
        (void) json_get_string(config, key, &v, why, sizeof why);
        return v;
}

/* Builds the client from the CLI config and the environment. Prints one line and returns
 * CLI_EXIT_FAILURE on a problem; *json becomes true when the config says output: json. */
static int admin_client(const CliGlobals *g, bool *json, HttpClient **ret) {
        _cleanup_json_ cJSON *config = NULL;
        _cleanup_free_ char *key = NULL;
        const char *key_file, *output = NULL;
        int64_t timeout_ms = 30000;
        char err[1024], why[128];
        int r;

        if (admin_load_config(g, &config, err, sizeof err) < 0) {
                fprintf(stderr, "sluice: %s\n", err);
                return CLI_EXIT_FAILURE;
        }
        if (json_get_string(config, "output", &output, why, sizeof why) >= 0 && streq(output, "json"))
                *json = true;
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
        r = http_client_new(&o, ret, err, sizeof err);
        explicit_bzero(key, strlen(key));
        if (r < 0) {
                fprintf(stderr, "sluice: %s\n", err);
                return CLI_EXIT_FAILURE;
        }
        return CLI_EXIT_OK;
}

/* One request to the controller. On failure prints one line and returns CLI_EXIT_FAILURE. */
static int admin_request(const CliGlobals *g, bool *json, const char *method, const char *path, const cJSON *body,
                         HttpResponse *ret) {
        _cleanup_(http_client_freep) HttpClient *client = NULL;
        char err[2048];
        int r;

        if (g->json)
                *json = true;
        r = admin_client(g, json, &client);
        if (r != CLI_EXIT_OK)
                return r;
        if (http_client_request(client, method, path, body, ret, err, sizeof err) < 0) {
                fprintf(stderr, "sluice: %s %s: %s\n", method, path, err);
                return CLI_EXIT_FAILURE;
        }
        return CLI_EXIT_OK;
}

/* --json: the controller's answer exactly as it came. */
static int print_raw(const HttpResponse *r) {
        fwrite(r->body, 1, r->body_len, stdout);
        if (r->body_len == 0 || r->body[r->body_len - 1] != '\n')
                putchar('\n');
        return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

static const cJSON *list_data(const HttpResponse *r) {
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(r->json, "data");

        if (!cJSON_IsArray(data)) {
                fprintf(stderr, "sluice: unexpected answer from the controller: no \"data\" array (request %s)\n",
                        r->request_id);
                return NULL;
        }
        return data;
}

/* ---- text output ---- */

/* A string field, or NULL when absent, null or not a string. */
static const char *str(const cJSON *o, const char *key) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
        return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* An RFC 3339 field as "2026-11-25T16:29:41Z" (seconds, UTC); "-" when null. */
static const char *when(const cJSON *o, const char *key, char buf[static 32]) {
        const char *s = str(o, key);
        uint64_t usec;
        struct tm tm;
        time_t t;

        if (!s)
                return "-";
        if (time_parse_rfc3339(s, &usec) < 0)
                return s;
        t = (time_t) (usec / USEC_PER_SEC);
        if (!gmtime_r(&t, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return s;
        return buf;
}

/* Whether the RFC 3339 field holds a time in the past. */
static bool past(const cJSON *o, const char *key) {
        const char *s = str(o, key);
        uint64_t usec;

        return s && time_parse_rfc3339(s, &usec) >= 0 && usec <= time_real_usec();
}

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

/* Appends one row of n_cols cells (NULL shows as "-"); control characters become '?', so that
 * what the controller sends cannot move the terminal's cursor. */
static int table_add(Table *t, const char *const *row) {
        char **cells = reallocarray(t->cells, t->n_cells + t->n_cols, sizeof(char *));

        if (!cells)
                return -ENOMEM;
        t->cells = cells;
        for (size_t i = 0; i < t->n_cols; i++) {
                char *c = strdup(row[i] ?: "-");
                if (!c)
                        return -ENOMEM;
                for (char *p = c; *p; p++)
                        if ((unsigned char) *p < 0x20 || *p == 0x7f)
                                *p = '?';
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
static void table_print(const Table *t) {
        _cleanup_free_ size_t *width = calloc(t->n_cols, sizeof(size_t));

        if (!width)
                return;
        for (size_t i = 0; i < t->n_cells; i++)
                width[i % t->n_cols] = MAX(width[i % t->n_cols], text_width(t->cells[i]));
        for (size_t i = 0; i < t->n_cells; i++) {
                size_t col = i % t->n_cols;
                if (col + 1 == t->n_cols)
                        printf("%s\n", t->cells[i]);
                else
                        printf("%s%*s", t->cells[i], (int) (width[col] - text_width(t->cells[i]) + 2), "");
        }
}

/* Prints the rows under header, or "no WHAT" on stderr when there are none. */
static int table_finish(Table *t, const char *what) {
        if (t->n_cells <= t->n_cols)
                fprintf(stderr, "no %s\n", what);
        else
                table_print(t);
        table_done(t);
        return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

/* ---- options ---- */

/* getopt's complaints as one usage line (opterr is off; optstrings start with ':'). */
static int bad_option(const char *verb, int c, char **argv) {
        const char *arg = optind > 0 ? argv[optind - 1] : "?";

        if (c == ':')
                return cli_usage_error("admin %s: option %s needs a value", verb, arg);
        if (optopt)
                return cli_usage_error("admin %s: unknown option -%c", verb, optopt);
        return cli_usage_error("admin %s: unknown option \"%s\"", verb, arg);
}

static int verb_help(const char *usage, const char *text) {
        printf("Usage: sluice [--json] admin %s\n\n%s\n", usage, text);
        return CLI_EXIT_OK;
}

static bool valid_duration(const char *s) {
        uint64_t usec;
        return time_parse_duration(s, &usec) >= 0 && usec > 0;
}

#define OPT_COMMON { "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' }

/* ---- join-token ---- */

#define JOIN_TOKEN_CREATE_USAGE "join-token create --name NAME --zone private|public [--ttl 1h]"
#define JOIN_TOKEN_LIST_USAGE "join-token list"

static int verb_join_token_create(const CliGlobals *g, int argc, char **argv) {
        static const struct option options[] = {
                { "name", required_argument, NULL, 'n' }, { "zone", required_argument, NULL, 'z' },
                { "ttl", required_argument, NULL, 't' }, OPT_COMMON, {},
        };
        const char *name = NULL, *zone = NULL, *ttl = NULL;
        _cleanup_(http_response_done) HttpResponse resp = {};
        _cleanup_json_ cJSON *body = NULL;
        char buf[32];
        bool json = false;
        int c, r;

        while ((c = getopt_long(argc, argv, ":n:z:t:jh", options, NULL)) >= 0)
                switch (c) {
                case 'n': name = optarg; break;
                case 'z': zone = optarg; break;
                case 't': ttl = optarg; break;
                case 'j': json = true; break;
                case 'h':
                        return verb_help(JOIN_TOKEN_CREATE_USAGE,
                                         "Creates a single-use join token for the node NAME in ZONE, valid for\n"
                                         "--ttl (default 1h). The token is printed once, alone on stdout; the\n"
                                         "details go to stderr. With --json, the controller's whole answer is\n"
                                         "printed.");
                default: return bad_option("join-token create", c, argv);
                }
        if (optind != argc)
                return cli_usage_error("admin join-token create: unexpected argument \"%s\"", argv[optind]);
        if (isempty(name))
                return cli_usage_error("admin join-token create: --name NAME is required");
        if (!zone || !(streq(zone, "private") || streq(zone, "public")))
                return cli_usage_error("admin join-token create: --zone must be \"private\" or \"public\"");
        if (ttl && !valid_duration(ttl))
                return cli_usage_error("admin join-token create: --ttl \"%s\" is not a duration like 30m or 1h", ttl);

        body = cJSON_CreateObject();
        if (!body || !cJSON_AddStringToObject(body, "name", name) || !cJSON_AddStringToObject(body, "zone", zone) ||
            (ttl && !cJSON_AddStringToObject(body, "ttl", ttl)))
                return CLI_EXIT_FAILURE;
        r = admin_request(g, &json, "POST", "/api/v1/join-tokens", body, &resp);
        if (r != CLI_EXIT_OK)
                return r;
        if (json)
                return print_raw(&resp);
        if (!str(resp.json, "token")) {
                fprintf(stderr, "sluice: the controller's answer has no token (request %s)\n", resp.request_id);
                return CLI_EXIT_FAILURE;
        }
        fprintf(stderr, "join token %s for node \"%s\" in zone %s, single use, expires %s; it is not shown again\n",
                str(resp.json, "id") ?: "-", str(resp.json, "name") ?: name, str(resp.json, "zone") ?: zone,
                when(resp.json, "expires_at", buf));
        printf("%s\n", str(resp.json, "token"));
        return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

static int verb_join_token_list(const CliGlobals *g, int argc, char **argv) {
        static const struct option options[] = { OPT_COMMON, {} };
        static const char *const header[] = { "ID", "NAME", "ZONE", "STATE", "CREATED", "EXPIRES", "USED" };
        _cleanup_(http_response_done) HttpResponse resp = {};
        _cleanup_(table_done) Table t = { .n_cols = ELEMENTSOF(header) };
        const cJSON *data, *it;
        bool json = false;
        int c, r;

        while ((c = getopt_long(argc, argv, ":jh", options, NULL)) >= 0)
                switch (c) {
                case 'j': json = true; break;
                case 'h':
                        return verb_help(JOIN_TOKEN_LIST_USAGE, "Lists join tokens (never their secrets): valid, used "
                                                                "or expired.");
                default: return bad_option("join-token list", c, argv);
                }
        if (optind != argc)
                return cli_usage_error("admin join-token list: unexpected argument \"%s\"", argv[optind]);
        r = admin_request(g, &json, "GET", "/api/v1/join-tokens", NULL, &resp);
        if (r != CLI_EXIT_OK)
                return r;
        if (json)
                return print_raw(&resp);
        if (!(data = list_data(&resp)) || table_add(&t, header) < 0)
                return CLI_EXIT_FAILURE;
        cJSON_ArrayForEach(it, data) {
                char b1[32], b2[32], b3[32];
                const char *state = str(it, "used_at") ? "used" : past(it, "expires_at") ? "expired" : "valid";
                const char *row[] = { str(it, "id"), str(it, "name"), str(it, "zone"), state,
                                      when(it, "created_at", b1), when(it, "expires_at", b2),
                                      when(it, "used_at", b3) };
                if (table_add(&t, row) < 0)
                        return CLI_EXIT_FAILURE;
        }
        return table_finish(&t, "join tokens");
}

/* ---- key ---- */

#define KEY_CREATE_USAGE                                                                                              \
        "key create --name NAME --role admin|developer|auditor [--ttl 30d] [--model M]... [--label K=V]..."
#define KEY_LIST_USAGE "key list"
#define KEY_REVOKE_USAGE "key revoke ID"

static int verb_key_create(const CliGlobals *g, int argc, char **argv) {
        static const struct option options[] = {
                { "name", required_argument, NULL, 'n' }, { "role", required_argument, NULL, 'r' },
                { "ttl", required_argument, NULL, 't' }, { "model", required_argument, NULL, 'm' },
                { "label", required_argument, NULL, 'l' }, OPT_COMMON, {},
        };
        _cleanup_(http_response_done) HttpResponse resp = {};
        _cleanup_json_ cJSON *body = cJSON_CreateObject(), *models = cJSON_CreateArray(),
                             *labels = cJSON_CreateObject();
        const char *name = NULL, *role = NULL, *ttl = NULL, *eq;
        char buf[32];
        bool json = false;
        int c, r;

        if (!body || !models || !labels)
                return CLI_EXIT_FAILURE;
        while ((c = getopt_long(argc, argv, ":n:r:t:m:l:jh", options, NULL)) >= 0)
                switch (c) {
                case 'n': name = optarg; break;
                case 'r': role = optarg; break;
                case 't': ttl = optarg; break;
                case 'm':
                        if (isempty(optarg))
                                return cli_usage_error("admin key create: --model needs a model name");
                        if (!cJSON_AddItemToArray(models, cJSON_CreateString(optarg)))
                                return CLI_EXIT_FAILURE;
                        break;
                case 'l': {
                        _cleanup_free_ char *k = NULL;
                        eq = strchr(optarg, '=');
                        if (!eq || eq == optarg)
                                return cli_usage_error("admin key create: --label \"%s\" is not KEY=VALUE", optarg);
                        k = strndup(optarg, (size_t) (eq - optarg));
                        if (!k)
                                return CLI_EXIT_FAILURE;
                        if (cJSON_HasObjectItem(labels, k))
                                return cli_usage_error("admin key create: label \"%s\" given twice", k);
                        if (!cJSON_AddStringToObject(labels, k, eq + 1))
                                return CLI_EXIT_FAILURE;
                        break;
                }
                case 'j': json = true; break;
                case 'h':
                        return verb_help(KEY_CREATE_USAGE,
                                         "Creates an API key. --ttl sets an expiry (default: none); each --model\n"
                                         "adds a model the key may use (default: all); each --label adds a label\n"
                                         "that routing rules can match. The key is printed once, alone on stdout;\n"
                                         "the details go to stderr. With --json, the controller's whole answer is\n"
                                         "printed.");
                default: return bad_option("key create", c, argv);
                }
        if (optind != argc)
                return cli_usage_error("admin key create: unexpected argument \"%s\"", argv[optind]);
        if (isempty(name))
                return cli_usage_error("admin key create: --name NAME is required");
        if (!role || !(streq(role, "admin") || streq(role, "developer") || streq(role, "auditor")))
                return cli_usage_error("admin key create: --role must be admin, developer or auditor");
        if (ttl && !valid_duration(ttl))
                return cli_usage_error("admin key create: --ttl \"%s\" is not a duration like 30d or 12h", ttl);

        if (!cJSON_AddStringToObject(body, "name", name) || !cJSON_AddStringToObject(body, "role", role) ||
            (ttl && !cJSON_AddStringToObject(body, "ttl", ttl)))
                return CLI_EXIT_FAILURE;
        if (cJSON_GetArraySize(models) > 0 && !cJSON_AddItemToObject(body, "models", TAKE_PTR(models)))
                return CLI_EXIT_FAILURE;
        if (cJSON_GetArraySize(labels) > 0 && !cJSON_AddItemToObject(body, "labels", TAKE_PTR(labels)))
                return CLI_EXIT_FAILURE;
        r = admin_request(g, &json, "POST", "/api/v1/keys", body, &resp);
        if (r != CLI_EXIT_OK)
                return r;
        if (json)
                return print_raw(&resp);
        if (!str(resp.json, "key")) {
                fprintf(stderr, "sluice: the controller's answer has no key (request %s)\n", resp.request_id);
                return CLI_EXIT_FAILURE;
        }
        fprintf(stderr, "API key %s \"%s\" (role %s, expires %s) created; it is not shown again: store it now\n",
                str(resp.json, "id") ?: "-", str(resp.json, "name") ?: name, str(resp.json, "role") ?: role,
                str(resp.json, "expires_at") ? when(resp.json, "expires_at", buf) : "never");
        printf("%s\n", str(resp.json, "key"));
        return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

/* "a,b" from an array of strings; empty gives dflt. */
static char *join_models(const cJSON *arr, const char *dflt) {
        _cleanup_free_ char *s = NULL;
        const cJSON *it;
        size_t len = 0;

        cJSON_ArrayForEach(it, arr) {
                if (!cJSON_IsString(it))
                        continue;
                char *n = realloc(s, len + strlen(it->valuestring) + 2);
                if (!n)
                        return NULL;
                s = n;
                len += (size_t) sprintf(s + len, "%s%s", len ? "," : "", it->valuestring);
        }
        return s ? TAKE_PTR(s) : strdup(dflt);
}

/* "k=v,k2=v2" from an object of strings; empty gives "-". */
static char *join_labels(const cJSON *obj) {
        _cleanup_free_ char *s = NULL;
        const cJSON *it;
        size_t len = 0;

        cJSON_ArrayForEach(it, obj) {
                if (!cJSON_IsString(it) || !it->string)
                        continue;
                char *n = realloc(s, len + strlen(it->string) + strlen(it->valuestring) + 3);
                if (!n)
                        return NULL;
                s = n;
                len += (size_t) sprintf(s + len, "%s%s=%s", len ? "," : "", it->string, it->valuestring);
        }
        return s ? TAKE_PTR(s) : strdup("-");
}

static int verb_key_list(const CliGlobals *g, int argc, char **argv) {
        static const struct option options[] = { OPT_COMMON, {} };
        static const char *const header[] = { "ID", "NAME", "PREFIX", "ROLE", "STATE", "CREATED", "EXPIRES", "MODELS",
                                              "LABELS" };
        _cleanup_(http_response_done) HttpResponse resp = {};
        _cleanup_(table_done) Table t = { .n_cols = ELEMENTSOF(header) };
        const cJSON *data, *it;
        bool json = false;
        int c, r;

        while ((c = getopt_long(argc, argv, ":jh", options, NULL)) >= 0)
                switch (c) {
                case 'j': json = true; break;
                case 'h':
                        return verb_help(KEY_LIST_USAGE, "Lists API keys (never their secrets), revoked and expired "
                                                         "ones included.");
                default: return bad_option("key list", c, argv);
                }
        if (optind != argc)
                return cli_usage_error("admin key list: unexpected argument \"%s\"", argv[optind]);
        r = admin_request(g, &json, "GET", "/api/v1/keys", NULL, &resp);
        if (r != CLI_EXIT_OK)
                return r;
        if (json)
                return print_raw(&resp);
        if (!(data = list_data(&resp)) || table_add(&t, header) < 0)
                return CLI_EXIT_FAILURE;
        cJSON_ArrayForEach(it, data) {
                _cleanup_free_ char *models = join_models(cJSON_GetObjectItemCaseSensitive(it, "models"), "*");
                _cleanup_free_ char *labels = join_labels(cJSON_GetObjectItemCaseSensitive(it, "labels"));
                char b1[32], b2[32];
                const char *state = str(it, "revoked_at") ? "revoked" : past(it, "expires_at") ? "expired" : "active";
                const char *row[] = { str(it, "id"), str(it, "name"), str(it, "prefix"), str(it, "role"), state,
                                      when(it, "created_at", b1),
                                      str(it, "expires_at") ? when(it, "expires_at", b2) : "never", models, labels };
                if (!models || !labels || table_add(&t, row) < 0)
                        return CLI_EXIT_FAILURE;
        }
        return table_finish(&t, "API keys");
}

static int verb_key_revoke(const CliGlobals *g, int argc, char **argv) {
        static const struct option options[] = { OPT_COMMON, {} };
        _cleanup_(http_response_done) HttpResponse resp = {};
        _cleanup_free_ char *id = NULL, *path = NULL;
        bool json = false;
        int c, r;

        while ((c = getopt_long(argc, argv, ":jh", options, NULL)) >= 0)
                switch (c) {
                case 'j': json = true; break;
                case 'h':
                        return verb_help(KEY_REVOKE_USAGE, "Revokes the API key ID (as 'admin key list' shows it); "
                                                           "it stops working at once.");
                default: return bad_option("key revoke", c, argv);
                }
        if (optind + 1 != argc || isempty(argv[optind]))
                return cli_usage_error("admin key revoke: expected one key ID");
        if (http_client_escape(argv[optind], &id) < 0 || asprintf(&path, "/api/v1/keys/%s", id) < 0) {
                path = NULL;
                return CLI_EXIT_FAILURE;
        }
        r = admin_request(g, &json, "DELETE", path, NULL, &resp);
        if (r != CLI_EXIT_OK)
                return r;
        if (json)
                return print_raw(&resp);
        printf("revoked API key %s\n", argv[optind]);
        return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

/* ---- node ---- */

#define NODE_LIST_USAGE "node list"
#define NODE_REVOKE_USAGE "node revoke NAME"

static int verb_node_list(const CliGlobals *g, int argc, char **argv) {
        static const struct option options[] = { OPT_COMMON, {} };
        static const char *const header[] = { "NAME", "ZONE", "STATE", "CONNECTED", "ENROLLED", "LAST-SEEN",
                                              "CERT-EXPIRES", "ID" };
        _cleanup_(http_response_done) HttpResponse resp = {};
        _cleanup_(table_done) Table t = { .n_cols = ELEMENTSOF(header) };
        const cJSON *data, *it;
        bool json = false;
        int c, r;

        while ((c = getopt_long(argc, argv, ":jh", options, NULL)) >= 0)
                switch (c) {
                case 'j': json = true; break;
                case 'h':
                        return verb_help(NODE_LIST_USAGE, "Lists the enrolled nodes, their zone and state, and "
                                                          "whether their agent is connected now.");
                default: return bad_option("node list", c, argv);
                }
        if (optind != argc)
                return cli_usage_error("admin node list: unexpected argument \"%s\"", argv[optind]);
        r = admin_request(g, &json, "GET", "/api/v1/nodes", NULL, &resp);
        if (r != CLI_EXIT_OK)
                return r;
        if (json)
                return print_raw(&resp);
        if (!(data = list_data(&resp)) || table_add(&t, header) < 0)
                return CLI_EXIT_FAILURE;
        cJSON_ArrayForEach(it, data) {
                char b1[32], b2[32], b3[32];
                const cJSON *conn = cJSON_GetObjectItemCaseSensitive(it, "connected");
                const char *row[] = { str(it, "name"), str(it, "zone"), str(it, "state"),
                                      cJSON_IsBool(conn) ? (cJSON_IsTrue(conn) ? "yes" : "no") : NULL,
                                      when(it, "enrolled_at", b1), when(it, "last_seen_at", b2),
                                      when(it, "cert_not_after", b3), str(it, "id") };
                if (table_add(&t, row) < 0)
                        return CLI_EXIT_FAILURE;
        }
        return table_finish(&t, "nodes");
}

static int verb_node_revoke(const CliGlobals *g, int argc, char **argv) {
        static const struct option options[] = { OPT_COMMON, {} };
        _cleanup_(http_response_done) HttpResponse resp = {};
        _cleanup_free_ char *name = NULL, *path = NULL;
        bool json = false;
        int c, r;

        while ((c = getopt_long(argc, argv, ":jh", options, NULL)) >= 0)
                switch (c) {
                case 'j': json = true; break;
                case 'h':
                        return verb_help(NODE_REVOKE_USAGE, "Revokes the certificate of node NAME and disconnects its "
                                                            "agent; it must enroll again with a new join token.");
                default: return bad_option("node revoke", c, argv);
                }
        if (optind + 1 != argc || isempty(argv[optind]))
                return cli_usage_error("admin node revoke: expected one node NAME");
        if (http_client_escape(argv[optind], &name) < 0 || asprintf(&path, "/api/v1/nodes/%s/revoke", name) < 0) {
                path = NULL;
                return CLI_EXIT_FAILURE;
        }
        r = admin_request(g, &json, "POST", path, NULL, &resp);
        if (r != CLI_EXIT_OK)
                return r;
        if (json)
                return print_raw(&resp);
        printf("revoked node %s: its certificate is no longer accepted\n", argv[optind]);
        return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

/* ---- audit ---- */

#define AUDIT_USAGE "audit [--limit N]"

static int verb_audit(const CliGlobals *g, int argc, char **argv) {
        static const struct option options[] = { { "limit", required_argument, NULL, 'n' }, OPT_COMMON, {} };
        static const char *const header[] = { "ID", "TIME", "ACTOR", "ACTION", "TARGET", "REQUEST-ID", "DETAIL" };
        _cleanup_(http_response_done) HttpResponse resp = {};
        _cleanup_(table_done) Table t = { .n_cols = ELEMENTSOF(header) };
        _cleanup_free_ char *path = NULL;
        cJSON *data, *it;
        long limit = 0;
        bool json = false;
        char *end;
        int c, r;

        while ((c = getopt_long(argc, argv, ":n:jh", options, NULL)) >= 0)
                switch (c) {
                case 'n':
                        errno = 0;
                        limit = strtol(optarg, &end, 10);
                        if (errno || end == optarg || *end || limit < 1 || limit > AUDIT_LIMIT_MAX)
                                return cli_usage_error("admin audit: --limit must be a number from 1 to %d",
                                                       AUDIT_LIMIT_MAX);
                        break;
                case 'j': json = true; break;
                case 'h':
                        return verb_help(AUDIT_USAGE, "Shows the audit trail, newest first: who changed what, when, "
                                                      "under which request.\n--limit N shows the newest N entries "
                                                      "(default: the controller's, 100).");
                default: return bad_option("audit", c, argv);
                }
        if (optind != argc)
                return cli_usage_error("admin audit: unexpected argument \"%s\"", argv[optind]);
        r = limit ? asprintf(&path, "/api/v1/audit?limit=%ld", limit) : asprintf(&path, "/api/v1/audit");
        if (r < 0) {
                path = NULL;
                return CLI_EXIT_FAILURE;
        }
        r = admin_request(g, &json, "GET", path, NULL, &resp);
        if (r != CLI_EXIT_OK)
                return r;
        data = (cJSON *) list_data(&resp);
        if (!data)
                return CLI_EXIT_FAILURE;
        /* a controller that ignores ?limit still gets the newest N shown */
        bool trimmed = false;
        while (limit && cJSON_GetArraySize(data) > limit) {
                cJSON_DeleteItemFromArray(data, cJSON_GetArraySize(data) - 1);
                trimmed = true;
        }
        if (json && !trimmed)
                return print_raw(&resp);
        if (json) {
                _cleanup_free_ char *text = NULL;
                if (json_print(resp.json, &text) < 0)
                        return CLI_EXIT_FAILURE;
                printf("%s\n", text);
                return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
        }
        if (table_add(&t, header) < 0)
                return CLI_EXIT_FAILURE;
        cJSON_ArrayForEach(it, data) {
                _cleanup_free_ char *detail = NULL;
                const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
                const cJSON *d = cJSON_GetObjectItemCaseSensitive(it, "detail");
                char b1[32], idbuf[32] = "-";
                if (cJSON_IsNumber(id))
                        snprintf(idbuf, sizeof idbuf, "%.0f", id->valuedouble);
                if (d && !(cJSON_IsObject(d) && !d->child) && json_print(d, &detail) < 0)
                        return CLI_EXIT_FAILURE;
                const char *row[] = { idbuf, when(it, "time", b1), str(it, "actor"), str(it, "action"),
                                      str(it, "target"), str(it, "request_id"), detail };
                if (table_add(&t, row) < 0)
                        return CLI_EXIT_FAILURE;
        }
        return table_finish(&t, "audit entries");
}

/* ---- dispatch ---- */

static const CliVerb join_token_verbs[] = {
        { "create", verb_join_token_create, JOIN_TOKEN_CREATE_USAGE, "create a single-use join token (printed once)" },
        { "list", verb_join_token_list, JOIN_TOKEN_LIST_USAGE, "list join tokens" },
        {},
};
static const CliVerb key_verbs[] = {
        { "create", verb_key_create, KEY_CREATE_USAGE, "create an API key (printed once)" },
        { "list", verb_key_list, KEY_LIST_USAGE, "list API keys" },
        { "revoke", verb_key_revoke, KEY_REVOKE_USAGE, "revoke an API key" },
        {},
};
static const CliVerb node_verbs[] = {
        { "list", verb_node_list, NODE_LIST_USAGE, "list nodes" },
        { "revoke", verb_node_revoke, NODE_REVOKE_USAGE, "revoke a node's certificate, disconnect it" },
        {},
};

static void admin_help(FILE *f) {
        const CliVerb *const groups[] = { join_token_verbs, key_verbs, node_verbs };

        fprintf(f, "Usage: sluice [--config FILE] [--json] admin COMMAND [ARGS...]\n\n"
                   "Manages the controller over its admin API (https://CONTROLLER/api/v1/...).\n\n"
                   "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(groups); i++)
                for (const CliVerb *v = groups[i]; v->name; v++)
                        fprintf(f, "  %s\n      %s\n", v->usage, v->help);
        fprintf(f, "  %s\n      %s\n", AUDIT_USAGE, "show the audit trail, newest first");
        fprintf(f, "\nConnection: the CLI config file (--config, $SLUICE_CONFIG, else ~/.config/sluice/cli.json);\n"
                   "these environment variables, when set, override it:\n"
                   "  controller_url  SLUICE_CONTROLLER_URL  the controller's API (default https://127.0.0.1:8443)\n"
                   "  api_key_file    SLUICE_API_KEY_FILE    file holding the API key, mode 600; the controller\n"
                   "                                         writes its first admin key to DATA_DIR/admin.key\n"
                   "  ca_file         SLUICE_CA_FILE         the controller's CA certificate, DATA_DIR/ca.pem\n"
                   "                                         (default: the system's CAs)\n"
                   "  timeout_ms                             limit for one request (default 30000)\n"
                   "\nOutput: aligned tables; --json (or \"output\": \"json\" in the config) prints the controller's\n"
                   "JSON as it came. A created join token or API key is printed once, alone on stdout.\n"
                   "Each command also takes --json and --help after its name.\n"
                   "\nExit codes: 0 success, 1 the request failed (refused by the controller, or no answer),\n"
                   "2 bad usage.\n");
}

/* A group of verbs ("admin key ..."): --help lists them. */
static int group_main(const CliVerb *table, const char *prefix, const CliGlobals *g, int argc, char **argv) {
        if (argc >= 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
                printf("Usage: sluice [--json] %s COMMAND [ARGS...]\n\nCommands:\n", prefix);
                for (const CliVerb *v = table; v->name; v++)
                        printf("  admin %s\n      %s\n", v->usage, v->help);
                return CLI_EXIT_OK;
        }
        return cli_dispatch(table, prefix, g, argc - 1, argv + 1);
}

static int verb_join_token(const CliGlobals *g, int argc, char **argv) {
        return group_main(join_token_verbs, "admin join-token", g, argc, argv);
}

static int verb_key(const CliGlobals *g, int argc, char **argv) {
        return group_main(key_verbs, "admin key", g, argc, argv);
}

static int verb_node(const CliGlobals *g, int argc, char **argv) {
        return group_main(node_verbs, "admin node", g, argc, argv);
}

int cli_admin_main(const CliGlobals *g, int argc, char **argv) {
        static const CliVerb verbs[] = {
                { "join-token", verb_join_token, "join-token (create|list) ...", "join tokens" },
                { "key", verb_key, "key (create|list|revoke) ...", "API keys" },
                { "node", verb_node, "node (list|revoke) ...", "nodes" },
                { "audit", verb_audit, AUDIT_USAGE, "the audit trail" },
                {},
        };

        opterr = 0; /* bad_option() says what was wrong, in one line */
        if (argc < 2) {
                admin_help(stderr);
                return CLI_EXIT_USAGE;
        }
        if (streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
                admin_help(stdout);
                return CLI_EXIT_OK;
        }
        return cli_dispatch(verbs, "admin", g, argc - 1, argv + 1);
}
