/* intent.c — the deliveries a consumer transaction calls for: recorded in
 * that transaction, sent right after its commit.
 *
 * The handlers stage deliveries (and the customers' windows); the flush
 * writes them in one statement each, and the delivery rows come back with
 * their status: sending (claimed for their first attempt, a lease taken
 * in the same transaction), pending (no room in the pump now, or waiting
 * for an earlier delivery of the same subscription and ticket: next_at
 * 'infinity' until that one is done), or failed (expired before its first
 * attempt: a cause older than its retry window). After the commit the
 * sending ones go to the pump at once: one commit between the cause's
 * arrival and the request. A rollback forgets them (the events are applied
 * again, and staged again).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "courier.h"
#include "hmap.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"

struct window {
    char channel[DELIVERY_CHANNEL_MAX];
    char *handle;
    int64_t at_us;
};

struct intent {
    courier *c;
    struct delivery **v; /* staged, each allocated (hmap keys point into them) */
    size_t n, cap;
    struct window *w;
    size_t nw, capw;
    hmap order; /* "<subscription_id>/<order_key>" of this transaction */
    char (*keys)[2 * ID_LEN];
    bool touched_subs;
};

#define W(f) ROWSET_AT(struct window, f)
static const struct rowset_col window_cols[] = {
    {"channel", "text", ROWSET_ID, W(channel)},
    {"handle", "text", ROWSET_STR, W(handle)},
    {"last_inbound_at", "timestamptz", ROWSET_TIME, W(at_us), .none = 0},
};
#undef W
static const rowset_table window_table = {"courier.windows", window_cols, ROWSET_COUNT(window_cols),
                                          NULL};

/* A customer's latest contact wins, also within one batch (one row per key:
 * ON CONFLICT DO UPDATE may not meet a key twice in one statement). */
static rowset_stmt windows_sql = ROWSET_STMT(
    window_table, "INSERT INTO courier.windows ({@cols})"
                  " SELECT DISTINCT ON (x.channel, x.handle) {@values x}"
                  " FROM {@rows $1 x} ORDER BY x.channel, x.handle, x.last_inbound_at DESC"
                  " ON CONFLICT (channel, handle) DO UPDATE SET last_inbound_at ="
                  " GREATEST(courier.windows.last_inbound_at, EXCLUDED.last_inbound_at)");

#define INSERTED                                                                                   \
    "id,kind,channel,subscription_id,message_delivery_id,message_cause_id,cause_event_id,"         \
    "event_type,ticket_id,customer_id,order_key,body,message,recipient,deadline"

/* $1: the rows, $2: the lease in seconds. A delivery is blocked when an
 * earlier one of its subscription and ticket is still open, in the table
 * or in this batch (after). */
/* clang-format off */
static rowset_stmt insert_sql = ROWSET_STMT(
    delivery_table,
    "WITH x AS (SELECT * FROM {@rows $1 x " INSERTED ",plan,after}),"
    " b AS (SELECT x.*, x.plan <> 'expired' AND (x.after OR (x.order_key IS NOT NULL AND EXISTS ("
    "        SELECT 1 FROM courier.deliveries e WHERE e.subscription_id = x.subscription_id"
    "           AND e.order_key = x.order_key AND e.status IN ('pending', 'sending'))))"
    "        AS blocked FROM x),"
    " ins AS (INSERT INTO courier.deliveries ({@cols " INSERTED "}, status, next_at, lease_until,"
    "                                         last_error_code, last_error, done_at)"
    "   SELECT {@values b " INSERTED "},"
    "          CASE WHEN b.plan = 'expired' THEN 'failed'"
    "               WHEN b.plan = 'send' AND NOT b.blocked THEN 'sending' ELSE 'pending' END,"
    "          CASE WHEN b.blocked THEN 'infinity'::timestamptz ELSE now() END,"
    "          CASE WHEN b.plan = 'send' AND NOT b.blocked"
    "               THEN now() + make_interval(secs => $2::double precision) END,"
    "          CASE WHEN b.plan = 'expired' THEN 'expired' END,"
    "          CASE WHEN b.plan = 'expired' THEN 'expired before its first attempt' END,"
    "          CASE WHEN b.plan = 'expired' THEN now() END"
    "     FROM b ON CONFLICT (id) DO NOTHING"
    "   RETURNING id, status, channel, recipient)"
    " SELECT i.id, i.status,"
    "        (extract(epoch FROM w.last_inbound_at) * 1000000)::bigint AS last_inbound_at"
    "   FROM ins i LEFT JOIN courier.windows w ON w.channel = i.channel AND w.handle = i.recipient");
