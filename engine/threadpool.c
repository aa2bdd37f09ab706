/* threadpool.c: persistent pthread workers; each run hands out chunks through an atomic counter. */
#include "threadpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

struct ThreadPool {
        pthread_t *threads;
        unsigned n_threads; /* including the caller */
        pthread_mutex_t lock;
        pthread_cond_t wake, done;
        uint64_t generation; /* bumped for each run */
        unsigned n_busy;     /* workers still in the current run */
        bool stop;
        /* the current run */
        ThreadPoolFunc fn;
        void *ctx;
        size_t n, chunk;
        atomic_size_t next;
};

static void run_chunks(ThreadPool *p) {
        for (;;) {
                size_t begin = atomic_fetch_add(&p->next, p->chunk);
                if (begin >= p->n)
                        return;
                p->fn(p->ctx, begin, MIN(begin + p->chunk, p->n));
        }
}

static void *worker(void *arg) {
        ThreadPool *p = arg;
        uint64_t seen = 0;

        pthread_mutex_lock(&p->lock);
        for (;;) {
                while (!p->stop && p->generation == seen)
                        pthread_cond_wait(&p->wake, &p->lock);
                if (p->stop)
                        break;
                seen = p->generation;
                pthread_mutex_unlock(&p->lock);
                run_chunks(p);
                pthread_mutex_lock(&p->lock);
                if (--p->n_busy == 0)
                        pthread_cond_signal(&p->done);
        }
        pthread_mutex_unlock(&p->lock);
        return NULL;
}

int threadpool_new(unsigned n_threads, ThreadPool **ret) {
        ThreadPool *p;

        if (n_threads == 0) {
                long n = sysconf(_SC_NPROCESSORS_ONLN);
                n_threads = n > 0 ? (unsigned) n : 1;
        }
        if (n_threads > 1024)
                return -EINVAL;
        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->threads = calloc(n_threads, sizeof *p->threads);
        if (!p->threads) {
                free(p);
                return -ENOMEM;
        }
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->wake, NULL);
        pthread_cond_init(&p->done, NULL);
        p->n_threads = 1;
        for (unsigned i = 1; i < n_threads; i++) {
                int r = pthread_create(&p->threads[i], NULL, worker, p);
                if (r != 0) {
                        threadpool_free(p);
                        return -r;
                }
                p->n_threads++;
        }
        *ret = p;
        return 0;
}

ThreadPool *threadpool_free(ThreadPool *p) {
        if (!p)
                return NULL;
        pthread_mutex_lock(&p->lock);
        p->stop = true;
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
        for (unsigned i = 1; i < p->n_threads; i++)
                pthread_join(p->threads[i], NULL);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->wake);
        pthread_cond_destroy(&p->done);
        free(p->threads);
        free(p);
        return NULL;
}

unsigned threadpool_size(const ThreadPool *p) {
        return p ? p->n_threads : 1;
}

void threadpool_run(ThreadPool *p, ThreadPoolFunc fn, void *ctx, size_t n, size_t grain) {
        size_t chunk;

        if (n == 0)
                return;
        grain = MAX(grain, (size_t) 1);
        /* about 4 chunks per thread balances load without much counter traffic */
        chunk = MAX(grain, (n + 4 * p->n_threads - 1) / (4 * p->n_threads));
        if (p->n_threads == 1 || n <= chunk) {
                fn(ctx, 0, n);
                return;
        }
        pthread_mutex_lock(&p->lock);
        p->fn = fn;
        p->ctx = ctx;
        p->n = n;
        p->chunk = chunk;
        atomic_store(&p->next, 0);
        p->n_busy = p->n_threads - 1;
        p->generation++;
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
        run_chunks(p);
        pthread_mutex_lock(&p->lock);
        while (p->n_busy > 0)
                pthread_cond_wait(&p->done, &p->lock);
        pthread_mutex_unlock(&p->lock);
}
