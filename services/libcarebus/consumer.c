/* consumer.c — exactly-once application of streams: bus fast path, log truth.
 *
 * The in-memory offsets mirror eventlog.offsets and change only after a
 * commit. Any failure (database down, a concurrent instance, a commit whose
 * outcome is unknown) drops them (loaded = false): they are read again from
 * PostgreSQL before the next event is applied, so memory can never run ahead
 * of what was committed.
 *
 * A batch whose handler fails on data rather than on the connection is
 * retried one event per transaction, so that one bad event cannot take its
 * neighbours down; the bad event alone is then skipped, logged and counted,
 * rather than blocking the stream forever.
 *
 * A commit whose outcome is unknown (cut at CAREBUS_SYNC_WAIT_MS while the
 * synchronous standby is away, or its connection lost) makes the
 * connection's writers back off: db_begin refuses every batch meanwhile
 * (DB_NOT_NOW). So that no batch is read from the log only to be refused,
 * a consumer whose last write was refused or failed at commit (held_off)
 * asks db_begin first, with an empty transaction, before it reads: while
 * refused, the bus is drained (the log keeps what it brought) and the
 * calls return -1 at once, and the loop goes back to HTTP between two
 * bounded commits rather than holding one after the other.
 *
 * Batches: the bus path takes what waits on the socket, up to the batch
 * size, lingering a few milliseconds for more when asked to (a consumer
 * that applies set-based pays per transaction, not per event); the log
 * path reads a batch at a time. Both share one array of the batch's size.
 */
#include "consumer.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog.h"
#include "horizon.h"
#include "id.h"
#include "lag.h"
#include "lease.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"

#define CONSUMER_MAX_STREAMS 8
#define CONSUMER_BATCH_DEFAULT 500
#define CONSUMER_LINGER_MAX_MS 1000
/* The lag is published at most this often (it costs a query). */
#define CONSUMER_LAG_EVERY_MS 1000
/* How long one catch-up call works before returning to the loop (which
 * calls again at once): HTTP and the lag keep being served meanwhile. */
#define CONSUMER_CATCHUP_MS 1000

struct consumer_stream {
    char name[32];
    uint64_t offset;
};

struct consumer_txn {
    consumer *c;
    const uint64_t *next; /* each stream's last seq in the transaction */
    const event *cause;
    size_t cause_first;             /* index in emitted of the cause's first event */
    struct eventlog_entry *emitted; /* packed at emit, appended at commit */
    size_t nemitted, cap;
};

struct consumer {
    char *name;
    db *db;
    bus *bus;
    const char *output;
    const struct consumer_handler *handlers;
    size_t nhandlers;
    consumer_flush_fn flush;
    consumer_done_fn done;
    consumer_pace_fn pace;
    void *arg;
    struct consumer_stream streams[CONSUMER_MAX_STREAMS];
    size_t nstreams;
    bool loaded;
    uint64_t applied;
    event **evs;  /* the batch being applied: batch slots */
    event **sel;  /* catching up together: the events of the round applied */
    int64_t *rec; /* ... and the recorded times of those read */
    int *parts;   /* ... and their partitions, when partitioned (consumer_parts) */
    size_t batch;
    int linger_ms;
    bool together; /* catch up every stream at once (horizon.h) */
    /* Catching up together: what each stream gave the last round, plus
     * one (0: no round yet), for the next round's shares (consumer_shares). */
    size_t took[CONSUMER_MAX_STREAMS];
    int64_t lag_next_ms;      /* when the lag is next published (monotonic) */
    bool held_off;            /* the last write was refused or failed at commit (see the top) */
    lease *lease;             /* NULL: the only instance; else applies while held */
    consumer_part_fn part_of; /* NULL: not partitioned */
    int part, nparts;         /* this consumer's partition, of nparts */
    /* Its share of a shared catch-up's round (consumer_round): nsel events
     * of sel, the offsets to move to, and its part of the transaction. */
    size_t nsel;
    uint64_t to[CONSUMER_MAX_STREAMS], next[CONSUMER_MAX_STREAMS];
    bool moves;
    size_t at; /* the next of sel to apply */
    consumer_txn rtx;
};

typedef enum { BATCH_OK, BATCH_DOWN, BATCH_DATA } batch_result;

consumer *consumer_new(const char *name, db *d, bus *b, const char *output,
                       const struct consumer_handler *handlers, size_t nhandlers, void *arg)
{
    consumer *c = calloc(1, sizeof *c);
    if (!c || !(c->name = strdup(name))) {
        free(c);
        return NULL;
    }
    c->db = d;
    c->bus = b;
    c->output = output;
    c->handlers = handlers;
    c->nhandlers = nhandlers;
    c->arg = arg;
    c->batch = CONSUMER_BATCH_DEFAULT;
    if (!(c->evs = calloc(c->batch, sizeof *c->evs)) ||
        !(c->sel = calloc(c->batch, sizeof *c->sel)) ||
        !(c->rec = calloc(c->batch, sizeof *c->rec)) ||
        !(c->parts = calloc(c->batch, sizeof *c->parts))) {
        consumer_destroy(&c);
        return NULL;
    }
    return c;
}

void consumer_destroy(consumer **pc)
{
    if (!*pc)
        return;
    free((*pc)->evs);
    free((*pc)->sel);
    free((*pc)->rec);
    free((*pc)->parts);
    free((*pc)->name);
    free(*pc);
    *pc = NULL;
}

