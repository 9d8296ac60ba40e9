/* timers.c — upcoming warnings and breaches: the heap, firing, the sweep.
 *
 * At start the service loads the timers (rows of sla.targets with a
 * next_fire_at, read in deadline order through their partial index with
 * COPY, so memory stays flat) and then only hears of new ones from the
 * consumer. The clock is armed at the heap's top: no periodic scan.
 *
 * Firing a batch is one transaction: lock the target rows (FOR UPDATE, so a
 * concurrent recomputation of the same ticket either finishes first and is
 * seen, or waits), decide from the rows what is due, claim each
 * publication in sla.emitted (ON CONFLICT DO NOTHING: another instance's
 * claim wins and this one emits nothing) and mark the rows in one
 * statement, append the events with derived ids, commit, then publish. A
 * warning whose deadline has also passed is not sent: the breach says
 * more.
 *
 * Timers only fire once sla-monitor has applied everything the ingest and
 * router streams hold, so a reply already in the log is never overtaken by
 * the breach it prevents, and a catch-up after downtime never fires for a
 * state the log has already moved past.
 *
 * Another instance may move a deadline this heap holds (the old entry fires
 * into nothing) and then die before firing the new one; the sweep, an index
 * probe of next_fire_at <= now every CAREBUS_SLA_SWEEP_MS, takes over such
 * orphans. It returns nothing in the common case.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "buf.h"
#include "eventlog.h"
#include "id.h"
#include "log.h"
#include "metrics.h"
#include "rowset.h"
#include "sla.h"
#include "targets.h"
#include "timeutil.h"

#define EPOCH_US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define TS(us) "(timestamptz 'epoch' + (" us ") * interval '1 microsecond')"

/* Waits before trying again: the consumer catching up, the database failing. */
#define SLA_BEHIND_RETRY_MS 50
#define SLA_ERROR_RETRY_MS 1000
#define SLA_SWEEP_LIMIT 500

/* The rows of the entries due ($1: their keys, as sla.targets rows),
 * locked in key order, with their ticket's customer and current priority.
 * Each row is probed by its key ("LATERAL ... OFFSET 0": a unique key's
 * equality, costed at one row, and the other conditions checked on the
 * row found; a stale entry's row is not locked), whatever the statistics
 * say: joined to the batch's keys, costed against the JSON's guess of 100
 * rows and a young table's statistics, the statement scanned every
 * running target (targets_running_due) for each batch fired, 20-50 ms a
 * batch in the pipeline benchmark. */
/* clang-format off */
static rowset_stmt fire_select_sql = ROWSET_STMT(
    sla_targets,
    "SELECT t.ticket_id, t.target, t.cycle, " EPOCH_US("t.due_at") " AS due_us,"
    "       " EPOCH_US("t.warn_at") " AS warn_us, t.warned, t.breached, t.calendar_id,"
    "       k.customer_id, k.priority, t.tid"
    "  FROM (SELECT DISTINCT * FROM {@rows $1 c ticket_id,target,cycle}"
    "         ORDER BY ticket_id, target, cycle) c,"
    "       LATERAL (SELECT r.*, r.ctid AS tid FROM sla.targets r WHERE r.ticket_id = c.ticket_id"
    "                   AND r.target = c.target AND r.cycle = c.cycle"
    "                   AND r.status = 'running' AND r.next_fire_at <= " TS("$2::bigint")
    "                 OFFSET 0 FOR UPDATE) t"
    "  LEFT JOIN LATERAL (SELECT x.customer_id, x.priority FROM sla.tickets x"
    "                      WHERE x.ticket_id = t.ticket_id OFFSET 0) k ON true"
    " ORDER BY t.ticket_id, t.target, t.cycle");
/* clang-format on */

enum fire_kind { FIRE_NONE, FIRE_WARNING, FIRE_BREACH };

