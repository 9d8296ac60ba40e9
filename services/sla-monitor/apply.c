/* apply.c — the consumer's side: ticket events become facts, facts become
 * targets, a batch at a time.
 *
 * Each handler turns its event into a record (record.h: a fact of the
 * ticket, keyed by the log's stream and seq and timed by the event; a
 * customer's segment; a merge; the claim of one of sla's own warnings or
 * breaches). The flush, once per transaction, writes the records
 * set-based, run by run (a large batch's facts by one COPY before them:
 * copy_facts), and then recomputes every ticket they touched
 * from all its facts (recompute.h), once. Recomputing instead of updating
 * is what makes the result independent of the order in which the streams
 * are applied: a catch-up or a rebuild reads them together or one after
 * the other, the live path interleaves them as they come, and all end in
 * the same rows.
 *
 * Nothing is read per event: a segment change finds its customer's
 * tickets, a team's save (its calendar, its SLA policy) the team's open
 * tickets, and a merge or an unmerge the tickets it moves, in the
 * statement that writes them. The tickets recomputed may be more than an event-by-event
 * application would have recomputed at that point (a segment's tickets
 * are filtered by the closes known before the batch); a recomputation of
 * a ticket whose facts did not change writes nothing.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hmap.h"
#include "id.h"
#include "log.h"
#include "partset.h"
#include "recompute.h"
#include "record.h"
#include "rowcopy.h"
#include "sla.h"
#include "stmt.h"

#define EPOCH_US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

/* A run of records: the tickets' customers (the first one named wins,
 * unless the ticket has one: a ticket known with its customer, or without
 * a customer to give it, is left out of the insert by a probe of its
 * row, since the conflict would lock the row for nothing, a WAL record
 * and often a full page image per ticket of the batch), the facts, the
 * segments, the team settings and the claims. The result lists the
 * tickets of the segments' customers that were open at the segment's
 * time, and those of the saved teams open at the save's time (those
 * whose policy may change). A team has many
 * tickets, so PostgreSQL reads sla.tickets whole to find them: only when
 * the run has a team's save (a rare act of an administrator). Each branch
 * runs only when the run has its records (the conditions on $3 and $4,
 * decided once before anything is read: the plan was otherwise free to
 * scan sla.tickets whole, computing each row's partition, for a run
 * without segments, as it did while the table was young, 20-60 ms a batch
 * in the pipeline benchmark). Both are
 * the tickets of the partitions ($6 of them) that took the segments and
 * the saves: $7, every one that took one of the run's (a partition that
 * took none has then its tickets recomputed for nothing: a recomputation
 * whose facts did not change writes nothing). The result also names
 * (claimed) the claims that were new: one already there was inserted
 * with its publication, by the timer that fired it (timers.c), which
 * marked the target row as a recomputation with the claim makes it, or
 * by a transaction that recomputed its ticket then; its ticket needs no
 * recomputation for it (the live path reads each of its warnings and
 * breaches back: without this, one recomputation more per publication;
 * a rebuild inserts them all anew, and recomputes). */
