/* record.c — outcomes, written in batches, and what they make courier say.
 *
 * One transaction per batch: the deliveries' new states and their
 * attempts; the next delivery of each (subscription, ticket) whose
 * predecessor is now done is released; the subscriptions' health
 * (consecutive failures, failing since) and, for one failing longer than
 * CAREBUS_WEBHOOK_PAUSE_AFTER_S (or more times in a row than
 * CAREBUS_WEBHOOK_PAUSE_AFTER_FAILURES), its pause: its open deliveries are
 * given up and subscription.paused says why; then message.sent and
 * message.failed for the messages done. An outcome applies only to the
 * attempt it answers (the row still sending, with the attempts it had), so
 * a batch written twice (its commit's answer was lost) changes nothing the
 * second time, and the events' derived ids make their repeats no-ops.
 *
 * A batch that cannot be written stays in memory and is tried again (the
 * pump claims nothing meanwhile); the rows keep their leases until then.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "courier.h"
#include "hmap.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"

#define RECORD_BATCH 1000
/* A batch the database keeps refusing (not for being down) is dropped
 * after this many tries: its deliveries are attempted again when their
 * leases run out. */
#define RECORD_MAX_TRIES 5

struct record {
    struct outcome *v;
    size_t n, cap;
    int tries;
};

/* --- the rows ------------------------------------------------------------------ */

static void put_duration(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    const struct outcome *o = row;
    rowset_put_i64(p, (o->finished_us - o->started_us) / 1000);
}

static void put_outcome(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    rowset_put_str(p, ((const struct outcome *)row)->outcome);
}

static void put_status(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    rowset_put_str(p, ((const struct outcome *)row)->status);
}

/* An attempt (courier.attempts) with the delivery's new state beside it. */
#define O(f) ROWSET_AT(struct outcome, f)
static const struct rowset_col outcome_cols[] = {
    {"delivery_id", "uuid", ROWSET_ID, O(d.id)},
    {"prev", "int", ROWSET_INT, O(d.attempts)},
    {"n", "int", ROWSET_INT, O(n)},
    {"started_at", "timestamptz", ROWSET_TIME, O(started_us), .none = 0},
    {"finished_at", "timestamptz", ROWSET_TIME, O(finished_us), .none = 0},
    {"http_status", "int", ROWSET_INT, O(http_status), .none = 0, .flags = ROWSET_NULLABLE},
    {"outcome", "text", ROWSET_FN, .get = put_outcome},
    {"error_code", "text", ROWSET_ID, O(code)},
    {"error", "text", ROWSET_ID, O(error)},
    {"duration_ms", "int", ROWSET_FN, .get = put_duration},
    {"status", "text", ROWSET_FN, .get = put_status},
    {"next_at", "timestamptz", ROWSET_TIME, O(next_at_us), .none = 0},
    {"provider_message_id", "text", ROWSET_ID, O(provider_message_id)},
};
#undef O
static const rowset_table outcome_table = {"courier.attempts", outcome_cols,
                                           ROWSET_COUNT(outcome_cols), NULL};