struct fire_row {
    char ticket[ID_LEN], customer[ID_LEN], calendar[CALENDAR_ID_MAX];
    char tid[32]; /* the row's ctid, "(page,item)" */
    char warn_id[ID_LEN], breach_id[ID_LEN], esc_id[ID_LEN];
    Carebus__V1__SlaTarget target;
    uint32_t cycle;
    int64_t due, warn;
    Carebus__V1__Priority priority;
    enum fire_kind kind;
    bool claimed;
};

/* An envelope and everything it points at, so that it can be built in
 * place and live until it is published. */
struct fire_ev {
    event env;
    Google__Protobuf__Timestamp occurred, due;
    Carebus__V1__SlaWarning warning;
    Carebus__V1__SlaBreach breach;
    Carebus__V1__SlaEscalation escalation;
    char reason[160];
};

void sla_event_id(const char *ticket_id, Carebus__V1__SlaTarget target, uint32_t cycle,
                  const char *kind, char out[ID_LEN])
{
    char name[160];
    const char *t = sla_target_name(target);
    snprintf(name, sizeof name, "sla/%s/%s/%" PRIu32 "/%s", ticket_id, t ? t : "?", cycle, kind);
    id_derive(name, out);
}

Carebus__V1__Priority sla_priority_raise(Carebus__V1__Priority p)
{
    switch (p) {
    case CAREBUS__V1__PRIORITY__PRIORITY_LOW:
        return CAREBUS__V1__PRIORITY__PRIORITY_NORMAL;
    case CAREBUS__V1__PRIORITY__PRIORITY_HIGH:
    case CAREBUS__V1__PRIORITY__PRIORITY_URGENT:
        return CAREBUS__V1__PRIORITY__PRIORITY_URGENT;
    default:
        return CAREBUS__V1__PRIORITY__PRIORITY_HIGH;
    }
}

static void sla_timers_rearm(sla *s)
{
    const struct sla_timer *top = sla_heap_top(&s->heap);
    s->armed_at = top ? top->at : INT64_MAX;
    sla_clock_arm(s->clock, s->armed_at, -1);
    metrics_set("carebus_sla_timers", (double)s->heap.n);
}

/* Tries again in ms real milliseconds (or sooner if the clock reaches the top). */
static void sla_timers_retry(sla *s, long ms)
{
    const struct sla_timer *top = sla_heap_top(&s->heap);
    int64_t now = sla_clock_now(s->clock);
    int64_t at = top && top->at > now ? top->at : INT64_MAX;
    sla_clock_arm(s->clock, at, ms);
    s->armed_at = INT64_MIN; /* any push re-arms */
}

static int timer_make(struct sla_timer *t, const char *ticket, Carebus__V1__SlaTarget target,
                      uint32_t cycle, int64_t at)
{
    memset(t, 0, sizeof *t);
    if (uuid_parse(ticket, t->ticket) != 0)
        return -1;
    t->at = at;
    t->cycle = cycle;
    t->target = (uint8_t)target;
    return 0;
}

void sla_timers_push(sla *s, const char *ticket_id, Carebus__V1__SlaTarget target, uint32_t cycle,
                     int64_t at)
{
    struct sla_timer t;
    if (timer_make(&t, ticket_id, target, cycle, at) != 0)
        return;
    if (sla_heap_push(&s->heap, &t) != 0) {
        log_error("out of memory for the timer of ticket %s: the sweep will fire it", ticket_id);
        return;
    }
    if (s->started && (at < s->armed_at || s->armed_at == INT64_MIN))
        sla_timers_rearm(s);
}

/* sla.emitted: a publication's claim, from the row that fires it. */
static void claim_target_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    rowset_put_str(p, sla_target_name(((const struct fire_row *)row)->target));
}

static void claim_kind_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    rowset_put_str(p, ((const struct fire_row *)row)->kind == FIRE_BREACH ? "breach" : "warning");
}

static void claim_event_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    const struct fire_row *r = row;
    rowset_put_str(p, r->kind == FIRE_BREACH ? r->breach_id : r->warn_id);
}

