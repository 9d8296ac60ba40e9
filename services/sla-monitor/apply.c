/* apply.c — the consumer's side: ticket events become facts, facts become
 * targets.
 *
 * Every handler records what happened (sla.ticket_facts, keyed by the log's
 * stream and seq, timed by the event) and then recomputes the whole ticket
 * from all its facts (fold.c). Recomputing instead of updating is what makes
 * the result independent of the order in which the ingest and router
 * streams are applied: a catch-up or a rebuild reads the streams one after
 * the other, the live path interleaves them, and both end in the same rows.
 *
 * The ticket's target rows are locked first (FOR UPDATE), then sla.emitted
 * is read: a timer firing in another instance holds the same row locks while
 * it claims, so the recomputation never overwrites a claim it did not see.
 *
 * A target met after its deadline while no breach was published (the
 * service was down at the deadline) gets its sla.breach here, claimed like
 * a timer's, so the breach counts are right; it does not escalate, the
 * ticket having moved on.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "id.h"
#include "log.h"
#include "metrics.h"
#include "rowset.h"
#include "sla.h"
#include "stmt.h"
#include "targets.h"
#include "timeutil.h"

#define EPOCH_US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define TS(us) "(timestamptz 'epoch' + (" us ") * interval '1 microsecond')"

/* The fact, and the ticket's row (its customer, once known). */
#define FACT_SQL                                                                                   \
    "WITH k AS (INSERT INTO sla.tickets AS t (ticket_id, customer_id) VALUES ($3, $8)"             \
    "  ON CONFLICT (ticket_id) DO UPDATE SET customer_id = excluded.customer_id"                   \
    "  WHERE t.customer_id IS NULL AND excluded.customer_id IS NOT NULL)"                          \
    " INSERT INTO sla.ticket_facts (stream, seq, ticket_id, at, kind, priority, event_id)"         \
    " VALUES ($1, $2, $3, " TS("$4::bigint") ", $5, $6, $7) ON CONFLICT DO NOTHING"

/* A statement of its own, before the read: when it waited for a concurrent
 * firing, the read's fresh snapshot sees that firing's claims. */
#define LOCK_COLS "target,cycle,next_fire_at"
static rowset_stmt lock_sql =
    ROWSET_STMT(sla_targets, "SELECT {@select t " LOCK_COLS "} FROM sla.targets t"
                             " WHERE t.ticket_id = $1 ORDER BY t.target, t.cycle FOR UPDATE");

/* Everything the fold needs, in one row: the customer, the classified and
 * current priority, the segment as of the close (latest first; ties broken
 * by the log's order), the close, the facts ("kind us,..." in order) and the
 * publications ("target cycle kind,..."). */
/* clang-format off */
#define READ_SQL                                                                                   \
    "SELECT t.customer_id,"                                                                        \
    "  (SELECT f.priority FROM sla.ticket_facts f WHERE f.ticket_id = $1"                          \
    "     AND f.kind = 'classified' ORDER BY f.at DESC, f.stream DESC, f.seq DESC LIMIT 1)"        \
    "   AS priority,"                                                                              \
    "  (SELECT f.priority FROM sla.ticket_facts f WHERE f.ticket_id = $1"                          \
    "     AND f.kind IN ('classified', 'escalated')"                                               \
    "     ORDER BY f.at DESC, f.stream DESC, f.seq DESC LIMIT 1) AS current_priority,"             \
    "  (SELECT s.segment FROM sla.customer_segments s WHERE s.customer_id = t.customer_id"         \
    "     AND s.at <= coalesce(c.closed_at, 'infinity')"                                           \
    "     ORDER BY s.at DESC, s.stream DESC, s.seq DESC LIMIT 1) AS segment,"                      \
    "  " EPOCH_US("c.closed_at") " AS closed_us,"                                                  \
    "  (SELECT string_agg(f.kind || ' ' || " EPOCH_US("f.at") ", ','"                              \
    "          ORDER BY f.at, f.stream, f.seq) FROM sla.ticket_facts f"                            \
    "    WHERE f.ticket_id = $1 AND f.kind NOT IN ('classified', 'escalated')) AS facts,"          \
    "  (SELECT string_agg(e.target || ' ' || e.cycle || ' ' || e.kind, ',')"                       \
    "     FROM sla.emitted e WHERE e.ticket_id = $1) AS emitted"                                   \
    " FROM sla.tickets t, LATERAL (SELECT min(at) AS closed_at FROM sla.ticket_facts"              \
    "                               WHERE ticket_id = $1 AND kind = 'closed') c"                   \
    " WHERE t.ticket_id = $1"