/* clang-format off */
static const char record_tmpl[] =
    "WITH k AS (INSERT INTO sla.tickets AS t ({@tickets.cols})"
    "             SELECT {@tickets.values x} FROM {@tickets.rows $1 x}"
    "              WHERE (SELECT e.customer_id IS NULL AND x.customer_id IS NOT NULL"
    "                       FROM sla.tickets e WHERE e.ticket_id = x.ticket_id) IS NOT FALSE"
    "           ON CONFLICT (ticket_id) DO UPDATE SET customer_id = excluded.customer_id"
    "           WHERE t.customer_id IS NULL AND excluded.customer_id IS NOT NULL),"
    " f AS (INSERT INTO sla.ticket_facts ({@ticket_facts.cols})"
    "         SELECT {@ticket_facts.values x} FROM {@ticket_facts.rows $2 x}"
    "       ON CONFLICT DO NOTHING),"
    " s AS (INSERT INTO sla.customer_segments ({@customer_segments.cols})"
    "         SELECT {@customer_segments.values x} FROM {@customer_segments.rows $3 x}"
    "       ON CONFLICT DO NOTHING),"
    " ts AS (INSERT INTO sla.team_settings ({@team_settings.cols})"
    "         SELECT {@team_settings.values x} FROM {@team_settings.rows $4 x}"
    "       ON CONFLICT DO NOTHING),"
    " c AS (INSERT INTO sla.emitted ({@emitted.cols})"
    "         SELECT {@emitted.values x} FROM {@emitted.rows $5 x}"
    "       ON CONFLICT DO NOTHING RETURNING event_id)"
    " SELECT NULL::uuid AS ticket_id, c.event_id AS claimed FROM c"
    " UNION"
    " SELECT k.ticket_id, NULL FROM sla.tickets k"
    "   JOIN {@customer_segments.rows $3 y} ON k.customer_id = y.customer_id"
    "  WHERE json_array_length($3::json) > 0 AND (k.closed_at IS NULL OR k.closed_at >= y.at)"
    "    AND eventlog.part_of(k.ticket_id, $6::int) = ANY($7::int[])"
    " UNION"
    " SELECT k.ticket_id, NULL FROM sla.tickets k"
    "   JOIN {@team_settings.rows $4 y} ON k.team = y.team_id"
    "  WHERE json_array_length($4::json) > 0 AND (k.closed_at IS NULL OR k.closed_at >= y.at)"
    "    AND eventlog.part_of(k.ticket_id, $6::int) = ANY($7::int[])";
/* clang-format on */
/* A merge or an unmerge moves the tickets of the partitions that took it
 * ($3 partitions, those $4): every partition applies it to its own
 * (sla_part_of), the partitions of a round in one run of the statement. */
#define MERGE_SQL                                                                                  \
    "UPDATE sla.tickets SET customer_id = $1 WHERE customer_id = $2"                               \
    " AND eventlog.part_of(ticket_id, $3::int) = ANY($4::int[]) RETURNING ticket_id"
#define UNMERGE_SQL                                                                                \
    "UPDATE sla.tickets SET customer_id = $1 WHERE ticket_id = ANY($2::uuid[])"                    \
    " AND eventlog.part_of(ticket_id, $3::int) = ANY($4::int[]) RETURNING ticket_id"

/* The run statement, expanded once from the records' descriptions. */
static const char *record_sql(void)
{
    static char *text;
    if (text)
        return text;
    static const rowset_table *const tables[] = {&sla_record_tickets, &sla_record_facts,
                                                 &sla_record_segments, &sla_record_teams,
                                                 &sla_record_claims};
    buf b = BUF_INIT;
    if (rowset_sql_tables(tables, sizeof tables / sizeof tables[0], record_tmpl, &b) != 0) {
        buf_release(&b);
        return NULL;
    }
    return text = buf_detach(&b, NULL);
}

static json_t *ev_fields(const event *ev)
{
    return json_pack("{s:s, s:s, s:s, s:I}", "event_id", ev->event_id ? ev->event_id : "", "type",
                     ev->type ? ev->type : "", "stream", ev->stream ? ev->stream : "", "seq",
                     (json_int_t)ev->seq);
}

/* The event's time: occurred_at, else recorded_at, else the log's (the same
 * expression as eventlog_read's). 0, 1 when unknown, -1 on error. Every
 * event read from the log or the bus has its recorded_at: the query is
 * for a hand-made one only. */
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

/* --- staging ------------------------------------------------------------------------ */

/* An event of every partition (sla_part_of) is one record for all the
 * partitions of the batch that take it: a round applies it by each in
 * turn (consumer_apply_round), the first stages it, the others add their
 * own to its partitions. true when ev was staged already, this
 * partition now added (*rc: CONSUMER_OK, or CONSUMER_RETRY out of
 * memory); false when the handler stages it (then staged_for). */
static bool staged_again(sla *s, consumer_txn *tx, const event *ev, consumer_result *rc)
{
    struct sla_record *x = sla_records_again(&s->batch, ev->stream, ev->seq);
    if (!x)
        return false;
    *rc = sla_records_part(&s->batch, x, consumer_txn_part(tx, NULL)) == 0 ? CONSUMER_OK
                                                                           : CONSUMER_RETRY;
    return true;
}

/* The partition whose handler staged x (the last record) acts on its own. */
static consumer_result staged_for(sla *s, consumer_txn *tx, struct sla_record *x)
{
    return sla_records_part(&s->batch, x, consumer_txn_part(tx, NULL)) == 0 ? CONSUMER_OK
                                                                            : CONSUMER_RETRY;
}