static void claim_at_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    const struct fire_row *r = row;
    rowset_put_time(p, r->kind == FIRE_BREACH ? r->due : r->warn);
}

static const struct rowset_col claim_cols[] = {
    {"ticket_id", "uuid", ROWSET_ID, ROWSET_AT(struct fire_row, ticket)},
    {"target", "text", ROWSET_FN, .get = claim_target_get},
    {"cycle", "integer", ROWSET_INT, ROWSET_AT(struct fire_row, cycle)},
    {"kind", "text", ROWSET_FN, .get = claim_kind_get},
    {"event_id", "uuid", ROWSET_FN, .get = claim_event_get},
    {"at", "timestamptz", ROWSET_FN, .get = claim_at_get},
};
static const rowset_table claims = {"sla.emitted", claim_cols, ROWSET_COUNT(claim_cols), NULL};

/* Claims each publication (ON CONFLICT DO NOTHING: another instance's
 * claim wins; the result names the claims made here) and marks its row:
 * claimed now or by another instance before, the publication exists. The
 * rows, locked by the select, are found by their ctids ($2) as it read
 * them (a TID scan, or a scan of a small table). */
static rowset_stmt fire_claim_sql = ROWSET_STMT(
    claims,
    "WITH u AS MATERIALIZED (SELECT * FROM {@rows $1 u}),"
    " c AS (INSERT INTO sla.emitted ({@cols}) SELECT {@values u} FROM u"
    "       ON CONFLICT DO NOTHING RETURNING event_id),"
    " m AS (UPDATE sla.targets t SET warned = t.warned OR u.kind = 'warning',"
    "         breached = t.breached OR u.kind = 'breach',"
    "         next_fire_at = CASE WHEN u.kind = 'breach' OR t.breached THEN NULL ELSE t.due_at END"
    "         FROM u WHERE t.ctid = ANY($2::tid[])"
    "          AND t.ticket_id = u.ticket_id AND t.target = u.target AND t.cycle = u.cycle)"
    " SELECT event_id FROM c");

/* --- loading ------------------------------------------------------------------------- */

#define TIMER_COLS "ticket_id,target,cycle,next_fire_at"

/* One COPY line of TIMER_COLS. */
static int load_line(sla *s, uint64_t cols, const char *line, size_t len)
{
    struct sla_target x = {0};
    struct sla_timer t;
    if (rowset_copy_read(&sla_targets, cols, line, len, &x, NULL) != 0 ||
        timer_make(&t, x.ticket_id, x.r.target, x.r.cycle, x.r.next_fire_at) != 0)
        return -1;
    return sla_heap_push(&s->heap, &t);
}

static rowset_stmt load_sql = ROWSET_STMT(
    sla_targets, "COPY (SELECT {@select t " TIMER_COLS "} FROM sla.targets t"
                 " WHERE t.next_fire_at IS NOT NULL ORDER BY t.next_fire_at) TO STDOUT");

int sla_timers_load(sla *s)
{
    db *d = s->svc->db;
    PGresult *res =
        db_exec(d, "SELECT count(*) AS n FROM sla.targets WHERE next_fire_at IS NOT NULL", 0, NULL);
    if (!res)
        return -1;
    size_t count = strtoull(db_value(res, 0, "n"), NULL, 10);
    PQclear(res);
    s->heap.n = 0;
    /* Exact room (the deadline order of the COPY makes every push O(1)),
     * plus some for the consumer's pushes. */
    if (sla_heap_reserve(&s->heap, count + count / 16 + 1024) != 0) {
        log_error("out of memory for %zu SLA timers", count);
        return -1;
    }
    PGconn *conn = db_conn(d);
    const char *sql = rowset_stmt_sql(&load_sql);
    if (!sql || !conn)
        return -1;
    uint64_t cols = rowset_cols(&sla_targets, TIMER_COLS);
    res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        log_error("could not load the SLA timers: %s", PQerrorMessage(conn));
        PQclear(res);
        db_mark_down(d);
        return -1;
    }
    PQclear(res);
    int rc = 0, n;
    char *line;
    while ((n = PQgetCopyData(conn, &line, 0)) > 0) {
        if (rc == 0 && load_line(s, cols, line, (size_t)n) != 0) {
            log_error("could not load an SLA timer: %.*s", n, line);
            rc = -1;
        }
        PQfreemem(line);
    }
    while ((res = PQgetResult(conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            log_error("could not load the SLA timers: %s", PQerrorMessage(conn));
            rc = -1;
        }
        PQclear(res);
    }
    if (n == -2) {
        db_mark_down(d);
        rc = -1;
    }
    if (rc == 0)
        log_info("loaded %zu SLA timers", s->heap.n);
    metrics_set("carebus_sla_timers", (double)s->heap.n);
    return rc;
}