int consumer_track(consumer *c, const char *stream)
{
    if (c->nstreams == CONSUMER_MAX_STREAMS || strlen(stream) >= sizeof c->streams[0].name)
        return -1;
    snprintf(c->streams[c->nstreams].name, sizeof c->streams[0].name, "%s", stream);
    c->nstreams++;
    return 0;
}

int consumer_read(consumer *c, const char *stream)
{
    return consumer_track(c, stream) == 0 ? bus_subscribe(c->bus, stream) : -1;
}

static struct consumer_stream *consumer_find(consumer *c, const char *stream)
{
    for (size_t i = 0; i < c->nstreams; i++)
        if (strcmp(c->streams[i].name, stream) == 0)
            return &c->streams[i];
    return NULL;
}

uint64_t consumer_offset(const consumer *c, const char *stream)
{
    for (size_t i = 0; i < c->nstreams; i++)
        if (strcmp(c->streams[i].name, stream) == 0)
            return c->streams[i].offset;
    return 0;
}

uint64_t consumer_applied(const consumer *c)
{
    return c->applied;
}

static int consumer_load(consumer *c)
{
    if (c->loaded)
        return 0;
    if (db_ensure(c->db) != 0)
        return -1;
    for (size_t i = 0; i < c->nstreams; i++)
        if (eventlog_offset_get(c->db, c->name, c->streams[i].name, &c->streams[i].offset) != 0)
            return -1;
    c->loaded = true;
    return 0;
}

void consumer_set_flush(consumer *c, consumer_flush_fn fn)
{
    c->flush = fn;
}

void consumer_set_done(consumer *c, consumer_done_fn fn)
{
    c->done = fn;
}

void consumer_set_pace(consumer *c, consumer_pace_fn fn)
{
    c->pace = fn;
}

void consumer_set_batch(consumer *c, size_t max, int linger_ms)
{
    assert(max >= 1 && max <= CONSUMER_BATCH_MAX && "a batch of 1 .. CONSUMER_BATCH_MAX events");
    assert(linger_ms >= 0 && linger_ms <= CONSUMER_LINGER_MAX_MS);
    event **evs = calloc(max, sizeof *evs), **sel = calloc(max, sizeof *sel);
    int64_t *rec = calloc(max, sizeof *rec);
    int *parts = calloc(max, sizeof *parts);
    if (!evs || !sel || !rec || !parts) {
        log_error("%s: no memory for batches of %zu events: keeping %zu", c->name, max, c->batch);
        free(evs);
        free(sel);
        free(rec);
        free(parts);
        return;
    }
    free(c->evs);
    free(c->sel);
    free(c->rec);
    free(c->parts);
    c->evs = evs;
    c->sel = sel;
    c->rec = rec;
    c->parts = parts;
    c->batch = max;
    c->linger_ms = linger_ms;
}

void consumer_set_together(consumer *c, bool on)
{
    c->together = on;
}

void consumer_set_lease(consumer *c, struct lease *l)
{
    c->lease = l;
}

void consumer_set_partition(consumer *c, int part, int nparts, consumer_part_fn fn)
{
    assert(nparts >= 1 && part >= 0 && part < nparts && fn);
    c->part_of = fn;
    c->part = part;
    c->nparts = nparts;
}

int consumer_txn_part(const consumer_txn *tx, int *nparts)
{
    const consumer *c = tx->c;
    if (nparts)
        *nparts = c->part_of ? c->nparts : 1;
    return c->part_of ? c->part : 0;
}

bool consumer_active(const consumer *c)
{
    return !c->lease || lease_held(c->lease);
}

int consumer_begin(consumer *c, db *d)
{
    int rc = db_begin(d);
    if (rc != 0) {
        if (c)
            c->held_off = true;
        return rc;
    }
    if (c && c->lease && (lease_limit_txn(c->lease, d) != 0 || lease_hold(c->lease, d) != 0)) {
        db_rollback(d);
        return -1;
    }
    return 0;
}

int consumer_fence(consumer *c)
{
    return c->lease ? lease_fence(c->lease, c->db) : 0;
}

static void consumer_done(consumer *c, bool committed)
{
    if (c->done)
        c->done(committed, c->arg);
}

void consumer_forget(consumer *c)
{
    c->loaded = false;
    consumer_done(c, false);
}

db *consumer_txn_db(consumer_txn *tx)
{
    return tx->c->db;
}

uint64_t consumer_txn_position(const consumer_txn *tx, const char *stream)
{
    const struct consumer_stream *st = consumer_find(tx->c, stream);
    return st ? tx->next[st - tx->c->streams] : 0;
}

int consumer_emit(consumer_txn *tx, const event *ev)
{
    assert(tx->c->output && "a consumer without an output stream emitted an event");
    /* A shallow copy with what the consumer fills in: the caller's
     * envelope is only read, and packed once, below. */
    event e = *ev;
    char id[ID_LEN];
    if (!e.type || !e.type[0])
        e.type = (char *)event_type_name(e.body_case);
    if (!e.type) {
        log_error("%s: emitted an event without a body", tx->c->name);
        return -1;
    }
    if (!e.event_id || !e.event_id[0]) {
        /* Derived from the cause, so a replay emits the same id. */
        /* Numbered per type, so that a handler that starts emitting a new
         * type does not renumber the others' ids on a replay. */
        int k = 0;
        for (size_t i = tx->cause_first; i < tx->nemitted; i++)
            k += strcmp(tx->emitted[i].type, e.type) == 0;
        char name[160];
        snprintf(name, sizeof name, "%s/%s/%d", tx->cause->event_id, e.type, k);
        id_derive(name, id);
        e.event_id = id;
    }
    if (!e.causation_id || !e.causation_id[0])
        e.causation_id = tx->cause->event_id;
    if (tx->nemitted == tx->cap) {
        size_t cap = tx->cap ? tx->cap * 2 : 8;
        struct eventlog_entry *n = realloc(tx->emitted, cap * sizeof *n);
        if (!n)
            return -1;
        tx->emitted = n;
        tx->cap = cap;
    }
    struct eventlog_entry *x = &tx->emitted[tx->nemitted];
    memset(x, 0, sizeof *x);
    x->ev = &e;
    int rc = eventlog_entry_pack(x, tx->c->output);
    x->ev = NULL;
    if (rc != 0)
        return -1;
    tx->nemitted++;
    return 0;
}

