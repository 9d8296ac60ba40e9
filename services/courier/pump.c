/* pump.c — attempts: a delivery becomes a request on the engine, and the
 * answer an outcome for record.c.
 *
 * A delivery to a subscription (an event notification, or a message in
 * integrator mode) is a signed webhook to the subscription's URL as it is
 * at this attempt; a message to a customer goes through its channel's
 * adapter (build, then classify), with the channel's rotating credentials
 * when it has them. The decision after an answer: sent; failed for good;
 * retried after a backoff with full jitter and never before a Retry-After,
 * or given up when that would pass the deadline; or, when the provider
 * refused the credential, refreshed and tried again (a second refusal
 * right after a refresh is final).
 *
 * What is due again (retries, deliveries that waited for room or for an
 * earlier one of their ticket, leases that ran out) is claimed from
 * PostgreSQL, never more than the room left (CAREBUS_COURIER_MAX_INFLIGHT),
 * and only once every outcome known in memory is recorded, so that a claim
 * can never take a delivery whose attempt we hold the answer of.
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "courier.h"
#include "log.h"
#include "metrics.h"
#include "retry.h"
#include "timeutil.h"
#include "webhook.h"

#define PUMP_TICK_MS 20
#define PUMP_IDLE_POLL_MS 1000
#define PUMP_FLUSH_MS 2
#define PUMP_FLUSH_NOW 256
/* A claim that comes back full: look again at once. */
#define PUMP_DEFER_MS 1000

struct job {
    struct job *next, *prev;
    pump *p;
    struct delivery d;
    struct outbound_request req;
    const struct outbound_adapter *adapter; /* NULL: a webhook */
    const void *cfg;
    int n; /* this attempt's number */
};

struct pump {
    courier *c;
    struct job *jobs;
    size_t njobs;
    int tick;
    int flush_timer; /* one-shot, 0 when not armed */
    int64_t next_claim_ms;
    bool claiming;      /* a claim is in flight on c->dbq */
    size_t claim_limit; /* its LIMIT */
    int64_t next_sweep_ms;
    bool held;        /* the consumer's catch-up waits for room */
    int resume_timer; /* one-shot, 0 when not armed */
};

static uint32_t pump_random(void)
{
    uint32_t r = 0;
    RAND_bytes((unsigned char *)&r, sizeof r);
    return r;
}

static const char *channel_label(const struct delivery *d)
{
    return delivery_is_message(d) && d->channel[0] ? d->channel : "webhook";
}

static void job_unlink(pump *p, struct job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        p->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    p->njobs--;
}

static void job_free(struct job *j)
{
    outbound_request_release(&j->req);
    delivery_release(&j->d);
    free(j);
}

/* --- outcomes ------------------------------------------------------------------ */

static int on_flush_due(loop *l, void *arg)
{
    pump *p = arg;
    loop_remove_timer(l, p->flush_timer);
    p->flush_timer = 0;
    record_send(p->c);
    return 0;
}

/* Outcomes are written a moment later, together (and while a batch is in
 * flight, the next one gathers). */
static void pump_schedule_flush(pump *p)
{
    if (record_pending(p->c) >= PUMP_FLUSH_NOW) {
        record_send(p->c);
        return;
    }
    if (!p->flush_timer) {
        int id = loop_add_timer(p->c->svc->loop, PUMP_FLUSH_MS, on_flush_due, p);
        p->flush_timer = id > 0 ? id : 0;
    }
}

/* The end of an attempt (n > 0) or of a decision made without one (n 0):
 * the job's delivery becomes an outcome. */
