/* pool.h — blocking work off the desk's loop: worker threads that call
 * channel-ingest and check passwords, answering back on the loop.
 *
 * The loop never waits on the API or on scrypt: a handler suspends its
 * request and submits a job; one of the workers runs job->work (it may
 * block: an HTTP call, a long poll, a password hash), then the loop calls
 * job->done on its own thread through a self-pipe (as channel-ingest's
 * hasher does), which answers the request. Workers own no ZeroMQ socket
 * and share no PGconn. pool_destroy raises the stop flag (long polls give
 * up within a tenth of a second), joins the workers and calls done with
 * cancelled = true for every job not delivered, so each request is answered.
 */
#ifndef DESK_POOL_H
#define DESK_POOL_H

#include <stdbool.h>

#include "loop.h"

typedef struct pool pool;

struct pool_job {
    void (*work)(struct pool_job *j, void *worker_state); /* on a worker */
    void (*done)(struct pool_job *j, bool cancelled);     /* on the loop; frees j */
    struct pool_job *next;                                /* the pool's */
};

/* threads workers; each gets its own state from make_state(arg) (may be NULL),
 * freed by free_state when it ends. NULL (logged) on failure. */
pool *pool_new(loop *l, int threads, void *(*make_state)(void *arg), void (*free_state)(void *),
               void *arg);
void pool_destroy(pool **pp);

/* Queues j; 0, or -1 when the pool is stopping (done is not called). */
int pool_submit(pool *p, struct pool_job *j);

/* True once pool_destroy began: long work checks it to end early. */
bool pool_stopping(const pool *p);

#endif