static void consumer_txn_clear(consumer_txn *tx)
{
    for (size_t i = 0; i < tx->nemitted; i++)
        eventlog_entry_release(&tx->emitted[i]);
    free(tx->emitted);
    tx->emitted = NULL;
    tx->nemitted = tx->cap = 0;
}

/* Whether partition p (part_of's answer) is c's own, or every
 * partition's. */
static bool consumer_part_is_mine(const consumer *c, int p)
{
    return p == CONSUMER_PART_ALL || p == c->part;
}

/* Whether ev is c's partition's (or every partition's), handled or not. */
static bool consumer_mine(const consumer *c, const event *ev)
{
    return !c->part_of || consumer_part_is_mine(c, c->part_of(ev, c->nparts, c->arg));
}

/* The handler of ev, or NULL: acknowledged unread. Whether ev is c's
 * partition's is the caller's to know (consumer_run_event). */
static consumer_apply_fn consumer_handler(const consumer *c, const event *ev)
{
    size_t k = (size_t)ev->body_case;
    if (k >= c->nhandlers || !c->handlers[k].fn)
        return NULL;
    const char *only = c->handlers[k].stream;
    return !only || strcmp(only, ev->stream) == 0 ? c->handlers[k].fn : NULL;
}

/* c's part of a transaction, in the open one: its events' handlers
 * (consumer_run_event, from consumer_run_start), then its flush, its
 * lease's fence, its emitted events and its offsets (consumer_run_close,
 * consumer_seal),
 * moved in next. upto NULL: each event is the next of its stream (seq =
 * offset + 1). Else they are the partition's own of a read that covered
 * each stream k from at most its offset up to upto[k] (consumer_round):
 * the seqs left out between them are provably another partition's, and
 * the offsets move to upto. A stream's offset moves when next passed it.
 * BATCH_OK; BATCH_DOWN when the lease was taken over or another instance
 * moved the offsets (roll back, reload); or BATCH_DATA when it failed
 * (roll back). */
static void consumer_run_start(consumer *c, consumer_txn *tx, uint64_t *next)
{
    for (size_t i = 0; i < c->nstreams; i++)
        next[i] = c->streams[i].offset;
    *tx = (consumer_txn){.c = c, .next = next};
}

static batch_result consumer_run_event(consumer *c, consumer_txn *tx, uint64_t *next, event *ev,
                                       const uint64_t *upto)
{
    struct consumer_stream *s = consumer_find(c, ev->stream);
    assert(s);
    size_t k = (size_t)(s - c->streams);
    assert(upto ? ev->seq > next[k] && ev->seq <= upto[k] : ev->seq == next[k] + 1);
    tx->cause = ev;
    tx->cause_first = tx->nemitted;
    /* Given upto, the round chose ev as c's (consumer_round): its
     * partition is not asked again. */
    consumer_apply_fn fn = upto || consumer_mine(c, ev) ? consumer_handler(c, ev) : NULL;
    consumer_result r = fn ? fn(tx, ev, c->arg) : CONSUMER_OK;
    if (r == CONSUMER_RETRY)
        return BATCH_DATA;
    if (r == CONSUMER_SKIP) {
        metrics_add("carebus_consumer_skipped_total", 1);
        log_warn("skipped event %s (%s %s/%" PRIu64 "): it cannot apply", ev->event_id, ev->type,
                 ev->stream, ev->seq);
    }
    next[k] = ev->seq;
    return BATCH_OK;
}

/* The end of c's part of a transaction, before its seal: its offsets
 * moved over upto (when given), and its own flush run when flush (its
 * events' part ran handlers, and no round flushed them together:
 * consumer_apply_round). */
static batch_result consumer_run_close(consumer *c, consumer_txn *tx, uint64_t *next,
                                       const uint64_t *upto, bool flush)
{
    for (size_t k = 0; upto && k < c->nstreams; k++)
        if (upto[k] > next[k])
            next[k] = upto[k];
    if (flush && c->flush && c->flush(tx, c->arg) == CONSUMER_RETRY)
        return BATCH_DATA;
    return BATCH_OK;
}

/* The seal of a transaction that cs[0..n) applied together (one consumer,
 * or the members of a round), each closed (consumer_run_close) in its rtx
 * and next: each fenced by its own lease's token, in one statement; their
 * emitted events appended; and their offsets advanced from where each had
 * them, in one statement. nev: the events applied, for the log. BATCH_OK;
 * BATCH_DOWN when a lease was taken over (it is dropped) or another
 * instance moved an offset; BATCH_DATA when the database failed. */
