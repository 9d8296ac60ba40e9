/* loop.c — the reactor: one zmq_poll over fds, sockets, timers and signals.
 *
 * Items are kept in one array rebuilt into a zmq_pollitem_t array when it
 * changes. Callbacks may add or remove items while the loop dispatches: a
 * removal only marks the slot dead, and dead slots are compacted between
 * polls, so indices stay valid during a dispatch round.
 */
#include "loop.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <zmq.h>

#include "log.h"
#include "timeutil.h"

struct loop_item {
    void *socket; /* NULL for a plain fd */
    int fd;
    short events;
    loop_io_fn fn;
    void *arg;
    bool dead;
};

struct loop_timer {
    int id;
    long interval_ms;
    int64_t due_ms;
    loop_timer_fn fn;
    void *arg;
};

struct loop {
    struct loop_item *items;
    size_t nitems, cap_items;
    zmq_pollitem_t *poll;
    struct loop_timer *timers;
    size_t ntimers, cap_timers;
    int next_timer_id;
    int sigfd;
    void (*reload_fn)(void *);
    void *reload_arg;
    volatile bool stop;
    int result;
};

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    while (ncap < need)
        ncap *= 2;
    void *np = realloc(*p, ncap * size);
    if (!np)
        return -1;
    *p = np;
    *cap = ncap;
    return 0;
}

static int loop_on_signal(loop *l, short revents, void *arg);

loop *loop_new(void)
{
    loop *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->sigfd = -1;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    /* Blocked in this thread and inherited by threads it creates later. */
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        goto fail;
    /* A peer closing a socket must not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    l->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (l->sigfd < 0 || loop_add_fd(l, l->sigfd, ZMQ_POLLIN, loop_on_signal, NULL) != 0)
        goto fail;
    return l;
fail:
    log_error("could not create the event loop: %s", strerror(errno));
    loop_destroy(&l);
    return NULL;
}

void loop_destroy(loop **pl)
{
    loop *l = *pl;
    if (!l)
        return;
    if (l->sigfd >= 0)
        close(l->sigfd);
    free(l->items);
    free(l->poll);
    free(l->timers);
    free(l);
    *pl = NULL;
}

static int loop_add(loop *l, void *socket, int fd, short events, loop_io_fn fn, void *arg)
{
    if (grow((void **)&l->items, &l->cap_items, l->nitems + 1, sizeof *l->items) != 0)
        return -1;
    l->items[l->nitems++] = (struct loop_item){socket, fd, events, fn, arg, false};
    return 0;
}

int loop_add_fd(loop *l, int fd, short events, loop_io_fn fn, void *arg)
{
    assert(fd >= 0);
    /* Items are found by fd number (loop_set_fd_events, loop_remove_fd), so
     * one number is registered once. A number still registered when it is
     * added again was closed by its owner without loop_remove_fd and given
     * to a new file since: the old owner's removal would now drop the new
     * one, and its callback would be given the new file's events. */
    for (size_t i = 0; i < l->nitems; i++)
        if (!l->items[i].socket && l->items[i].fd == fd && !l->items[i].dead) {
            log_error("fd %d is added to the loop while still registered (closed before "
                      "loop_remove_fd)",
                      fd);
            assert(!"an fd closed before loop_remove_fd");
        }
    return loop_add(l, NULL, fd, events, fn, arg);
}

int loop_add_socket(loop *l, void *zsock, short events, loop_io_fn fn, void *arg)
{
    assert(zsock);
    return loop_add(l, zsock, -1, events, fn, arg);
}

int loop_set_fd_events(loop *l, int fd, short events)
{
    for (size_t i = 0; i < l->nitems; i++)
        if (!l->items[i].socket && l->items[i].fd == fd && !l->items[i].dead) {
            l->items[i].events = events;
            return 0;
        }
    return -1;
}

void loop_remove_fd(loop *l, int fd)
{
    for (size_t i = 0; i < l->nitems; i++)
        if (!l->items[i].socket && l->items[i].fd == fd)
            l->items[i].dead = true;
}