/* Records a fact of ev's ticket (team: kind team's, else NULL). */
static consumer_result ticket_fact(sla *s, consumer_txn *tx, const event *ev,
                                   enum sla_fact_kind kind, const char *priority, const char *team)
{
    if (!id_valid(ev->ticket_id)) {
        log_write(LOG_WARN, ev_fields(ev), "%s %s has no valid ticket id: ignored for SLAs",
                  ev->type, ev->event_id);
        return CONSUMER_OK;
    }
    int64_t at;
    int t = ev_time(consumer_txn_db(tx), ev, &at);
    if (t < 0)
        return CONSUMER_RETRY;
    if (t > 0) {
        log_write(LOG_WARN, ev_fields(ev), "%s %s has no time and is not in the log", ev->type,
                  ev->event_id);
        return CONSUMER_SKIP;
    }
    struct sla_record *x = sla_records_add(&s->batch);
    if (!x)
        return CONSUMER_RETRY;
    x->kind = SLA_REC_FACT;
    x->stream = ev->stream;
    x->seq = ev->seq;
    x->event_id = ev->event_id;
    snprintf(x->ticket, ID_LEN, "%s", ev->ticket_id);
    if (id_valid(ev->customer_id))
        snprintf(x->customer, ID_LEN, "%s", ev->customer_id);
    x->at = at;
    x->fact = kind;
    x->priority = priority;
    x->team = team;
    return CONSUMER_OK;
}

static consumer_result on_opened(consumer_txn *tx, const event *ev, void *arg)
{
    return ticket_fact(arg, tx, ev, SLA_FACT_OPENED, NULL, NULL);
}

static consumer_result on_contact_added(consumer_txn *tx, const event *ev, void *arg)
{
    return ticket_fact(arg, tx, ev, SLA_FACT_CUSTOMER, NULL, NULL);
}

static consumer_result on_agent_replied(consumer_txn *tx, const event *ev, void *arg)
{
    /* An internal note is not an answer to the customer. */
    if (ev->agent_replied->internal_note)
        return CONSUMER_OK;
    return ticket_fact(arg, tx, ev, SLA_FACT_REPLY, NULL, NULL);
}

static consumer_result on_status_changed(consumer_txn *tx, const event *ev, void *arg)
{
    switch (ev->ticket_status_changed->status) {
    case CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_OPEN:
        return ticket_fact(arg, tx, ev, SLA_FACT_OPEN, NULL, NULL);
    case CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_PENDING:
        return ticket_fact(arg, tx, ev, SLA_FACT_PENDING, NULL, NULL);
    case CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_SOLVED:
        return ticket_fact(arg, tx, ev, SLA_FACT_SOLVED, NULL, NULL);
    case CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_CLOSED:
        return ticket_fact(arg, tx, ev, SLA_FACT_CLOSED, NULL, NULL);
    default:
        return CONSUMER_OK;
    }
}

static consumer_result on_solved(consumer_txn *tx, const event *ev, void *arg)
{
    return ticket_fact(arg, tx, ev, SLA_FACT_SOLVED, NULL, NULL);
}

static consumer_result on_closed(consumer_txn *tx, const event *ev, void *arg)
{
    return ticket_fact(arg, tx, ev, SLA_FACT_CLOSED, NULL, NULL);
}

static consumer_result on_reopened(consumer_txn *tx, const event *ev, void *arg)
{
    return ticket_fact(arg, tx, ev, SLA_FACT_REOPENED, NULL, NULL);
}

static consumer_result on_classified(consumer_txn *tx, const event *ev, void *arg)
{
    const char *p = event_priority_name(ev->ticket_classified->priority);
    if (!p[0])
        return CONSUMER_OK;
    return ticket_fact(arg, tx, ev, SLA_FACT_CLASSIFIED, p, NULL);
}

static consumer_result on_escalated(consumer_txn *tx, const event *ev, void *arg)
{
    const char *p = event_priority_name(ev->ticket_escalated->priority);
    if (!p[0])
        return CONSUMER_OK;
    return ticket_fact(arg, tx, ev, SLA_FACT_ESCALATED, p, NULL);
}