static batch_result consumer_seal(consumer *const *cs, size_t n, size_t nev)
{
    db *d = cs[0]->db;
    lease *ls[CONSUMER_SHARED_MAX];
    size_t nl = 0, na = 0;
    for (size_t i = 0; i < n; i++)
        if (cs[i]->lease)
            ls[nl++] = cs[i]->lease;
    int fenced = nl ? lease_fence_all(ls, nl, d) : 0;
    if (fenced < 0)
        return BATCH_DATA;
    if (fenced) {
        log_info("%s: lease taken over: rolling back a batch of %zu events", cs[0]->name, nev);
        return BATCH_DOWN;
    }
    struct eventlog_advance *adv = calloc(n * CONSUMER_MAX_STREAMS, sizeof *adv);
    if (!adv)
        return BATCH_DATA;
    batch_result r = BATCH_OK;
    for (size_t i = 0; i < n && r == BATCH_OK; i++) {
        consumer *c = cs[i];
        if (c->rtx.nemitted && eventlog_append(d, c->output, c->rtx.emitted, c->rtx.nemitted) != 0)
            r = BATCH_DATA;
        for (size_t k = 0; k < c->nstreams; k++)
            if (c->next[k] != c->streams[k].offset) /* an event or upto moved it */
                adv[na++] = (struct eventlog_advance){c->name, c->streams[k].name,
                                                      c->streams[k].offset, c->next[k]};
    }
    int rc = r == BATCH_OK ? eventlog_offsets_advance(d, adv, na) : -1;
    free(adv);
    if (rc == 1) {
        log_info("another instance advanced an offset of %s%s: reloading", cs[0]->name,
                 n > 1 ? " or of the partitions applied with it" : "");
        return BATCH_DOWN;
    }
    return rc == 0 ? BATCH_OK : BATCH_DATA;
}

/* The whole of c's part of a transaction (see consumer_run_start), in
 * its rtx and next. */
static batch_result consumer_run(consumer *c, event **evs, size_t n, const uint64_t *upto)
{
    consumer_run_start(c, &c->rtx, c->next);
    for (size_t i = 0; i < n; i++) {
        batch_result r = consumer_run_event(c, &c->rtx, c->next, evs[i], upto);
        if (r != BATCH_OK)
            return r;
    }
    batch_result r = consumer_run_close(c, &c->rtx, c->next, upto, n > 0);
    return r == BATCH_OK ? consumer_seal(&c, 1, n) : r;
}

/* c's part of a transaction that did not commit (rolled back, or its
 * outcome unknown): the offsets are read again before the next event. */
static void consumer_undo(consumer *c, consumer_txn *tx)
{
    consumer_txn_clear(tx);
    c->loaded = false;
    consumer_done(c, false);
}

/* c's part of a transaction that committed, n events. */
static void consumer_committed(consumer *c, consumer_txn *tx, const uint64_t *next, size_t n)
{
    for (size_t k = 0; k < c->nstreams; k++)
        c->streams[k].offset = next[k];
    /* The bytes the log handed back: published as its readers will see them. */
    for (size_t i = 0; i < tx->nemitted; i++)
        bus_publish_bytes(c->bus, c->output, tx->emitted[i].wire, tx->emitted[i].wire_len);
    c->applied += n;
    metrics_add("carebus_consumer_applied_total", (double)n);
    consumer_txn_clear(tx);
    consumer_done(c, true);
}

/* Applies events in one transaction (evs, n and upto as consumer_run's). */
static batch_result consumer_apply(consumer *c, event **evs, size_t n, const uint64_t *upto)
{
    if (consumer_begin(c, c->db) != 0)
        return BATCH_DOWN;
    batch_result r = consumer_run(c, evs, n, upto);
    if (r != BATCH_OK) {
        db_rollback(c->db);
        consumer_undo(c, &c->rtx);
        return r == BATCH_DATA && db_up(c->db) ? BATCH_DATA : BATCH_DOWN;
    }
    if (db_commit(c->db) != 0) {
        /* The outcome is unknown: reload the offsets before going on. */
        c->held_off = true;
        consumer_undo(c, &c->rtx);
        return BATCH_DOWN;
    }
    consumer_committed(c, &c->rtx, c->next, n);
    return BATCH_OK;
}

/* Skips one event that cannot apply: the offset alone moves past it. */
static int consumer_skip(consumer *c, const event *ev)
{
    struct consumer_stream *s = consumer_find(c, ev->stream);
    log_error("event %s (%s %s/%" PRIu64 ") failed to apply on its own: skipped", ev->event_id,
              ev->type, ev->stream, ev->seq);
    metrics_add("carebus_consumer_skipped_total", 1);
    if (consumer_begin(c, c->db) != 0)
        return -1;
    if ((c->lease && lease_fence(c->lease, c->db) != 0) ||
        eventlog_offset_advance(c->db, c->name, s->name, s->offset, ev->seq) != 0 ||
        db_commit(c->db) != 0) {
        db_rollback(c->db);
        c->loaded = false;
        c->held_off = true;
        return -1;
    }
    s->offset = ev->seq;
    return 0;
}

/* Applies a batch (upto as consumer_apply's); on a data failure, one
 * event per transaction, and then the offsets alone up to upto. */