/* clang-format on */
/* Replaces the ticket's target rows by the fold's ($2, rows of sla.targets;
 * unchanged rows are not written) and its summary ($3..$8). */
/* clang-format off */
static rowset_stmt write_sql = ROWSET_STMT(
    sla_targets,
    "WITH n AS (SELECT * FROM {@rows $2 n}),"
    " del AS (DELETE FROM sla.targets d WHERE d.ticket_id = $1"
    "     AND NOT EXISTS (SELECT 1 FROM n WHERE n.target = d.target AND n.cycle = d.cycle)),"
    " tk AS (UPDATE sla.tickets k SET opened_at = " TS("$3::bigint") ","
    "         closed_at = " TS("$4::bigint") ", priority = $5, segment = $6,"
    "         policy_id = $7, calendar_id = $8"
    "   WHERE k.ticket_id = $1"
    "     AND (k.opened_at, k.closed_at, k.priority, k.segment, k.policy_id, k.calendar_id)"
    "         IS DISTINCT FROM (" TS("$3::bigint") ", " TS("$4::bigint") ", $5, $6, $7, $8))"
    " INSERT INTO sla.targets AS t ({@cols}) SELECT {@values n} FROM n"
    " ON CONFLICT (ticket_id, target, cycle) DO UPDATE SET {@set excluded " SLA_TARGETS_MUTABLE "}"
    " WHERE ({@values t " SLA_TARGETS_MUTABLE "})"
    "   IS DISTINCT FROM ({@values excluded " SLA_TARGETS_MUTABLE "})");
/* clang-format on */

#define CLAIM_SQL                                                                                  \
    "INSERT INTO sla.emitted (ticket_id, target, cycle, kind, event_id, at)"                       \
    " VALUES ($1, $2, $3, $4, $5, " TS("$6::bigint") ") ON CONFLICT DO NOTHING RETURNING 1"

enum { ST_FACT, ST_LOCK, ST_READ, ST_WRITE, ST_CLAIM };
/* The statements built from sla.targets' description have their text
 * filled in on first use. */
static const struct sla_stmt stmts[] = {
    [ST_FACT] = {"sla_fact", FACT_SQL, 8},    [ST_LOCK] = {"sla_lock", NULL, 1},
    [ST_READ] = {"sla_read", READ_SQL, 1},    [ST_WRITE] = {"sla_write", NULL, 8},
    [ST_CLAIM] = {"sla_claim", CLAIM_SQL, 6},
};

static PGresult *run(sla *s, consumer_txn *tx, int which, const char *const *params)
{
    struct sla_stmt st = stmts[which];
    if (which == ST_LOCK)
        st.sql = rowset_stmt_sql(&lock_sql);
    else if (which == ST_WRITE)
        st.sql = rowset_stmt_sql(&write_sql);
    if (!st.sql)
        return NULL;
    return sla_stmt_exec(&s->stmts, consumer_txn_db(tx), which, &st, params);
}

static json_t *ev_fields(const event *ev)
{
    return json_pack("{s:s, s:s, s:s, s:I}", "event_id", ev->event_id ? ev->event_id : "", "type",
                     ev->type ? ev->type : "", "stream", ev->stream ? ev->stream : "", "seq",
                     (json_int_t)ev->seq);
}

/* The event's time: occurred_at, else recorded_at, else the log's (the same
 * expression as eventlog_read's). 0, 1 when unknown, -1 on error. */
static int ev_time(db *d, const event *ev, int64_t *out)
{
    if (ev->occurred_at) {
        *out = event_ts_us(ev->occurred_at);
        return 0;
    }
    if (ev->recorded_at) {
        *out = event_ts_us(ev->recorded_at);
        return 0;
    }
    const char *params[] = {ev->event_id};
    PGresult *res = db_exec(d,
                            "SELECT " EPOCH_US("recorded_at") " AS recorded_us FROM eventlog.events"
                                                              " WHERE event_id = $1",
                            1, params);
    if (!res)
        return -1;
    int rc = 1;
    if (PQntuples(res) == 1) {
        *out = strtoll(db_value(res, 0, "recorded_us"), NULL, 10);
        rc = 0;
    }
    PQclear(res);
    return rc;
}

