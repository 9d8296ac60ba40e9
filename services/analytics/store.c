/* store.c — the live path (see store.h).
 *
 * Staging keeps pointers to the consumer's events: they live until the
 * transaction ends, and the done hook forgets them whatever the outcome.
 * The order of the batch is the consumer's (each stream in order); the
 * model is order-free (model.h), so applying the batch at once ends in
 * the state applying it event by event would, and the footprint's
 * "subtract before, add after" in the sums one final computation gives.
 */
#include "store.h"

#include <malloc.h>
#include <stdlib.h>

#include "buf.h"
#include "erased.h"
#include "footprint.h"
#include "load.h"
#include "log.h"
#include "metrics.h"
#include "model.h"
#include "rows.h"
#include "stage.h"
#include "timeutil.h"

/* The staged events' arrays (some 260 bytes an event: its refs) are kept
 * from one batch to the next (a catch-up's round of 100,000 events:
 * 26 MiB), rather than grown again from nothing, page by page, each
 * round. They are given back after a batch more than four times smaller
 * than them and past this many events (a trickle after a catch-up), and
 * when the store goes idle (store_idle), with the model. */
#define STORE_KEEP_STAGED 4096

struct store {
    timebase *cal;
    model *m; /* the cache: what was last committed */
    /* A drop that could not get a fresh model (out of memory) left m
     * holding what a rolled-back batch made: no batch until dropped. */
    bool stale;
    footprint fp;
    stage st;
    struct model_item *staged; /* the batch's events, borrowed from the consumer */
    size_t nstaged, cap;
    /* The batch's customer.erased events (borrowed): applied after its
     * writes, which they must not be undone by. */
    const Carebus__V1__CustomerErased **erased;
    size_t nerased, cerased;
    size_t cache_max;
    int64_t idle_ms;
    int64_t last_ms; /* the last batch's end (monotonic), 0: none since idle */
    /* The last batch's phases (ms), for the debug log: loading what it
     * touches, computing, writing (COPYs and merge). */
    int64_t load_ms, compute_ms, write_ms;
};

store *store_new(timebase *cal, size_t cache_max, int64_t idle_ms)
{
    store *s = calloc(1, sizeof *s);
    if (!s || !(s->m = model_new())) {
        free(s);
        return NULL;
    }
    s->cal = cal;
    s->cache_max = cache_max;
    s->idle_ms = idle_ms;
    footprint_init(&s->fp);
    metrics_describe("carebus_analytics_cached", "gauge",
                     "tickets and customers the live path holds in memory");
    return s;
}

void store_destroy(store **ps)
{
    store *s = *ps;
    if (!s)
        return;
    model_destroy(&s->m);
    footprint_release(&s->fp);
    free(s->staged);
    free(s->erased);
    free(s);
    *ps = NULL;
}

size_t store_cached(const store *s)
{
    size_t nt, nc;
    model_tickets(s->m, &nt);
    model_customers(s->m, &nc);
    return nt + nc;
}

/* Forgets everything held; the next batch reads what it needs again. */
static void store_drop(store *s)
{
    model *fresh = model_new();
    if (!fresh) {
        s->stale = true; /* the next flush drops it again first */
        return;
    }
    model_destroy(&s->m);
    s->m = fresh;
    s->stale = false;
    footprint_release(&s->fp);
    metrics_set("carebus_analytics_cached", 0);
}

static consumer_result store_stage(consumer_txn *tx, const event *ev, void *arg)
{
    (void)tx;
    store *s = arg;
    if (s->nstaged == s->cap) {
        /* At once the size of a full batch (its pages are touched only
         * as events come), not doubled up to it, copied at each step. */
        size_t cap = s->cap ? s->cap * 2 : STORE_BATCH;
        struct model_item *n = realloc(s->staged, cap * sizeof *n);
        if (!n)
            return CONSUMER_RETRY;
        s->staged = n;
        s->cap = cap;
    }
    struct model_item *it = &s->staged[s->nstaged];
    if (!model_refs_of(ev, &it->r))
        return CONSUMER_OK;
    if ((it->at = model_event_time(ev)) == MODEL_NONE) {
        log_warn("analytics: event %s (%s) has no time: skipped", ev->event_id, ev->type);
        return CONSUMER_SKIP;
    }
    it->ev = ev;
    s->nstaged++;
    return CONSUMER_OK;
}