static int consumer_apply_all(consumer *c, event **evs, size_t n, const uint64_t *upto)
{
    batch_result r = consumer_apply(c, evs, n, upto);
    if (r == BATCH_OK)
        return 0;
    if (r == BATCH_DOWN)
        return -1;
    uint64_t one[CONSUMER_MAX_STREAMS];
    for (size_t i = 0; i < n; i++) {
        if (consumer_load(c) != 0)
            return -1;
        struct consumer_stream *s = consumer_find(c, evs[i]->stream);
        if (evs[i]->seq <= s->offset)
            continue;
        for (size_t k = 0; upto && k < c->nstreams; k++)
            one[k] = c->streams[k].offset;
        if (upto)
            one[s - c->streams] = evs[i]->seq;
        r = consumer_apply(c, &evs[i], 1, upto ? one : NULL);
        if (r == BATCH_DOWN)
            return -1;
        if (r == BATCH_DATA && (consumer_load(c) != 0 || consumer_skip(c, evs[i]) != 0))
            return -1;
    }
    if (!upto)
        return 0;
    if (consumer_load(c) != 0)
        return -1;
    bool moves = false;
    for (size_t k = 0; k < c->nstreams; k++)
        moves = moves || upto[k] > c->streams[k].offset;
    return !moves || consumer_apply(c, NULL, 0, upto) == BATCH_OK ? 0 : -1;
}

static void consumer_free_all(event **evs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        event_destroy(&evs[i]);
}

/* Whether a comes before b in a round's chunk: the chunk holds each
 * stream read, in c's order of its streams (consumer_round reads them in
 * that order), each in the order of its seqs. */
static bool consumer_precedes(const consumer *c, const event *a, const event *b)
{
    size_t ka = 0, kb = 0;
    while (ka < c->nstreams && strcmp(c->streams[ka].name, a->stream) != 0)
        ka++;
    while (kb < c->nstreams && strcmp(c->streams[kb].name, b->stream) != 0)
        kb++;
    return ka != kb ? ka < kb : a->seq < b->seq;
}

/* The members' shares of a round (consumer_round) in one transaction,
 * each fenced by its own lease in it and its offsets advanced from where
 * it had them: one commit rather than one per partition, and one
 * statement for all their leases' holds, one for their fences and one
 * for their offsets (consumer_seal), not one each. The members'
 * handlers run in the chunk's order, an event that several members take
 * (one of every partition) by each of them in turn; then, when they share
 * their flush and its argument (the partitions of one service), the flush
 * once for the whole round, in the transaction part of the first member
 * that ran handlers: it writes what they all staged with one run of each
 * of its statements, in the order each partition would have applied its
 * own (members with flushes of their own each flush their part). 0 when
 * it committed; 1 when it was rolled back, nothing of it standing (the
 * members then apply one by one); -1 when its commit's outcome is unknown
 * (each member reads its offsets again). */
static int consumer_apply_round(consumer **cs, size_t nc, const bool *go)
{
    size_t first = 0, n = 0;
    while (!go[first] || !cs[first]->moves)
        first++;
    db *d = cs[first]->db;
    /* The members, and their leases held from the start, each row by its
     * own token, in one statement (lease_hold_all). */
    consumer *mem[CONSUMER_SHARED_MAX];
    lease *ls[CONSUMER_SHARED_MAX];
    size_t nl = 0;
    for (size_t m = first; m < nc; m++) {
        if (!go[m] || !cs[m]->moves)
            continue;
        assert(cs[m]->db == d && "the members of a shared catch-up share their connection");
        mem[n++] = cs[m];
        if (cs[m]->lease)
            ls[nl++] = cs[m]->lease;
    }
    if (db_begin(d) != 0) {
        cs[first]->held_off = true;
        return 1;
    }
    if (nl && (lease_limit_txn(ls[0], d) != 0 || lease_hold_all(ls, nl, d) != 0)) {
        db_rollback(d);
        return 1;
    }
    batch_result r = BATCH_OK;
    consumer *flusher = NULL; /* the member whose part a shared flush writes in */
    bool shared = true;       /* one flush for the round */
    size_t nev = 0;
    for (size_t i = 0; i < n; i++) {
        consumer *c = mem[i];
        shared = shared && c->flush == mem[0]->flush && c->arg == mem[0]->arg;
        consumer_run_start(c, &c->rtx, c->next);
        c->at = 0;
        nev += c->nsel;
        if (!flusher && c->nsel)
            flusher = c;
    }
    /* The events, in the chunk's order: each time the earliest of the
     * members' next ones, applied by every member that takes it. */
    while (r == BATCH_OK) {
        const event *ev = NULL;
        for (size_t i = 0; i < n; i++) {
            const consumer *c = mem[i];
            if (c->at < c->nsel && (!ev || consumer_precedes(c, c->sel[c->at], ev)))
                ev = c->sel[c->at];
        }
        if (!ev)
            break;
        for (size_t i = 0; i < n && r == BATCH_OK; i++) {
            consumer *c = mem[i];
            if (c->at < c->nsel && c->sel[c->at] == ev)
                r = consumer_run_event(c, &c->rtx, c->next, c->sel[c->at++], c->to);
        }
    }
    if (r == BATCH_OK && shared && flusher && flusher->flush &&
        flusher->flush(&flusher->rtx, flusher->arg) == CONSUMER_RETRY)
        r = BATCH_DATA;
    for (size_t i = 0; i < n && r == BATCH_OK; i++) {
        consumer *c = mem[i];
        r = consumer_run_close(c, &c->rtx, c->next, c->to, !shared && c->nsel);
    }
    if (r == BATCH_OK)
        r = consumer_seal(mem, n, nev);
    int commit = r == BATCH_OK ? db_commit(d) : (db_rollback(d), 1);
    for (size_t i = 0; i < n; i++) {
        consumer *c = mem[i];
        if (commit == 0) {
            consumer_committed(c, &c->rtx, c->next, c->nsel);
        } else if (r == BATCH_OK) {
            c->held_off = true; /* the outcome is unknown */
            consumer_undo(c, &c->rtx);
        } else {
            /* Rolled back: the offsets in memory are still true. */
            consumer_txn_clear(&c->rtx);
            consumer_done(c, false);
        }
    }
    return commit == 0 ? 0 : r == BATCH_OK ? -1 : 1;
}