static const char *i64(int64_t v, char out[24])
{
    snprintf(out, 24, "%" PRId64, v);
    return out;
}

/* --- the emitted set, for the fold ---------------------------------------------- */

struct emitted_item {
    Carebus__V1__SlaTarget target;
    uint32_t cycle;
    bool breach;
};

struct emitted_set {
    struct emitted_item *v;
    size_t n;
};

static bool emitted_has(void *arg, Carebus__V1__SlaTarget target, uint32_t cycle, bool breach)
{
    const struct emitted_set *e = arg;
    for (size_t i = 0; i < e->n; i++)
        if (e->v[i].target == target && e->v[i].cycle == cycle && e->v[i].breach == breach)
            return true;
    return false;
}

/* --- writing ------------------------------------------------------------------------ */

static int write_rows(sla *s, consumer_txn *tx, const char *ticket, const struct sla_rows *rows,
                      int64_t opened_at, int64_t closed_at, const char *cur_prio,
                      const char *segment, const struct sla_policy *pol, const char *prio)
{
    rowset w;
    rowset_init(&w, &sla_targets, NULL);
    for (size_t i = 0; i < rows->n; i++) {
        struct sla_target t = {.r = rows->v[i],
                               .policy_id = pol->id,
                               .calendar_id = pol->cal->id,
                               .priority = prio,
                               .segment = segment};
        snprintf(t.ticket_id, sizeof t.ticket_id, "%s", ticket);
        rowset_add(&w, &t);
    }
    char o[24], c[24];
    const char *params[] = {ticket,
                            rowset_json(&w),
                            opened_at ? i64(opened_at, o) : NULL,
                            closed_at ? i64(closed_at, c) : NULL,
                            cur_prio,
                            segment,
                            pol->id,
                            pol->cal->id};
    PGresult *res = params[1] ? run(s, tx, ST_WRITE, params) : NULL;
    int rc = res ? 0 : -1;
    PQclear(res);
    rowset_release(&w);
    return rc;
}

/* Publishes the breach of a target met (or paused, or cancelled) late, once. */
static int emit_late_breach(sla *s, consumer_txn *tx, const char *ticket, const char *customer,
                            const struct sla_row *r)
{
    char id[ID_LEN], cy[24], due[24];
    sla_event_id(ticket, r->target, r->cycle, "breach", id);
    const char *params[] = {ticket, sla_target_name(r->target), i64(r->cycle, cy), "breach",
                            id,     i64(r->due_at, due)};
    PGresult *res = run(s, tx, ST_CLAIM, params);
    if (!res)
        return -1;
    bool claimed = PQntuples(res) == 1;
    PQclear(res);
    if (!claimed)
        return 0;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    event_ts_set(&ts, r->due_at);
    Carebus__V1__SlaBreach b = CAREBUS__V1__SLA_BREACH__INIT;
    b.target = r->target;
    b.due_at = &ts;
    b.cycle = r->cycle;
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_SLA_BREACH;
    e.sla_breach = &b;
    e.event_id = id;
    e.occurred_at = &ts;
    e.ticket_id = (char *)ticket;
    e.customer_id = (char *)(customer ? customer : "");
    if (consumer_emit(tx, &e) != 0)
        return -1;
    metrics_add("carebus_sla_breaches_total{path=\"late\"}", 1);
    log_info("ticket %s: %s (cycle %u) was met after its deadline: breach published", ticket,
             sla_target_name(r->target), r->cycle);
    return 0;
}

/* Parses "a b[ c],..." lists (string_agg of the read): calls fn per item
 * with its space-separated fields. -1 when fn refuses one. */
static int parse_list(const char *list, int (*fn)(void *arg, char **f, int n), void *arg)
{
    if (!list || !list[0])
        return 0;
    char *copy = strdup(list), *save = NULL;
    if (!copy)
        return -1;
    int rc = 0;
    for (char *item = strtok_r(copy, ",", &save); item && rc == 0;
         item = strtok_r(NULL, ",", &save)) {
        char *f[3] = {NULL, NULL, NULL}, *s2 = NULL;
        int n = 0;
        for (char *x = strtok_r(item, " ", &s2); x && n < 3; x = strtok_r(NULL, " ", &s2))
            f[n++] = x;
        rc = fn(arg, f, n);
    }
    free(copy);
    return rc;
}