static void finish(pump *p, struct job *j, const char *outcome, const char *status,
                   const struct outbound_result *res, long answered, int64_t started_us,
                   int64_t next_at_us)
{
    struct outcome o = {0};
    o.d = j->d;
    memset(&j->d, 0, sizeof j->d);
    free(o.d.body);
    free(o.d.message);
    o.d.body = NULL;
    o.d.message = NULL;
    o.d.message_len = 0;
    o.n = j->n;
    o.outcome = outcome;
    o.status = status;
    o.http_status = (int)answered;
    o.started_us = started_us;
    o.finished_us = time_now_us();
    o.next_at_us = next_at_us;
    if (res) {
        snprintf(o.code, sizeof o.code, "%s", res->code);
        snprintf(o.error, sizeof o.error, "%s", res->reason);
        snprintf(o.provider_message_id, sizeof o.provider_message_id, "%s",
                 res->provider_message_id);
    }
    if (j->n > 0) {
        char series[160];
        snprintf(series, sizeof series,
                 "carebus_courier_attempts_total{channel=\"%s\",outcome=\"%s\"}",
                 channel_label(&o.d), outcome);
        metrics_add(series, 1);
    }
    if (strcmp(status, "pending") == 0) {
        int64_t due = time_mono_ms() + (next_at_us - time_now_us()) / 1000;
        if (due < p->next_claim_ms)
            p->next_claim_ms = due;
    }
    record_add(p->c, &o);
    pump_schedule_flush(p);
}

/* A decision without a request: the delivery fails for good. */
static void fail_without_attempt(pump *p, struct job *j, const char *code, const char *why)
{
    struct outbound_result res = {.outcome = OUTBOUND_FAILED, .retry_after_ms = -1};
    snprintf(res.code, sizeof res.code, "%s", code);
    snprintf(res.reason, sizeof res.reason, "%s", why);
    j->n = 0;
    finish(p, j, "failed", "failed", &res, 0, time_now_us(), 0);
}

/* --- the consumer's pace -------------------------------------------------------- */

/* The least room worth a catch-up batch (smaller batches cost a commit
 * each for little). */
#define PUMP_PACE_MIN 100

static size_t pump_pace_min(const pump *p)
{
    size_t half = ((size_t)p->c->cfg.max_inflight + 1) / 2;
    return half < PUMP_PACE_MIN ? half : PUMP_PACE_MIN;
}

size_t pump_pace(void *arg)
{
    courier *c = arg;
    pump *p = c->pump;
    size_t room = pump_room(p);
    if (room >= pump_pace_min(p))
        return room;
    p->held = true;
    return 0;
}

/* A held catch-up goes on once there is room (from the loop, not from
 * inside the answer that made it). */
static void pump_resume(pump *p)
{
    if (p->held && pump_room(p) >= pump_pace_min(p)) {
        p->held = false;
        consumer_catch_up(p->c->svc->consumer);
    }
}

static int on_resume_due(loop *l, void *arg)
{
    pump *p = arg;
    loop_remove_timer(l, p->resume_timer);
    p->resume_timer = 0;
    pump_resume(p);
    return 0;
}

static void pump_resume_soon(pump *p)
{
    if (p->held && !p->resume_timer && pump_room(p) >= pump_pace_min(p)) {
        int id = loop_add_timer(p->c->svc->loop, 1, on_resume_due, p);
        p->resume_timer = id > 0 ? id : 0;
    }
}

/* --- answers ------------------------------------------------------------------- */

static void on_answer(void *ctx, const struct outbound_response *resp, int64_t started_us,
                      int64_t finished_us)
{
    struct job *j = ctx;
    pump *p = j->p;
    courier *c = p->c;
    job_unlink(p, j);
    pump_resume_soon(p);
    struct outbound_result res = {.retry_after_ms = -1};
    if (j->adapter)
        outbound_classify(j->adapter, j->cfg, &j->req, resp, finished_us, &res);
    else
        webhook_classify(delivery_is_message(&j->d), resp, finished_us, &res);
    long status = resp->status;
    switch (res.outcome) {
    case OUTBOUND_SENT:
    case OUTBOUND_FAILED:
        if (j->adapter)
            creds_accepted(c->creds, j->adapter, started_us);
        if (res.outcome == OUTBOUND_SENT)
            finish(p, j, "sent", "sent", &res, status, started_us, 0);
        else
            finish(p, j, "failed", "failed", &res, status, started_us, 0);
        break;
    case OUTBOUND_REAUTH:
        if (creds_refused(c->creds, j->adapter, started_us)) {
            /* Refused right after a refresh, or the refresh was refused:
             * the credential is bad. */
            finish(p, j, "failed", "failed", &res, status, started_us, 0);
            break;
        }
        snprintf(res.code, sizeof res.code, "reauth");
        finish(p, j, "reauth", "pending", &res, status, started_us,
               finished_us + PUMP_DEFER_MS * 1000);
        break;
    case OUTBOUND_RETRY: {
        int64_t delay = retry_delay_ms(c->cfg.backoff_ms, c->cfg.backoff_max_s * 1000, j->n,
                                       res.retry_after_ms, pump_random());
        int64_t next = retry_next_at(finished_us, j->d.deadline_us, delay);
        if (next < 0) {
            char why[sizeof res.reason + 48];
            snprintf(why, sizeof why, "gave up after %d attempts: %s", j->n, res.reason);
            snprintf(res.reason, sizeof res.reason, "%.*s", (int)sizeof res.reason - 1, why);
            finish(p, j, "retry", "failed", &res, status, started_us, 0);
        } else {
            finish(p, j, "retry", "pending", &res, status, started_us, next);
        }
        break;
    }
    }
    job_free(j);
}

