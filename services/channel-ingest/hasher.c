/* hasher.c — see hasher.h. Jobs go through one list guarded by a mutex:
 * queued (worker's), then done (loop's); the pipe carries a byte per
 * finished job. */
#include "hasher.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "log.h"
#include "password.h"

struct job {
    struct job *next;
    char *password;
    size_t len;
    char phc[PASSWORD_HASH_MAX];
    bool ok;
    bool verify; /* check password against phc (hasher_verify) */
    bool dummy;  /* no hash: checked against a dummy, never a match */
    hasher_fn fn;
    hasher_verify_fn vfn;
    void *arg;
};

struct hasher {
    loop *l;
    int log_n;
    int pipe[2];
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    struct job *queued, *queued_tail; /* FIFO, the worker's */
    struct job *done;                 /* finished, the loop's (any order) */
};

static void job_free(struct job *j)
{
    if (j->password) {
        OPENSSL_cleanse(j->password, j->len);
        free(j->password);
    }
    OPENSSL_cleanse(j->phc, sizeof j->phc);
    free(j);
}

static void *hasher_main(void *arg)
{
    hasher *h = arg;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (!h->queued && !h->stop)
            pthread_cond_wait(&h->cv, &h->mu);
        if (h->stop)
            break;
        struct job *j = h->queued;
        h->queued = j->next;
        if (!h->queued)
            h->queued_tail = NULL;
        pthread_mutex_unlock(&h->mu);
        if (j->verify)
            j->ok = password_verify(j->password, j->len, j->phc) && !j->dummy;
        else
            j->ok =
                password_hash(j->password, j->len, h->log_n, PASSWORD_R, PASSWORD_P, j->phc) == 0;
        OPENSSL_cleanse(j->password, j->len);
        pthread_mutex_lock(&h->mu);
        j->next = h->done;
        h->done = j;
        /* The pipe only wakes the loop: a full pipe already will. */
        char b = 1;
        ssize_t n = write(h->pipe[1], &b, 1);
        (void)n;
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

/* Takes the finished jobs and calls them back. */
static void hasher_deliver(hasher *h, bool all)
{
    pthread_mutex_lock(&h->mu);
    struct job *list = h->done;
    h->done = NULL;
    if (all) {
        /* Shutting down: the queued ones too, unanswered. */
        for (struct job *q = h->queued; q;) {
            struct job *next = q->next;
            q->ok = false;
            q->next = list;
            list = q;
            q = next;
        }
        h->queued = h->queued_tail = NULL;
    }
    pthread_mutex_unlock(&h->mu);
    while (list) {
        struct job *j = list;
        list = j->next;
        if (j->verify)
            j->vfn(all ? -1 : j->ok ? 1 : 0, j->arg);
        else
            j->fn(j->ok && !all ? j->phc : NULL, j->arg);
        job_free(j);
    }
}

static int hasher_on_pipe(loop *l, short revents, void *arg)
{
    (void)l;
    (void)revents;
    hasher *h = arg;
    char b[64];
    while (read(h->pipe[0], b, sizeof b) > 0)
        ;
    hasher_deliver(h, false);
    return 0;
}

hasher *hasher_new(loop *l, int log_n)
{
    hasher *h = calloc(1, sizeof *h);
    if (!h) {
        log_error("hasher: out of memory");
        return NULL;
    }
    h->l = l;
    h->log_n = log_n;
    h->pipe[0] = h->pipe[1] = -1;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    if (pipe2(h->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        log_error("hasher: could not make a pipe: %m");
        goto fail;
    }
    if (loop_add_fd(l, h->pipe[0], ZMQ_POLLIN, hasher_on_pipe, h) != 0)
        goto fail;
    if (pthread_create(&h->thread, NULL, hasher_main, h) != 0) {
        log_error("hasher: could not start its thread");
        loop_remove_fd(l, h->pipe[0]);
        goto fail;
    }
    h->started = true;
    return h;
fail:
    hasher_destroy(&h);
    return NULL;
}

void hasher_destroy(hasher **ph)
{
    hasher *h = *ph;
    if (!h)
        return;
    *ph = NULL;
    if (h->started) {
        pthread_mutex_lock(&h->mu);
        h->stop = true;
        pthread_cond_signal(&h->cv);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->thread, NULL);
        loop_remove_fd(h->l, h->pipe[0]);
        hasher_deliver(h, true);
    }
    for (int i = 0; i < 2; i++)
        if (h->pipe[i] >= 0)
            close(h->pipe[i]);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

static struct job *job_new(const char *password, size_t len, void *arg)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j || !(j->password = malloc(len + 1))) {
        free(j);
        return NULL;
    }
    memcpy(j->password, password, len);
    j->password[len] = '\0';
    j->len = len;
    j->arg = arg;
    return j;
}

static void job_queue(hasher *h, struct job *j)
{
    pthread_mutex_lock(&h->mu);
    if (h->queued_tail)
        h->queued_tail->next = j;
    else
        h->queued = j;
    h->queued_tail = j;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

int hasher_submit(hasher *h, const char *password, size_t len, hasher_fn fn, void *arg)
{
    struct job *j = job_new(password, len, arg);
    if (!j)
        return -1;
    j->fn = fn;
    job_queue(h, j);
    return 0;
}

int hasher_verify(hasher *h, const char *password, size_t len, const char *phc, hasher_verify_fn fn,
                  void *arg)
{
    struct job *j = job_new(password, len, arg);
    if (!j)
        return -1;
    j->verify = true;
    j->vfn = fn;
    j->dummy = !phc || !*phc || strlen(phc) >= sizeof j->phc;
    if (j->dummy)
        /* A well-formed hash at the hasher's cost: scrypt runs as long. */
        snprintf(j->phc, sizeof j->phc,
                 "$scrypt$ln=%d,r=%d,p=%d$AAAAAAAAAAAAAAAAAAAAAA$"
                 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                 h->log_n, PASSWORD_R, PASSWORD_P);
    else
        snprintf(j->phc, sizeof j->phc, "%s", phc);
    job_queue(h, j);
    return 0;
}
