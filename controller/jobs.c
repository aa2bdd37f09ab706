/* jobs.c: asynchronous generations: handlers, the queue pump, retries and retention. */
#include "jobs.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "dispatch.h"
#include "inventory.h"
#include "json.h"
#include "log.h"
#include "store-jobs.h"
#include "store-keys.h"
#include "store-models.h"
#include "timeutil.h"

#define JOBS_PUMP_INTERVAL_USEC USEC_PER_SEC
#define JOBS_EXPIRE_INTERVAL_USEC (60 * USEC_PER_SEC)

static struct {
        lws_sorted_usec_list_t sul;
        Controller *ctl;
        uint64_t last_expire;
} pump;

static void pump_run(Controller *c);

static void pump_cb(lws_sorted_usec_list_t *sul) {
        (void) sul;
        pump_run(pump.ctl);
        lws_sul_schedule(pump.ctl->lws, 0, &pump.sul, pump_cb, JOBS_PUMP_INTERVAL_USEC);
}

int jobs_start(Controller *c, char *err, size_t errsz) {
        size_t requeued = 0, failed = 0;
        int r = store_job_recover(c->store, c->config.job_max_attempts, &requeued, &failed, err, errsz);

        if (r < 0)
                return r;
        if (requeued || failed)
                log_notice("jobs left running by the previous process: %zu queued again, %zu failed (no attempts left)",
                           requeued, failed);
        pump.ctl = c;
        lws_sul_schedule(c->lws, 0, &pump.sul, pump_cb, 1);
        return 0;
}

void jobs_stop(Controller *c) {
        (void) c;
        if (pump.ctl)
                lws_sul_cancel(&pump.sul);
        pump.ctl = NULL;
}

void jobs_kick(Controller *c) {
        if (pump.ctl && c->lws)
                lws_sul_schedule(c->lws, 0, &pump.sul, pump_cb, 1);
}

static void expire(Controller *c) {
        size_t deleted = 0, timed_out = 0;
        char err[256];
        uint64_t now = time_mono_usec();

        if (pump.last_expire && now - pump.last_expire < JOBS_EXPIRE_INTERVAL_USEC)
                return;
        pump.last_expire = now;
        if (store_job_expire(c->store, c->config.job_retention_usec, c->config.job_queue_timeout_usec, &deleted,
                             &timed_out, err, sizeof err) < 0)
                log_error("jobs: housekeeping failed: %s", err);
        else if (deleted || timed_out)
                log_info("jobs: %zu past their retention deleted, %zu failed after waiting longer than the queue timeout",
                         deleted, timed_out);
}

/* Hands one queued job to a node: 1 started, 0 left queued (no node now), < 0 failed. */
static int start_one(Controller *c, const char *id) {
        _cleanup_(store_job_freep) StoreJob *j = NULL;
        char node[PKI_NODE_NAME_MAX], zone[PKI_ZONE_MAX], err[256];
        cJSON *infer;
        int k;

        if ((k = store_job_get(c->store, id, &j, err, sizeof err)) < 0)
                return k;
        infer = cJSON_Parse(j->request_json);

        if (!infer)
                return store_job_fail(c->store, j->id, "internal", "the stored request cannot be read", err, sizeof err);
        k = dispatch_start_job(c, j->id, j->model, infer, node, sizeof node, zone, sizeof zone);
        if (k == -ENODEV) {
                if (!store_model_deployed(c->store, j->model))
                        return store_job_fail(c->store, j->id, "model_not_found", "the model is no longer deployed", err,
                                              sizeof err);
                return 0;
        }
        if (k < 0)
                return k;
        k = store_job_start(c->store, j->id, node, zone, err, sizeof err);
        if (k < 0) {
                log_error("job %s: cannot record its start: %s", j->id, err);
                dispatch_cancel_job(c, j->id);
                return k;
        }
        log_with(LOG_INFO, LOG_FIELDS(LOG_STR("job", j->id), LOG_STR("node", node), LOG_STR("zone", zone),
                                      LOG_INT("attempt", j->attempts + 1)),
                 "job %s started on %s (%s zone), attempt %u", j->id, node, zone, j->attempts + 1);
        return 1;
}

/* Starts queued jobs, oldest first, while fewer than max_running_jobs run. Jobs whose model no
 * connected node has ready are passed over (they wait, or fail when it is no longer deployed), so
 * they do not hold up jobs for other models. */
