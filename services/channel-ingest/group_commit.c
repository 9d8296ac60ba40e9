/* group_commit.c — batches appends into one eventlog.append statement.
 *
 * Invariant: at most one batch is in flight (its statement queued on the
 * write dbq); `waiting` holds what arrived since. Each entry is packed once,
 * when submitted; the in-flight batch's entries are moved into one
 * contiguous array for eventlog_append_send (the packed bytes with them)
 * and moved back, with their results, before each submitter is called.
 * The bytes the log handed back are what the bus publishes.
 *
 * The bound: the write dbq cancels a statement in flight for longer than
 * wait_ms and delivers it as failed (dbq_set_deadline: a success then
 * means committed here without the standby's confirmation; not a 2xx, and
 * not published: the consumers find it in the log), and a timer fails,
 * unsent, the submitters that waited that long behind it. The retry of a
 * failed event is honest too: eventlog.append locks the stream's row (FOR
 * UPDATE) even when every entry is a repeat, which gives the repeat's
 * transaction an id and a commit record after the first's, so its COMMIT
 * waits for the standby like any other and a 200 for it means both are
 * confirmed.
 *
 * The append statement is prepared once per session of the write
 * connection (queued ahead of the first batch on it) and then executed by
 * name: parsing, analysing and planning it for every batch cost about a
 * tenth of the write backend's CPU. A session is its connection and its
 * backend's pid (as sla-monitor's stmt.c tells them apart): a batch sent on
 * another one goes unnamed, and the next flush prepares again.
 */
#include "group_commit.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "timeutil.h"

/* Beyond this many waiting requests, answer 503 rather than queue. */
#define GROUP_COMMIT_MAX_WAITING 20000

/* How often the bound is checked. */
#define GROUP_COMMIT_TICK_MS 50

struct gc_slot {
    struct eventlog_entry *e;
    group_commit_fn fn;
    void *arg;
    int64_t since; /* time_mono_ms() at submit */
};

struct gc_batch {
    group_commit *g;
    struct gc_slot *slots;
    struct eventlog_entry *entries;
    size_t n;
};

struct group_commit {
    loop *loop;
    int timer;
    long wait_ms;
    dbq *q;
    bus *bus;
    char *stream;
    size_t max_batch;
    struct gc_slot *waiting;
    size_t nwaiting, cap;
    struct gc_batch *inflight;
    bool answering; /* in gc_on_result's calls of the submitters */
    /* The session the append is prepared on (none: prep_conn NULL), and
     * the one a preparation queued or in flight was sent on. */
    PGconn *prep_conn, *preparing_conn;
    int prep_pid, preparing_pid;
    bool preparing; /* a preparation is queued or in flight */
    bool prep_off;  /* a preparation failed: every batch goes unnamed */
};

static int gc_on_tick(loop *l, void *arg);

group_commit *group_commit_new(loop *l, dbq *q, bus *b, const char *stream, size_t max_batch,
                               long wait_ms)
{
    group_commit *g = calloc(1, sizeof *g);
    if (!g || !(g->stream = strdup(stream))) {
        free(g);
        return NULL;
    }
    g->loop = l;
    g->wait_ms = wait_ms;
    g->q = q;
    g->bus = b;
    g->max_batch = max_batch;
    if ((g->timer = loop_add_timer(l, GROUP_COMMIT_TICK_MS, gc_on_tick, g)) < 0) {
        free(g->stream);
        free(g);
        return NULL;
    }
    return g;
}

static void gc_fail_slots(struct gc_slot *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s[i].fn(s[i].e, -1, s[i].arg);
}

void group_commit_destroy(group_commit **pg)
{
    group_commit *g = *pg;
    if (!g)
        return;
    /* The in-flight batch is failed by the dbq when it is destroyed. */
    assert(!g->inflight && "destroy the write dbq before the group commit");
    loop_remove_timer(g->loop, g->timer);
    gc_fail_slots(g->waiting, g->nwaiting);
    free(g->waiting);
    free(g->stream);
    free(g);
    *pg = NULL;
}

static int gc_send(PGconn *conn, void *arg)
{
    struct gc_batch *b = arg;
    group_commit *g = b->g;
    bool prepared = g->prep_conn == conn && g->prep_pid == PQbackendPID(conn);
    if (!prepared)
        g->prep_conn = NULL; /* another session: gc_flush prepares on it */
    return eventlog_append_send(conn, g->stream, b->entries, b->n, prepared);
}

static int gc_prepare_send(PGconn *conn, void *arg)
{
    group_commit *g = arg;
    g->preparing_conn = conn;
    g->preparing_pid = PQbackendPID(conn);
    return eventlog_append_prepare_send(conn);
}

static void gc_on_prepared(PGresult *res, void *arg)
{
    group_commit *g = arg;
    g->preparing = false;
    if (!res)
        return; /* the connection went: the next flush tries on the next one */
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (PQresultStatus(res) == PGRES_COMMAND_OK ||
        (state && strcmp(state, "42P05") == 0)) { /* already prepared on this session */
        g->prep_conn = g->preparing_conn;
        g->prep_pid = g->preparing_pid;
        return;
    }
    const char *msg = PQresultErrorMessage(res);
    log_warn("preparing the append failed, batches go unnamed: %.*s", (int)strcspn(msg, "\n"), msg);
    g->prep_off = true;
}

static void gc_flush(group_commit *g);