/* --- firing ------------------------------------------------------------------------- */

/* 1 when the consumer (any instance; every partition) has applied all of
 * ingest and router. */
static int caught_up(sla *s)
{
    const char *p[] = {s->svc->name};
    PGresult *res =
        db_exec(s->svc->db,
                "SELECT coalesce(bool_and(coalesce(eventlog.consumer_seq($1, st.stream),"
                "                                  0) >= st.last_seq), true)"
                " AS caught_up"
                "  FROM eventlog.streams st"
                " WHERE st.stream IN ('ingest', 'router')",
                1, p);
    if (!res)
        return -1;
    int rc = db_value(res, 0, "caught_up")[0] == 't';
    PQclear(res);
    return rc;
}

/* Builds the envelope of one publication of r. */
static void fire_build(struct fire_ev *f, const struct fire_row *r, enum fire_kind what,
                       bool escalation, const sla *s)
{
    memset(f, 0, sizeof *f);
    event *e = &f->env;
    carebus__v1__envelope__init(e);
    google__protobuf__timestamp__init(&f->occurred);
    google__protobuf__timestamp__init(&f->due);
    event_ts_set(&f->due, r->due);
    e->ticket_id = (char *)r->ticket;
    e->customer_id = (char *)r->customer;
    e->occurred_at = &f->occurred;
    if (escalation) {
        carebus__v1__sla_escalation__init(&f->escalation);
        char due[TIME_RFC3339_LEN];
        time_format_rfc3339(r->due, due);
        snprintf(f->reason, sizeof f->reason, "%s breached (cycle %" PRIu32 ", due %s)",
                 sla_target_name(r->target), r->cycle, due);
        f->escalation.target = r->target;
        f->escalation.priority = sla_priority_raise(r->priority);
        f->escalation.reason = f->reason;
        f->escalation.cycle = r->cycle;
        e->body_case = CAREBUS__V1__ENVELOPE__BODY_SLA_ESCALATION;
        e->sla_escalation = &f->escalation;
        e->event_id = (char *)r->esc_id;
        e->causation_id = (char *)r->breach_id;
        event_ts_set(&f->occurred, r->due);
    } else if (what == FIRE_BREACH) {
        carebus__v1__sla_breach__init(&f->breach);
        f->breach.target = r->target;
        f->breach.due_at = &f->due;
        f->breach.cycle = r->cycle;
        e->body_case = CAREBUS__V1__ENVELOPE__BODY_SLA_BREACH;
        e->sla_breach = &f->breach;
        e->event_id = (char *)r->breach_id;
        event_ts_set(&f->occurred, r->due);
    } else {
        carebus__v1__sla_warning__init(&f->warning);
        f->warning.target = r->target;
        f->warning.due_at = &f->due;
        f->warning.cycle = r->cycle;
        const calendar *cal = s->cfg ? sla_config_calendar(s->cfg, r->calendar) : NULL;
        /* The event counts whole seconds, truncated toward zero. */
        f->warning.remaining_business_secs =
            (cal ? calendar_business_us_between(cal, r->warn, r->due) : r->due - r->warn) / 1000000;
        e->body_case = CAREBUS__V1__ENVELOPE__BODY_SLA_WARNING;
        e->sla_warning = &f->warning;
        e->event_id = (char *)r->warn_id;
        event_ts_set(&f->occurred, r->warn);
    }
}