struct fact_list {
    struct sla_fact *v;
    size_t n, cap;
    int64_t opened_at;
};

static int add_fact(void *arg, char **f, int n)
{
    struct fact_list *l = arg;
    enum sla_fact_kind kind;
    if (n != 2 || sla_fact_kind_parse(f[0], &kind) != 0)
        return -1;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct sla_fact *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n].kind = kind;
    l->v[l->n].at = strtoll(f[1], NULL, 10);
    if (kind == SLA_FACT_OPENED && !l->opened_at)
        l->opened_at = l->v[l->n].at;
    l->n++;
    return 0;
}

struct emitted_list {
    struct emitted_set set;
    size_t cap;
};

static int add_emitted(void *arg, char **f, int n)
{
    struct emitted_list *l = arg;
    Carebus__V1__SlaTarget t;
    if (n != 3 || sla_target_parse(f[0], &t) != 0)
        return -1;
    if (l->set.n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        struct emitted_item *v = realloc(l->set.v, cap * sizeof *v);
        if (!v)
            return -1;
        l->set.v = v;
        l->cap = cap;
    }
    l->set.v[l->set.n++] =
        (struct emitted_item){t, (uint32_t)strtoul(f[1], NULL, 10), strcmp(f[2], "breach") == 0};
    return 0;
}

/* The deadlines of the ticket's rows as they were, locked (LOCK_COLS). */
struct locked {
    struct sla_target *v;
    size_t n;
};

static int read_locked(const PGresult *res, struct locked *l)
{
    rowset_reader rd;
    int n = PQntuples(res);
    if (rowset_reader_init(&rd, &sla_targets, res) != 0 ||
        !(l->v = calloc((size_t)n + 1, sizeof *l->v)))
        return -1;
    for (int i = 0; i < n; i++, l->n++)
        if (rowset_read(&rd, i, &l->v[i], NULL) != 0)
            return -1;
    return 0;
}

/* Recomputes a ticket's targets from its facts. */
static consumer_result recompute(sla *s, consumer_txn *tx, const char *ticket)
{
    const char *p1[] = {ticket};
    consumer_result rc = CONSUMER_RETRY;
    PGresult *lock = NULL, *rd = NULL;
    struct fact_list facts = {NULL, 0, 0, 0};
    struct emitted_list em = {{NULL, 0}, 0};
    struct locked locked = {NULL, 0};

    if (!(lock = run(s, tx, ST_LOCK, p1)) || !(rd = run(s, tx, ST_READ, p1)))
        goto out;
    if (PQntuples(rd) != 1) {
        rc = CONSUMER_OK; /* nothing known about it yet */
        goto out;
    }
    const char *customer = db_value(rd, 0, "customer_id");
    const char *prio_s = db_value(rd, 0, "priority");
    prio_s = prio_s ? prio_s : "normal";
    const char *cur_s = db_value(rd, 0, "current_priority");
    cur_s = cur_s ? cur_s : prio_s;
    const char *seg_s = db_value(rd, 0, "segment");
    seg_s = seg_s ? seg_s : "regular";
    const char *closed_s = db_value(rd, 0, "closed_us");
    int64_t closed_at = closed_s ? strtoll(closed_s, NULL, 10) : 0;
    if (parse_list(db_value(rd, 0, "facts"), add_fact, &facts) != 0 ||
        parse_list(db_value(rd, 0, "emitted"), add_emitted, &em) != 0 ||
        read_locked(lock, &locked) != 0) {
        log_error("ticket %s: could not read its facts", ticket);
        goto out;
    }
    Carebus__V1__Priority prio;
    Carebus__V1__Segment seg;
    if (event_priority_parse(prio_s, &prio) != 0)
        prio = CAREBUS__V1__PRIORITY__PRIORITY_NORMAL;
    if (event_segment_parse(seg_s, &seg) != 0)
        seg = CAREBUS__V1__SEGMENT__SEGMENT_REGULAR;
    assert(s->cfg && "the consumer starts once the configuration is loaded");
    const struct sla_policy *pol = sla_config_policy(s->cfg, seg);
    assert(pol && "sla_config_load guarantees a regular policy");

    struct sla_fold_in in = {
        .facts = facts.v,
        .nfacts = facts.n,
        .policy = pol,
        .priority = prio,
        .emitted = emitted_has,
        .arg = &em.set,
    };
    if (sla_fold(&in, &s->rows) != 0)
        goto out;
    if (write_rows(s, tx, ticket, &s->rows, facts.opened_at, closed_at, cur_s,
                   event_segment_name(seg), pol, event_priority_name(prio)) != 0)
        goto out;

    for (size_t i = 0; i < s->rows.n; i++) {
        const struct sla_row *r = &s->rows.v[i];
        /* A deadline that moved: a hint for the heap (the old entry goes
         * stale and fires into nothing). */
        if (r->next_fire_at) {
            bool same = false;
            for (size_t k = 0; k < locked.n && !same; k++)
                same = locked.v[k].r.target == r->target && locked.v[k].r.cycle == r->cycle &&
                       locked.v[k].r.next_fire_at == r->next_fire_at;
            if (!same)
                sla_timers_push(s, ticket, r->target, r->cycle, r->next_fire_at);
        }
        if (r->breached && r->status != SLA_RUNNING && r->due_at &&
            !emitted_has(&em.set, r->target, r->cycle, true) &&
            emit_late_breach(s, tx, ticket, customer, r) != 0)
            goto out;
    }
    rc = CONSUMER_OK;
out:
    free(facts.v);
    free(em.set.v);
    free(locked.v);
    PQclear(lock);
    PQclear(rd);
    return rc;
}