/* The team a ticket went to: its policy may be the team's (policy.h). A
 * router fact without a team leaves the ticket's as it was. */
static consumer_result team_fact(consumer_txn *tx, const event *ev, void *arg, const char *team)
{
    if (!team || !team[0])
        return CONSUMER_OK;
    return ticket_fact(arg, tx, ev, SLA_FACT_TEAM, NULL, team);
}

static consumer_result on_assigned(consumer_txn *tx, const event *ev, void *arg)
{
    return team_fact(tx, ev, arg, ev->ticket_assigned->team);
}

static consumer_result on_queued(consumer_txn *tx, const event *ev, void *arg)
{
    return team_fact(tx, ev, arg, ev->ticket_queued->team);
}

static consumer_result on_transferred(consumer_txn *tx, const event *ev, void *arg)
{
    return team_fact(tx, ev, arg, ev->ticket_transferred->to_team);
}

static consumer_result on_unassigned(consumer_txn *tx, const event *ev, void *arg)
{
    return team_fact(tx, ev, arg, ev->ticket_unassigned->team);
}

/* Does the save set this field (a PATCH names it in update_mask; a POST
 * sets them all)? */
static bool team_sets(const Carebus__V1__TeamSaved *t, const char *field)
{
    if (t->n_update_mask == 0)
        return true;
    for (size_t i = 0; i < t->n_update_mask; i++)
        if (t->update_mask[i] && strcmp(t->update_mask[i], field) == 0)
            return true;
    return false;
}

/* A team's calendar and SLA policy (the request: the router keeps the team,
 * sla-monitor what selects its tickets' policy). */
static consumer_result on_team_saved(consumer_txn *tx, const event *ev, void *arg)
{
    sla *s = arg;
    consumer_result again;
    if (staged_again(s, tx, ev, &again))
        return again;
    const Carebus__V1__TeamSaved *t = ev->team_saved;
    bool cal = team_sets(t, "calendar"), pol = team_sets(t, "sla_policy");
    if (!t->team_id || !t->team_id[0] || !(cal || pol))
        return CONSUMER_OK;
    int64_t at;
    int r = ev_time(consumer_txn_db(tx), ev, &at);
    if (r != 0)
        return r < 0 ? CONSUMER_RETRY : CONSUMER_SKIP;
    struct sla_record *x = sla_records_add(&s->batch);
    if (!x)
        return CONSUMER_RETRY;
    x->kind = SLA_REC_TEAM;
    x->stream = ev->stream;
    x->seq = ev->seq;
    x->event_id = ev->event_id;
    x->at = at;
    x->team = t->team_id;
    x->sets_calendar = cal;
    x->calendar = cal && t->calendar && t->calendar[0] ? t->calendar : NULL;
    x->sets_policy = pol;
    x->policy = pol && t->sla_policy && t->sla_policy[0] ? t->sla_policy : NULL;
    return staged_for(s, tx, x);
}

static consumer_result on_profile_updated(consumer_txn *tx, const event *ev, void *arg)
{
    sla *s = arg;
    consumer_result again;
    if (staged_again(s, tx, ev, &again))
        return again;
    const char *seg = event_segment_name(ev->customer_profile_updated->segment);
    if (!seg[0])
        return CONSUMER_OK; /* the segment did not change */
    if (!id_valid(ev->customer_id)) {
        log_write(LOG_WARN, ev_fields(ev), "customer.profile_updated %s has no customer id",
                  ev->event_id);
        return CONSUMER_OK;
    }
    int64_t at;
    int t = ev_time(consumer_txn_db(tx), ev, &at);
    if (t != 0)
        return t < 0 ? CONSUMER_RETRY : CONSUMER_SKIP;
    struct sla_record *x = sla_records_add(&s->batch);
    if (!x)
        return CONSUMER_RETRY;
    x->kind = SLA_REC_SEGMENT;
    x->stream = ev->stream;
    x->seq = ev->seq;
    x->event_id = ev->event_id;
    snprintf(x->customer, ID_LEN, "%s", ev->customer_id);
    x->at = at;
    x->segment = seg;
    return staged_for(s, tx, x);
}