/* Reads the locked rows and decides what each must publish. */
static size_t fire_decide(PGresult *res, int64_t now, struct fire_row *rows)
{
    size_t n = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        struct fire_row *r = &rows[n];
        memset(r, 0, sizeof *r);
        snprintf(r->ticket, sizeof r->ticket, "%s", db_value(res, i, "ticket_id"));
        const char *due = db_value(res, i, "due_us"), *warn = db_value(res, i, "warn_us");
        if (sla_target_parse(db_value(res, i, "target"), &r->target) != 0 || !due)
            continue;
        r->cycle = (uint32_t)strtoul(db_value(res, i, "cycle"), NULL, 10);
        r->due = strtoll(due, NULL, 10);
        r->warn = warn ? strtoll(warn, NULL, 10) : 0;
        bool warned = db_value(res, i, "warned")[0] == 't';
        bool breached = db_value(res, i, "breached")[0] == 't';
        const char *customer = db_value(res, i, "customer_id");
        const char *priority = db_value(res, i, "priority");
        snprintf(r->calendar, sizeof r->calendar, "%s", db_value(res, i, "calendar_id"));
        snprintf(r->tid, sizeof r->tid, "%s", db_value(res, i, "tid"));
        snprintf(r->customer, sizeof r->customer, "%s", customer ? customer : "");
        if (!priority || event_priority_parse(priority, &r->priority))
            r->priority = CAREBUS__V1__PRIORITY__PRIORITY_NORMAL;
        if (r->due <= now && !breached)
            r->kind = FIRE_BREACH;
        else if (r->warn && r->warn <= now && !warned && !breached)
            r->kind = FIRE_WARNING;
        else
            continue; /* a stale entry: nothing due on this row */
        sla_event_id(r->ticket, r->target, r->cycle, "warning", r->warn_id);
        sla_event_id(r->ticket, r->target, r->cycle, "breach", r->breach_id);
        sla_event_id(r->ticket, r->target, r->cycle, "escalation", r->esc_id);
        n++;
    }
    return n;
}

/* Fires one batch of due entries in one transaction. 0, DB_NOT_NOW (not
 * begun: the connection's writers back off), or -1 (rolled back). */