static bool consumer_going(const bool *go, size_t nc)
{
    for (size_t m = 0; m < nc; m++)
        if (go[m])
            return true;
    return false;
}

/* How much of streams ks[0..nks) a round reads, max in all: at first an
 * even split; then twice what each gave the last round, plus an eighth of
 * the even share, scaled down to max. The round stops at the horizon of
 * the full chunks (horizon.h), and what was read past it is read again the
 * next round: an even split reads a sparse stream far past it (the dense
 * ones set it) and leaves the dense ones less room, so that each round
 * takes about half the batch. A stream whose chunk came back short of the
 * others' time sets a lower horizon once; its next share is twice that. */
static void consumer_shares(const consumer *c, const size_t *ks, size_t nks, size_t max,
                            size_t *per)
{
    size_t even = max / nks ? max / nks : 1, floor = even / 8 ? even / 8 : 1, sum = 0;
    for (size_t j = 0; j < nks; j++) {
        size_t took = c->took[ks[j]];
        per[j] = took ? 2 * (took - 1) + floor : even;
        sum += per[j];
    }
    if (sum <= max)
        return;
    /* Scaled down, each at least 1; what the rounding up to 1 adds is taken
     * back from the largest shares, so that the round reads max at most (a
     * stream left unread would look like its end to the horizon), or one
     * event a stream when max is less than the streams (a pace's room). */
    size_t total = 0;
    for (size_t j = 0; j < nks; j++) {
        per[j] = per[j] * max / sum ? per[j] * max / sum : 1;
        total += per[j];
    }
    while (total > max && total > nks) {
        size_t big = 0;
        for (size_t j = 1; j < nks; j++)
            big = per[j] > per[big] ? j : big;
        per[big]--;
        total--;
    }
}

/* Whether c's events are partitioned as pc's: the same function, count
 * and argument (the partitions of one partset). */
static bool consumer_parts_alike(const consumer *c, const consumer *pc)
{
    return c->part_of == pc->part_of && c->nparts == pc->nparts && c->arg == pc->arg;
}

/* The partition of each event a round took (the chunk cs[0] read: ranges
 * start[j] .. start[j] + take[j]), into cs[0]'s parts, asked once of the
 * first partitioned member still going rather than once by every member:
 * returns that member, whose like (consumer_parts_alike) select by it;
 * NULL when no member going is partitioned. */
static const consumer *consumer_parts(consumer **cs, size_t nc, const bool *go, const size_t *ks,
                                      size_t nks, const size_t *start, const size_t *take)
{
    const consumer *pc = NULL;
    for (size_t m = 0; m < nc && !pc; m++)
        if (go[m] && cs[m]->part_of)
            pc = cs[m];
    if (!pc)
        return NULL;
    consumer *c0 = cs[0];
    for (size_t j = 0; j < nks; j++) {
        uint64_t from = UINT64_MAX; /* the lowest offset of pc's like: below it no one selects */
        for (size_t m = 0; m < nc; m++)
            if (go[m] && consumer_parts_alike(cs[m], pc) && cs[m]->streams[ks[j]].offset < from)
                from = cs[m]->streams[ks[j]].offset;
        for (size_t i = start[j]; i < start[j] + take[j]; i++)
            if (c0->evs[i]->seq > from)
                c0->parts[i] = pc->part_of(c0->evs[i], pc->nparts, pc->arg);
    }
    return pc;
}

/* One round of a shared catch-up: reads a chunk of the streams ks (every
 * stream together, or one) from the lowest offset of the members still
 * going (go[m]), once, and takes what was recorded up to their common
 * horizon (horizon.h; with one stream, the whole chunk). Each member then
 * applies the events it takes past its own offset, and its offsets move
 * over the whole chunk taken: all in one transaction, or each in its own
 * when that one was rolled back. A member whose
 * apply failed gets rcs[m] = -1 and leaves the group. 1 when a chunk came
 * back full (more to do), 2 when the pace (cs[0]'s, which bounds the
 * round) holds it (more to do, later), 0 when every stream's end was
 * read (or, the members held off, nothing read: each rcs -1), -1 when
 * the read failed. */