static consumer_result on_merged(consumer_txn *tx, const event *ev, void *arg)
{
    sla *s = arg;
    consumer_result again;
    if (staged_again(s, tx, ev, &again))
        return again;
    const Carebus__V1__CustomerMerged *m = ev->customer_merged;
    if (!id_valid(m->survivor_id) || !id_valid(m->merged_id))
        return CONSUMER_OK;
    struct sla_record *x = sla_records_add(&s->batch);
    if (!x)
        return CONSUMER_RETRY;
    x->kind = SLA_REC_MERGE;
    x->stream = ev->stream;
    x->seq = ev->seq;
    x->event_id = ev->event_id;
    snprintf(x->into, ID_LEN, "%s", m->survivor_id);
    snprintf(x->customer, ID_LEN, "%s", m->merged_id);
    return staged_for(s, tx, x);
}

/* The tickets opened through an unmerged customer's handles are its own
 * again: their targets follow its segment. A merge of tickets needs no
 * handler: the merged one's ticket.closed stops its clocks, and the one
 * that stays goes on (ticket.merged changes neither). */
static consumer_result on_unmerged(consumer_txn *tx, const event *ev, void *arg)
{
    sla *s = arg;
    consumer_result again;
    if (staged_again(s, tx, ev, &again))
        return again;
    const Carebus__V1__CustomerUnmerged *u = ev->customer_unmerged;
    if (!id_valid(u->merged_id) || u->n_ticket_ids == 0)
        return CONSUMER_OK;
    struct sla_record *x = sla_records_add(&s->batch);
    if (!x)
        return CONSUMER_RETRY;
    x->kind = SLA_REC_UNMERGE;
    x->stream = ev->stream;
    x->seq = ev->seq;
    x->event_id = ev->event_id;
    snprintf(x->customer, ID_LEN, "%s", u->merged_id);
    x->tickets = u->ticket_ids;
    x->ntickets = u->n_ticket_ids;
    return staged_for(s, tx, x);
}

/* Our own sla.warning / sla.breach, read back from the log: the claim row
 * (already there on the live path; restored by a rebuild). */
static consumer_result on_sla_event(consumer_txn *tx, const event *ev, void *arg)
{
    (void)tx;
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
    struct sla_record *x = sla_records_add(&s->batch);
    if (!x)
        return CONSUMER_RETRY;
    x->kind = SLA_REC_CLAIM;
    x->stream = ev->stream;
    x->seq = ev->seq;
    x->event_id = ev->event_id;
    snprintf(x->ticket, ID_LEN, "%s", ev->ticket_id);
    x->target = target;
    x->cycle = cycle;
    x->claim = kind;
    x->at = event_ts_us(at);
    return CONSUMER_OK;
}

/* --- the flush ---------------------------------------------------------------------- */

/* The tickets to recompute, distinct, each with the last event of the
 * batch about it (the cause of a late breach it publishes). */
struct touched {
    char (*ids)[ID_LEN];
    const char **cause;
    size_t n, cap;
    hmap ix;
};

static int touched_add(struct touched *t, const char *ticket, const char *cause)
{
    int k = hmap_gets(&t->ix, ticket);
    if (k != HMAP_ABSENT) {
        if (cause)
            t->cause[k] = cause;
        return 0;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        char(*ids)[ID_LEN] = realloc(t->ids, cap * sizeof *ids);
        if (!ids)
            return -1;
        t->ids = ids;
        const char **cs = realloc(t->cause, cap * sizeof *cs);
        if (!cs)
            return -1;
        t->cause = cs;
        t->cap = cap;
        /* The map points into the ids: rebuilt where they moved. */
        hmap_release(&t->ix);
        for (size_t i = 0; i < t->n; i++)
            if (hmap_puts(&t->ix, t->ids[i], (int)i) != 0)
                return -1;
    }
    snprintf(t->ids[t->n], ID_LEN, "%s", ticket);
    t->cause[t->n] = cause;
    if (hmap_puts(&t->ix, t->ids[t->n], (int)t->n) != 0)
        return -1;
    t->n++;
    return 0;
}

static void touched_release(struct touched *t)
{
    free(t->ids);
    free(t->cause);
    hmap_release(&t->ix);
}

static const char *touched_cause(void *arg, const char *ticket)
{
    const struct touched *t = arg;
    int k = hmap_gets(&t->ix, ticket);
    return k == HMAP_ABSENT ? NULL : t->cause[k];
}

