/* store-jobs.c: asynchronous generations: creation with per-key and total limits, state moves,
 * recovery after a restart, retention. */
#include "store-jobs.h"

#include "encode.h"
#include "random.h"
#include "store-internal.h"

#define JOB_COLUMNS                                                                                                   \
        "id, key_id, model, state, attempts, node, zone, finish_reason, prompt_tokens, completion_tokens, "          \
        "error_code, error_message, created_at, started_at, finished_at"
#define JOB_COLUMNS_FULL JOB_COLUMNS ", request, output"

static const char *const state_names[_STORE_JOB_STATE_MAX] = {
        [STORE_JOB_QUEUED] = "queued",   [STORE_JOB_RUNNING] = "running",     [STORE_JOB_DONE] = "done",
        [STORE_JOB_FAILED] = "failed",   [STORE_JOB_CANCELLED] = "cancelled",
};

const char *store_job_state_to_string(StoreJobState s) {
        return s >= 0 && s < _STORE_JOB_STATE_MAX ? state_names[s] : NULL;
}

StoreJobState store_job_state_from_string(const char *s) {
        return (StoreJobState) string_table_lookup(state_names, _STORE_JOB_STATE_MAX, s);
}

bool store_job_state_final(StoreJobState s) {
        return s == STORE_JOB_DONE || s == STORE_JOB_FAILED || s == STORE_JOB_CANCELLED;
}

void store_job_done(StoreJob *j) {
        if (!j)
                return;
        free(j->id);
        free(j->key_id);
        free(j->model);
        free(j->request_json);
        free(j->node);
        free(j->zone);
        free(j->output);
        free(j->finish_reason);
        free(j->error_code);
        free(j->error_message);
        *j = (StoreJob){};
}

STORE_DEFINE_FREE(StoreJob, store_job)
STORE_DEFINE_ARRAY_FREE(StoreJob, store_job, store_jobs)

/* Reads the JOB_COLUMNS (and when *(bool *) full, the request and output) of the current row into *j. */
static int read_job(sqlite3_stmt *st, void *j, void *full) {
        StoreJob x = {};
        char **text[] = { &x.id, &x.key_id, &x.model, NULL, NULL, &x.node, &x.zone, &x.finish_reason, NULL, NULL,
                          &x.error_code, &x.error_message };

        for (size_t i = 0; i < ELEMENTSOF(text); i++)
                if (text[i] && store_column_strdup(st, (int) i, text[i]) < 0)
                        goto oom;
        if (*(bool *) full &&
            (store_column_strdup(st, 15, &x.request_json) < 0 || store_column_strdup(st, 16, &x.output) < 0))
                goto oom;
        x.state = store_job_state_from_string((const char *) sqlite3_column_text(st, 3));
        x.attempts = (unsigned) store_column_u64(st, 4);
        x.prompt_tokens = (uint32_t) store_column_u64(st, 8);
        x.completion_tokens = (uint32_t) store_column_u64(st, 9);
        x.created_at = store_column_u64(st, 12);
        x.started_at = store_column_u64(st, 13);
        x.finished_at = store_column_u64(st, 14);
        *(StoreJob *) j = x;
        return 0;
oom:
        store_job_done(&x);
        return -ENOMEM;
}

/* Runs a prepared SELECT of JOB_COLUMNS[_FULL] and collects its rows. */
static int collect_jobs(sqlite3_stmt *st, bool full, StoreJob **ret, size_t *ret_n, char *err, size_t errsz) {
        return store_collect(st, sizeof **ret, read_job, &full, store_jobs_free_rows, "jobs", (void **) ret, ret_n, err,
                             errsz);
}

int store_job_get(Store *s, const char *id, StoreJob **ret, char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        StoreJob *a = NULL;
        size_t n = 0;
        int r;

        r = store_prepare(s->db, "SELECT " JOB_COLUMNS_FULL " FROM jobs WHERE id = ?", &st, err, errsz);
        if (r >= 0)
                r = store_bind(st, err, errsz, "t", id);
        if (r >= 0)
                r = collect_jobs(st, true, &a, &n, err, errsz);
        if (r < 0)
                return r;
        if (n == 0) {
                free(a);
                return errorf(err, errsz, -ENOENT, "no job %.64s", id);
        }
        *ret = a;
        return 0;
}

