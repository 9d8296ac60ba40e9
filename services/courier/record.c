/* record.c — outcomes, written in batches, and what they make courier say.
 *
 * One statement per batch, sent without blocking on courier's second
 * connection (dbq): the deliveries' new states and their attempts; the next
 * delivery of each (subscription, ticket) whose predecessor is now done is
 * released; the subscriptions' health (consecutive failures, failing
 * since); and message.sent / message.failed for the messages done,
 * appended to the courier stream for exactly the deliveries the statement
 * updated. An outcome applies only to the attempt it answers (the row still
 * sending, with the attempts it had), so a batch written twice (its
 * commit's answer was lost) changes nothing the second time, and the
 * events' derived ids make their repeats no-ops. A single statement never
 * waits on this thread, so the consumer's transactions (on the blocking
 * connection) and the batches proceed side by side.
 *
 * A subscription failing longer than CAREBUS_WEBHOOK_PAUSE_AFTER_S (or more
 * times in a row than CAREBUS_WEBHOOK_PAUSE_AFTER_FAILURES) is paused in a
 * transaction of its own on the blocking connection (rare): its open
 * deliveries are given up, subscription.paused says why, and its messages
 * are reported failed.
 *
 * A batch that cannot be written is kept whole and written again, exactly
 * as it was, before any newer outcome (the pump claims nothing meanwhile);
 * the rows keep their leases. Never merged with newer outcomes: its first
 * write may have committed (answer lost), and a subscription's share is
 * the whole batch's, added when any of its deliveries is updated, so a
 * share mixing committed outcomes with new ones would be added twice.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "courier.h"
#include "hmap.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"

/* Outcomes per statement at most. While one is written the next gather,
 * so under load the batches fill up; kept small enough that the statement
 * (and eventlog.append within it) looks its rows up by index rather than
 * scanning the tables. */
#define RECORD_BATCH 250
/* A batch the database keeps refusing (not for being down) is dropped
 * after this many tries: its deliveries are attempted again when their
 * leases run out. */
#define RECORD_MAX_TRIES 5

struct batch;

