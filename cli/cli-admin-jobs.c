/* cli-admin-jobs.c: `sluice admin job submit|list|show|cancel`: asynchronous generations
 * (/v1/jobs). `job submit --wait` polls the job until it ends and prints its text. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli-admin.h"
#include "fileio.h"
#include "json.h"
#include "timeutil.h"

#define JOB_PATH "/v1/jobs/{id}"
#define JOB_PROMPT_FILE_MAX ((size_t) 64 << 20) /* the largest body a controller accepts (max_body_bytes) */
#define JOB_STOP_MAX 4                          /* stop strings the API takes */
#define JOB_INTERVAL_DEFAULT (1 * USEC_PER_SEC)
#define JOB_INTERVAL_MIN (100 * USEC_PER_MSEC)

enum {
        OPT_PROMPT_FILE = 0x100,
        OPT_TEMPERATURE,
        OPT_TOP_P,
        OPT_SEED,
        OPT_STOP,
        OPT_WAIT,
        OPT_INTERVAL,
        OPT_WAIT_TIMEOUT,
};

typedef struct JobSubmit {
        const char *prompt, *prompt_file, *model;
        cJSON *body, *stop;
        bool wait;
        uint64_t interval_usec, timeout_usec; /* timeout 0: none */
} JobSubmit;