int store_job_list(Store *s, const char *key_id, size_t limit, StoreJob **ret, size_t *ret_n, char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = store_prepare(s->db,
                          "SELECT " JOB_COLUMNS " FROM jobs WHERE ?1 IS NULL OR key_id = ?1 "
                          "ORDER BY created_at DESC, id LIMIT ?2",
                          &st, err, errsz);
        if (r >= 0)
                r = store_bind(st, err, errsz, "ti", key_id, (int64_t) MIN(limit, (size_t) STORE_JOB_LIST_MAX));
        return r < 0 ? r : collect_jobs(st, false, ret, ret_n, err, errsz);
}

int store_job_list_queued(Store *s, size_t limit, StoreJob **ret, size_t *ret_n, char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = store_prepare(s->db,
                          "SELECT " JOB_COLUMNS " FROM jobs WHERE state = 'queued' ORDER BY created_at, id LIMIT ?",
                          &st, err, errsz);
        if (r >= 0)
                r = store_bind(st, err, errsz, "i", (int64_t) MIN(limit, (size_t) STORE_JOB_LIST_MAX));
        return r < 0 ? r : collect_jobs(st, false, ret, ret_n, err, errsz);
}

int store_job_count_running(Store *s, int64_t *ret, char *err, size_t errsz) {
        return store_count(s, "SELECT count(*) FROM jobs WHERE state = 'running'", ret, err, errsz, "");
}

static int new_job_id(char ret[static STORE_JOB_ID_LEN + 1]) {
        uint8_t raw[12];
        _cleanup_free_ char *hex = NULL;
        int r = random_bytes(raw, sizeof raw);

        if (r < 0)
                return r;
        r = encode_hex(raw, sizeof raw, &hex);
        if (r < 0)
                return r;
        snprintf(ret, STORE_JOB_ID_LEN + 1, "job-%s", hex);
        return 0;
}

/* Whether key_id may queue one more job. */
static int check_room(Store *s, const char *key_id, unsigned max_per_key, unsigned max_total, char *err, size_t errsz) {
        int64_t mine, all;
        int r;

        r = store_count(s, "SELECT count(*) FROM jobs WHERE key_id = ? AND state IN ('queued', 'running')", &mine, err,
                        errsz, "t", key_id);
        if (r >= 0)
                r = store_count(s, "SELECT count(*) FROM jobs", &all, err, errsz, "");
        if (r < 0)
                return r;
        if (mine >= (int64_t) max_per_key)
                return errorf(err, errsz, -E2BIG,
                              "this API key already has %lld jobs queued or running (limit %u): wait for some to end",
                              (long long) mine, max_per_key);
        if (all >= (int64_t) max_total)
                return errorf(err, errsz, -E2BIG, "the controller holds %lld jobs (limit %u): try again later",
                              (long long) all, max_total);
        return 0;
}

int store_job_create(Store *s, const char *key_id, const char *model, const char *request_json, unsigned max_per_key,
                     unsigned max_total, StoreJob **ret, char *err, size_t errsz) {
        _cleanup_tx_ StoreTx tx = {};
        char id[STORE_JOB_ID_LEN + 1];
        int r;

        if ((r = store_check_text("key id", key_id, STORE_ACTOR_MAX, err, errsz)) < 0 ||
            (r = store_check_name("model", model, true, err, errsz)) < 0)
                return r;
        if (!request_json || strlen(request_json) > STORE_JOB_REQUEST_MAX)
                return errorf(err, errsz, -E2BIG, "request: missing or over %d bytes", STORE_JOB_REQUEST_MAX);
        if ((r = new_job_id(id)) < 0)
                return errorf(err, errsz, r, "job: no random bytes: %s", strerror(-r));
        if ((r = store_tx_begin(s, &tx, err, errsz)) < 0 || (r = check_room(s, key_id, max_per_key, max_total, err, errsz)) < 0)
                return r;
        r = store_run(s,
                      "INSERT INTO jobs (id, key_id, model, request, state, created_at) VALUES (?, ?, ?, ?, 'queued', ?)",
                      err, errsz, "tttti", id, key_id, model, request_json, (int64_t) store_now(s));
        if (r < 0 || (r = store_tx_commit(&tx, err, errsz)) < 0)
                return r;
        return ret ? store_job_get(s, id, ret, err, errsz) : 0;
}

/* One state move: 1 row changed, else -ENOENT or -ESTALE. */
static int moved(Store *s, const char *id, int changed, char *err, size_t errsz) {
        int64_t n;
        int r;

        if (changed != 0)
                return changed < 0 ? changed : 0;
        r = store_count(s, "SELECT count(*) FROM jobs WHERE id = ?", &n, err, errsz, "t", id);
        if (r < 0)
                return r;
        return errorf(err, errsz, n ? -ESTALE : -ENOENT,
                      n ? "job %.64s is not in a state that allows this" : "no job %.64s", id);
}