/* clang-format off */
static rowset_stmt outcomes_sql = ROWSET_STMT(
    outcome_table,
    "WITH x AS (SELECT * FROM {@rows $1 x}),"
    " u AS (UPDATE courier.deliveries d SET status = x.status,"
    "         attempts = CASE WHEN x.n > 0 THEN x.n ELSE d.attempts END,"
    "         next_at = CASE WHEN x.status = 'pending' THEN x.next_at ELSE d.next_at END,"
    "         lease_until = NULL,"
    "         provider_message_id = CASE WHEN x.status = 'sent' THEN x.provider_message_id"
    "                                    ELSE d.provider_message_id END,"
    "         last_status = CASE WHEN x.n > 0 THEN x.http_status ELSE d.last_status END,"
    "         last_error_code = CASE WHEN x.status = 'sent' THEN NULL ELSE x.error_code END,"
    "         last_error = CASE WHEN x.status = 'sent' THEN NULL ELSE x.error END,"
    "         sent_at = CASE WHEN x.status = 'sent' THEN x.finished_at END,"
    "         done_at = CASE WHEN x.status IN ('sent', 'failed') THEN x.finished_at END"
    "        FROM x WHERE d.id = x.delivery_id AND d.status = 'sending' AND d.attempts = x.prev"
    "        RETURNING d.id, d.subscription_id, d.order_key, d.status),"
    " a AS (INSERT INTO courier.attempts (delivery_id, n, started_at, finished_at, http_status,"
    "                                     outcome, error_code, error, duration_ms)"
    "        SELECT x.delivery_id, x.n, x.started_at, x.finished_at, x.http_status, x.outcome,"
    "               x.error_code, x.error, x.duration_ms FROM x WHERE x.n > 0"
    "        ON CONFLICT DO NOTHING),"
    " r AS (UPDATE courier.deliveries n SET next_at = now()"
    "        FROM (SELECT DISTINCT ON (e.subscription_id, e.order_key) e.id, e.next_at"
    "                FROM courier.deliveries e JOIN u ON e.subscription_id = u.subscription_id"
    "                 AND e.order_key = u.order_key"
    "               WHERE u.status IN ('sent', 'failed') AND e.status = 'pending'"
    "               ORDER BY e.subscription_id, e.order_key, e.created_seq) s"
    "       WHERE n.id = s.id AND s.next_at = 'infinity'"
    "       RETURNING n.id)"
    " SELECT u.id AS delivery_id, (SELECT count(*) FROM r) AS released FROM u");
/* clang-format on */

/* One subscription's share of a batch. */
struct tally {
    char id[ID_LEN];
    int64_t delivered, failed;
    bool succeeded;
    int trailing; /* failed attempts after its last success in the batch */
    int64_t failing_since_us, last_failure_us, last_success_us;
    char last_error[512];
    /* read back */
    bool paused;
    int consecutive;
};

#define T(f) ROWSET_AT(struct tally, f)
static const struct rowset_col tally_cols[] = {
    {"id", "uuid", ROWSET_ID, T(id)},
    {"delivered", "bigint", ROWSET_I64, T(delivered)},
    {"failed", "bigint", ROWSET_I64, T(failed)},
    {"succeeded", "boolean", ROWSET_BOOL, T(succeeded)},
    {"streak", "int", ROWSET_INT, T(trailing)},
    {"failing_since", "timestamptz", ROWSET_TIME, T(failing_since_us), .none = 0},
    {"last_failure_at", "timestamptz", ROWSET_TIME, T(last_failure_us), .none = 0},
    {"last_success_at", "timestamptz", ROWSET_TIME, T(last_success_us), .none = 0},
    {"last_error", "text", ROWSET_ID, T(last_error)},
    {"paused", "boolean", ROWSET_BOOL, T(paused)},
    {"consecutive_failures", "int", ROWSET_INT, T(consecutive)},
};
#undef T
static const rowset_table tally_table = {"courier.subscriptions", tally_cols,
                                         ROWSET_COUNT(tally_cols), NULL};

#define TALLIED                                                                                    \
    "id,delivered,failed,succeeded,streak,failing_since,last_failure_at,last_success_at,"          \
    "last_error"

/* clang-format off */
static rowset_stmt tally_sql = ROWSET_STMT(
    tally_table,
    "UPDATE courier.subscriptions s SET delivered = s.delivered + x.delivered,"
    "   failed = s.failed + x.failed,"
    "   consecutive_failures = CASE WHEN x.succeeded THEN x.streak"
    "                               ELSE s.consecutive_failures + x.streak END,"
    "   failing_since = CASE WHEN x.streak = 0 THEN NULL"
    "                        WHEN x.succeeded THEN x.failing_since"
    "                        ELSE coalesce(s.failing_since, x.failing_since) END,"
    "   last_success_at = coalesce(x.last_success_at, s.last_success_at),"
    "   last_failure_at = coalesce(x.last_failure_at, s.last_failure_at),"
    "   last_error = coalesce(x.last_error, s.last_error)"
    " FROM {@rows $1 x " TALLIED "} WHERE s.id = x.id"
    " RETURNING s.id, s.paused_at IS NOT NULL AS paused, s.consecutive_failures,"
    "   (extract(epoch FROM s.failing_since) * 1000000)::bigint AS failing_since,"
    "   s.last_error");
/* clang-format on */