/* clang-format on */

intent *intent_new(courier *c)
{
    intent *in = calloc(1, sizeof *in);
    if (in)
        in->c = c;
    return in;
}

static void intent_clear(intent *in)
{
    for (size_t i = 0; i < in->n; i++) {
        if (in->v[i]) {
            delivery_release(in->v[i]);
            free(in->v[i]);
        }
    }
    in->n = 0;
    for (size_t i = 0; i < in->nw; i++)
        free(in->w[i].handle);
    in->nw = 0;
    hmap_release(&in->order);
    free(in->keys);
    in->keys = NULL;
    in->touched_subs = false;
}

void intent_destroy(intent **pi)
{
    intent *in = *pi;
    if (!in)
        return;
    intent_clear(in);
    free(in->v);
    free(in->w);
    free(in);
    *pi = NULL;
}

int intent_add(intent *in, struct delivery *d)
{
    if (in->n == in->cap) {
        size_t cap = in->cap ? in->cap * 2 : 64;
        struct delivery **v = realloc(in->v, cap * sizeof *v);
        if (!v)
            return -1;
        in->v = v;
        in->cap = cap;
    }
    struct delivery *x = malloc(sizeof *x);
    if (!x)
        return -1;
    *x = *d;
    memset(d, 0, sizeof *d); /* its strings are x's now */
    in->v[in->n++] = x;
    return 0;
}

int intent_window(intent *in, const char *channel, const char *handle, int64_t at_us)
{
    if (in->nw == in->capw) {
        size_t cap = in->capw ? in->capw * 2 : 64;
        struct window *w = realloc(in->w, cap * sizeof *w);
        if (!w)
            return -1;
        in->w = w;
        in->capw = cap;
    }
    struct window *w = &in->w[in->nw];
    snprintf(w->channel, sizeof w->channel, "%s", channel);
    w->at_us = at_us;
    if (!(w->handle = strdup(handle)))
        return -1;
    in->nw++;
    return 0;
}

void intent_touched_subs(intent *in)
{
    in->touched_subs = true;
}

/* Decides each staged delivery's plan: expired, send (while the pump has
 * room) or queue; and which follow an earlier one of this batch. */
static int intent_plan(intent *in)
{
    size_t room = pump_room(in->c->pump);
    int64_t now = time_now_us();
    free(in->keys);
    hmap_release(&in->order);
    if (!(in->keys = calloc(in->n ? in->n : 1, sizeof *in->keys)) ||
        hmap_reserve(&in->order, in->n) != 0)
        return -1;
    for (size_t i = 0; i < in->n; i++) {
        struct delivery *d = in->v[i];
        d->after = false;
        if (d->deadline_us <= now) {
            d->plan = "expired";
            continue;
        }
        d->plan = room ? "send" : "queue";
        if (room)
            room--;
        if (!d->order_key[0])
            continue;
        snprintf(in->keys[i], sizeof in->keys[i], "%s/%s", d->subscription_id, d->order_key);
        if (hmap_gets(&in->order, in->keys[i]) != HMAP_ABSENT)
            d->after = true;
        else
            hmap_puts(&in->order, in->keys[i], (int)i);
    }
    return 0;
}

static consumer_result flush_windows(intent *in, db *d)
{
    if (!in->nw)
        return CONSUMER_OK;
    rowset w;
    rowset_init(&w, &window_table, NULL);
    for (size_t i = 0; i < in->nw; i++)
        rowset_add(&w, &in->w[i]);
    const char *sql = rowset_stmt_sql(&windows_sql);
    const char *p[] = {rowset_json(&w)};
    int rc = sql && p[0] ? db_command(d, sql, 1, p) : -1;
    rowset_release(&w);
    return rc == 0 ? CONSUMER_OK : CONSUMER_RETRY;
}