static void pump_run(Controller *c) {
        StoreJob *jobs = NULL;
        size_t n = 0;
        int64_t running;
        char err[256];

        expire(c);
        if (store_job_count_running(c->store, &running, err, sizeof err) < 0 ||
            running >= (int64_t) c->config.max_running_jobs)
                return;
        if (store_job_list_queued(c->store, STORE_JOB_LIST_MAX, &jobs, &n, err, sizeof err) < 0) {
                log_error("jobs: cannot read the queue: %s", err);
                return;
        }
        const char *waiting = NULL; /* the last model seen deployed with no node: its other jobs wait too */
        for (size_t i = 0; i < n && running < (int64_t) c->config.max_running_jobs; i++) {
                const char *prev;
                if (waiting && streq(waiting, jobs[i].model))
                        continue; /* no store query per job of a model that waits (the queue may hold 1 000) */
                if (!inventory_has_model(c->inventory, jobs[i].model) && store_model_deployed(c->store, jobs[i].model)) {
                        waiting = jobs[i].model;
                        continue;
                }
                prev = log_set_request_id(jobs[i].id);
                running += start_one(c, jobs[i].id) > 0;
                log_set_request_id(prev);
        }
        store_jobs_free(jobs, n);
}

void jobs_on_done(Controller *c, const char *job_id, const char *text, const char *finish_reason, uint32_t prompt_tokens,
                  uint32_t completion_tokens) {
        char err[256];

        if (store_job_finish(c->store, job_id, text, finish_reason, prompt_tokens, completion_tokens, err, sizeof err) < 0)
                log_warning("job %s: result not stored: %s", job_id, err);
        else
                log_with(LOG_INFO, LOG_FIELDS(LOG_STR("job", job_id)), "job %s done", job_id);
        jobs_kick(c);
}

void jobs_on_error(Controller *c, const char *job_id, const char *code, const char *message, bool retriable) {
        _cleanup_(store_job_freep) StoreJob *j = NULL;
        char err[256];
        int k = store_job_get(c->store, job_id, &j, err, sizeof err);

        if (k >= 0 && retriable && j->attempts < c->config.job_max_attempts)
                k = store_job_requeue(c->store, job_id, err, sizeof err);
        else if (k >= 0) {
                k = store_job_fail(c->store, job_id, code, message, err, sizeof err);
                retriable = false;
        }
        if (k < 0)
                log_warning("job %s: outcome not stored: %s", job_id, err);
        else
                log_with(LOG_WARNING, LOG_FIELDS(LOG_STR("job", job_id), LOG_STR("code", code)), "job %s: %s: %s (%s)",
                         job_id, code, message, retriable ? "queued again" : "failed");
        jobs_kick(c);
}

/* ---- the HTTP side ---- */

static void add_opt_string(cJSON *o, const char *key, const char *v) {
        if (v)
                cJSON_AddStringToObject(o, key, v);
        else
                cJSON_AddNullToObject(o, key);
}

static cJSON *job_json(const Controller *c, const StoreJob *j) {
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "id", j->id);
        cJSON_AddStringToObject(o, "object", "job");
        cJSON_AddStringToObject(o, "state", store_job_state_to_string(j->state));
        cJSON_AddStringToObject(o, "model", j->model);
        http_json_add_time(o, "created_at", j->created_at);
        http_json_add_time(o, "started_at", j->started_at);
        http_json_add_time(o, "finished_at", j->finished_at);
        http_json_add_time(o, "expires_at", j->finished_at ? j->finished_at + c->config.job_retention_usec : 0);
        cJSON_AddNumberToObject(o, "attempts", j->attempts);
        add_opt_string(o, "zone", j->zone);
        if (j->state == STORE_JOB_DONE) {
                cJSON *out = cJSON_AddObjectToObject(o, "output"), *u;
                if (j->output)
                        cJSON_AddStringToObject(out, "text", j->output);
                add_opt_string(out, "finish_reason", j->finish_reason);
                u = cJSON_AddObjectToObject(out, "usage");
                cJSON_AddNumberToObject(u, "prompt_tokens", j->prompt_tokens);
                cJSON_AddNumberToObject(u, "completion_tokens", j->completion_tokens);
                cJSON_AddNumberToObject(u, "total_tokens", (double) j->prompt_tokens + j->completion_tokens);
        }
        if (j->state == STORE_JOB_FAILED) {
                cJSON *e = cJSON_AddObjectToObject(o, "error");
                add_opt_string(e, "code", j->error_code);
                add_opt_string(e, "message", j->error_message);
        }
        return o;
}

/* Admins see every job; anyone else only the jobs of their own key. */
static const char *owner_filter(const HttpRequest *r) {
        return r->principal == PRINCIPAL_ADMIN ? NULL : r->key ? r->key->id : "";
}