/* --- the queue --------------------------------------------------------------------- */

static struct record *record_of(courier *c)
{
    if (!c->record)
        c->record = calloc(1, sizeof *c->record);
    return c->record;
}

void record_add(courier *c, struct outcome *o)
{
    struct record *r = record_of(c);
    if (r && r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        struct outcome *v = realloc(r->v, cap * sizeof *v);
        if (v) {
            r->v = v;
            r->cap = cap;
        }
    }
    if (!r || r->n == r->cap) {
        log_error("out of memory: the outcome of delivery %s is lost; attempted again when its "
                  "lease ends",
                  o->d.id);
        delivery_release(&o->d);
        return;
    }
    r->v[r->n++] = *o;
    memset(o, 0, sizeof *o);
}

size_t record_pending(const courier *c)
{
    return c->record ? c->record->n : 0;
}

void record_destroy(courier *c)
{
    struct record *r = c->record;
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        delivery_release(&r->v[i].d);
    free(r->v);
    free(r);
    c->record = NULL;
}

/* --- one batch ----------------------------------------------------------------------- */

struct batch {
    courier *c;
    struct outcome *v;
    size_t n;
    bool *applied;
    struct tally *t;
    size_t nt;
    /* subscriptions paused by this batch, and the messages given up with them */
    struct paused {
        char id[ID_LEN];
        char reason[700];
        int64_t since_us;
    } * paused;
    size_t npaused;
    struct casualty {
        struct casualty *next;
        struct delivery d;
        char code[DELIVERY_CODE_MAX];
        char reason[760];
    } * casualties;
    size_t ncasualties;
};

static int collect_casualty(const struct delivery *d, const char *code, const char *reason,
                            void *arg)
{
    struct batch *b = arg;
    struct casualty *x = calloc(1, sizeof *x);
    if (!x)
        return -1;
    x->d = *d; /* its strings are not kept: the give-up reads none */
    x->d.body = NULL;
    x->d.message = NULL;
    x->d.recipient = NULL;
    snprintf(x->code, sizeof x->code, "%s", code);
    snprintf(x->reason, sizeof x->reason, "%s", reason);
    x->next = b->casualties;
    b->casualties = x;
    b->ncasualties++;
    return 0;
}

static void batch_release(struct batch *b)
{
    free(b->applied);
    free(b->t);
    free(b->paused);
    while (b->casualties) {
        struct casualty *x = b->casualties;
        b->casualties = x->next;
        free(x);
    }
}

/* The outcomes' statement: which applied, and how many successors it
 * released. 0 or -1. */
static int write_outcomes(struct batch *b, db *d, int *released)
{
    rowset w;
    rowset_init(&w, &outcome_table, NULL);
    for (size_t i = 0; i < b->n; i++)
        rowset_add(&w, &b->v[i]);
    const char *sql = rowset_stmt_sql(&outcomes_sql);
    const char *p[] = {rowset_json(&w)};
    PGresult *res = sql && p[0] ? db_exec(d, sql, 1, p) : NULL;
    rowset_release(&w);
    if (!res)
        return -1;
    hmap ids = HMAP_INIT;
    if (hmap_reserve(&ids, b->n) != 0) {
        PQclear(res);
        return -1;
    }
    for (size_t i = 0; i < b->n; i++)
        hmap_puts(&ids, b->v[i].d.id, (int)i);
    for (int row = 0; row < PQntuples(res); row++) {
        int i = hmap_gets(&ids, db_value(res, row, "delivery_id"));
        if (i != HMAP_ABSENT)
            b->applied[i] = true;
        *released = atoi(db_value(res, row, "released"));
    }
    hmap_release(&ids);
    PQclear(res);
    return 0;
}