static int fire_batch(sla *s, const struct sla_timer *batch, size_t n, int64_t now)
{
    db *d = s->svc->db;
    rowset keys, claimed;
    rowset_init(&keys, &sla_targets, NULL);
    rowset_only(&keys, "ticket_id,target,cycle");
    rowset_init(&claimed, &claims, NULL);
    struct fire_row *rows = calloc(n, sizeof *rows);
    struct fire_ev *evs = calloc(2 * n, sizeof *evs);
    struct eventlog_entry *ents = calloc(2 * n, sizeof *ents);
    PGresult *res = NULL;
    buf tids = BUF_INIT;
    int rc = -1;
    bool in_tx = false;
    size_t nrows = 0, nev = 0;
    if (!rows || !evs || !ents)
        goto out;

    for (size_t i = 0; i < n; i++) {
        struct sla_target k = {.r.target = (Carebus__V1__SlaTarget)batch[i].target,
                               .r.cycle = batch[i].cycle};
        uuid_unparse_lower(batch[i].ticket, k.ticket_id);
        rowset_add(&keys, &k);
    }
    char now_s[24];
    snprintf(now_s, sizeof now_s, "%" PRId64, now);
    const char *sp[] = {rowset_json(&keys), now_s};
    const char *select_sql = rowset_stmt_sql(&fire_select_sql);
    const char *claim_sql = rowset_stmt_sql(&fire_claim_sql);
    if (!sp[0] || !select_sql || !claim_sql)
        goto out;
    int begun = service_begin(s->svc, d);
    if (begun != 0) {
        rc = begun == DB_NOT_NOW ? DB_NOT_NOW : -1;
        goto out;
    }
    in_tx = true;
    if (!(res = db_exec(d, select_sql, 2, sp)))
        goto out;
    nrows = fire_decide(res, now, rows);
    PQclear(res);
    res = NULL;
    if (nrows == 0) {
        rc = db_commit(d);
        in_tx = false;
        goto out;
    }

    buf_putc(&tids, '{');
    for (size_t i = 0; i < nrows; i++) {
        rowset_add(&claimed, &rows[i]);
        buf_printf(&tids, "%s\"%s\"", i ? "," : "", rows[i].tid);
    }
    buf_putc(&tids, '}');
    const char *cp[] = {rowset_json(&claimed), buf_str(&tids)};
    if (!cp[0] || tids.failed || !(res = db_exec(d, claim_sql, 2, cp)))
        goto out;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *id = db_value(res, i, "event_id");
        for (size_t k = 0; k < nrows; k++)
            if (strcmp(id, rows[k].kind == FIRE_BREACH ? rows[k].breach_id : rows[k].warn_id) == 0)
                rows[k].claimed = true;
    }
    PQclear(res);
    res = NULL;

    for (size_t i = 0; i < nrows; i++) {
        const struct fire_row *r = &rows[i];
        if (!r->claimed)
            continue;
        fire_build(&evs[nev], r, r->kind, false, s);
        ents[nev].ev = &evs[nev].env;
        nev++;
        if (r->kind == FIRE_BREACH) {
            fire_build(&evs[nev], r, r->kind, true, s);
            ents[nev].ev = &evs[nev].env;
            nev++;
        }
    }
    if (nev && eventlog_append(d, s->svc->stream, ents, nev) != 0)
        goto out;
    if (db_commit(d) != 0) {
        in_tx = false;
        goto out;
    }
    in_tx = false;
    rc = 0;

    int64_t real_now = time_now_us();
    for (size_t i = 0; i < nev; i++) {
        const event *e = &evs[i].env;
        if (ents[i].duplicate)
            continue;
        bus_publish_bytes(s->svc->bus, s->svc->stream, ents[i].wire, ents[i].wire_len);
        const char *ticket = e->ticket_id;
        if (e->body_case == CAREBUS__V1__ENVELOPE__BODY_SLA_WARNING) {
            metrics_add("carebus_sla_warnings_total", 1);
            log_info("ticket %s: %s warning (cycle %" PRIu32 "), %" PRId64 " business seconds left",
                     ticket, sla_target_name(e->sla_warning->target), e->sla_warning->cycle,
                     e->sla_warning->remaining_business_secs);
        } else if (e->body_case == CAREBUS__V1__ENVELOPE__BODY_SLA_BREACH) {
            int64_t due = event_ts_us(e->sla_breach->due_at);
            metrics_add("carebus_sla_breaches_total{path=\"timer\"}", 1);
            if (sla_clock_is_real(s->clock))
                metrics_set("carebus_sla_breach_delay_seconds",
                            (double)(ents[i].recorded_us - due) / 1e6);
            log_info("ticket %s: %s breached (cycle %" PRIu32 "), %.3f s after its deadline",
                     ticket, sla_target_name(e->sla_breach->target), e->sla_breach->cycle,
                     (double)(real_now - due) / 1e6);
        } else {
            metrics_add("carebus_sla_escalations_total", 1);
        }
    }
    /* A warning leaves the breach to come. */
    for (size_t i = 0; i < nrows; i++)
        if (rows[i].kind == FIRE_WARNING)
            sla_timers_push(s, rows[i].ticket, rows[i].target, rows[i].cycle, rows[i].due);
out:
    if (in_tx)
        db_rollback(d);
    PQclear(res);
    rowset_release(&keys);
    rowset_release(&claimed);
    buf_release(&tids);
    for (size_t i = 0; ents && i < nev; i++)
        eventlog_entry_release(&ents[i]);
    free(rows);
    free(evs);
    free(ents);
    return rc;
}