static int consumer_round(consumer **cs, size_t nc, bool *go, int *rcs, const size_t *ks,
                          size_t nks)
{
    /* The members share their connection: a write of one refused or cut
     * (held_off: refused at admission or in an earlier round, and out of
     * the group since, rcs -1) holds them all, before anything is read,
     * this turn. */
    bool off = false;
    for (size_t m = 0; m < nc; m++)
        off = off || ((go[m] || rcs[m] < 0) && cs[m]->held_off);
    for (size_t m = 0; off && m < nc; m++)
        if (go[m]) {
            cs[m]->held_off = true;
            rcs[m] = -1;
            go[m] = false;
        }
    if (off)
        return 0;
    consumer *c0 = cs[0];
    size_t max = c0->batch;
    if (c0->pace) {
        size_t room = c0->pace(c0->arg);
        if (room == 0)
            return 2;
        max = room < max ? room : max;
    }
    size_t per[CONSUMER_MAX_STREAMS];
    consumer_shares(c0, ks, nks, max, per);
    uint64_t from[CONSUMER_MAX_STREAMS], upto[CONSUMER_MAX_STREAMS];
    /* upto: where the round leaves each stream read (0: not read). */
    for (size_t k = 0; k < c0->nstreams; k++) {
        from[k] = UINT64_MAX;
        for (size_t m = 0; m < nc; m++)
            if (go[m] && cs[m]->streams[k].offset < from[k])
                from[k] = cs[m]->streams[k].offset;
        upto[k] = 0;
    }
    struct horizon_read rd[CONSUMER_MAX_STREAMS];
    size_t start[CONSUMER_MAX_STREAMS], take[CONSUMER_MAX_STREAMS], got = 0;
    bool full = false;
    for (size_t j = 0; j < nks; j++) {
        size_t k = ks[j];
        int n = got + per[j] <= c0->batch ? eventlog_read(c0->db, c0->streams[k].name, from[k],
                                                          (int)per[j], c0->evs + got)
                                          : 0;
        if (n < 0) {
            consumer_free_all(c0->evs, got);
            return -1;
        }
        for (int i = 0; i < n; i++) {
            const event *ev = c0->evs[got + (size_t)i];
            c0->rec[got + (size_t)i] = ev->recorded_at ? event_ts_us(ev->recorded_at) : 0;
        }
        rd[j] = (struct horizon_read){(size_t)n, (size_t)n == per[j], c0->rec + got};
        start[j] = got;
        got += (size_t)n;
        full = full || rd[j].full;
    }
    if (!got)
        return 0;
    horizon_take(rd, nks, take);
    for (size_t j = 0; nks > 1 && j < nks; j++)
        c0->took[ks[j]] = take[j] + 1;
    for (size_t j = 0; j < nks; j++)
        upto[ks[j]] = take[j] ? c0->evs[start[j] + take[j] - 1]->seq : from[ks[j]];
    /* Each member's share: its events past its offset, and its offsets
     * moved over the whole chunk taken. */
    const consumer *pc = consumer_parts(cs, nc, go, ks, nks, start, take);
    size_t movers = 0;
    for (size_t m = 0; m < nc; m++) {
        consumer *c = cs[m];
        if (!go[m])
            continue;
        c->moves = false;
        c->nsel = 0;
        for (size_t k = 0; k < c->nstreams; k++) {
            c->to[k] = upto[k] > c->streams[k].offset ? upto[k] : c->streams[k].offset;
            c->moves = c->moves || c->to[k] > c->streams[k].offset;
        }
        bool known = pc && consumer_parts_alike(c, pc);
        for (size_t j = 0; j < nks; j++)
            for (size_t i = start[j]; i < start[j] + take[j]; i++)
                if (c0->evs[i]->seq > c->streams[ks[j]].offset &&
                    (known ? consumer_part_is_mine(c, c0->parts[i]) : consumer_mine(c, c0->evs[i])))
                    c->sel[c->nsel++] = c0->evs[i];
        movers += c->moves;
    }
    /* All in one transaction, or else (it was rolled back) each member in
     * its own, which finds the one that failed and goes on with the
     * others. */
    int one = movers > 1 ? consumer_apply_round(cs, nc, go) : 1;
    for (size_t m = 0; m < nc && one != 0; m++) {
        consumer *c = cs[m];
        if (!go[m] || !c->moves)
            continue;
        /* Not partitioned: every event past the offset, each the next. */
        if (one < 0 || consumer_apply_all(c, c->sel, c->nsel, c->part_of ? c->to : NULL) != 0 ||
            consumer_load(c) != 0) {
            rcs[m] = -1;
            go[m] = false;
        }
    }
    consumer_free_all(c0->evs, got);
    return full;
}

/* Reads each stream's lag (lag.h) from the offsets committed under name
 * (c's own, or the name of the partitioned consumer c is a partition of:
 * the furthest behind of its partitions) and publishes it when asked.
 * *behind is set when a stream's tail is past the offset. 0, or -1 when
 * the database failed. */
static int consumer_lag_as(consumer *c, const char *name, bool publish, bool *behind)
{
    const char *names[CONSUMER_MAX_STREAMS];
    struct lag_sample s[CONSUMER_MAX_STREAMS];
    *behind = false;
    for (size_t i = 0; i < c->nstreams; i++)
        names[i] = c->streams[i].name;
    if (db_ensure(c->db) != 0 || lag_query(c->db, name, names, s, c->nstreams) != 0)
        return -1;
    for (size_t i = 0; i < c->nstreams; i++) {
        double events, seconds;
        lag_of(&s[i], &events, &seconds);
        if (publish)
            lag_publish(names[i], events, seconds);
        *behind = *behind || events > 0;
    }
    return 0;
}

/* Reads c's own lag, at most once a second unless forced, and publishes
 * it unless c is a partition (its set publishes them together:
 * consumer_publish_lag). *behind as consumer_lag_as's; false when not
 * read. 0, or -1 when the database failed. */
static int consumer_lag(consumer *c, bool force, bool *behind)
{
    int64_t now = time_mono_ms();
    *behind = false;
    if (!force && now < c->lag_next_ms)
        return 0;
    if (consumer_lag_as(c, c->name, !c->part_of, behind) != 0)
        return -1;
    c->lag_next_ms = now + CONSUMER_LAG_EVERY_MS;
    return 0;
}