int store_job_start(Store *s, const char *id, const char *node, const char *zone, char *err, size_t errsz) {
        int r = store_run(s,
                          "UPDATE jobs SET state = 'running', node = ?, zone = ?, started_at = ?, attempts = attempts + 1 "
                          "WHERE id = ? AND state = 'queued'",
                          err, errsz, "ttit", node, zone, (int64_t) store_now(s), id);
        return moved(s, id, r, err, errsz);
}

int store_job_requeue(Store *s, const char *id, char *err, size_t errsz) {
        int r = store_run(s, "UPDATE jobs SET state = 'queued' WHERE id = ? AND state = 'running'", err, errsz, "t", id);
        return moved(s, id, r, err, errsz);
}

int store_job_finish(Store *s, const char *id, const char *output, const char *finish_reason, uint32_t prompt_tokens,
                     uint32_t completion_tokens, char *err, size_t errsz) {
        int r = store_run(s,
                          "UPDATE jobs SET state = 'done', output = ?, finish_reason = ?, prompt_tokens = ?, "
                          "completion_tokens = ?, finished_at = ? WHERE id = ? AND state = 'running'",
                          err, errsz, "ttiiit", output, finish_reason, (int64_t) prompt_tokens,
                          (int64_t) completion_tokens, (int64_t) store_now(s), id);
        return moved(s, id, r, err, errsz);
}

int store_job_fail(Store *s, const char *id, const char *code, const char *message, char *err, size_t errsz) {
        char msg[STORE_REASON_MAX + 1];
        int r;

        snprintf(msg, sizeof msg, "%s", message); /* long agent messages are cut, not refused */
        r = store_run(s,
                      "UPDATE jobs SET state = 'failed', error_code = ?, error_message = ?, finished_at = ? "
                      "WHERE id = ? AND state IN ('queued', 'running')",
                      err, errsz, "ttit", code, msg, (int64_t) store_now(s), id);
        return moved(s, id, r, err, errsz);
}

int store_job_cancel(Store *s, const char *id, char *err, size_t errsz) {
        int r = store_run(s,
                          "UPDATE jobs SET state = 'cancelled', finished_at = ? WHERE id = ? AND state IN ('queued', 'running')",
                          err, errsz, "it", (int64_t) store_now(s), id);
        r = moved(s, id, r, err, errsz);
        if (r == -ESTALE)
                return errorf(err, errsz, -EALREADY, "job %.64s has already ended", id);
        return r;
}

int store_job_recover(Store *s, unsigned max_attempts, size_t *ret_requeued, size_t *ret_failed, char *err,
                      size_t errsz) {
        _cleanup_tx_ StoreTx tx = {};
        int failed, requeued, r;

        if ((r = store_tx_begin(s, &tx, err, errsz)) < 0)
                return r;
        failed = store_run(s,
                           "UPDATE jobs SET state = 'failed', error_code = 'controller_restart', error_message = "
                           "'the controller restarted while the job ran, and it had no attempts left', finished_at = ?1 "
                           "WHERE state = 'running' AND attempts >= ?2",
                           err, errsz, "ii", (int64_t) store_now(s), (int64_t) max_attempts);
        if (failed < 0)
                return failed;
        requeued = store_run(s, "UPDATE jobs SET state = 'queued' WHERE state = 'running'", err, errsz, "");
        if (requeued < 0)
                return requeued;
        if ((r = store_tx_commit(&tx, err, errsz)) < 0)
                return r;
        *ret_requeued = (size_t) requeued;
        *ret_failed = (size_t) failed;
        return 0;
}

int store_job_expire(Store *s, uint64_t retention_usec, uint64_t queue_timeout_usec, size_t *ret_deleted,
                     size_t *ret_timed_out, char *err, size_t errsz) {
        uint64_t now = store_now(s);
        int deleted, timed_out;

        deleted = store_run(s, "DELETE FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ?", err, errsz, "i",
                            (int64_t) (now > retention_usec ? now - retention_usec : 0));
        if (deleted < 0)
                return deleted;
        timed_out = store_run(s,
                              "UPDATE jobs SET state = 'failed', error_code = 'queue_timeout', error_message = "
                              "'no node could take the job within the queue timeout', finished_at = ?1 "
                              "WHERE state = 'queued' AND created_at < ?2",
                              err, errsz, "ii", (int64_t) now,
                              (int64_t) (now > queue_timeout_usec ? now - queue_timeout_usec : 0));
        if (timed_out < 0)
                return timed_out;
        *ret_deleted = (size_t) deleted;
        *ret_timed_out = (size_t) timed_out;
        return 0;
}