void loop_remove_socket(loop *l, void *zsock)
{
    for (size_t i = 0; i < l->nitems; i++)
        if (l->items[i].socket == zsock)
            l->items[i].dead = true;
}

int loop_add_timer(loop *l, long interval_ms, loop_timer_fn fn, void *arg)
{
    assert(interval_ms > 0);
    if (grow((void **)&l->timers, &l->cap_timers, l->ntimers + 1, sizeof *l->timers) != 0)
        return -1;
    int id = ++l->next_timer_id;
    l->timers[l->ntimers++] =
        (struct loop_timer){id, interval_ms, time_mono_ms() + interval_ms, fn, arg};
    return id;
}

void loop_remove_timer(loop *l, int id)
{
    for (size_t i = 0; i < l->ntimers; i++)
        if (l->timers[i].id == id) {
            memmove(&l->timers[i], &l->timers[i + 1], (l->ntimers - i - 1) * sizeof *l->timers);
            l->ntimers--;
            return;
        }
}

void loop_on_reload(loop *l, void (*fn)(void *arg), void *arg)
{
    l->reload_fn = fn;
    l->reload_arg = arg;
}

void loop_stop(loop *l)
{
    l->stop = true;
}

static int loop_on_signal(loop *l, short revents, void *arg)
{
    (void)revents;
    (void)arg;
    struct signalfd_siginfo si;
    while (read(l->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            log_info("SIGHUP: reloading");
            if (l->reload_fn)
                l->reload_fn(l->reload_arg);
        } else {
            log_info("signal %s: shutting down", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
            l->stop = true;
        }
    }
    return 0;
}

/* Compacts dead items and rebuilds the poll array. */
static int loop_prepare(loop *l)
{
    size_t j = 0;
    for (size_t i = 0; i < l->nitems; i++)
        if (!l->items[i].dead)
            l->items[j++] = l->items[i];
    l->nitems = j;
    zmq_pollitem_t *p = realloc(l->poll, (l->nitems ? l->nitems : 1) * sizeof *p);
    if (!p)
        return -1;
    l->poll = p;
    for (size_t i = 0; i < l->nitems; i++)
        l->poll[i] = (zmq_pollitem_t){l->items[i].socket, l->items[i].fd, l->items[i].events, 0};
    return 0;
}

static long loop_timeout(loop *l, int64_t now)
{
    long t = -1;
    for (size_t i = 0; i < l->ntimers; i++) {
        long d = (long)(l->timers[i].due_ms - now);
        if (d < 0)
            d = 0;
        if (t < 0 || d < t)
            t = d;
    }
    return t;
}

static int loop_run_timers(loop *l)
{
    int64_t now = time_mono_ms();
    /* A timer callback may add timers (realloc): index, don't hold pointers. */
    for (size_t i = 0; i < l->ntimers; i++) {
        if (l->timers[i].due_ms > now)
            continue;
        l->timers[i].due_ms = now + l->timers[i].interval_ms;
        if (l->timers[i].fn(l, l->timers[i].arg) != 0)
            return -1;
    }
    return 0;
}

int loop_run(loop *l)
{
    while (!l->stop) {
        if (loop_prepare(l) != 0)
            return -1;
        long timeout = loop_timeout(l, time_mono_ms());
        int n = zmq_poll(l->poll, (int)l->nitems, timeout);
        if (n < 0) {
            if (zmq_errno() == EINTR)
                continue;
            log_error("zmq_poll failed: %s", zmq_strerror(zmq_errno()));
            return -1;
        }
        size_t count = l->nitems; /* callbacks may append; they wait a turn */
        for (size_t i = 0; i < count && !l->stop; i++) {
            if (!l->poll[i].revents || l->items[i].dead)
                continue;
            if (l->items[i].fn(l, l->poll[i].revents, l->items[i].arg) != 0)
                return -1;
        }
        if (!l->stop && loop_run_timers(l) != 0)
            return -1;
    }
    return 0;
}
