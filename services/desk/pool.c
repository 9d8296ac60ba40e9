/* pool.c — the desk's worker threads and the self-pipe back to the loop.
 *
 * One FIFO under a mutex feeds every worker; finished jobs go on a list the
 * loop drains when the pipe's byte arrives (a full pipe already wakes it,
 * so a failed write is harmless). The stop flag is read without the lock
 * by long work (pool_stopping): an atomic, so the read is defined.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include <zmq.h>

#include "log.h"
#include "pool.h"

#define POOL_THREADS_MAX 1024

struct pool {
    loop *l;
    int pipe[2];
    pthread_t threads[POOL_THREADS_MAX];
    int nthreads;
    void *(*make_state)(void *);
    void *state_arg;
    void (*free_state)(void *);
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_bool stop;
    struct pool_job *queued, *queued_tail;
    struct pool_job *done;
};

static void *pool_main(void *arg)
{
    pool *p = arg;
    void *state = p->make_state ? p->make_state(p->state_arg) : NULL;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->queued && !atomic_load(&p->stop))
            pthread_cond_wait(&p->cv, &p->mu);
        if (atomic_load(&p->stop))
            break;
        struct pool_job *j = p->queued;
        p->queued = j->next;
        if (!p->queued)
            p->queued_tail = NULL;
        pthread_mutex_unlock(&p->mu);
        j->work(j, state);
        pthread_mutex_lock(&p->mu);
        j->next = p->done;
        p->done = j;
        char b = 1;
        ssize_t n = write(p->pipe[1], &b, 1);
        (void)n;
    }
    pthread_mutex_unlock(&p->mu);
    if (p->free_state)
        p->free_state(state);
    return NULL;
}

static void pool_deliver(pool *p, bool cancelled)
{
    pthread_mutex_lock(&p->mu);
    struct pool_job *list = p->done;
    p->done = NULL;
    pthread_mutex_unlock(&p->mu);
    while (list) {
        struct pool_job *j = list;
        list = j->next;
        j->done(j, cancelled);
    }
}

static int pool_on_pipe(loop *l, short revents, void *arg)
{
    (void)l;
    (void)revents;
    pool *p = arg;
    char b[256];
    while (read(p->pipe[0], b, sizeof b) > 0)
        ;
    pool_deliver(p, false);
    return 0;
}

pool *pool_new(loop *l, int threads, void *(*make_state)(void *), void (*free_state)(void *),
               void *arg)
{
    if (threads < 1 || threads > POOL_THREADS_MAX) {
        log_error("desk: %d worker threads: expected 1 to %d", threads, POOL_THREADS_MAX);
        return NULL;
    }
    pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->l = l;
    p->make_state = make_state;
    p->state_arg = arg;
    p->free_state = free_state;
    atomic_init(&p->stop, false);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pipe2(p->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        log_error("desk: could not make the workers' pipe");
        p->pipe[0] = p->pipe[1] = -1;
        pool_destroy(&p);
        return NULL;
    }
    if (loop_add_fd(l, p->pipe[0], ZMQ_POLLIN, pool_on_pipe, p) != 0) {
        pool_destroy(&p);
        return NULL;
    }
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, pool_main, p) != 0) {
            log_error("desk: could not start worker %d", i);
            pool_destroy(&p);
            return NULL;
        }
        p->nthreads++;
    }
    return p;
}

bool pool_stopping(const pool *p)
{
    return atomic_load(&((pool *)p)->stop);
}

int pool_submit(pool *p, struct pool_job *j)
{
    if (atomic_load(&p->stop))
        return -1;
    j->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->queued_tail)
        p->queued_tail->next = j;
    else
        p->queued = j;
    p->queued_tail = j;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

void pool_destroy(pool **pp)
{
    pool *p = *pp;
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    /* Finished ones are answered as usual; never started ones cancelled. */
    pool_deliver(p, false);
    while (p->queued) {
        struct pool_job *j = p->queued;
        p->queued = j->next;
        j->done(j, true);
    }
    if (p->pipe[0] >= 0) {
        loop_remove_fd(p->l, p->pipe[0]);
        close(p->pipe[0]);
        close(p->pipe[1]);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
    *pp = NULL;
}