static void gc_on_result(PGresult *res, void *arg)
{
    struct gc_batch *b = arg;
    group_commit *g = b->g;
    int ok = -1;
    if (res && eventlog_append_result(res, g->stream, b->entries, b->n) == 0) {
        ok = 0;
    } else if (res) {
        const char *msg = PQresultErrorMessage(res);
        log_error("group commit of %zu events failed: %.*s", b->n, (int)strcspn(msg, "\n"), msg);
    }
    /* A failed batch forgets the preparation: a session taken for the one
     * it was made on (a new connection that got the old one's address and
     * pid) would otherwise fail every batch by name. */
    if (ok != 0)
        g->prep_conn = NULL;
    metrics_add(ok == 0 ? "carebus_ingest_batches_total{result=\"committed\"}"
                        : "carebus_ingest_batches_total{result=\"failed\"}",
                1);
    /* The next batch goes first: PostgreSQL runs it while this one's
     * submitters are answered (their answers only wait here; what a 2xx
     * needs, the commit, has happened). */
    g->inflight = NULL;
    gc_flush(g);
    /* What the submitters submit meanwhile (an import's next lines) waits
     * for the end of the loop, to go as one batch. */
    g->answering = true;
    for (size_t i = 0; i < b->n; i++) {
        struct eventlog_entry *e = b->slots[i].e;
        *e = b->entries[i]; /* the results, and the bytes back to their owner */
        if (ok == 0 && !e->duplicate)
            bus_publish_bytes(g->bus, g->stream, e->wire, e->wire_len);
        b->slots[i].fn(e, ok, b->slots[i].arg);
    }
    g->answering = false;
    gc_flush(g);
    free(b->slots);
    free(b->entries);
    free(b);
}

/* Sends what waits, if nothing is in flight and no batch is being answered. */
static void gc_flush(group_commit *g)
{
    if (g->inflight || g->answering || !g->nwaiting)
        return;
    size_t n = g->nwaiting < g->max_batch ? g->nwaiting : g->max_batch;
    struct gc_batch *b = calloc(1, sizeof *b);
    struct gc_slot *slots = malloc(n * sizeof *slots);
    struct eventlog_entry *entries = malloc(n * sizeof *entries);
    if (!b || !slots || !entries) {
        free(b);
        free(slots);
        free(entries);
        log_error("out of memory starting a group commit of %zu events", n);
        struct gc_slot *s = g->waiting;
        size_t all = g->nwaiting;
        g->waiting = NULL;
        g->nwaiting = g->cap = 0;
        gc_fail_slots(s, all);
        free(s);
        return;
    }
    memcpy(slots, g->waiting, n * sizeof *slots);
    memmove(g->waiting, g->waiting + n, (g->nwaiting - n) * sizeof *g->waiting);
    g->nwaiting -= n;
    for (size_t i = 0; i < n; i++) {
        entries[i] = *slots[i].e;
        slots[i].e->wire = NULL; /* moved: the batch owns the bytes in flight */
    }
    *b = (struct gc_batch){g, slots, entries, n};
    /* Queued ahead of the batch, on the same connection (a write queue has
     * one): when it is not done in time, the batch goes unnamed. */
    if (!g->prep_conn && !g->preparing && !g->prep_off &&
        dbq_send(g->q, gc_prepare_send, gc_on_prepared, g) == 0)
        g->preparing = true;
    g->inflight = b;
    metrics_add("carebus_ingest_batched_events_total", (double)n);
    if (dbq_send(g->q, gc_send, gc_on_result, b) != 0) {
        /* Down: the callback was not called; fail the batch here. */
        g->inflight = NULL;
        for (size_t i = 0; i < n; i++)
            *slots[i].e = entries[i];
        gc_fail_slots(slots, n);
        free(slots);
        free(entries);
        free(b);
    }
}

/* The bound for what waits: submitters that waited wait_ms behind the
 * batch in flight are failed unsent (the oldest are first). */
static int gc_on_tick(loop *l, void *arg)
{
    (void)l;
    group_commit *g = arg;
    int64_t old = time_mono_ms() - g->wait_ms;
    size_t n = 0;
    while (n < g->nwaiting && g->waiting[n].since <= old)
        n++;
    if (!n)
        return 0;
    struct gc_slot *late = malloc(n * sizeof *late);
    if (!late)
        return 0; /* the next tick tries again */
    memcpy(late, g->waiting, n * sizeof *late);
    memmove(g->waiting, g->waiting + n, (g->nwaiting - n) * sizeof *g->waiting);
    g->nwaiting -= n;
    metrics_add("carebus_ingest_commit_wait_exceeded_total", (double)n);
    log_warn("%zu events waited %ld ms for the commit before them: answered 503, unsent", n,
             g->wait_ms);
    gc_fail_slots(late, n);
    free(late);
    return 0;
}

int group_commit_submit(group_commit *g, struct eventlog_entry *e, group_commit_fn fn, void *arg)
{
    if (!dbq_up(g->q) || g->nwaiting >= GROUP_COMMIT_MAX_WAITING)
        return -1;
    /* Packed once, here: the batch's statement and the bus carry the same
     * bytes. */
    if (!e->wire && eventlog_entry_pack(e, g->stream) != 0)
        return -1;
    if (g->nwaiting == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 256;
        struct gc_slot *n = realloc(g->waiting, cap * sizeof *n);
        if (!n)
            return -1;
        g->waiting = n;
        g->cap = cap;
    }
    g->waiting[g->nwaiting++] = (struct gc_slot){e, fn, arg, time_mono_ms()};
    gc_flush(g);
    return 0;
}