/* Adds the ticket_id column of res to t (no cause of its own). */
static int touched_from(struct touched *t, const PGresult *res)
{
    for (int i = 0; i < PQntuples(res); i++)
        if (touched_add(t, db_value(res, i, "ticket_id"), NULL) != 0)
            return -1;
    return 0;
}

/* The tickets a run (records [from, to)) touched, from the run
 * statement's result: those of its facts and of its new claims, each
 * with its last record's event as the cause, in the run's order, then
 * those of its segments and team saves. */
static int touched_run(sla *s, size_t from, size_t to, const PGresult *res, struct touched *t)
{
    hmap claimed = HMAP_INIT;
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        const char *id = db_value(res, i, "claimed");
        if (id)
            rc = hmap_puts(&claimed, id, 1);
    }
    for (size_t i = from; i < to && rc == 0; i++) {
        const struct sla_record *x = &s->batch.v[i];
        if (x->kind == SLA_REC_FACT ||
            (x->kind == SLA_REC_CLAIM && hmap_gets(&claimed, x->event_id) != HMAP_ABSENT))
            rc = touched_add(t, x->ticket, x->event_id);
    }
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        const char *id = db_value(res, i, "ticket_id");
        if (id)
            rc = touched_add(t, id, NULL);
    }
    hmap_release(&claimed);
    return rc;
}

/* The number of partitions and those records[from, to) act on, as
 * statement parameters (buf_str(&parts); parts.failed when out of
 * memory). */
struct txn_parts {
    char nparts[12];
    buf parts;
};

static void txn_parts_of(sla *s, const consumer_txn *tx, size_t from, size_t to,
                         struct txn_parts *tp)
{
    int n;
    consumer_txn_part(tx, &n);
    snprintf(tp->nparts, sizeof tp->nparts, "%d", n);
    tp->parts = (buf)BUF_INIT;
    sla_records_parts_sql(&s->batch, from, to, &tp->parts);
}

/* Writes records [from, to), a run without merges, set-based; its facts
 * unless the batch's were copied already (copied: copy_facts). */
static int write_run(sla *s, consumer_txn *tx, size_t from, size_t to, bool copied,
                     struct touched *t)
{
    rowset w[5];
    rowset_init(&w[0], &sla_record_tickets, NULL);
    rowset_init(&w[1], &sla_record_facts, NULL);
    rowset_init(&w[2], &sla_record_segments, NULL);
    rowset_init(&w[3], &sla_record_teams, NULL);
    rowset_init(&w[4], &sla_record_claims, NULL);
    int rc = sla_records_tickets(&s->batch, from, to, &w[0]);
    for (size_t i = from; i < to && rc == 0; i++) {
        const struct sla_record *x = &s->batch.v[i];
        if (x->kind == SLA_REC_FACT && !copied)
            rowset_add(&w[1], x);
        else if (x->kind == SLA_REC_SEGMENT)
            rowset_add(&w[2], x);
        else if (x->kind == SLA_REC_TEAM)
            rowset_add(&w[3], x);
        else if (x->kind == SLA_REC_CLAIM)
            rowset_add(&w[4], x);
    }
    struct txn_parts tp;
    txn_parts_of(s, tx, from, to, &tp);
    const char *params[] = {rowset_json(&w[0]), rowset_json(&w[1]), rowset_json(&w[2]),
                            rowset_json(&w[3]), rowset_json(&w[4]), tp.nparts,
                            buf_str(&tp.parts)};
    struct sla_stmt st = {"sla_record", record_sql(), 7};
    PGresult *res = NULL;
    if (rc == 0 && st.sql && params[0] && params[1] && params[2] && params[3] && params[4] &&
        !tp.parts.failed)
        res = sla_stmt_exec(&s->stmts, consumer_txn_db(tx), SLA_ST_RECORD, &st, params);
    rc = res ? touched_run(s, from, to, res, t) : -1;
    PQclear(res);
    buf_release(&tp.parts);
    for (int i = 0; i < 5; i++)
        rowset_release(&w[i]);
    return rc;
}