/* Records a fact of ev's ticket and recomputes the ticket. */
static consumer_result ticket_fact(sla *s, consumer_txn *tx, const event *ev,
                                   enum sla_fact_kind kind, const char *priority)
{
    db *d = consumer_txn_db(tx);
    if (!id_valid(ev->ticket_id)) {
        log_write(LOG_WARN, ev_fields(ev), "%s %s has no valid ticket id: ignored for SLAs",
                  ev->type, ev->event_id);
        return CONSUMER_OK;
    }
    int64_t at;
    int t = ev_time(d, ev, &at);
    if (t < 0)
        return CONSUMER_RETRY;
    if (t > 0) {
        log_write(LOG_WARN, ev_fields(ev), "%s %s has no time and is not in the log", ev->type,
                  ev->event_id);
        return CONSUMER_SKIP;
    }
    const char *customer = id_valid(ev->customer_id) ? ev->customer_id : NULL;
    char seq[24], at_s[24];
    const char *fp[] = {ev->stream,
                        i64((int64_t)ev->seq, seq),
                        ev->ticket_id,
                        i64(at, at_s),
                        sla_fact_kind_name(kind),
                        priority,
                        ev->event_id,
                        customer};
    PGresult *res = run(s, tx, ST_FACT, fp);
    if (!res)
        return CONSUMER_RETRY;
    PQclear(res);
    return recompute(s, tx, ev->ticket_id);
}

/* --- handlers ------------------------------------------------------------------------ */

static consumer_result on_opened(consumer_txn *tx, const event *ev, void *arg)
{
    sla *s = arg;
    return ticket_fact(s, tx, ev, SLA_FACT_OPENED, NULL);
}

static consumer_result on_contact_added(consumer_txn *tx, const event *ev, void *arg)
{
    sla *s = arg;
    return ticket_fact(s, tx, ev, SLA_FACT_CUSTOMER, NULL);
}

static consumer_result on_agent_replied(consumer_txn *tx, const event *ev, void *arg)
{
    sla *s = arg;
    /* An internal note is not an answer to the customer. */
    if (ev->agent_replied->internal_note)
        return CONSUMER_OK;
    return ticket_fact(s, tx, ev, SLA_FACT_REPLY, NULL);
}

static consumer_result on_status_changed(consumer_txn *tx, const event *ev, void *arg)
{
    sla *s = arg;
    switch (ev->ticket_status_changed->status) {
    case CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_OPEN:
        return ticket_fact(s, tx, ev, SLA_FACT_OPEN, NULL);
    case CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_PENDING:
        return ticket_fact(s, tx, ev, SLA_FACT_PENDING, NULL);
    case CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_SOLVED:
        return ticket_fact(s, tx, ev, SLA_FACT_SOLVED, NULL);
    case CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_CLOSED:
        return ticket_fact(s, tx, ev, SLA_FACT_CLOSED, NULL);
    default:
        return CONSUMER_OK;
    }
}