/* Expired messages are reported at once (in this transaction). */
static consumer_result report_expired(consumer_txn *tx, intent *in)
{
    for (size_t i = 0; i < in->n; i++) {
        struct delivery *d = in->v[i];
        if (strcmp(d->plan, "expired") != 0)
            continue;
        if (delivery_is_message(d)) {
            struct report r;
            report_failed(&r, d, "expired", "expired before its first attempt", 0, time_now_us());
            if (consumer_emit(tx, &r.ev) != 0)
                return CONSUMER_RETRY;
        }
        report_count(d->channel[0] ? d->channel : "webhook", d->kind, "failed");
    }
    return CONSUMER_OK;
}

consumer_result intent_flush(consumer_txn *tx, void *arg)
{
    courier *c = arg;
    intent *in = c->intent;
    db *d = consumer_txn_db(tx);
    if (flush_windows(in, d) != CONSUMER_OK)
        return CONSUMER_RETRY;
    if (!in->n)
        return CONSUMER_OK;
    if (intent_plan(in) != 0 || report_expired(tx, in) != CONSUMER_OK)
        return CONSUMER_RETRY;
    rowset w;
    rowset_init(&w, &delivery_table, NULL);
    rowset_only(&w, INSERTED ",plan,after");
    for (size_t i = 0; i < in->n; i++)
        rowset_add(&w, in->v[i]);
    char lease[24];
    snprintf(lease, sizeof lease, "%ld", c->cfg.lease_s);
    const char *sql = rowset_stmt_sql(&insert_sql);
    const char *p[] = {rowset_json(&w), lease};
    PGresult *res = sql && p[0] ? db_exec(d, sql, 2, p) : NULL;
    rowset_release(&w);
    rowset_reader rd;
    if (!res || rowset_reader_init(&rd, &delivery_table, res) != 0) {
        PQclear(res);
        return CONSUMER_RETRY;
    }
    /* Each returned row's status onto its staged delivery (by id: a row
     * already there, ON CONFLICT, comes back not at all). */
    hmap ids = HMAP_INIT;
    if (hmap_reserve(&ids, in->n) != 0) {
        PQclear(res);
        return CONSUMER_RETRY;
    }
    for (size_t i = 0; i < in->n; i++) {
        in->v[i]->status[0] = '\0';
        hmap_puts(&ids, in->v[i]->id, (int)i);
    }
    consumer_result r = CONSUMER_OK;
    for (int row = 0; row < PQntuples(res); row++) {
        struct delivery got = {0};
        if (rowset_read(&rd, row, &got, NULL) != 0) {
            r = CONSUMER_RETRY;
            break;
        }
        int i = hmap_gets(&ids, got.id);
        if (i != HMAP_ABSENT) {
            memcpy(in->v[i]->status, got.status, sizeof got.status);
            in->v[i]->last_inbound_us = got.last_inbound_us;
        }
        delivery_release(&got);
    }
    hmap_release(&ids);
    PQclear(res);
    return r;
}

void intent_done(bool committed, void *arg)
{
    courier *c = arg;
    intent *in = c->intent;
    if (!committed) {
        if (in->touched_subs)
            subs_invalidate(c->subs);
        intent_clear(in);
        return;
    }
    bool queued = false, sent = false;
    for (size_t i = 0; i < in->n; i++) {
        struct delivery *d = in->v[i];
        if (strcmp(d->status, "sending") == 0) {
            pump_send(c->pump, d);
            sent = true;
        } else if (strcmp(d->status, "pending") == 0) {
            queued = true;
        }
    }
    if (queued)
        pump_kick(c->pump);
    intent_clear(in);
    /* A catch-up's next batch blocks on PostgreSQL: the requests go out
     * first, and the receivers answer meanwhile. */
    if (sent)
        engine_drive(c->engine);
}