/* Each subscription's share of the applied outcomes, in their order. */
static int tally(struct batch *b)
{
    hmap idx = HMAP_INIT;
    if (!(b->t = calloc(b->n ? b->n : 1, sizeof *b->t)) || hmap_reserve(&idx, b->n) != 0) {
        hmap_release(&idx);
        return -1;
    }
    for (size_t i = 0; i < b->n; i++) {
        const struct outcome *o = &b->v[i];
        if (!b->applied[i] || !o->d.subscription_id[0] || o->n == 0)
            continue;
        int k = hmap_gets(&idx, o->d.subscription_id);
        if (k == HMAP_ABSENT) {
            k = (int)b->nt++;
            snprintf(b->t[k].id, sizeof b->t[k].id, "%s", o->d.subscription_id);
            hmap_puts(&idx, b->t[k].id, k);
        }
        struct tally *t = &b->t[k];
        if (strcmp(o->outcome, "sent") == 0) {
            t->succeeded = true;
            t->trailing = 0;
            t->failing_since_us = 0;
            t->last_success_us = o->finished_us;
        } else {
            if (t->trailing++ == 0)
                t->failing_since_us = o->started_us;
            t->last_failure_us = o->finished_us;
            snprintf(t->last_error, sizeof t->last_error, "%s", o->error);
        }
        t->delivered += strcmp(o->status, "sent") == 0;
        t->failed += strcmp(o->status, "failed") == 0;
    }
    hmap_release(&idx);
    return 0;
}

/* Updates the subscriptions' health and pauses those failing too long. */
static int write_health(struct batch *b, db *d)
{
    if (tally(b) != 0)
        return -1;
    if (!b->nt)
        return 0;
    rowset w;
    rowset_init(&w, &tally_table, NULL);
    rowset_only(&w, TALLIED);
    for (size_t i = 0; i < b->nt; i++)
        rowset_add(&w, &b->t[i]);
    const char *sql = rowset_stmt_sql(&tally_sql);
    const char *p[] = {rowset_json(&w)};
    PGresult *res = sql && p[0] ? db_exec(d, sql, 1, p) : NULL;
    rowset_release(&w);
    rowset_reader rd;
    if (!res || rowset_reader_init(&rd, &tally_table, res) != 0) {
        PQclear(res);
        return -1;
    }
    const struct courier_config *cfg = &b->c->cfg;
    int64_t now = time_now_us();
    int rc = 0;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        struct tally t = {0};
        if ((rc = rowset_read(&rd, i, &t, NULL)) != 0)
            break;
        bool long_enough =
            t.failing_since_us && now - t.failing_since_us >= (int64_t)cfg->pause_after_s * 1000000;
        bool too_many = cfg->pause_after_failures > 0 && t.consecutive >= cfg->pause_after_failures;
        if (t.paused || !t.failing_since_us || !(long_enough || too_many))
            continue;
        if (!b->paused && !(b->paused = calloc(b->nt, sizeof *b->paused))) {
            rc = -1;
            break;
        }
        struct paused *x = &b->paused[b->npaused++];
        char since[TIME_RFC3339_LEN];
        time_format_rfc3339(t.failing_since_us, since);
        snprintf(x->id, sizeof x->id, "%s", t.id);
        x->since_us = t.failing_since_us;
        snprintf(x->reason, sizeof x->reason,
                 "failing since %s: %d attempts in a row failed, the last with: %s", since,
                 t.consecutive, t.last_error);
        const char *pp[] = {x->id, x->reason};
        char why[760];
        snprintf(why, sizeof why, "the subscription was paused: %s", x->reason);
        rc = db_command(d,
                        "UPDATE courier.subscriptions SET paused_at = now(), paused_reason = $2"
                        " WHERE id = $1 AND paused_at IS NULL",
                        2, pp);
        if (rc == 0)
            rc = intent_give_up(d, x->id, "subscription_paused", why, collect_casualty, b);
    }
    PQclear(res);
    return rc;
}