/* customer.erased: kept for the flush (erased.h). */
static consumer_result store_erased(consumer_txn *tx, const event *ev, void *arg)
{
    (void)tx;
    store *s = arg;
    if (s->nerased == s->cerased) {
        size_t cap = s->cerased ? s->cerased * 2 : 4;
        const Carebus__V1__CustomerErased **n = realloc(s->erased, cap * sizeof *n);
        if (!n)
            return CONSUMER_RETRY;
        s->erased = n;
        s->cerased = cap;
    }
    s->erased[s->nerased++] = ev->customer_erased;
    return CONSUMER_OK;
}

/* Applies the staged batch to the model and writes what it changed. */
static int store_apply(store *s, db *d)
{
    model *m = s->m;
    const struct model_item *items = s->staged;
    size_t n = s->nstaged;
    agg *a = agg_new();
    int rc = -1;
    int64_t t0 = time_mono_ms();
    if (!a || load_batch(d, m, items, n) != 0)
        goto out;
    int64_t t1 = time_mono_ms();
    if (footprint_before(&s->fp, m, items, n) != 0 ||
        footprint_contribute(&s->fp, a, s->cal, m, -1) != 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (model_apply_refs(m, items[i].ev, &items[i].r, items[i].at) < 0)
            goto out;
    if (footprint_after(&s->fp, m) != 0 || footprint_contribute(&s->fp, a, s->cal, m, +1) != 0 ||
        agg_failed(a))
        goto out;
    /* The segments stand as the batch left them (resolved by the "add"). */
    int64_t t2 = time_mono_ms();
    if (stage_write(&s->st, d, s->cal, m, &s->fp, a) != 0)
        goto out;
    footprint_settle(&s->fp);
    s->load_ms = t1 - t0;
    s->compute_ms = t2 - t1;
    s->write_ms = time_mono_ms() - t2;
    rc = 0;
out:
    agg_destroy(&a);
    return rc;
}

/* Redacts the erased customers' rows (analytics.erase), then writes each
 * state it redacted again as analytics writes states (rows_state_text):
 * the text a rebuild writes. 0 or -1. */
static int erase_one(db *d, const Carebus__V1__CustomerErased *e)
{
    buf ids = BUF_INIT;
    size_t n = erased_ids(e, &ids);
    const char *p[2] = {buf_str(&ids), NULL};
    PGresult *r =
        n == 0 || ids.failed
            ? NULL
            : db_exec(d, "SELECT ticket_id, state FROM analytics.erase($1::uuid[])", 1, p);
    int rc = n == 0 ? 0 : r ? 0 : -1;
    for (int i = 0; r && rc == 0 && i < PQntuples(r); i++) {
        char *text = rows_state_text(json_loads(db_value(r, i, "state"), 0, NULL));
        p[0] = db_value(r, i, "ticket_id");
        p[1] = text;
        if (!text) {
            log_error("analytics: the redacted state of ticket %s does not load", p[0]);
            rc = -1;
        } else {
            rc =
                db_command(d, "UPDATE analytics.tickets SET state = $2 WHERE ticket_id = $1", 2, p);
        }
        free(text);
    }
    PQclear(r);
    buf_release(&ids);
    return rc;
}

/* The batch's erasures, after its writes; the cache may hold what they
 * redacted: dropped. 0 or -1. */
static int store_erase(store *s, db *d)
{
    for (size_t i = 0; i < s->nerased; i++)
        if (erase_one(d, s->erased[i]) != 0)
            return -1;
    if (s->nerased)
        store_drop(s);
    return 0;
}

static consumer_result store_flush(consumer_txn *tx, void *arg)
{
    store *s = arg;
    if (!s->nstaged) {
        int rc = store_erase(s, consumer_txn_db(tx));
        s->nerased = 0;
        return rc == 0 ? CONSUMER_OK : CONSUMER_RETRY;
    }
    if (s->stale || store_cached(s) > s->cache_max)
        store_drop(s);
    if (s->stale)
        return CONSUMER_RETRY;
    int64_t t0 = time_mono_ms();
    if (store_apply(s, consumer_txn_db(tx)) != 0) {
        if (db_up(consumer_txn_db(tx)))
            log_error("analytics: could not apply a batch of %zu events", s->nstaged);
        return CONSUMER_RETRY;
    }
    if (store_erase(s, consumer_txn_db(tx)) != 0)
        return CONSUMER_RETRY;
    log_debug("analytics: %zu events applied in %lld ms (%zu held; load %lld, compute %lld, "
              "write %lld ms)",
              s->nstaged, (long long)(time_mono_ms() - t0), store_cached(s), (long long)s->load_ms,
              (long long)s->compute_ms, (long long)s->write_ms);
    return CONSUMER_OK;
}

/* The batch is over: its events are the consumer's again. */
static void store_unstage(store *s)
{
    s->nstaged = s->nerased = 0;
}

/* Gives the staging arrays back (store_idle, or a batch far smaller than
 * the arrays). */
static void store_unstage_release(store *s)
{
    free(s->staged);
    s->staged = NULL;
    s->cap = 0;
    free(s->erased);
    s->erased = NULL;
    s->cerased = 0;
}

static void store_done(bool committed, void *arg)
{
    store *s = arg;
    size_t n = s->nstaged;
    store_unstage(s);
    /* A catch-up's rounds keep the array they fill; a trickle of small
     * batches after one does not hold its high-water mark. */
    if (s->cap > 4 * (n > STORE_KEEP_STAGED ? n : STORE_KEEP_STAGED))
        store_unstage_release(s);
    if (!committed) {
        store_drop(s);
        stage_forget(&s->st);
    }
    s->last_ms = time_mono_ms();
    metrics_set("carebus_analytics_cached", (double)store_cached(s));
}

void store_attach(store *s, consumer *c)
{
    (void)s; /* the handlers' argument already: the store is named for the reader */
    consumer_set_flush(c, store_flush);
    consumer_set_done(c, store_done);
    consumer_set_batch(c, STORE_BATCH, STORE_LINGER_MS);
    /* A ticket's events come on four streams: caught up together, a
     * batch writes it once rather than once per stream. */
    consumer_set_together(c, true);
}

void store_idle(store *s, int64_t now)
{
    if (!s->last_ms || now - s->last_ms < s->idle_ms)
        return;
    s->last_ms = 0;
    size_t held = store_cached(s);
    store_drop(s);
    store_unstage_release(s);
    /* The model's many small blocks and the batches' arrays went back to
     * malloc: to the system. */
    malloc_trim(0);
    if (held)
        log_info("analytics: idle for %lld s: %zu cached entities dropped",
                 (long long)(s->idle_ms / 1000), held);
}

#define ON(body) [CAREBUS__V1__ENVELOPE__BODY_##body] = {NULL, store_stage}
const struct consumer_handler store_handlers[] = {
    ON(TICKET_OPENED),     ON(TICKET_CONTACT_ADDED),
    ON(TICKET_CLASSIFIED), ON(TICKET_ASSIGNED),
    ON(TICKET_QUEUED),     ON(TICKET_TRANSFERRED),
    ON(TICKET_REOPENED),   ON(TICKET_SOLVED),
    ON(TICKET_CLOSED),     ON(TICKET_ESCALATED),
    ON(AGENT_REPLIED),     ON(TICKET_STATUS_CHANGED),
    ON(SLA_WARNING),       ON(SLA_BREACH),
    ON(SLA_ESCALATION),    ON(SURVEY_REQUESTED),
    ON(SURVEY_ANSWERED),   ON(CUSTOMER_PROFILE_UPDATED),
    ON(CUSTOMER_MERGED),   [CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_ERASED] = {"router", store_erased},
};
#undef ON
const size_t store_nhandlers = sizeof store_handlers / sizeof store_handlers[0];