int consumer_publish_lag(consumer *c, const char *as)
{
    bool behind;
    return consumer_lag_as(c, as ? as : c->name, true, &behind);
}

/* After a write that was refused or failed at commit: whether db_begin
 * admits a write transaction now, asked with an empty one (its refusal
 * costs nothing; its admission a BEGIN and a ROLLBACK, once), so that no
 * batch is read or received that it would refuse. 0 admitted (or not
 * asked: the connection is down, the read fails first), -1 not now. */
static int consumer_admitted(consumer *c)
{
    if (!c->held_off || !db_up(c->db))
        return 0;
    if (db_begin(c->db) != 0)
        return -1;
    db_rollback(c->db);
    c->held_off = false;
    return 0;
}

bool consumer_held_off(const consumer *c)
{
    return c->held_off;
}

int consumer_catch_up_shared(consumer **cs, size_t nc, int *rcs)
{
    assert(nc >= 1 && nc <= CONSUMER_SHARED_MAX);
    bool go[CONSUMER_SHARED_MAX];
    for (size_t m = 0; m < nc; m++) {
        consumer *c = cs[m];
        /* One read serves them all: the same streams, room for its chunk. */
        assert(c->nstreams == cs[0]->nstreams && c->batch >= cs[0]->batch);
        bool behind;
        rcs[m] = 0;
        go[m] = false;
        if (c->lease && !lease_held(c->lease))
            continue; /* a standby: the holder applies */
        /* A partition's lag is its set's to publish (consumer_publish_lag). */
        if (consumer_admitted(c) != 0 || consumer_load(c) != 0 ||
            (!c->part_of && consumer_lag(c, false, &behind) != 0)) {
            rcs[m] = -1;
            continue;
        }
        go[m] = true;
    }
    int64_t until = time_mono_ms() + CONSUMER_CATCHUP_MS;
    consumer *c0 = cs[0];
    size_t ks[CONSUMER_MAX_STREAMS], nks = c0->together && c0->nstreams > 1 ? c0->nstreams : 1;
    int more = 0, rc = 0;
    /* Together: every stream in each round; else one stream after the other. */
    for (size_t first = 0; first < c0->nstreams && rc >= 0 && consumer_going(go, nc);
         first += nks) {
        for (size_t j = 0; j < nks; j++)
            ks[j] = first + j;
        do
            rc = consumer_round(cs, nc, go, rcs, ks, nks);
        while (rc == 1 && consumer_going(go, nc) && time_mono_ms() < until);
        more |= rc > 0;
    }
    int worst = 0;
    for (size_t m = 0; m < nc; m++) {
        if (go[m])
            rcs[m] = rc < 0 ? -1 : more; /* 0 or 1 */
        if (rcs[m] < 0)
            worst = -1;
        else if (rcs[m] > 0 && worst == 0)
            worst = 1;
    }
    return worst;
}

int consumer_catch_up(consumer *c)
{
    int rc;
    consumer_catch_up_shared(&c, 1, &rc);
    return rc;
}

int consumer_on_bus(consumer *c)
{
    event **evs = c->evs;
    size_t n = 0;
    bool gap = false;
    int got;
    if ((c->lease && !lease_held(c->lease)) || consumer_admitted(c) != 0 || consumer_load(c) != 0) {
        /* Drain anyway: the tick catches up from the log once it is back. */
        event *ev;
        for (size_t i = 0; i < c->batch && bus_recv(c->bus, &ev) == 1; i++)
            event_destroy(&ev);
        return -1;
    }
    uint64_t expect[CONSUMER_MAX_STREAMS];
    for (size_t k = 0; k < c->nstreams; k++)
        expect[k] = c->streams[k].offset + 1;
    int64_t until = 0; /* the linger's end, once the batch has begun */
    while (n < c->batch) {
        if ((got = bus_recv(c->bus, &evs[n])) != 1) {
            if (got < 0 || c->linger_ms == 0 || n == 0)
                break;
            int64_t now = time_mono_ms();
            if (!until)
                until = now + c->linger_ms;
            if (now >= until || bus_wait(c->bus, (int)(until - now)) != 1)
                break;
            continue;
        }
        struct consumer_stream *s = consumer_find(c, evs[n]->stream);
        size_t k = s ? (size_t)(s - c->streams) : 0;
        if (!s || evs[n]->seq < expect[k]) {
            event_destroy(&evs[n]); /* not ours, or already applied */
        } else if (evs[n]->seq > expect[k]) {
            gap = true; /* the log has what the bus lost */
            metrics_add("carebus_consumer_gaps_total", 1);
            event_destroy(&evs[n]);
        } else {
            expect[k]++;
            n++;
        }
    }
    int rc = n ? consumer_apply_all(c, evs, n, NULL) : 0;
    consumer_free_all(evs, n);
    if (rc == 0 && gap)
        rc = consumer_catch_up(c) < 0 ? -1 : 0;
    return rc;
}

int consumer_tick(consumer *c)
{
    bool behind;
    /* A standby publishes the lag of the holder's committed offsets, as the
     * holder does: the alert means the same on either instance. */
    if (c->lease && !lease_held(c->lease))
        return consumer_lag(c, true, &behind);
    if (consumer_load(c) != 0 || consumer_lag(c, true, &behind) != 0)
        return -1;
    /* The lag is published even while the writers back off (a read); the
     * catch-up then returns -1 at once. */
    return behind ? consumer_catch_up(c) : 0;
}