static consumer_result on_solved(consumer_txn *tx, const event *ev, void *arg)
{
    sla *s = arg;
    return ticket_fact(s, tx, ev, SLA_FACT_SOLVED, NULL);
}

static consumer_result on_closed(consumer_txn *tx, const event *ev, void *arg)
{
    sla *s = arg;
    return ticket_fact(s, tx, ev, SLA_FACT_CLOSED, NULL);
}

static consumer_result on_reopened(consumer_txn *tx, const event *ev, void *arg)
{
    sla *s = arg;
    return ticket_fact(s, tx, ev, SLA_FACT_REOPENED, NULL);
}

static consumer_result on_classified(consumer_txn *tx, const event *ev, void *arg)
{
    sla *s = arg;
    const char *p = event_priority_name(ev->ticket_classified->priority);
    if (!p[0])
        return CONSUMER_OK;
    return ticket_fact(s, tx, ev, SLA_FACT_CLASSIFIED, p);
}

static consumer_result on_escalated(consumer_txn *tx, const event *ev, void *arg)
{
    sla *s = arg;
    const char *p = event_priority_name(ev->ticket_escalated->priority);
    if (!p[0])
        return CONSUMER_OK;
    return ticket_fact(s, tx, ev, SLA_FACT_ESCALATED, p);
}

/* Recomputes every ticket a query lists (its ticket_id column). */
static consumer_result recompute_all(sla *s, consumer_txn *tx, PGresult *res)
{
    for (int i = 0; i < PQntuples(res); i++) {
        char ticket[ID_LEN];
        snprintf(ticket, sizeof ticket, "%s", db_value(res, i, "ticket_id"));
        consumer_result r = recompute(s, tx, ticket);
        if (r != CONSUMER_OK)
            return r;
    }
    return CONSUMER_OK;
}

static consumer_result on_profile_updated(consumer_txn *tx, const event *ev, void *arg)
{
    sla *s = arg;
    const char *seg = event_segment_name(ev->customer_profile_updated->segment);
    if (!seg[0])
        return CONSUMER_OK; /* the segment did not change */
    if (!id_valid(ev->customer_id)) {
        log_write(LOG_WARN, ev_fields(ev), "customer.profile_updated %s has no customer id",
                  ev->event_id);
        return CONSUMER_OK;
    }
    db *d = consumer_txn_db(tx);
    int64_t at;
    int t = ev_time(d, ev, &at);
    if (t != 0)
        return t < 0 ? CONSUMER_RETRY : CONSUMER_SKIP;
    char seq[24], at_s[24];
    const char *p[] = {ev->stream, i64((int64_t)ev->seq, seq), ev->customer_id, i64(at, at_s), seg};
    PGresult *res =
        db_exec(d,
                "WITH i AS (INSERT INTO sla.customer_segments"
                "  (stream, seq, customer_id, at, segment)"
                "  VALUES ($1, $2, $3, " TS(
                    "$4::bigint") ", $5)"
                                  "  ON CONFLICT DO NOTHING)"
                                  " SELECT ticket_id FROM sla.tickets WHERE customer_id = $3"
                                  "  AND (closed_at IS NULL OR closed_at >= " TS("$4::bigint") ")",
                5, p);
    if (!res)
        return CONSUMER_RETRY;
    consumer_result r = recompute_all(s, tx, res);
    PQclear(res);
    return r;
}

static consumer_result on_merged(consumer_txn *tx, const event *ev, void *arg)
{
    sla *s = arg;
    const Carebus__V1__CustomerMerged *m = ev->customer_merged;
    if (!id_valid(m->survivor_id) || !id_valid(m->merged_id))
        return CONSUMER_OK;
    const char *p[] = {m->survivor_id, m->merged_id};
    PGresult *res = db_exec(consumer_txn_db(tx),
                            "UPDATE sla.tickets SET customer_id = $1 WHERE customer_id = $2"
                            " RETURNING ticket_id",
                            2, p);
    if (!res)
        return CONSUMER_RETRY;
    consumer_result r = recompute_all(s, tx, res);
    PQclear(res);
    return r;
}

/* The tickets opened through an unmerged customer's handles are its own
 * again: their targets follow its segment. A merge of tickets needs no
 * handler: the merged one's ticket.closed stops its clocks, and the one
 * that stays goes on (ticket.merged changes neither). */