void jobs_handle_create(HttpRequest *r) {
        _cleanup_json_ cJSON *body = NULL;
        _cleanup_(store_job_freep) StoreJob *j = NULL;
        _cleanup_free_ char *request = NULL;
        OpenAIRequest oa;
        char err[512];
        int k;

        if (api_parse_generation(r, OPENAI_GENERATE, &body, &oa) < 0)
                return;
        _cleanup_json_ cJSON *infer = oa.infer;
        if (oa.stream) {
                http_reply_error(r, 400, NULL, "invalid_request", "stream: a job is not streamed (use POST /v1/generate)");
                return;
        }
        if (!store_model_deployed(r->ctl->store, oa.model)) {
                http_reply_error(r, 404, "invalid_request_error", "model_not_found",
                                 "the model \"%.128s\" does not exist (GET /v1/models lists them)", oa.model);
                return;
        }
        Classification cl;
        if (dispatch_classify_http(r, infer, oa.model, &cl) < 0)
                return; /* the class is stored in the frame: each attempt classifies again with it as the floor */
        request = cJSON_PrintUnformatted(infer);
        if (!request) {
                http_reply_error(r, 500, NULL, "internal", "out of memory");
                return;
        }
        k = store_job_create(r->ctl->store, r->key ? r->key->id : "", oa.model, request, r->ctl->config.max_jobs_per_key,
                             r->ctl->config.max_jobs, &j, err, sizeof err);
        if (k == -E2BIG) {
                http_reply_error(r, 429, NULL, "too_many_jobs", "%s", err);
                return;
        }
        if (k < 0) {
                http_reply_error(r, k == -EINVAL ? 400 : 500, NULL, k == -EINVAL ? "invalid_request" : "internal", "%s", err);
                return;
        }
        log_with(LOG_INFO, LOG_FIELDS(LOG_STR("job", j->id), LOG_STR("model", j->model)), "job %s queued", j->id);
        snprintf(r->location, sizeof r->location, "/v1/jobs/%s", j->id);
        http_reply_json(r, 202, job_json(r->ctl, j));
        jobs_kick(r->ctl);
}

void jobs_handle_list(HttpRequest *r) {
        StoreJob *jobs = NULL;
        size_t n = 0;
        char err[256];
        cJSON *o, *data;

        if (store_job_list(r->ctl->store, owner_filter(r), STORE_JOB_LIST_MAX, &jobs, &n, err, sizeof err) < 0) {
                http_reply_error(r, 500, NULL, "internal", "%s", err);
                return;
        }
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "object", "list");
        data = cJSON_AddArrayToObject(o, "data");
        for (size_t i = 0; i < n; i++)
                cJSON_AddItemToArray(data, job_json(r->ctl, &jobs[i]));
        store_jobs_free(jobs, n);
        http_reply_json(r, 200, o);
}

/* The job named in the path, when the caller may see it; else replies 404 and returns NULL. */
static StoreJob *job_of_request(HttpRequest *r) {
        const char *id = route_param(&r->params, "id"), *owner = owner_filter(r);
        StoreJob *j = NULL;
        char err[256];
        int k = store_job_get(r->ctl->store, id, &j, err, sizeof err);

        if (k >= 0 && owner && !streq(owner, j->key_id))
                j = store_job_free(j), k = -ENOENT; /* another key's job does not exist for this caller */
        if (k == -ENOENT)
                http_reply_error(r, 404, NULL, "job_not_found", "no job %.64s (jobs are kept until their expires_at)", id);
        else if (k < 0)
                http_reply_error(r, 500, NULL, "internal", "%s", err);
        return k < 0 ? NULL : j;
}

void jobs_handle_get(HttpRequest *r) {
        _cleanup_(store_job_freep) StoreJob *j = job_of_request(r);

        if (j)
                http_reply_json(r, 200, job_json(r->ctl, j));
}

void jobs_handle_cancel(HttpRequest *r) {
        _cleanup_(store_job_freep) StoreJob *j = job_of_request(r), *after = NULL;
        char err[256];
        int k;

        if (!j)
                return;
        k = store_job_cancel(r->ctl->store, j->id, err, sizeof err);
        if (k == -EALREADY) {
                http_reply_error(r, 409, NULL, "job_finished", "job %s has already ended (%s)", j->id,
                                 store_job_state_to_string(j->state));
                return;
        }
        if (k < 0 || store_job_get(r->ctl->store, j->id, &after, err, sizeof err) < 0) {
                http_reply_error(r, 500, NULL, "internal", "%s", err);
                return;
        }
        if (j->state == STORE_JOB_RUNNING)
                dispatch_cancel_job(r->ctl, j->id);
        log_with(LOG_INFO, LOG_FIELDS(LOG_STR("job", j->id)), "job %s cancelled", j->id);
        http_reply_json(r, 200, job_json(r->ctl, after));
}