static int add_number(AdminCmd *cmd, cJSON *body, const char *key, const char *flag, const char *arg, bool integer) {
        long long i;
        double d;
        char *end;

        if (integer) {
                if (!admin_parse_int(arg, INT64_MIN, INT64_MAX, &i))
                        return admin_usage_error(cmd, "%s must be an integer, not \"%s\"", flag, arg);
                d = (double) i;
        } else {
                errno = 0;
                d = strtod(arg, &end);
                if (errno || end == arg || *end || !isfinite(d))
                        return admin_usage_error(cmd, "%s must be a number, not \"%s\"", flag, arg);
        }
        cJSON_DeleteItemFromObjectCaseSensitive(body, key); /* the last one given counts */
        return cJSON_AddNumberToObject(body, key, d) ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

static int job_submit_option(AdminCmd *cmd, int opt, const char *arg, void *userdata) {
        JobSubmit *j = userdata;

        switch (opt) {
        case 'p':
                j->prompt = arg;
                return CLI_EXIT_OK;
        case OPT_PROMPT_FILE:
                j->prompt_file = arg;
                return CLI_EXIT_OK;
        case 'm':
                if (isempty(arg))
                        return admin_usage_error(cmd, "--model needs a model name");
                j->model = arg;
                return CLI_EXIT_OK;
        case 'n':
                return add_number(cmd, j->body, "max_tokens", "--max-tokens", arg, true);
        case OPT_TEMPERATURE:
                return add_number(cmd, j->body, "temperature", "--temperature", arg, false);
        case OPT_TOP_P:
                return add_number(cmd, j->body, "top_p", "--top-p", arg, false);
        case OPT_SEED:
                return add_number(cmd, j->body, "seed", "--seed", arg, true);
        case OPT_STOP:
                if (isempty(arg))
                        return admin_usage_error(cmd, "--stop needs a string");
                if (cJSON_GetArraySize(j->stop) == JOB_STOP_MAX)
                        return admin_usage_error(cmd, "at most %d --stop strings", JOB_STOP_MAX);
                return cJSON_AddItemToArray(j->stop, cJSON_CreateString(arg)) ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
        case OPT_WAIT:
                j->wait = true;
                return CLI_EXIT_OK;
        case OPT_INTERVAL:
                if (!admin_parse_duration(arg, &j->interval_usec) || j->interval_usec < JOB_INTERVAL_MIN)
                        return admin_usage_error(cmd, "--interval \"%s\" is not a duration of 100ms or more", arg);
                return CLI_EXIT_OK;
        case OPT_WAIT_TIMEOUT:
                if (!admin_parse_duration(arg, &j->timeout_usec))
                        return admin_usage_error(cmd, "--wait-timeout \"%s\" is not a duration like 30s or 10m", arg);
                return CLI_EXIT_OK;
        }
        return CLI_EXIT_USAGE;
}

/* The prompt of --prompt, or the contents of --prompt-file ("-": stdin); exactly one of them. */
static int read_prompt(AdminCmd *cmd, const JobSubmit *j, char **ret) {
        const char *path;
        size_t size;
        int r;

        if (!!j->prompt == !!j->prompt_file)
                return admin_usage_error(cmd, "give the prompt with one of --prompt TEXT or --prompt-file FILE");
        if (j->prompt) {
                *ret = strdup(j->prompt);
                return *ret ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
        }
        path = streq(j->prompt_file, "-") ? "/dev/stdin" : j->prompt_file;
        r = file_read_all(path, JOB_PROMPT_FILE_MAX, ret, &size);
        if (r == -EFBIG) {
                fprintf(stderr, "sluice: %s: --prompt-file %s is larger than %zu MiB\n", cmd->title, j->prompt_file,
                        JOB_PROMPT_FILE_MAX >> 20);
                return CLI_EXIT_FAILURE;
        }
        if (r < 0) {
                fprintf(stderr, "sluice: %s: cannot read --prompt-file %s: %s\n", cmd->title, j->prompt_file,
                        strerror(-r));
                return CLI_EXIT_FAILURE;
        }
        if (strlen(*ret) != size) {
                fprintf(stderr, "sluice: %s: --prompt-file %s holds a NUL byte: not text\n", cmd->title,
                        j->prompt_file);
                *ret = mfree(*ret);
                return CLI_EXIT_FAILURE;
        }
        return CLI_EXIT_OK;
}

static const char *job_state(const HttpResponse *resp) {
        return admin_str(resp->json, "state") ?: "?";
}

static bool job_ended(const char *state) {
        return streq(state, "done") || streq(state, "failed") || streq(state, "cancelled");
}

/* A progress line on stderr: "job job-...: running (zone private, attempt 1)". */
static void job_progress(const HttpResponse *resp) {
        const cJSON *attempts = admin_field(resp->json, "attempts");
        const char *zone = admin_str(resp->json, "zone");
        bool tried = cJSON_IsNumber(attempts) && attempts->valuedouble >= 1;

        fprintf(stderr, "job %s: %s", admin_str(resp->json, "id") ?: "-", job_state(resp));
        if (zone)
                fprintf(stderr, " (zone %s%s", zone, tried ? "" : ")");
        if (tried)
                fprintf(stderr, "%sattempt %.0f)", zone ? ", " : " (", attempts->valuedouble);
        fputc('\n', stderr);
}

/* Polls the job every interval until it ends or timeout passes; *resp is its last state. */
static int job_wait(AdminCmd *cmd, const JobSubmit *j, HttpResponse *resp) {
        _cleanup_free_ char *id = strdup(admin_str(resp->json, "id") ?: "");
        _cleanup_free_ char *state = strdup(job_state(resp));
        uint64_t start = time_mono_usec();
        int r;

        if (!id || !state)
                return CLI_EXIT_FAILURE;
        while (!job_ended(state)) {
                uint64_t now = time_mono_usec(), wait = j->interval_usec;
                if (j->timeout_usec) {
                        if (now - start >= j->timeout_usec)
                                break;
                        wait = MIN(wait, j->timeout_usec - (now - start));
                }
                (void) nanosleep(&(struct timespec){ .tv_sec = (time_t) (wait / USEC_PER_SEC),
                                                     .tv_nsec = (long) (wait % USEC_PER_SEC) * 1000 },
                                 NULL);
                http_response_done(resp);
                r = admin_request(cmd, "GET", JOB_PATH, (char *[]){ id }, NULL, resp);
                if (r != CLI_EXIT_OK)
                        return r;
                if (!streq(state, job_state(resp))) {
                        free(state);
                        state = strdup(job_state(resp));
                        if (!state)
                                return CLI_EXIT_FAILURE;
                        job_progress(resp);
                }
        }
        return CLI_EXIT_OK;
}

/* What --wait prints once the job ended (or the wait did): the text, or why there is none. */
static int job_result(AdminCmd *cmd, const JobSubmit *j, const HttpResponse *resp) {
        const char *id = admin_str(resp->json, "id") ?: "-", *state = job_state(resp);
        const char *text = admin_str(resp->json, "output.text");
        int r = CLI_EXIT_OK;

        if (cmd->json)
                r = admin_print_raw(resp);
        else if (streq(state, "done")) {
                if (!text) {
                        fprintf(stderr,
                                "sluice: unexpected answer from the controller: job %s is done without "
                                "output.text (request %s)\n",
                                id, resp->request_id);
                        return CLI_EXIT_SERVER;
                }
                printf("%s\n", text);
                r = admin_flush();
        }
        if (r != CLI_EXIT_OK || streq(state, "done"))
                return r;
        if (streq(state, "failed"))
                fprintf(stderr, "sluice: job %s failed: %s: %s\n", id, admin_str(resp->json, "error.code") ?: "-",
                        admin_str(resp->json, "error.message") ?: "(no message)");
        else if (streq(state, "cancelled"))
                fprintf(stderr, "sluice: job %s was cancelled\n", id);
        else
                fprintf(stderr,
                        "sluice: job %s is still %s after --wait-timeout %.3gs; 'sluice admin job show %s' "
                        "shows it later\n",
                        id, state, (double) j->timeout_usec / USEC_PER_SEC, id);
        return CLI_EXIT_JOB_FAILED;
}

static int job_submit(AdminCmd *cmd) {
        _cleanup_(http_response_done) HttpResponse resp = {};
        _cleanup_json_ cJSON *body = cJSON_CreateObject(), *stop = cJSON_CreateArray();
        _cleanup_free_ char *prompt = NULL;
        JobSubmit j = { .body = body, .stop = stop, .interval_usec = JOB_INTERVAL_DEFAULT };
        int r;

        if (!body || !stop)
                return CLI_EXIT_FAILURE;
        r = admin_parse(cmd, job_submit_option, &j);
        if (r != ADMIN_PARSED)
                return r;
        if (j.timeout_usec && !j.wait)
                return admin_usage_error(cmd, "--wait-timeout goes with --wait");
        r = read_prompt(cmd, &j, &prompt);
        if (r != CLI_EXIT_OK)
                return r;
        if (!cJSON_AddStringToObject(body, "prompt", prompt) ||
            (j.model && !cJSON_AddStringToObject(body, "model", j.model)))
                return CLI_EXIT_FAILURE;
        if (stop->child && !cJSON_AddItemToObject(body, "stop", TAKE_PTR(stop)))
                return CLI_EXIT_FAILURE;
        r = admin_call(cmd, NULL, body, &resp);
        if (r != CLI_EXIT_OK)
                return r;
        if (!admin_str(resp.json, "id")) {
                fprintf(stderr, "sluice: unexpected answer from the controller: no job \"id\" (request %s)\n",
                        resp.request_id);
                return CLI_EXIT_SERVER;
        }
        if (!j.wait) {
                if (!cmd->json)
                        fprintf(stderr, "job %s %s (model %s); 'sluice admin job show %s' shows it\n",
                                admin_str(resp.json, "id"), job_state(&resp), admin_str(resp.json, "model") ?: "-",
                                admin_str(resp.json, "id"));
                return admin_print_field(cmd, &resp, "id");
        }
        job_progress(&resp);
        r = job_wait(cmd, &j, &resp);
        if (r != CLI_EXIT_OK)
                return r;
        return job_result(cmd, &j, &resp);
}

static const AdminColumn job_columns[] = {
        { "ID", "id" },
        { "STATE", "state" },
        { "MODEL", "model" },
        { "ZONE", "zone" },
        { "ATTEMPTS", "attempts", ADMIN_NUMBER },
        { "CREATED", "created_at", ADMIN_TIME },
        { "FINISHED", "finished_at", ADMIN_TIME },
};

static int job_list(AdminCmd *cmd) {
        return admin_list(cmd, job_columns, ELEMENTSOF(job_columns), "jobs");
}

/* "code: message" of a failed job */
static char *job_error(const cJSON *job) {
        char *s = NULL;

        if (!admin_field(job, "error.message") && !admin_field(job, "error.code"))
                return strdup("");
        return asprintf(&s, "%s: %s", admin_str(job, "error.code") ?: "-", admin_str(job, "error.message") ?: "-") < 0
                       ? NULL
                       : s;
}

static int job_show(AdminCmd *cmd) {
        static const AdminColumn cols[] = {
                { "ID", "id" },
                { "STATE", "state" },
                { "MODEL", "model" },
                { "ZONE", "zone" },
                { "ATTEMPTS", "attempts", ADMIN_NUMBER },
                { "CREATED", "created_at", ADMIN_TIME },
                { "STARTED", "started_at", ADMIN_TIME },
                { "FINISHED", "finished_at", ADMIN_TIME },
                { "EXPIRES", "expires_at", ADMIN_TIME },
                { "FINISH-REASON", "output.finish_reason" },
                { "PROMPT-TOKENS", "output.usage.prompt_tokens", ADMIN_NUMBER },
                { "COMPLETION-TOKENS", "output.usage.completion_tokens", ADMIN_NUMBER },
                { "ERROR", .derive = job_error },
        };
        _cleanup_(http_response_done) HttpResponse resp = {};
        const char *text;
        int r;

        r = admin_fetch(cmd, &resp);
        if (r != ADMIN_PARSED)
                return r;
        r = admin_print_record(cmd, &resp, cols, ELEMENTSOF(cols));
        text = admin_str(resp.json, "output.text");
        if (r != CLI_EXIT_OK || cmd->json || !text)
                return r;
        printf("\n%s\n", text);
        return admin_flush();
}

static int job_cancel(AdminCmd *cmd) {
        _cleanup_(http_response_done) HttpResponse resp = {};
        int r;

        r = admin_fetch(cmd, &resp);
        if (r != ADMIN_PARSED)
                return r;
        return admin_print_message(cmd, &resp, "cancelled job %s (state %s)", cmd->args[0], job_state(&resp));
}

static const struct option job_submit_options[] = {
        { "prompt", required_argument, NULL, 'p' },
        { "prompt-file", required_argument, NULL, OPT_PROMPT_FILE },
        { "model", required_argument, NULL, 'm' },
        { "max-tokens", required_argument, NULL, 'n' },
        { "temperature", required_argument, NULL, OPT_TEMPERATURE },
        { "top-p", required_argument, NULL, OPT_TOP_P },
        { "seed", required_argument, NULL, OPT_SEED },
        { "stop", required_argument, NULL, OPT_STOP },
        { "wait", no_argument, NULL, OPT_WAIT },
        { "interval", required_argument, NULL, OPT_INTERVAL },
        { "wait-timeout", required_argument, NULL, OPT_WAIT_TIMEOUT },
        {},
};

const AdminGroup admin_group_jobs = {
        "job",
        "asynchronous generations",
        (const AdminVerb[]){
                { "submit", "POST", "/v1/jobs",
                  "(--prompt TEXT | --prompt-file FILE) [--model M] [--max-tokens N] [--temperature T] [--top-p P] "
                  "[--seed S] [--stop S]... [--wait [--interval 1s] [--wait-timeout D]]",
                  "submit a generation as a job; --wait for its text",
                  "Submits a generation that runs in the background. The prompt comes from\n"
                  "--prompt or from --prompt-file (\"-\": stdin; at most 64 MiB). --model may be\n"
                  "left out when one model is deployed; --max-tokens, --temperature (0 to 2),\n"
                  "--top-p, --seed and up to 4 --stop strings are passed to the controller.\n"
                  "Without --wait, the job's id is printed alone on stdout.\n"
                  "--wait polls the job every --interval (default 1s, at least 100ms) until it\n"
                  "ends, showing its progress on stderr, then prints its text on stdout (with\n"
                  "--json: the final job object). Exit code 9 when the job failed, was cancelled,\n"
                  "or is still running after --wait-timeout (default: no limit).",
                  job_submit_options, job_submit },
                { "list", "GET", "/v1/jobs", "", "list jobs, newest first",
                  "Lists jobs, newest first, without their text: an admin key sees every job, a\n"
                  "developer key its own.",
                  NULL, job_list },
                { "show", "GET", JOB_PATH, "", "show a job, and its text when it is done",
                  "Shows the job ID: its state, where and when it ran, its token counts or its\n"
                  "error, then the generated text after an empty line when it is done.",
                  NULL, job_show },
                { "cancel", "DELETE", JOB_PATH, "", "cancel a queued or running job",
                  "Cancels the job ID when it is queued or running; one that has ended already\n"
                  "is a conflict (exit code 5).",
                  NULL, job_cancel },
                {},
        },
};