/* The file clock's time, for sla.ticket_json (sla.now()). */
static void publish_test_clock(sla *s, int64_t now)
{
    if (sla_clock_is_real(s->clock) || now == s->clock_written)
        return;
    char us[24];
    snprintf(us, sizeof us, "%" PRId64, now);
    const char *p[] = {us};
    if (db_write(s->svc->db,
                 "INSERT INTO sla.clock (id, now) VALUES (true, " TS(
                     "$1::bigint") ") ON CONFLICT (id) DO UPDATE SET now = excluded.now",
                 1, p, NULL) == 0)
        s->clock_written = now;
}

void sla_timers_on_clock(void *arg)
{
    sla *s = arg;
    if (!s->started)
        return;
    if (db_ensure(s->svc->db) != 0) {
        sla_timers_retry(s, SLA_ERROR_RETRY_MS);
        return;
    }
    int64_t now = sla_clock_now(s->clock);
    publish_test_clock(s, now);
    const struct sla_timer *top = sla_heap_top(&s->heap);
    if (!top || top->at > now) {
        sla_timers_rearm(s);
        return;
    }
    int cu = caught_up(s);
    if (cu != 1) {
        sla_timers_retry(s, cu < 0 ? SLA_ERROR_RETRY_MS : SLA_BEHIND_RETRY_MS);
        return;
    }
    struct sla_timer batch[SLA_FIRE_BATCH];
    for (int round = 0; round < SLA_FIRE_ROUNDS; round++) {
        size_t n = 0;
        while (n < SLA_FIRE_BATCH && (top = sla_heap_top(&s->heap)) && top->at <= now)
            sla_heap_pop(&s->heap, &batch[n++]);
        if (n == 0)
            break;
        int fired = fire_batch(s, batch, n, now);
        if (fired != 0) {
            /* Nothing was committed: the entries go back, due as they were.
             * A refusal (the writers back off) was logged once, by db.c. */
            for (size_t i = 0; i < n; i++)
                sla_heap_push(&s->heap, &batch[i]);
            if (fired != DB_NOT_NOW)
                log_warn("could not fire %zu SLA timers: retrying in %d ms", n, SLA_ERROR_RETRY_MS);
            sla_timers_retry(s, SLA_ERROR_RETRY_MS);
            return;
        }
    }
    /* More still due after the rounds: the timer fires at once, after the
     * loop has served the other sources. */
    sla_timers_rearm(s);
}

static rowset_stmt sweep_sql = ROWSET_STMT(
    sla_targets, "SELECT {@select t " TIMER_COLS "} FROM sla.targets t"
                 " WHERE t.next_fire_at <= " TS("$1::bigint") " ORDER BY t.next_fire_at LIMIT $2");

int sla_timers_sweep(sla *s)
{
    if (!s->started || !db_up(s->svc->db))
        return 0;
    int64_t now = sla_clock_now(s->clock);
    const struct sla_timer *top = sla_heap_top(&s->heap);
    if (top && top->at <= now)
        return 0; /* due work is pending anyway */
    char now_s[24], lim[16];
    snprintf(now_s, sizeof now_s, "%" PRId64, now);
    snprintf(lim, sizeof lim, "%d", SLA_SWEEP_LIMIT);
    const char *p[] = {now_s, lim};
    const char *sql = rowset_stmt_sql(&sweep_sql);
    PGresult *res = sql ? db_exec(s->svc->db, sql, 2, p) : NULL;
    rowset_reader rd;
    if (!res || rowset_reader_init(&rd, &sla_targets, res) != 0) {
        PQclear(res);
        return -1;
    }
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        struct sla_target x = {0};
        if (rowset_read(&rd, i, &x, NULL) == 0)
            sla_timers_push(s, x.ticket_id, x.r.target, x.r.cycle, x.r.next_fire_at);
    }
    PQclear(res);
    if (n > 0) {
        log_info("%d overdue SLA timer(s) found in PostgreSQL (another instance's?): firing", n);
        sla_timers_on_clock(s);
    }
    return 0;
}