/* --- starting attempts ------------------------------------------------------------ */

static void job_start(pump *p, struct job *j, int64_t now_us)
{
    if (engine_start(p->c->engine, &j->req, on_answer, j) != 0) {
        log_error("could not start delivery %s: it is attempted again when its lease ends",
                  j->d.id);
        job_free(j);
        return;
    }
    j->next = p->jobs;
    if (p->jobs)
        p->jobs->prev = j;
    p->jobs = j;
    p->njobs++;
    (void)now_us;
}

static void send_webhook(pump *p, struct job *j, int64_t now_us)
{
    courier *c = p->c;
    if (subs_ensure(c->subs, c->svc->db) != 0) {
        /* The database is away: the lease runs out and the claim retries. */
        job_free(j);
        return;
    }
    const struct sub *s = subs_find(c->subs, j->d.subscription_id);
    if (!s || !s->active || s->paused) {
        fail_without_attempt(p, j,
                             !s          ? "subscription_deleted"
                             : s->paused ? "subscription_paused"
                                         : "subscription_inactive",
                             !s          ? "the subscription was deleted"
                             : s->paused ? "the subscription is paused"
                                         : "the subscription is inactive");
        job_free(j);
        return;
    }
    struct webhook_target t = {
        .url = s->url,
        .key = s->keylen ? s->key : NULL,
        .keylen = s->keylen,
        .legacy_secret = s->is_static ? s->secret : NULL,
    };
    if (webhook_request(&t, j->d.id, j->d.event_type, j->d.body ? j->d.body : "", now_us / 1000000,
                        &j->req) != 0) {
        job_free(j);
        return;
    }
    job_start(p, j, now_us);
}

static void send_message(pump *p, struct job *j, int64_t now_us)
{
    courier *c = p->c;
    Carebus__V1__Channel ch = CAREBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED;
    event_channel_parse(j->d.channel, &ch);
    const struct outbound_adapter *a = outbound_adapter_for(ch);
    char why[160];
    if (!a) {
        snprintf(why, sizeof why, "%s has no sender now (integrator mode)", j->d.channel);
        fail_without_attempt(p, j, "no_sender", why);
        job_free(j);
        return;
    }
    const void *cfg = creds_adapter_config(c->creds, a);
    if (!cfg) {
        snprintf(why, sizeof why, "%s is not configured", j->d.channel);
        fail_without_attempt(p, j, "not_configured", why);
        job_free(j);
        return;
    }
    const struct outbound_credentials *cred = NULL;
    if (creds_get(c->creds, a, &cred) == CREDS_WAIT) {
        /* No attempt (n 0: not counted, no streak, attempts unchanged): back
         * to pending until the refresh is committed. */
        j->n = 0;
        finish(p, j, "reauth", "pending", NULL, 0, now_us, now_us + PUMP_DEFER_MS * 1000);
        job_free(j);
        return;
    }
    Carebus__V1__MessageOutbound *m =
        j->d.message ? carebus__v1__message_outbound__unpack(NULL, j->d.message_len, j->d.message)
                     : NULL;
    if (!m) {
        fail_without_attempt(p, j, "bad_message", "the stored message cannot be read");
        job_free(j);
        return;
    }
    struct outbound_msg om = {m, j->d.id, now_us, j->d.last_inbound_us};
    struct outbound_result res = {.retry_after_ms = -1};
    j->adapter = a;
    j->cfg = cfg;
    int rc = a->build(cfg, cred, &om, &j->req, &res);
    carebus__v1__message_outbound__free_unpacked(m, NULL);
    if (rc != 0) {
        /* Refused before sending (no recipient, outside the window ...):
         * an attempt that needed no request. */
        outbound_request_release(&j->req);
        finish(p, j, "failed", "failed", &res, 0, now_us, 0);
        job_free(j);
        return;
    }
    job_start(p, j, now_us);
}