struct record {
    struct outcome *v; /* queued, oldest first */
    size_t n, cap;
    struct batch *inflight;
    struct batch *held; /* not written (or its answer lost): written next, as it is */
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

/* One subscription's share of a batch. */
struct tally {
    char id[ID_LEN];
    int64_t delivered, failed;
    bool succeeded;
    int streak; /* failed attempts after its last success in the batch */
    int64_t failing_since_us, last_failure_us, last_success_us;
    char last_error[512];
};

#define T(f) ROWSET_AT(struct tally, f)
static const struct rowset_col tally_cols[] = {
    {"id", "uuid", ROWSET_ID, T(id)},
    {"delivered", "bigint", ROWSET_I64, T(delivered)},
    {"failed", "bigint", ROWSET_I64, T(failed)},
    {"succeeded", "boolean", ROWSET_BOOL, T(succeeded)},
    {"streak", "int", ROWSET_INT, T(streak)},
    {"failing_since", "timestamptz", ROWSET_TIME, T(failing_since_us), .none = 0},
    {"last_failure_at", "timestamptz", ROWSET_TIME, T(last_failure_us), .none = 0},
    {"last_success_at", "timestamptz", ROWSET_TIME, T(last_success_us), .none = 0},
    {"last_error", "text", ROWSET_ID, T(last_error)},
};
#undef T
static const rowset_table tally_table = {"courier.subscriptions", tally_cols,
                                         ROWSET_COUNT(tally_cols), NULL};

/* $1 the outcomes, $2 the subscriptions' shares, $3 the events' rows (for
 * eventlog.append) and $4 the delivery each event reports, in the same
 * order: an event is appended only when its delivery was updated. One row
 * back per delivery updated ('applied'), per subscription ('health'), per
 * event ('event') and one counting the released successors.
 *
 * The same batch may be written twice: its first write committed but its
 * answer was lost (the connection broke, or the statement was cut at the
 * queue's deadline while its commit waited for the standby). The second
 * write updates none of the deliveries the first one did, so a
 * subscription's share is added only when some of its deliveries are
 * updated by this write (u), and the outcomes the first write ended
 * (k: the row holds exactly that outcome, down to its finished_at) come
 * back as 'recorded', to be counted now: they were never counted. Each
 * outcome is thus added and counted once. */
/* clang-format off */
static rowset_stmt record_sql = ROWSET_STMT2(
    outcome_table, tally_table,
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
    " k AS (SELECT d.id FROM courier.deliveries d JOIN x ON d.id = x.delivery_id"
    "        WHERE x.status IN ('sent', 'failed') AND d.status = x.status"
    "          AND d.done_at = x.finished_at"
    "          AND d.attempts = CASE WHEN x.n > 0 THEN x.n ELSE x.prev END),"
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
    "       RETURNING n.id),"
    " t AS (UPDATE courier.subscriptions s SET delivered = s.delivered + y.delivered,"
    "         failed = s.failed + y.failed,"
    "         consecutive_failures = CASE WHEN y.succeeded THEN y.streak"
    "                                     ELSE s.consecutive_failures + y.streak END,"
    "         failing_since = CASE WHEN y.streak = 0 THEN NULL"
    "                              WHEN y.succeeded THEN y.failing_since"
    "                              ELSE coalesce(s.failing_since, y.failing_since) END,"
    "         last_success_at = coalesce(y.last_success_at, s.last_success_at),"
    "         last_failure_at = coalesce(y.last_failure_at, s.last_failure_at),"
    "         last_error = coalesce(y.last_error, s.last_error)"
    "        FROM {@subscriptions.rows $2 y}"
    "       WHERE s.id = y.id AND EXISTS (SELECT 1 FROM u WHERE u.subscription_id = y.id)"
    "        RETURNING s.id, s.paused_at IS NOT NULL AS paused, s.consecutive_failures,"
    "                  s.failing_since, s.last_error),"
    " ev AS (SELECT coalesce(json_agg(v.value ORDER BY v.i), '[]'::json) AS rows,"
    "               count(*) AS n"
    "          FROM json_array_elements($3::json) WITH ORDINALITY v(value, i)"
    "          JOIN json_array_elements_text($4::json) WITH ORDINALITY o(delivery, i) USING (i)"
    "         WHERE o.delivery::uuid IN (SELECT id FROM u)),"
    " e AS (SELECT a.* FROM ev, LATERAL eventlog.append('courier', ev.rows) a WHERE ev.n > 0)"
    " SELECT 'applied' AS what, u.id::text AS id, NULL::bigint AS seq, NULL::bigint AS at_us,"
    "        NULL::boolean AS flag, NULL::int AS n, NULL::text AS note FROM u"
    " UNION ALL SELECT 'recorded', k.id::text, NULL, NULL, NULL, NULL, NULL FROM k"
    " UNION ALL SELECT 'released', NULL, count(*), NULL, NULL, NULL, NULL FROM r"
    " UNION ALL SELECT 'health', t.id::text, NULL,"
    "        (extract(epoch FROM t.failing_since) * 1000000)::bigint, t.paused,"
    "        t.consecutive_failures, t.last_error FROM t"
    " UNION ALL SELECT 'event', e.event_id::text, e.seq,"
    "        (extract(epoch FROM e.recorded_at) * 1000000)::bigint, e.duplicate, NULL, NULL"
    "   FROM e");
/* clang-format on */

/* --- the queue --------------------------------------------------------------------- */

static struct record *record_of(courier *c)
{
    if (!c->record)
        c->record = calloc(1, sizeof *c->record);
    return c->record;
}

static int record_reserve(struct record *r, size_t more)
{
    if (r->n + more <= r->cap)
        return 0;
    size_t cap = r->cap ? r->cap : 256;
    while (cap < r->n + more)
        cap *= 2;
    struct outcome *v = realloc(r->v, cap * sizeof *v);
    if (!v)
        return -1;
    r->v = v;
    r->cap = cap;
    return 0;
}

void record_add(courier *c, struct outcome *o)
{
    struct record *r = record_of(c);
    if (!r || record_reserve(r, 1) != 0) {
        log_error("out of memory: the outcome of delivery %s is lost; attempted again when its "
                  "lease ends",
                  o->d.id);
        delivery_release(&o->d);
        return;
    }
    r->v[r->n++] = *o;
    memset(o, 0, sizeof *o);
}

/* --- one batch ----------------------------------------------------------------------- */

struct batch {
    courier *c;
    struct outcome *v;
    size_t n;
    struct tally *t;
    size_t nt;
    struct report *reports;
    struct eventlog_entry *e;
    char (*owner)[ID_LEN];
    size_t ne;
    buf outcomes, tallies, events, owners;
};

static void batch_destroy(struct batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++)
        delivery_release(&b->v[i].d);
    free(b->v);
    free(b->t);
    free(b->reports);
    for (size_t i = 0; i < b->ne; i++)
        eventlog_entry_release(&b->e[i]);
    free(b->e);
    free(b->owner);
    buf_release(&b->outcomes);
    buf_release(&b->tallies);
    buf_release(&b->events);
    buf_release(&b->owners);
    free(b);
}

