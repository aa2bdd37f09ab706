/* jobs.h: asynchronous generations (POST /v1/jobs): the handlers, the queue that hands stored jobs
 * to nodes as capacity allows, retries when a node is lost, retention. Jobs live in the store, so
 * they survive a restart of the controller: a job that was running is queued again. */
#pragma once

#include "controller.h"
#include "http.h"

/* At start, after the lws context exists: requeues jobs a previous process left running and starts
 * the queue timer. */
int jobs_start(Controller *c, char *err, size_t errsz);
void jobs_stop(Controller *c);
/* Asks the queue to run soon (a node became ready, a job ended). Never runs it synchronously. */
void jobs_kick(Controller *c);

/* The outcome of an attempt (from dispatch.c). A retriable error queues the job again while it has
 * attempts left (job_max_attempts); any other ends it as failed with the agent's code. */
void jobs_on_done(Controller *c, const char *job_id, const char *text, const char *finish_reason, uint32_t prompt_tokens,
                  uint32_t completion_tokens);
void jobs_on_error(Controller *c, const char *job_id, const char *code, const char *message, bool retriable);

/* POST /v1/jobs, GET /v1/jobs, GET /v1/jobs/{id}, DELETE /v1/jobs/{id}. */
void jobs_handle_create(HttpRequest *r);
void jobs_handle_list(HttpRequest *r);
void jobs_handle_get(HttpRequest *r);
void jobs_handle_cancel(HttpRequest *r);