void pump_send(pump *p, struct delivery *d)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j) {
        log_error("out of memory: delivery %s is attempted again when its lease ends", d->id);
        delivery_release(d);
        return;
    }
    j->p = p;
    j->d = *d;
    memset(d, 0, sizeof *d);
    j->n = j->d.attempts + 1;
    int64_t now = time_now_us();
    if (j->d.redelivered) {
        char series[128];
        snprintf(series, sizeof series, "carebus_courier_redelivered_total{channel=\"%s\"}",
                 channel_label(&j->d));
        metrics_add(series, 1);
        log_info("delivery %s: the outcome of attempt %d was never recorded; attempting again",
                 j->d.id, j->d.attempts);
    }
    if (now >= j->d.deadline_us) {
        /* Claimed too late for its retry window (it waited its turn, or for
         * room): it ends with what the last attempt got, as a retry given
         * up right after its answer does. */
        char why[600];
        if (j->d.attempts > 0 && j->d.last_error && j->d.last_error[0])
            snprintf(why, sizeof why, "gave up after %d attempts: %s", j->d.attempts,
                     j->d.last_error);
        else
            snprintf(why, sizeof why, "the retry window ended before its first attempt");
        fail_without_attempt(p, j, j->d.last_error_code[0] ? j->d.last_error_code : "deadline",
                             why);
        job_free(j);
        return;
    }
    if (j->d.subscription_id[0])
        send_webhook(p, j, now);
    else
        send_message(p, j, now);
}

size_t pump_room(const pump *p)
{
    size_t max = (size_t)p->c->cfg.max_inflight;
    /* Outcomes that cannot be written (the database is away) hold back new
     * attempts: their deliveries keep their leases meanwhile. */
    if (p->njobs >= max || record_pending(p->c) >= max)
        return 0;
    return max - p->njobs;
}

void pump_kick(pump *p)
{
    p->next_claim_ms = 0;
}

/* --- claiming what is due ----------------------------------------------------------- */

#define CLAIMED                                                                                    \
    "id,kind,channel,subscription_id,message_delivery_id,message_cause_id,cause_event_id,"         \
    "event_type,ticket_id,customer_id,order_key,body,message,recipient,attempts,deadline,"         \
    "last_error_code,last_error"

/* $1: how many, $2: the lease in seconds. Pending deliveries in next_at
 * order (deliveries_due), a delivery waiting while an earlier one of its
 * subscription and ticket is open; and deliveries whose lease ran out
 * (deliveries_lease): their attempt's outcome was never recorded, so that
 * attempt is recorded as lost and the next one follows at once. Two scans,
 * each in its index's order, rather than one over both conditions (which
 * would sort every due row before the LIMIT). */