/* The events of the batch, appended to the courier stream. */
static int write_events(struct batch *b, db *d, struct eventlog_entry **out, size_t *nout)
{
    size_t cap = b->n + b->npaused + b->ncasualties;
    *out = NULL;
    *nout = 0;
    if (!cap)
        return 0;
    struct report *r = calloc(cap, sizeof *r);
    struct eventlog_entry *e = calloc(cap, sizeof *e);
    if (!r || !e) {
        free(r);
        free(e);
        return -1;
    }
    int64_t now = time_now_us();
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++) {
        const struct outcome *o = &b->v[i];
        if (!b->applied[i] || !delivery_is_message(&o->d))
            continue;
        if (strcmp(o->status, "sent") == 0)
            report_sent(&r[n++], &o->d, o->provider_message_id, o->n, o->finished_us);
        else if (strcmp(o->status, "failed") == 0)
            report_failed(&r[n++], &o->d, o->code, o->error, o->n ? o->n : o->d.attempts,
                          o->finished_us);
    }
    for (size_t i = 0; i < b->npaused; i++)
        report_paused(&r[n++], b->paused[i].id, b->paused[i].reason, b->paused[i].since_us, now);
    for (struct casualty *x = b->casualties; x; x = x->next)
        report_failed(&r[n++], &x->d, x->code, x->reason, x->d.attempts, now);
    for (size_t i = 0; i < n; i++)
        e[i].ev = &r[i].ev;
    int rc = n ? eventlog_append(d, "courier", e, n) : 0;
    /* Packed: the reports are no longer read. */
    free(r);
    if (rc != 0) {
        for (size_t i = 0; i < n; i++)
            eventlog_entry_release(&e[i]);
        free(e);
        return -1;
    }
    *out = e;
    *nout = n;
    return 0;
}

static void count(const struct batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        const struct outcome *o = &b->v[i];
        if (!b->applied[i] || strcmp(o->status, "pending") == 0)
            continue;
        const char *channel =
            delivery_is_message(&o->d) && o->d.channel[0] ? o->d.channel : "webhook";
        report_count(channel, o->d.kind, o->status);
        if (strcmp(o->status, "failed") == 0)
            log_info("delivery %s (%s, %s) failed after %d attempts: %s %s", o->d.id, o->d.kind,
                     channel, o->n ? o->n : o->d.attempts, o->code, o->error);
        else
            log_debug("delivery %s (%s, %s) sent at attempt %d", o->d.id, o->d.kind, channel, o->n);
    }
    for (size_t i = 0; i < b->npaused; i++) {
        metrics_add("carebus_courier_subscriptions_paused_total", 1);
        log_warn("webhook subscription %s paused: %s", b->paused[i].id, b->paused[i].reason);
    }
}

int record_flush(courier *c, int *released)
{
    struct record *r = c->record;
    *released = 0;
    if (!r || !r->n)
        return 0;
    db *d = c->svc->db;
    if (!db_up(d))
        return -1;
    struct batch b = {.c = c, .v = r->v, .n = r->n < RECORD_BATCH ? r->n : RECORD_BATCH};
    struct eventlog_entry *e = NULL;
    size_t ne = 0;
    int rc = -1;
    if (!(b.applied = calloc(b.n, sizeof *b.applied)) || db_begin(d) != 0)
        goto out;
    if (write_outcomes(&b, d, released) != 0 || write_health(&b, d) != 0 ||
        write_events(&b, d, &e, &ne) != 0) {
        db_rollback(d);
        goto out;
    }
    if (db_commit(d) != 0)
        goto out; /* unknown: written again, which changes nothing if it was */
    rc = 0;
    for (size_t i = 0; i < ne; i++) {
        if (!e[i].duplicate)
            bus_publish_bytes(c->svc->bus, "courier", e[i].wire, e[i].wire_len);
        eventlog_entry_release(&e[i]);
    }
    for (size_t i = 0; i < b.npaused; i++)
        subs_set_paused(c->subs, b.paused[i].id);
    count(&b);
    for (size_t i = 0; i < b.n; i++)
        delivery_release(&r->v[i].d);
    memmove(r->v, r->v + b.n, (r->n - b.n) * sizeof *r->v);
    r->n -= b.n;
    r->tries = 0;
out:
    for (size_t i = 0; rc != 0 && i < ne; i++)
        eventlog_entry_release(&e[i]);
    free(e);
    if (rc != 0 && db_up(d) && ++r->tries >= RECORD_MAX_TRIES) {
        log_error("could not record %zu outcomes after %d tries: dropped; their deliveries are "
                  "attempted again when their leases end",
                  b.n, r->tries);
        for (size_t i = 0; i < b.n; i++)
            delivery_release(&r->v[i].d);
        memmove(r->v, r->v + b.n, (r->n - b.n) * sizeof *r->v);
        r->n -= b.n;
        r->tries = 0;
    }
    batch_release(&b);
    return rc;
}