/* Moves the merged customer's tickets (record i) to the survivor. */
static int write_merge(sla *s, consumer_txn *tx, size_t i, struct touched *t)
{
    const struct sla_record *x = &s->batch.v[i];
    struct txn_parts tp;
    txn_parts_of(s, tx, i, i + 1, &tp);
    const char *params[] = {x->into, x->customer, tp.nparts, buf_str(&tp.parts)};
    struct sla_stmt st = {"sla_merge", MERGE_SQL, 4};
    PGresult *res = tp.parts.failed
                        ? NULL
                        : sla_stmt_exec(&s->stmts, consumer_txn_db(tx), SLA_ST_MERGE, &st, params);
    buf_release(&tp.parts);
    int rc = res ? touched_from(t, res) : -1;
    PQclear(res);
    return rc;
}

/* Gives an unmerged customer (record i) its tickets back (those with
 * valid ids). */
static int write_unmerge(sla *s, consumer_txn *tx, size_t i, struct touched *t)
{
    const struct sla_record *x = &s->batch.v[i];
    const char **valid = calloc(x->ntickets + 1, sizeof *valid);
    if (!valid)
        return -1;
    size_t n = 0;
    for (size_t k = 0; k < x->ntickets; k++)
        if (id_valid(x->tickets[k]))
            valid[n++] = x->tickets[k];
    buf ids = BUF_INIT;
    rowset_keys(&ids, valid, n);
    free(valid);
    struct txn_parts tp;
    txn_parts_of(s, tx, i, i + 1, &tp);
    const char *params[] = {x->customer, buf_str(&ids), tp.nparts, buf_str(&tp.parts)};
    struct sla_stmt st = {"sla_unmerge", UNMERGE_SQL, 4};
    PGresult *res = ids.failed || tp.parts.failed ? NULL
                                                  : sla_stmt_exec(&s->stmts, consumer_txn_db(tx),
                                                                  SLA_ST_UNMERGE, &st, params);
    buf_release(&ids);
    buf_release(&tp.parts);
    int rc = res ? touched_from(t, res) : -1;
    PQclear(res);
    return rc;
}

/* A batch of FACTS_COPY_MIN facts or more (a catch-up's, a rebuild's)
 * sends them by COPY into sla.ticket_facts itself (rowcopy.h): the run
 * statement's JSON took as long to parse as the rows to insert (json_to_recordset
 * builds a hash table per object), and COPY inserts them in multi-row
 * batches. A fact is a log event's, applied once (its offset commits with
 * it), so none is there already; were one there (offsets moved back by
 * hand, a count of partitions set without a rebuild), the COPY fails and
 * is rolled back to the savepoint before it, and the run statements write
 * the batch's facts through their insert, which leaves a fact already
 * there alone: a replay stays set-based. A smaller batch (the live
 * path's) saves the COPY's round trips. 1 when they were copied, 0 when
 * the run statements write them, -1 on a failure of the transaction. */
#define FACTS_COPY_MIN 64
static int copy_facts(sla *s, consumer_txn *tx)
{
    size_t n = 0;
    for (size_t i = 0; i < s->batch.n; i++)
        n += s->batch.v[i].kind == SLA_REC_FACT;
    if (n < FACTS_COPY_MIN)
        return 0;
    db *d = consumer_txn_db(tx);
    PGconn *conn = db_conn(d);
    if (!conn)
        return -1;
    if (db_command(d, "SAVEPOINT sla_facts_copy", 0, NULL) != 0)
        return -1;
    rowcopy cp;
    rowcopy_begin(&cp, conn, &sla_record_facts, NULL, NULL);
    for (size_t i = 0; i < s->batch.n; i++)
        if (s->batch.v[i].kind == SLA_REC_FACT)
            rowcopy_row(&cp, &s->batch.v[i]);
    if (rowcopy_end(&cp) == 0)
        return 1;
    if (PQstatus(conn) == CONNECTION_BAD) {
        db_mark_down(d);
        return -1;
    }
    if (db_command(d, "ROLLBACK TO SAVEPOINT sla_facts_copy", 0, NULL) != 0)
        return -1;
    log_warn("sla-monitor: %zu facts could not be copied (some there already?): inserted "
             "where missing instead",
             n);
    return 0;
}