/* --- giving up open deliveries ------------------------------------------------- */

#define GIVEN_UP                                                                                   \
    " RETURNING {@select d id,kind,channel,subscription_id,message_delivery_id,message_cause_id,"  \
    "cause_event_id,event_type,ticket_id,customer_id,attempts}"

/* clang-format off */
static rowset_stmt give_up_sql = ROWSET_STMT(
    delivery_table,
    "UPDATE courier.deliveries d SET status = 'failed', lease_until = NULL, done_at = now(),"
    " last_error_code = $2, last_error = $3"
    " WHERE d.subscription_id = $1 AND d.status IN ('pending', 'sending')" GIVEN_UP);

/* An erased customer's: the announcement of the erasure itself goes on
 * (integrators erase on their side); the rest are redacted at once. */
static rowset_stmt give_up_customers_sql = ROWSET_STMT(
    delivery_table,
    "UPDATE courier.deliveries d SET status = 'failed', lease_until = NULL, done_at = now(),"
    " last_error_code = $2, last_error = $3, recipient = privacy.redact(d.recipient),"
    " body = privacy.redact(d.body), message = NULL"
    " WHERE d.customer_id = ANY ($1::uuid[]) AND d.status IN ('pending', 'sending')"
    " AND d.event_type <> 'customer.erased'" GIVEN_UP);
/* clang-format on */

/* Runs a give-up statement ($1 what, $2 code, $3 reason) and reports each
 * message it gave up. */
static int give_up(db *d, rowset_stmt *stmt, const char *what, const char *code, const char *reason,
                   intent_report_fn report, void *arg)
{
    const char *sql = rowset_stmt_sql(stmt);
    const char *p[] = {what, code, reason};
    PGresult *res = sql ? db_exec(d, sql, 3, p) : NULL;
    rowset_reader rd;
    if (!res || rowset_reader_init(&rd, &delivery_table, res) != 0) {
        PQclear(res);
        return -1;
    }
    int rc = 0;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        struct delivery x = {0};
        rc = rowset_read(&rd, i, &x, NULL);
        if (rc == 0 && delivery_is_message(&x))
            rc = report(&x, code, reason, arg);
        else if (rc == 0)
            report_count("webhook", x.kind, "failed");
        delivery_release(&x);
    }
    if (PQntuples(res) > 0)
        log_info("gave up %d open deliveries of %s: %s", PQntuples(res), what, reason);
    PQclear(res);
    return rc;
}

int intent_give_up(db *d, const char *subscription_id, const char *code, const char *reason,
                   intent_report_fn report, void *arg)
{
    return give_up(d, &give_up_sql, subscription_id, code, reason, report, arg);
}

static bool among(const char *id, const char *const *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(id, ids[i]) == 0)
            return true;
    return false;
}

int intent_give_up_customers(intent *in, db *d, const char *const *ids, size_t n, const char *code,
                             const char *reason, intent_report_fn report, void *arg)
{
    /* Staged in this transaction, not yet written: never written. */
    size_t kept = 0;
    int rc = 0;
    for (size_t i = 0; i < in->n; i++) {
        struct delivery *x = in->v[i];
        if (!x->customer_id[0] || !among(x->customer_id, ids, n) ||
            strcmp(x->event_type, "customer.erased") == 0) {
            in->v[kept++] = x;
            continue;
        }
        if (rc == 0 && delivery_is_message(x))
            rc = report(x, code, reason, arg);
        else if (rc == 0)
            report_count("webhook", x->kind, "failed");
        delivery_release(x);
        free(x);
    }
    in->n = kept;
    if (rc != 0 || n == 0)
        return rc;
    buf list = BUF_INIT;
    buf_putc(&list, '{');
    for (size_t i = 0; i < n; i++)
        buf_printf(&list, "%s%s", i ? "," : "", ids[i]);
    buf_putc(&list, '}');
    rc = list.failed
             ? -1
             : give_up(d, &give_up_customers_sql, buf_str(&list), code, reason, report, arg);
    buf_release(&list);
    return rc;
}
