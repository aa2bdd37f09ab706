/* store-jobs.h: asynchronous generations (POST /v1/jobs): the request, its state, its output, kept
 * until a retention time after they end. */
#pragma once

#include "store.h"

#define STORE_JOB_ID_LEN 28            /* "job-" + 24 hex digits */
#define STORE_JOB_REQUEST_MAX 67108864 /* bytes of a stored request (the body limit bounds it first) */
#define STORE_JOB_LIST_MAX 1000        /* jobs in one listing */
#define STORE_JOB_CODE_MAX 64          /* bytes of an error code */

/* queued -> running -> done | failed; queued/running -> cancelled; running -> queued (retry). */
typedef enum StoreJobState {
        STORE_JOB_QUEUED,
        STORE_JOB_RUNNING,
        STORE_JOB_DONE,
        STORE_JOB_FAILED,
        STORE_JOB_CANCELLED,
        _STORE_JOB_STATE_MAX,
        _STORE_JOB_STATE_INVALID = -EINVAL,
} StoreJobState;

const char *store_job_state_to_string(StoreJobState s);
StoreJobState store_job_state_from_string(const char *s);
/* Whether a job in state s has ended (done, failed, cancelled). */
bool store_job_state_final(StoreJobState s);

typedef struct StoreJob {
        char *id;
        char *key_id;       /* the API key that submitted it */
        char *model;
        char *request_json; /* the infer frame without id (prompt, params); NULL in listings */
        StoreJobState state;
        unsigned attempts;  /* times it was sent to a node */
        char *node, *zone;  /* where it last ran; NULL before */
        char *output;       /* the generated text when done; NULL in listings */
        char *finish_reason;
        uint32_t prompt_tokens, completion_tokens;
        char *error_code, *error_message; /* when failed */
        uint64_t created_at, started_at, finished_at;
} StoreJob;

void store_job_done(StoreJob *j);
StoreJob *store_job_free(StoreJob *j);
DEFINE_TRIVIAL_CLEANUP_FUNC(StoreJob *, store_job_free);
void store_jobs_free(StoreJob *a, size_t n);

/* Stores a new queued job. -E2BIG when key_id already has max_per_key jobs queued or running, or
 * the table holds max_total jobs (the caller answers 429). ret (may be NULL) gets the record. */
int store_job_create(Store *s, const char *key_id, const char *model, const char *request_json, unsigned max_per_key,
                     unsigned max_total, StoreJob **ret, char *err, size_t errsz);
/* One job (-ENOENT), with its request and output. */
int store_job_get(Store *s, const char *id, StoreJob **ret, char *err, size_t errsz);
/* Jobs newest first (key_id NULL: everyone's), without request and output, at most limit. */
int store_job_list(Store *s, const char *key_id, size_t limit, StoreJob **ret, size_t *ret_n, char *err, size_t errsz);
/* The oldest queued jobs, at most limit, without requests (store_job_get has them). */
int store_job_list_queued(Store *s, size_t limit, StoreJob **ret, size_t *ret_n, char *err, size_t errsz);
/* How many jobs are running. */
int store_job_count_running(Store *s, int64_t *ret, char *err, size_t errsz);

/* The moves; each returns -ESTALE when the job is no longer in a state it may leave that way (e.g.
 * cancelled meanwhile), -ENOENT when it does not exist. */
int store_job_start(Store *s, const char *id, const char *node, const char *zone, char *err, size_t errsz);
int store_job_requeue(Store *s, const char *id, char *err, size_t errsz);
int store_job_finish(Store *s, const char *id, const char *output, const char *finish_reason, uint32_t prompt_tokens,
                     uint32_t completion_tokens, char *err, size_t errsz);
int store_job_fail(Store *s, const char *id, const char *code, const char *message, char *err, size_t errsz);
/* -EALREADY when the job had already ended. */
int store_job_cancel(Store *s, const char *id, char *err, size_t errsz);

/* At start: jobs left running by a previous process go back to the queue, or fail with
 * "controller_restart" once they were tried max_attempts times. */
int store_job_recover(Store *s, unsigned max_attempts, size_t *ret_requeued, size_t *ret_failed, char *err,
                      size_t errsz);
/* Housekeeping: deletes jobs that ended more than retention_usec ago and fails those queued for
 * more than queue_timeout_usec ("queue_timeout"). The numbers go to *ret_deleted, *ret_timed_out. */
int store_job_expire(Store *s, uint64_t retention_usec, uint64_t queue_timeout_usec, size_t *ret_deleted,
                     size_t *ret_timed_out, char *err, size_t errsz);