static consumer_result sla_flush(consumer_txn *tx, void *arg)
{
    sla *s = arg;
    struct touched t = {0};
    consumer_result rc = CONSUMER_RETRY;
    /* The batch need not wait for its WAL to reach the disk (as the
     * router's): a commit lost to a crash of PostgreSQL takes its offsets
     * with it, and the replay derives the very same rows and event ids;
     * whoever acted on its published events and committed has flushed it
     * too (the WAL is one sequence). The timers' claims stay synchronous.
     * And the statements (stmt.h) are planned for their keys, every
     * batch: a generic plan, made once a session after five runs, takes
     * the tables' sizes of that moment, and a service that starts on a
     * young database (empty tables, not analyzed yet) would scan sla.tickets
     * and sla.targets whole, comparing each row with every key, for every
     * batch after, as they grow (the live path's batches are small: the
     * scans, not the keys, then cost the most). */
    if (db_command(consumer_txn_db(tx),
                   "SELECT set_config('synchronous_commit', 'off', true),"
                   " set_config('plan_cache_mode', 'force_custom_plan', true)",
                   0, NULL) != 0)
        goto out;
    int copied = copy_facts(s, tx);
    if (copied < 0)
        goto out;
    for (size_t i = 0; i < s->batch.n;) {
        size_t end = sla_records_run_end(&s->batch, i);
        const struct sla_record *x = &s->batch.v[i];
        int w = x->kind == SLA_REC_MERGE     ? write_merge(s, tx, i, &t)
                : x->kind == SLA_REC_UNMERGE ? write_unmerge(s, tx, i, &t)
                                             : write_run(s, tx, i, end, copied, &t);
        if (w != 0)
            goto out;
        i = end;
    }
    const char **ids = malloc((t.n ? t.n : 1) * sizeof *ids);
    if (!ids)
        goto out;
    for (size_t i = 0; i < t.n; i++)
        ids[i] = t.ids[i];
    rc = sla_recompute(s, tx, ids, t.n, touched_cause, &t);
    free(ids);
out:
    touched_release(&t);
    sla_records_clear(&s->batch);
    return rc;
}

/* Whatever the outcome, the batch's records go (they point into its
 * events). */
static void sla_done(bool committed, void *arg)
{
    (void)committed;
    sla *s = arg;
    sla_records_clear(&s->batch);
}

int sla_part_of(const event *ev, int nparts, void *arg)
{
    (void)arg;
    switch (ev->body_case) {
    case CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_PROFILE_UPDATED:
    case CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_MERGED:
    case CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_UNMERGED:
    case CAREBUS__V1__ENVELOPE__BODY_TEAM_SAVED:
        /* About many tickets: each partition's own (the flush's
         * statements filter by the partitions that took it, its record
         * listing them: sla_records_part; their rows of customers and
         * teams are inserted idempotently). */
        return CONSUMER_PART_ALL;
    default:;
        /* The id's partition, as eventlog.part_of computes it, without
         * parsing it whole (every partition of a round asks, for every
         * event read: id_valid's uuid_parse was a tenth of the service's
         * time in a catch-up). Without a ticket, or one whose id has no
         * partition: the first partition alone. An id with a partition but
         * invalid elsewhere goes to that partition: its handler logs it
         * and ignores it there, as it would have in the first. */
        int p = partset_of(ev->ticket_id, nparts);
        return p < 0 ? 0 : p;
    }
}

void sla_attach(sla *s, consumer *c)
{
    (void)s; /* the handlers' argument already */
    consumer_set_flush(c, sla_flush);
    consumer_set_done(c, sla_done);
    consumer_set_batch(c, SLA_BATCH, SLA_LINGER_MS);
    /* A ticket's facts come on two streams: caught up together, a batch
     * recomputes it once rather than once per stream. */
    consumer_set_together(c, true);
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
    /* A ticket's team, and a team's settings: they may select its policy
     * (policy.h). A transfer keeps the clocks running. */
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_ASSIGNED] = {NULL, on_assigned},
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_QUEUED] = {NULL, on_queued},
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_TRANSFERRED] = {NULL, on_transferred},
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_UNASSIGNED] = {NULL, on_unassigned},
    [CAREBUS__V1__ENVELOPE__BODY_TEAM_SAVED] = {NULL, on_team_saved},
};
const size_t sla_nhandlers = sizeof sla_handlers / sizeof sla_handlers[0];