size_t record_pending(const courier *c)
{
    const struct record *r = c->record;
    return r ? r->n + (r->held ? r->held->n : 0) : 0;
}

/* Each subscription's share of the batch, in its order. */
static int batch_tally(struct batch *b)
{
    hmap idx = HMAP_INIT;
    if (!(b->t = calloc(b->n ? b->n : 1, sizeof *b->t)) || hmap_reserve(&idx, b->n) != 0) {
        hmap_release(&idx);
        return -1;
    }
    for (size_t i = 0; i < b->n; i++) {
        const struct outcome *o = &b->v[i];
        if (!o->d.subscription_id[0] || o->n == 0)
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
            t->streak = 0;
            t->failing_since_us = 0;
            t->last_success_us = o->finished_us;
        } else {
            if (t->streak++ == 0)
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

/* message.sent / message.failed of the messages this batch ends. */
static int batch_events(struct batch *b)
{
    b->reports = calloc(b->n ? b->n : 1, sizeof *b->reports);
    b->e = calloc(b->n ? b->n : 1, sizeof *b->e);
    b->owner = calloc(b->n ? b->n : 1, sizeof *b->owner);
    if (!b->reports || !b->e || !b->owner)
        return -1;
    for (size_t i = 0; i < b->n; i++) {
        const struct outcome *o = &b->v[i];
        if (!delivery_is_message(&o->d))
            continue;
        struct report *r = &b->reports[b->ne];
        if (strcmp(o->status, "sent") == 0)
            report_sent(r, &o->d, o->provider_message_id, o->n, o->finished_us);
        else if (strcmp(o->status, "failed") == 0)
            report_failed(r, &o->d, o->code, o->error, o->n ? o->n : o->d.attempts, o->finished_us);
        else
            continue;
        b->e[b->ne].ev = &r->ev;
        if (eventlog_entry_pack(&b->e[b->ne], "courier") != 0)
            return -1;
        b->e[b->ne].ev = NULL; /* packed: the report is not read again */
        snprintf(b->owner[b->ne], sizeof b->owner[b->ne], "%s", o->d.id);
        b->ne++;
    }
    return 0;
}

/* The statement's four parameters. */
static int batch_build(struct batch *b)
{
    if (batch_tally(b) != 0 || batch_events(b) != 0)
        return -1;
    rowset w;
    rowset_init(&w, &outcome_table, NULL);
    for (size_t i = 0; i < b->n; i++)
        rowset_add(&w, &b->v[i]);
    const char *json = rowset_json(&w);
    if (json)
        buf_puts(&b->outcomes, json);
    rowset_release(&w);
    rowset_init(&w, &tally_table, NULL);
    for (size_t i = 0; i < b->nt; i++)
        rowset_add(&w, &b->t[i]);
    json = rowset_json(&w);
    if (json)
        buf_puts(&b->tallies, json);
    rowset_release(&w);
    if (eventlog_rows_json("courier", b->e, b->ne, &b->events) != 0)
        return -1;
    buf_putc(&b->owners, '[');
    for (size_t i = 0; i < b->ne; i++)
        buf_printf(&b->owners, "%s\"%s\"", i ? "," : "", b->owner[i]);
    buf_putc(&b->owners, ']');
    return b->outcomes.failed || b->tallies.failed || b->owners.failed || !b->outcomes.len ||
                   !b->tallies.len
               ? -1
               : 0;
}

/* Takes the oldest queued outcomes into a new batch. */
static struct batch *batch_take(courier *c)
{
    struct record *r = c->record;
    struct batch *b = calloc(1, sizeof *b);
    size_t n = r->n < RECORD_BATCH ? r->n : RECORD_BATCH;
    if (!b || !(b->v = malloc(n * sizeof *b->v))) {
        free(b);
        return NULL;
    }
    b->c = c;
    b->n = n;
    memcpy(b->v, r->v, n * sizeof *b->v);
    memmove(r->v, r->v + n, (r->n - n) * sizeof *r->v);
    r->n -= n;
    if (batch_build(b) != 0) {
        /* Only memory can fail here: back to the queue (their room is still
         * there), tried later. */
        b->n = 0;
        memmove(r->v + n, r->v, r->n * sizeof *r->v);
        memcpy(r->v, b->v, n * sizeof *r->v);
        r->n += n;
        batch_destroy(b);
        return NULL;
    }
    return b;
}

/* A batch that was not written (or whose answer was lost) is held, to be
 * written next exactly as it is (see the top). One batch is written at a
 * time, so at most one is held. */
static void batch_return(courier *c, struct batch *b)
{
    struct record *r = c->record;
    assert(!r->held && "one batch is written at a time");
    r->held = b;
}

/* The batch to write next: the held one, else the oldest outcomes. */
static struct batch *batch_next(courier *c)
{
    struct record *r = c->record;
    struct batch *b = r->held;
    if (b) {
        r->held = NULL;
        return b;
    }
    return batch_take(c);
}

/* --- pauses ------------------------------------------------------------------------ */

struct casualty {
    struct casualty *next;
    struct delivery d;
    char code[DELIVERY_CODE_MAX];
    char reason[760];
};

static int collect_casualty(const struct delivery *d, const char *code, const char *reason,
                            void *arg)
{
    struct casualty **list = arg;
    struct casualty *x = calloc(1, sizeof *x);
    if (!x)
        return -1;
    x->d = *d; /* its strings are not kept: the give-up reads none */
    x->d.body = NULL;
    x->d.message = NULL;
    x->d.recipient = NULL;
    snprintf(x->code, sizeof x->code, "%s", code);
    snprintf(x->reason, sizeof x->reason, "%s", reason);
    x->next = *list;
    *list = x;
    return 0;
}

/* Pauses a subscription in a transaction of its own: its open deliveries
 * given up, subscription.paused and the messages' message.failed emitted.
 * Blocks (rare). */
static void pause_subscription(courier *c, const char *id, int64_t since_us, int failures,
                               const char *last_error)
{
    db *d = c->svc->db;
    char since[TIME_RFC3339_LEN], reason[700], why[760];
    time_format_rfc3339(since_us, since);
    snprintf(reason, sizeof reason,
             "failing since %s: %d attempts in a row failed, the last with: %s", since, failures,
             last_error ? last_error : "");
    snprintf(why, sizeof why, "the subscription was paused: %s", reason);
    struct casualty *dead = NULL;
    struct report *reports = NULL;
    struct eventlog_entry *e = NULL;
    size_t ne = 0;
    const char *p[] = {id, reason};
    if (db_begin(d) != 0)
        return;
    PGresult *res = db_exec(d,
                            "UPDATE courier.subscriptions SET paused_at = now(),"
                            " paused_reason = $2 WHERE id = $1 AND paused_at IS NULL"
                            " RETURNING id",
                            2, p);
    if (!res || PQntuples(res) == 0) { /* gone, or paused meanwhile */
        PQclear(res);
        db_rollback(d);
        return;
    }
    PQclear(res);
    if (intent_give_up(d, id, "subscription_paused", why, collect_casualty, &dead) != 0)
        goto fail;
    size_t n = 1;
    for (struct casualty *x = dead; x; x = x->next)
        n++;
    reports = calloc(n, sizeof *reports);
    e = calloc(n, sizeof *e);
    if (!reports || !e)
        goto fail;
    int64_t now = time_now_us();
    report_paused(&reports[ne], id, reason, since_us, now);
    e[ne].ev = &reports[ne].ev;
    ne++;
    for (struct casualty *x = dead; x; x = x->next, ne++) {
        report_failed(&reports[ne], &x->d, x->code, x->reason, x->d.attempts, now);
        e[ne].ev = &reports[ne].ev;
    }
    if (eventlog_append(d, "courier", e, ne) != 0 || db_commit(d) != 0)
        goto fail_committed;
    for (size_t i = 0; i < ne; i++)
        if (!e[i].duplicate)
            bus_publish_bytes(c->svc->bus, "courier", e[i].wire, e[i].wire_len);
    subs_set_paused(c->subs, id);
    metrics_add("carebus_courier_subscriptions_paused_total", 1);
    log_warn("webhook subscription %s paused: %s", id, reason);
    goto out;
fail:
    db_rollback(d);
fail_committed:
    log_error("could not pause webhook subscription %s: tried again with its next failure", id);
out:
    for (size_t i = 0; e && i < ne; i++)
        eventlog_entry_release(&e[i]);
    free(e);
    free(reports);
    while (dead) {
        struct casualty *x = dead;
        dead = x->next;
        free(x);
    }
}

/* --- results ------------------------------------------------------------------------- */

static void count(const struct outcome *o)
{
    const char *channel = delivery_is_message(&o->d) && o->d.channel[0] ? o->d.channel : "webhook";
    report_count(channel, o->d.kind, o->status);
    if (strcmp(o->status, "failed") == 0)
        log_info("delivery %s (%s, %s) failed after %d attempts: %s %s", o->d.id, o->d.kind,
                 channel, o->n ? o->n : o->d.attempts, o->code, o->error);
}

/* Applies a written batch's rows: metrics, published events, pauses.
 * *released: successors made due. */
static void batch_done(courier *c, struct batch *b, const PGresult *res, int *released)
{
    const struct courier_config *cfg = &c->cfg;
    int64_t now = time_now_us();
    hmap applied = HMAP_INIT, events = HMAP_INIT;
    hmap_reserve(&applied, b->n);
    hmap_reserve(&events, b->ne);
    for (size_t i = 0; i < b->ne; i++)
        hmap_puts(&events, b->e[i].event_id, (int)i);
    int rows = PQntuples(res);
    for (int i = 0; i < rows; i++) {
        const char *what = db_value(res, i, "what");
        const char *id = db_value(res, i, "id");
        if (strcmp(what, "applied") == 0 || strcmp(what, "recorded") == 0) {
            hmap_puts(&applied, id, 1);
        } else if (strcmp(what, "released") == 0) {
            *released += atoi(db_value(res, i, "seq"));
        } else if (strcmp(what, "event") == 0) {
            int k = hmap_gets(&events, id);
            if (k == HMAP_ABSENT)
                continue;
            struct eventlog_entry *e = &b->e[k];
            bool dup = db_value(res, i, "flag")[0] == 't';
            if (eventlog_entry_seal(e, "courier", strtoull(db_value(res, i, "seq"), NULL, 10),
                                    strtoll(db_value(res, i, "at_us"), NULL, 10)) == 0 &&
                !dup)
                bus_publish_bytes(c->svc->bus, "courier", e->wire, e->wire_len);
        } else if (strcmp(what, "health") == 0) {
            const char *since = db_value(res, i, "at_us");
            int failures = atoi(db_value(res, i, "n"));
            bool paused = db_value(res, i, "flag")[0] == 't';
            int64_t since_us = since ? strtoll(since, NULL, 10) : 0;
            bool long_enough = since_us && now - since_us >= (int64_t)cfg->pause_after_s * 1000000;
            bool too_many = cfg->pause_after_failures > 0 && failures >= cfg->pause_after_failures;
            if (!paused && since_us && (long_enough || too_many))
                pause_subscription(c, id, since_us, failures, db_value(res, i, "note"));
        }
    }
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->v[i].status, "pending") != 0 &&
            hmap_gets(&applied, b->v[i].d.id) != HMAP_ABSENT)
            count(&b->v[i]);
    hmap_release(&applied);
    hmap_release(&events);
}