/* clang-format off */
static rowset_stmt claim_sql = ROWSET_STMT(
    delivery_table,
    "WITH p AS ("
    "  SELECT d.id, false AS redelivered FROM courier.deliveries d"
    "   WHERE d.status = 'pending' AND d.next_at <= now()"
    "     AND (d.order_key IS NULL OR NOT EXISTS ("
    "          SELECT 1 FROM courier.deliveries e"
    "           WHERE e.subscription_id = d.subscription_id AND e.order_key = d.order_key"
    "             AND e.status IN ('pending', 'sending') AND e.created_seq < d.created_seq))"
    "   ORDER BY d.next_at LIMIT $1::int FOR UPDATE OF d SKIP LOCKED),"
    " l AS ("
    "  SELECT d.id, true AS redelivered FROM courier.deliveries d"
    "   WHERE d.status = 'sending' AND d.lease_until <= now()"
    "   ORDER BY d.lease_until LIMIT $1::int FOR UPDATE OF d SKIP LOCKED),"
    " c AS (SELECT * FROM l UNION ALL SELECT * FROM p LIMIT $1::int),"
    " lost AS (INSERT INTO courier.attempts (delivery_id, n, started_at, outcome, error_code, error)"
    "   SELECT d.id, d.attempts + 1, coalesce(d.lease_until, now()), 'lost', 'lost',"
    "          'no outcome was recorded before the lease ran out'"
    "     FROM courier.deliveries d JOIN c ON c.id = d.id WHERE c.redelivered"
    "   ON CONFLICT DO NOTHING),"
    " u AS (UPDATE courier.deliveries d SET status = 'sending',"
    "          lease_until = now() + make_interval(secs => $2::double precision),"
    "          attempts = d.attempts + CASE WHEN c.redelivered THEN 1 ELSE 0 END"
    "        FROM c WHERE d.id = c.id"
    "        RETURNING d.*, c.redelivered)"
    " SELECT {@select u " CLAIMED ",redelivered},"
    "        (extract(epoch FROM w.last_inbound_at) * 1000000)::bigint AS last_inbound_at"
    "   FROM u LEFT JOIN courier.windows w ON w.channel = u.channel AND w.handle = u.recipient"
    "  ORDER BY u.created_seq");
/* clang-format on */

static void on_claimed(PGresult *res, void *arg)
{
    pump *p = arg;
    p->claiming = false;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        if (res)
            log_error("claiming deliveries failed: %.*s",
                      (int)strcspn(PQresultErrorMessage(res), "\n"), PQresultErrorMessage(res));
        return;
    }
    rowset_reader rd;
    if (rowset_reader_init(&rd, &delivery_table, res) != 0)
        return;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        struct delivery d = {0};
        if (rowset_read(&rd, i, &d, NULL) != 0) {
            log_error("could not read a claimed delivery: attempted when its lease ends");
            delivery_release(&d);
            continue;
        }
        pump_send(p, &d);
    }
    if ((size_t)n == p->claim_limit)
        p->next_claim_ms = 0; /* more may be waiting */
}

/* A delivery left waiting for a predecessor that is done (a release missed
 * between two instances) is released here. */
#define SQL_SWEEP                                                                                  \
    "UPDATE courier.deliveries d SET next_at = now()"                                              \
    " WHERE d.status = 'pending' AND d.next_at = 'infinity' AND NOT EXISTS ("                      \
    "   SELECT 1 FROM courier.deliveries e WHERE e.subscription_id = d.subscription_id"            \
    "      AND e.order_key = d.order_key AND e.status IN ('pending', 'sending')"                   \
    "      AND e.created_seq < d.created_seq)"
#define PUMP_SWEEP_MS 30000

static void on_swept(PGresult *res, void *arg)
{
    pump *p = arg;
    if (res && PQresultStatus(res) == PGRES_COMMAND_OK && atoi(PQcmdTuples(res)) > 0)
        p->next_claim_ms = 0;
}