static consumer_result on_unmerged(consumer_txn *tx, const event *ev, void *arg)
{
    sla *s = arg;
    const Carebus__V1__CustomerUnmerged *u = ev->customer_unmerged;
    if (!id_valid(u->merged_id) || u->n_ticket_ids == 0)
        return CONSUMER_OK;
    const char **valid = calloc(u->n_ticket_ids + 1, sizeof *valid);
    if (!valid)
        return CONSUMER_RETRY;
    size_t n = 0;
    for (size_t i = 0; i < u->n_ticket_ids; i++)
        if (id_valid(u->ticket_ids[i]))
            valid[n++] = u->ticket_ids[i];
    buf ids = BUF_INIT;
    rowset_keys(&ids, valid, n);
    free(valid);
    if (ids.failed) {
        buf_release(&ids);
        return CONSUMER_RETRY;
    }
    const char *p[] = {u->merged_id, buf_str(&ids)};
    PGresult *res = db_exec(consumer_txn_db(tx),
                            "UPDATE sla.tickets SET customer_id = $1"
                            " WHERE ticket_id = ANY($2::uuid[]) RETURNING ticket_id",
                            2, p);
    buf_release(&ids);
    if (!res)
        return CONSUMER_RETRY;
    consumer_result r = recompute_all(s, tx, res);
    PQclear(res);
    return r;
}

/* Our own sla.warning / sla.breach, read back from the log: the claim row
 * (already there on the live path; restored by a rebuild). */
static consumer_result on_sla_event(consumer_txn *tx, const event *ev, void *arg)
{
    sla *s = arg;
    Carebus__V1__SlaTarget target;
    uint32_t cycle;
    const Google__Protobuf__Timestamp *at;
    const char *kind;
    if (ev->body_case == CAREBUS__V1__ENVELOPE__BODY_SLA_WARNING) {
        target = ev->sla_warning->target;
        cycle = ev->sla_warning->cycle;
        at = ev->occurred_at;
        kind = "warning";
    } else {
        target = ev->sla_breach->target;
        cycle = ev->sla_breach->cycle;
        at = ev->sla_breach->due_at ? ev->sla_breach->due_at : ev->occurred_at;
        kind = "breach";
    }
    if (!sla_target_name(target) || !id_valid(ev->ticket_id) || !at) {
        log_write(LOG_WARN, ev_fields(ev), "%s %s is incomplete: ignored", ev->type, ev->event_id);
        return CONSUMER_OK;
    }
    char cy[24], at_s[24];
    const char *p[] = {ev->ticket_id, sla_target_name(target),   i64(cycle, cy), kind,
                       ev->event_id,  i64(event_ts_us(at), at_s)};
    PGresult *res = run(s, tx, ST_CLAIM, p);
    if (!res)
        return CONSUMER_RETRY;
    PQclear(res);
    /* Claimed now or at firing, the target's flags must show it. */
    return recompute(s, tx, ev->ticket_id);
}

/* What sla-monitor reacts to (consumer.h's table shape), from any stream. */
const struct consumer_handler sla_handlers[] = {
    [CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED] = {NULL, on_agent_replied},
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_STATUS_CHANGED] = {NULL, on_status_changed},
    [CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_PROFILE_UPDATED] = {NULL, on_profile_updated},
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_OPENED] = {NULL, on_opened},
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_CONTACT_ADDED] = {NULL, on_contact_added},
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_CLASSIFIED] = {NULL, on_classified},
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_REOPENED] = {NULL, on_reopened},
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_SOLVED] = {NULL, on_solved},
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_CLOSED] = {NULL, on_closed},
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_ESCALATED] = {NULL, on_escalated},
    [CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_MERGED] = {NULL, on_merged},
    [CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_UNMERGED] = {NULL, on_unmerged},
    [CAREBUS__V1__ENVELOPE__BODY_SLA_WARNING] = {NULL, on_sla_event},
    [CAREBUS__V1__ENVELOPE__BODY_SLA_BREACH] = {NULL, on_sla_event},
    /* ticket.transferred is deliberately absent: a transfer keeps the
     * clocks running. */
};
const size_t sla_nhandlers = sizeof sla_handlers / sizeof sla_handlers[0];