static void on_recorded(PGresult *res, void *arg)
{
    struct batch *b = arg;
    courier *c = b->c;
    struct record *r = c->record;
    r->inflight = NULL;
    if (!res) {
        /* The connection failed: the batch is kept, and written once it is back. */
        batch_return(c, b);
        return;
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *msg = PQresultErrorMessage(res);
        log_error("could not record %zu outcomes: %.*s", b->n, (int)strcspn(msg, "\n"), msg);
        if (++r->tries >= RECORD_MAX_TRIES) {
            log_error("dropped %zu outcomes after %d tries: their deliveries are attempted again "
                      "when their leases end",
                      b->n, r->tries);
            r->tries = 0;
            batch_destroy(b);
        } else {
            batch_return(c, b);
        }
        return;
    }
    r->tries = 0;
    int released = 0;
    batch_done(c, b, res, &released);
    batch_destroy(b);
    if (released > 0)
        pump_kick(c->pump);
    record_send(c);
}

void record_send(courier *c)
{
    struct record *r = c->record;
    if (!r || !record_pending(c) || r->inflight || !c->dbq || !dbq_up(c->dbq))
        return;
    const char *sql = rowset_stmt_sql(&record_sql);
    struct batch *b = sql ? batch_next(c) : NULL;
    if (!b)
        return;
    const char *p[] = {buf_str(&b->outcomes), buf_str(&b->tallies),
                       b->ne ? buf_str(&b->events) : "[]", buf_str(&b->owners)};
    if (dbq_query(c->dbq, sql, 4, p, on_recorded, b) != 0) {
        batch_return(c, b);
        return;
    }
    /* on_recorded comes later, never inside dbq_query (dbq.h). */
    r->inflight = b;
}