void pump_due(pump *p, int64_t now_ms)
{
    courier *c = p->c;
    if (!c->dbq || !dbq_up(c->dbq))
        return;
    if (now_ms >= p->next_sweep_ms) {
        p->next_sweep_ms = now_ms + PUMP_SWEEP_MS;
        dbq_query(c->dbq, SQL_SWEEP, 0, NULL, on_swept, p);
    }
    if (now_ms < p->next_claim_ms || p->claiming)
        return;
    /* Outcomes first: a claim must never take a delivery whose answer we
     * hold (the queue is FIFO, so a batch sent now commits before). */
    if (record_pending(c) > 0) {
        record_send(c);
        if (record_pending(c) > 0)
            return;
    }
    size_t room = pump_room(p);
    if (room == 0)
        return;
    char limit[24], lease[24];
    snprintf(limit, sizeof limit, "%zu", room);
    snprintf(lease, sizeof lease, "%ld", c->cfg.lease_s);
    const char *sql = rowset_stmt_sql(&claim_sql);
    const char *params[] = {limit, lease};
    p->next_claim_ms = now_ms + PUMP_IDLE_POLL_MS;
    if (sql && dbq_query(c->dbq, sql, 2, params, on_claimed, p) == 0) {
        /* on_claimed comes later, never inside dbq_query (dbq.h). */
        p->claiming = true;
        p->claim_limit = room;
    }
}

static int on_tick(loop *l, void *arg)
{
    (void)l;
    pump *p = arg;
    creds_tick(p->c->creds);
    pump_due(p, time_mono_ms());
    /* A held catch-up goes on as soon as there is room, rather than at the
     * service's next tick. */
    pump_resume(p);
    metrics_set("carebus_courier_inflight", (double)p->njobs);
    return 0;
}

pump *pump_new(courier *c)
{
    pump *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->c = c;
    if ((p->tick = loop_add_timer(c->svc->loop, PUMP_TICK_MS, on_tick, p)) < 0) {
        free(p);
        return NULL;
    }
    metrics_describe("carebus_courier_attempts_total", "counter",
                     "delivery attempts by channel and outcome");
    metrics_describe("carebus_courier_redelivered_total", "counter",
                     "attempts made again because the previous one's outcome was never recorded "
                     "(a crash or stop during it): possible duplicates");
    metrics_describe("carebus_courier_inflight", "gauge", "attempts in flight");
    return p;
}

size_t pump_inflight(const pump *p)
{
    return p->njobs;
}

void pump_destroy(pump **pp, db *d)
{
    pump *p = *pp;
    if (!p)
        return;
    /* Hand the attempts in flight back: the next start makes them again at
     * once rather than after the lease. Their outcome is unknown (the
     * receiver may have had them): recorded as lost. */
    buf ids = BUF_INIT;
    buf_putc(&ids, '{');
    for (struct job *j = p->jobs; j; j = j->next)
        buf_printf(&ids, "%s%s", j == p->jobs ? "" : ",", j->d.id);
    buf_putc(&ids, '}');
    int rc = -1;
    const char *why = "no database connection";
    if (p->jobs && d && db_up(d)) {
        const char *params[] = {buf_str(&ids)};
        rc = db_write(d,
                      "WITH h AS (UPDATE courier.deliveries SET status = 'pending',"
                      "   lease_until = NULL, next_at = now(), attempts = attempts + 1"
                      "  WHERE id = ANY($1::uuid[]) AND status = 'sending' RETURNING id, attempts)"
                      " INSERT INTO courier.attempts (delivery_id, n, started_at, outcome,"
                      "                               error_code, error)"
                      " SELECT id, attempts, now(), 'lost', 'stopped',"
                      "        'courier stopped during the attempt' FROM h ON CONFLICT DO NOTHING",
                      1, params, NULL);
        why =
            rc == DB_NOT_NOW ? "writes wait after a commit of unknown outcome" : "the write failed";
    }
    /* Not handed back: each is attempted again when its lease ends (the
     * claim records the attempt lost), later rather than at the next start. */
    if (p->jobs && rc == 0)
        log_info("handed back %zu deliveries in flight", p->njobs);
    else if (p->jobs)
        log_warn("could not hand back %zu deliveries in flight (%s): each is attempted again "
                 "when its lease ends",
                 p->njobs, why);
    buf_release(&ids);
    while (p->jobs) {
        struct job *j = p->jobs;
        job_unlink(p, j);
        job_free(j);
    }
    if (p->flush_timer)
        loop_remove_timer(p->c->svc->loop, p->flush_timer);
    if (p->resume_timer)
        loop_remove_timer(p->c->svc->loop, p->resume_timer);
    loop_remove_timer(p->c->svc->loop, p->tick);
    free(p);
    *pp = NULL;
}
