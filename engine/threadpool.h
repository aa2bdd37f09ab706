/* threadpool.h: a fixed set of worker threads that split a range of work items with the caller. */
#pragma once

#include <stddef.h>

#include "macro.h"

typedef struct ThreadPool ThreadPool;
/* Work on items [begin, end) of a job; ctx is the job's argument. */
typedef void (*ThreadPoolFunc)(void *ctx, size_t begin, size_t end);

/* Starts n_threads - 1 workers (the caller is the n-th). n_threads 0 means one per online CPU.
 * Returns 0, -EINVAL (more than 1024 threads) or the pthread error. */
int threadpool_new(unsigned n_threads, ThreadPool **ret);
/* Stops and joins the workers. Accepts NULL; returns NULL. */
ThreadPool *threadpool_free(ThreadPool *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(ThreadPool *, threadpool_free);
unsigned threadpool_size(const ThreadPool *p);

/* Runs fn over [0, n) split into chunks of at least grain items, on all threads, and returns when
 * all are done. Not re-entrant: one run at a time per pool. */
void threadpool_run(ThreadPool *p, ThreadPoolFunc fn, void *ctx, size_t n, size_t grain);