int record_flush_sync(courier *c)
{
    struct record *r = c->record;
    const char *sql = rowset_stmt_sql(&record_sql);
    while (r && record_pending(c) && !r->inflight && sql && db_up(c->svc->db)) {
        struct batch *b = batch_next(c);
        if (!b)
            return -1;
        const char *p[] = {buf_str(&b->outcomes), buf_str(&b->tallies),
                           b->ne ? buf_str(&b->events) : "[]", buf_str(&b->owners)};
        PGresult *res;
        int rc = db_write(c->svc->db, sql, 4, p, &res);
        if (rc != 0) {
            batch_return(c, b);
            /* Their rows keep their leases: attempted again when those end. */
            log_warn("could not record %zu outcomes at exit (%s): their deliveries are "
                     "attempted again when their leases end",
                     record_pending(c),
                     rc == DB_NOT_NOW ? "writes wait after a commit of unknown outcome"
                                      : "the write failed");
            return -1;
        }
        int released = 0;
        batch_done(c, b, res, &released);
        PQclear(res);
        batch_destroy(b);
    }
    if (r && record_pending(c) && !r->inflight)
        log_warn("could not record %zu outcomes at exit (no database connection): their "
                 "deliveries are attempted again when their leases end",
                 record_pending(c));
    return r && record_pending(c) ? -1 : 0;
}

void record_destroy(courier *c)
{
    struct record *r = c->record;
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        delivery_release(&r->v[i].d);
    batch_destroy(r->held);
    free(r->v);
    free(r);
    c->record = NULL;
}
