/* stage.c — the survey consumer's batch: runs of one kind, set-based.
 *
 * The handlers (apply.c) stage an event rather than write it. Consecutive
 * events of one kind (triggers, reopens, survey.requested, survey.answered)
 * form a run, written by a few statements for the whole run when an event
 * of another kind comes (or a per-event handler: merges, erasures) and at
 * the end of the transaction (the consumer's flush function). Runs keep
 * the log's order between kinds: a reopen deletes the survey that a
 * trigger before it scheduled, as one event at a time did.
 *
 * Within a run the statements do what the events did in order. A trigger
 * run reads every ticket and customer it needs at once, then decides each
 * event in order in memory: one survey per ticket (also one scheduled
 * earlier in the run), the cooldown seeing the surveys scheduled earlier in
 * the run. Requested and answered runs keep each survey's first event:
 * one at a time, the later ones changed nothing (their WHERE excluded the
 * row), and one statement may not touch a row twice.
 *
 * The staged events are the consumer's, borrowed until its commit or
 * rollback; a rollback drops the run (survey_stage_done).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "hmap.h"
#include "id.h"
#include "lang.h"
#include "log.h"
#include "metrics.h"
#include "rowset.h"
#include "survey.h"
#include "timeutil.h"

#define US_PER_S INT64_C(1000000)

/* --- the rows written ------------------------------------------------------------- */

/* A survey's row, described once: a trigger schedules it with the columns
 * SURVEY_SCHEDULED, a survey.requested writes them all. */
struct survey_row {
    char id[ID_LEN], ticket_id[ID_LEN], customer_id[ID_LEN], trigger_event_id[ID_LEN];
    char requested_event_id[ID_LEN];
    int64_t due_at, expires_at;
    const char *channel, *handle, *language, *link, *text;
};

#define R(f) ROWSET_AT(struct survey_row, f)
static const struct rowset_col survey_cols[] = {
    {"id", "uuid", ROWSET_ID, R(id)},
    {"ticket_id", "uuid", ROWSET_ID, R(ticket_id)},
    {"customer_id", "uuid", ROWSET_ID, R(customer_id)},
    {"trigger_event_id", "uuid", ROWSET_ID, R(trigger_event_id)},
    {"due_at", "timestamptz", ROWSET_TIME, R(due_at), .none = 0},
    {"expires_at", "timestamptz", ROWSET_TIME, R(expires_at), .none = 0},
    {"channel", "text", ROWSET_STR, R(channel)},
    {"handle", "text", ROWSET_STR, R(handle)},
    {"language", "text", ROWSET_STR, R(language)},
    {"link", "text", ROWSET_STR, R(link)},
    {"text", "text", ROWSET_STR, R(text)},
    {"requested_event_id", "uuid", ROWSET_ID, R(requested_event_id)},
};
#undef R
static const rowset_table survey_table = {"survey.surveys", survey_cols,
                                          ROWSET_COUNT(survey_cols), NULL};

#define SURVEY_SCHEDULED                                                                           \
    "id,ticket_id,customer_id,trigger_event_id,due_at,expires_at,channel,handle,language"
static rowset_stmt sched_sql =
    ROWSET_STMT(survey_table, "INSERT INTO survey.surveys ({@cols " SURVEY_SCHEDULED "}, status)"
                              " SELECT {@values x " SURVEY_SCHEDULED "}, 'scheduled'"
                              " FROM {@rows $1 x " SURVEY_SCHEDULED "} ON CONFLICT DO NOTHING");

struct reopen_row {
    char ticket_id[ID_LEN];
    int64_t at;
};

static const struct rowset_col reopen_cols[] = {
    {"ticket_id", "uuid", ROWSET_ID, ROWSET_AT(struct reopen_row, ticket_id)},
    {"at", "timestamptz", ROWSET_TIME, ROWSET_AT(struct reopen_row, at), .none = 0},
};
static const rowset_table reopen_table = {"reopens", reopen_cols,
                                          ROWSET_COUNT(reopen_cols), NULL};

/* A survey still waiting is cancelled by a reopen before it fell due. */
static rowset_stmt reopen_sql = ROWSET_STMT(
    reopen_table, "DELETE FROM survey.surveys s USING {@rows $1 x}"
                  " WHERE s.ticket_id = x.ticket_id AND s.status = 'scheduled'"
                  " AND s.due_at > x.at");

/* The event is the truth about a requested survey: it overwrites a row the
 * router's stream scheduled (same id), but for the customer, which a
 * customer.merged applied since may have moved to the survivor. */
static rowset_stmt req_sql = ROWSET_STMT(
    survey_table,
    "INSERT INTO survey.surveys AS s ({@cols}, status, requested_at)"
    " SELECT {@values x}, 'requested', x.due_at FROM {@rows $1 x}"
    " ON CONFLICT (id) DO UPDATE SET status = 'requested', requested_at = EXCLUDED.requested_at,"
    " {@set EXCLUDED due_at,trigger_event_id,expires_at,channel,handle,language,link,text,"
    "requested_event_id}"
    " WHERE s.status = 'scheduled'");

struct answer_row {
    char survey_id[ID_LEN], event_id[ID_LEN];
    int csat, ces; /* 0: none */
    const char *comment;
    int64_t answered_at;
};

#define R(f) ROWSET_AT(struct answer_row, f)
static const struct rowset_col answer_cols[] = {
    {"survey_id", "uuid", ROWSET_ID, R(survey_id)},
    {"csat", "smallint", ROWSET_INT, R(csat), .none = 0, .flags = ROWSET_NULLABLE},
    {"ces", "smallint", ROWSET_INT, R(ces), .none = 0, .flags = ROWSET_NULLABLE},
    {"comment", "text", ROWSET_STR, R(comment)},
    {"answered_at", "timestamptz", ROWSET_TIME, R(answered_at), .none = 0},
    {"event_id", "uuid", ROWSET_ID, R(event_id)},
};
#undef R
static const rowset_table answer_table = {"survey.answers", answer_cols,
                                          ROWSET_COUNT(answer_cols), NULL};

/* The answer is stored for a survey that exists; the survey is answered
 * at its (first) answer's time. */
static rowset_stmt answer_sql = ROWSET_STMT(
    answer_table,
    "WITH x AS (SELECT * FROM {@rows $1 x}),"
    " a AS (INSERT INTO survey.answers ({@cols}) SELECT {@values x} FROM x"
    "  WHERE EXISTS (SELECT 1 FROM survey.surveys v WHERE v.id = x.survey_id)"
    "  ON CONFLICT DO NOTHING)"
    " UPDATE survey.surveys s SET status = 'answered', answered_at = x.answered_at FROM x"
    " WHERE s.id = x.survey_id AND s.status <> 'answered'");

/* --- what a trigger run reads ------------------------------------------------------------- */

/* Every ticket of the run: whether it has a survey, and what the survey is
 * made of (the customer's last inbound channel, their last words). */
#define SQL_TICKETS                                                                                \
    "SELECT x.ticket_id::text AS ticket_id, t.id IS NOT NULL AS known,"                            \
    " EXISTS (SELECT 1 FROM survey.surveys s WHERE s.ticket_id = x.ticket_id) AS surveyed,"        \
    " t.customer_id, t.channel,"                                                                   \
    " (SELECT m.channel FROM router.messages m WHERE m.ticket_id = t.id AND m.direction = 'in'"    \
    "   ORDER BY m.at DESC, m.seq DESC LIMIT 1) AS last_channel,"                                  \
    " (SELECT string_agg(concat_ws(' ', w.subject, w.text), ' ') FROM"                            \
    "   (SELECT m.subject, m.text FROM router.messages m"                                          \
    "     WHERE m.ticket_id = t.id AND m.direction = 'in'"                                         \
    "     ORDER BY m.at DESC, m.seq DESC LIMIT 5) w) AS words"                                     \
    " FROM unnest($1::uuid[]) AS x(ticket_id) LEFT JOIN router.tickets t ON t.id = x.ticket_id"

/* Every customer's identities, each customer's rows together, in the
 * order pick_handle prefers them. */
#define SQL_IDENTITIES                                                                             \
    "SELECT customer_id::text AS customer_id, kind, value FROM router.identities"                  \
    " WHERE customer_id = ANY($1::uuid[]) ORDER BY customer_id, created_at, kind, value"

/* Every customer's latest survey (for the cooldown). */
#define SQL_LATEST                                                                                 \
    "SELECT customer_id::text AS customer_id,"                                                     \
    " (extract(epoch FROM max(due_at)) * 1000000)::bigint AS due_us FROM survey.surveys"           \
    " WHERE customer_id = ANY($1::uuid[]) GROUP BY customer_id"

/* The time the log recorded the event (set on every event a consumer
 * sees), else its occurred_at; 0 if neither. */
int64_t survey_event_time_us(const event *ev)
{
    if (ev->recorded_at)
        return event_ts_us(ev->recorded_at);
    if (ev->occurred_at)
        return event_ts_us(ev->occurred_at);
    return 0;
}

/* Ids as PostgreSQL compares uuids: an event's may be in capitals, a
 * result's never is. */
static uint64_t uuid_hash(const void *key, size_t klen)
{
    uint64_t h = HMAP_FNV_BASIS;
    for (size_t i = 0; i < klen; i++)
        h = (h ^ (uint64_t)tolower(((const unsigned char *)key)[i])) * HMAP_FNV_PRIME;
    return h;
}

static bool uuid_eq(const void *stored, const void *key, size_t klen)
{
    return strncasecmp(stored, key, klen) == 0;
}

static const hmap_type uuid_keys = {uuid_hash, uuid_eq};

/* A customer of a trigger run. */
struct run_customer {
    const char *id;
    int ids_from, ids_to; /* rows of the identities result */
    bool surveyed;        /* latest_due is known */
    int64_t latest_due;
};

struct trigger_run {
    survey *sv;
    db *d;
    PGresult *tickets, *ids, *latest;
    hmap ticket_row;        /* ticket id -> row of tickets */
    bool *scheduled;        /* by row of tickets: has (or now gets) a survey */
    hmap customer;          /* customer id -> index of customers */
    struct run_customer *customers;
    size_t ncustomers;
};

/* The customer an event's survey is for: the event's own, else the
 * ticket's; NULL when neither is known. */
static const char *trigger_customer(const struct trigger_run *t, const event *ev, int row)
{
    if (ev->customer_id && id_valid(ev->customer_id))
        return ev->customer_id;
    if (db_value(t->tickets, row, "known")[0] == 't')
        return db_value(t->tickets, row, "customer_id");
    return NULL;
}

static int customer_add(struct trigger_run *t, const char *id)
{
    if (!id || hmap_gets(&t->customer, id) != HMAP_ABSENT)
        return 0;
    t->customers[t->ncustomers] = (struct run_customer){id, 0, 0, false, 0};
    return hmap_puts(&t->customer, id, (int)t->ncustomers++);
}

/* Reads the run's tickets, then their customers' identities and latest
 * surveys. 0 or -1. */
static int trigger_read(struct trigger_run *t, const event *const *evs, size_t n)
{
    const char **keys = calloc(2 * n + 1, sizeof *keys);
    t->scheduled = calloc(n + 1, sizeof *t->scheduled);
    t->customers = calloc(2 * n + 1, sizeof *t->customers);
    if (!keys || !t->scheduled || !t->customers || hmap_reserve(&t->ticket_row, n) != 0 ||
        hmap_reserve(&t->customer, 2 * n) != 0) {
        free(keys);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        keys[i] = evs[i]->ticket_id;
    buf b = BUF_INIT;
    rowset_keys(&b, keys, n);
    const char *p[] = {buf_str(&b)};
    t->tickets = b.failed ? NULL : db_exec(t->d, SQL_TICKETS, 1, p);
    buf_release(&b);
    if (!t->tickets) {
        free(keys);
        return -1;
    }
    for (int r = 0; r < PQntuples(t->tickets); r++) {
        hmap_puts(&t->ticket_row, db_value(t->tickets, r, "ticket_id"), r);
        t->scheduled[r] = db_value(t->tickets, r, "surveyed")[0] == 't';
    }
    for (size_t i = 0; i < n; i++) {
        int row = hmap_gets(&t->ticket_row, evs[i]->ticket_id);
        if (row != HMAP_ABSENT && customer_add(t, trigger_customer(t, evs[i], row)) != 0) {
            free(keys);
            return -1;
        }
    }
    if (t->ncustomers == 0) {
        free(keys);
        return 0;
    }
    for (size_t i = 0; i < t->ncustomers; i++)
        keys[i] = t->customers[i].id;
    rowset_keys(&b, keys, t->ncustomers);
    free(keys);
    p[0] = buf_str(&b);
    int rc = -1;
    if (b.failed || !(t->ids = db_exec(t->d, SQL_IDENTITIES, 1, p)))
        goto out;
    for (int r = 0; r < PQntuples(t->ids); r++) {
        int c = hmap_gets(&t->customer, db_value(t->ids, r, "customer_id"));
        if (c == HMAP_ABSENT)
            continue;
        if (t->customers[c].ids_to == 0)
            t->customers[c].ids_from = r;
        t->customers[c].ids_to = r + 1;
    }
    if (t->sv->cfg.cooldown_days > 0) {
        if (!(t->latest = db_exec(t->d, SQL_LATEST, 1, p)))
            goto out;
        for (int r = 0; r < PQntuples(t->latest); r++) {
            int c = hmap_gets(&t->customer, db_value(t->latest, r, "customer_id"));
            if (c == HMAP_ABSENT)
                continue;
            t->customers[c].surveyed = true;
            t->customers[c].latest_due = strtoll(db_value(t->latest, r, "due_us"), NULL, 10);
        }
    }
    rc = 0;
out:
    buf_release(&b);
    return rc;
}

/* The channel and handle to ask on: the customer's identity for the channel
 * they last wrote on; a phone call is answered by SMS; a WhatsApp id may be
 * known as the phone number; failing all, email, then SMS. *channel and
 * *handle point into ids or at literals. */
static void pick_handle(const PGresult *ids, int from, int to, const char *last_channel,
                        const char **channel, const char **handle)
{
    const char *want = survey_channel_kind(last_channel);
    const char *email = NULL, *phone = NULL;
    *channel = strcmp(last_channel, "phone") == 0 ? "sms" : last_channel;
    *handle = NULL;
    for (int i = from; i < to; i++) {
        const char *kind = db_value(ids, i, "kind"), *value = db_value(ids, i, "value");
        if (strcmp(kind, want) == 0 && !*handle)
            *handle = value;
        if (strcmp(kind, "email") == 0 && !email)
            email = value;
        if (strcmp(kind, "phone") == 0 && !phone)
            phone = value;
    }
    if (*handle)
        return;
    if (strcmp(last_channel, "whatsapp") == 0 && phone) {
        *handle = phone;
    } else if (email) {
        *channel = "email";
        *handle = email;
    } else if (phone) {
        *channel = "sms";
        *handle = phone;
    }
}

/* Decides one trigger in the run's order; adds its survey to rows. */
static void trigger_decide(struct trigger_run *t, const event *ev, rowset *rows)
{
    survey *sv = t->sv;
    int row = hmap_gets(&t->ticket_row, ev->ticket_id);
    if (row == HMAP_ABSENT || t->scheduled[row])
        return; /* one survey per ticket: solved again after a reopen */
    bool known = db_value(t->tickets, row, "known")[0] == 't';
    const char *customer = trigger_customer(t, ev, row);
    struct run_customer *c = customer ? &t->customers[hmap_gets(&t->customer, customer)] : NULL;
    int64_t at = survey_event_time_us(ev);
    if (c && sv->cfg.cooldown_days > 0 && c->surveyed &&
        c->latest_due > at - sv->cfg.cooldown_days * 86400 * US_PER_S) {
        log_info("no survey for ticket %s: customer %s was surveyed within %ld days",
                 ev->ticket_id, customer, sv->cfg.cooldown_days);
        metrics_add("carebus_survey_skipped_total{reason=\"cooldown\"}", 1);
        return;
    }
    const char *channel = known ? db_value(t->tickets, row, "channel") : "";
    if (known && db_value(t->tickets, row, "last_channel"))
        channel = db_value(t->tickets, row, "last_channel");
    const char *handle = NULL;
    if (c)
        pick_handle(t->ids, c->ids_from, c->ids_to, channel, &channel, &handle);
    /* NULL words guess as the empty text did. */
    const char *words = known ? db_value(t->tickets, row, "words") : NULL;
    language_id lang = language_guess(known ? (words ? words : "") : NULL);

    struct survey_row r = {.due_at = at + sv->cfg.delay_s * US_PER_S,
                          .expires_at = at + (sv->cfg.delay_s + sv->cfg.ttl_s) * US_PER_S,
                          .channel = channel[0] ? channel : NULL,
                          .handle = handle,
                          .language = language_code(lang)};
    id_derive2(ev->ticket_id, "survey", r.id);
    snprintf(r.ticket_id, sizeof r.ticket_id, "%s", ev->ticket_id);
    snprintf(r.customer_id, sizeof r.customer_id, "%s", customer ? customer : "");
    snprintf(r.trigger_event_id, sizeof r.trigger_event_id, "%s", ev->event_id);
    rowset_add(rows, &r);
    t->scheduled[row] = true;
    if (c && (!c->surveyed || r.due_at > c->latest_due)) {
        c->surveyed = true;
        c->latest_due = r.due_at;
    }
}

static int flush_triggers(survey *sv, db *d, const event *const *evs, size_t n)
{
    struct trigger_run t = {.sv = sv,
                            .d = d,
                            .ticket_row = HMAP_INIT_TYPE(&uuid_keys),
                            .customer = HMAP_INIT_TYPE(&uuid_keys)};
    rowset rows;
    rowset_init(&rows, &survey_table, NULL);
    rowset_only(&rows, SURVEY_SCHEDULED);
    int rc = -1;
    if (trigger_read(&t, evs, n) != 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        trigger_decide(&t, evs[i], &rows);
    if (rowset_count(&rows) == 0) {
        rc = 0;
        goto out;
    }
    const char *sql = rowset_stmt_sql(&sched_sql), *p[] = {rowset_json(&rows)};
    if (!sql || !p[0] || db_command(d, sql, 1, p) != 0)
        goto out;
    sv->due_hint = true; /* a hint only: harmless if this transaction rolls back */
    rc = 0;
out:
    rowset_release(&rows);
    PQclear(t.tickets);
    PQclear(t.ids);
    PQclear(t.latest);
    hmap_release(&t.ticket_row);
    hmap_release(&t.customer);
    free(t.scheduled);
    free(t.customers);
    return rc;
}

/* --- the other runs ----------------------------------------------------------------------- */

static int flush_reopens(db *d, const event *const *evs, size_t n)
{
    rowset rows;
    rowset_init(&rows, &reopen_table, NULL);
    for (size_t i = 0; i < n; i++) {
        struct reopen_row r = {.at = survey_event_time_us(evs[i])};
        snprintf(r.ticket_id, sizeof r.ticket_id, "%s", evs[i]->ticket_id);
        rowset_add(&rows, &r);
    }
    const char *sql = rowset_stmt_sql(&reopen_sql), *p[] = {rowset_json(&rows)};
    int rc = sql && p[0] ? db_command(d, sql, 1, p) : -1;
    rowset_release(&rows);
    return rc;
}

int64_t survey_event_at(const event *ev)
{
    return ev->occurred_at ? event_ts_us(ev->occurred_at) : survey_event_time_us(ev);
}

static int flush_requested(db *d, const event *const *evs, size_t n)
{
    rowset rows;
    rowset_init(&rows, &survey_table, NULL);
    hmap seen = HMAP_INIT_TYPE(&uuid_keys);
    int rc = -1;
    if (hmap_reserve(&seen, n) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const event *ev = evs[i];
        const Carebus__V1__SurveyRequested *q = ev->survey_requested;
        if (hmap_gets(&seen, q->survey_id) != HMAP_ABSENT)
            continue;
        hmap_puts(&seen, q->survey_id, 1);
        const char *channel = event_channel_name(q->channel);
        language_id lang = LANGUAGE_VI;
        language_parse(q->language, &lang);
        const char *trigger =
            ev->causation_id && id_valid(ev->causation_id) ? ev->causation_id : ev->event_id;
        const char *customer =
            ev->customer_id && id_valid(ev->customer_id) ? ev->customer_id : "";
        struct survey_row r = {.due_at = survey_event_at(ev),
                            .expires_at = event_ts_us(q->expires_at),
                            .channel = channel[0] ? channel : NULL,
                            .handle = q->handle[0] ? q->handle : NULL,
                            .language = language_code(lang),
                            .link = q->link,
                            .text = q->text};
        snprintf(r.id, sizeof r.id, "%s", q->survey_id);
        snprintf(r.ticket_id, sizeof r.ticket_id, "%s", ev->ticket_id);
        snprintf(r.customer_id, sizeof r.customer_id, "%s", customer);
        snprintf(r.trigger_event_id, sizeof r.trigger_event_id, "%s", trigger);
        snprintf(r.requested_event_id, sizeof r.requested_event_id, "%s", ev->event_id);
        rowset_add(&rows, &r);
    }
    const char *sql = rowset_stmt_sql(&req_sql), *p[] = {rowset_json(&rows)};
    rc = sql && p[0] ? db_command(d, sql, 1, p) : -1;
out:
    hmap_release(&seen);
    rowset_release(&rows);
    return rc;
}

static int flush_answered(db *d, const event *const *evs, size_t n)
{
    rowset rows;
    rowset_init(&rows, &answer_table, NULL);
    hmap seen = HMAP_INIT_TYPE(&uuid_keys);
    int rc = -1;
    if (hmap_reserve(&seen, n) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const Carebus__V1__SurveyAnswered *a = evs[i]->survey_answered;
        if (hmap_gets(&seen, a->survey_id) != HMAP_ABSENT)
            continue;
        hmap_puts(&seen, a->survey_id, 1);
        struct answer_row r = {.csat = a->csat ? (int)a->csat->value : 0,
                               .ces = a->ces ? (int)a->ces->value : 0,
                               .comment = a->comment[0] ? a->comment : NULL,
                               .answered_at = survey_event_at(evs[i])};
        snprintf(r.survey_id, sizeof r.survey_id, "%s", a->survey_id);
        snprintf(r.event_id, sizeof r.event_id, "%s", evs[i]->event_id);
        rowset_add(&rows, &r);
    }
    const char *sql = rowset_stmt_sql(&answer_sql), *p[] = {rowset_json(&rows)};
    rc = sql && p[0] ? db_command(d, sql, 1, p) : -1;
out:
    hmap_release(&seen);
    rowset_release(&rows);
    return rc;
}

/* --- the run ------------------------------------------------------------------------------ */

static void stage_clear(struct survey_stage *st)
{
    st->kind = SURVEY_STAGE_NONE;
    st->n = 0;
}

consumer_result survey_stage_flush(consumer_txn *tx, void *arg)
{
    survey *sv = arg;
    struct survey_stage *st = &sv->stage;
    if (st->n == 0)
        return CONSUMER_OK;
    db *d = consumer_txn_db(tx);
    const event *const *evs = st->evs;
    int rc = -1;
    switch (st->kind) {
    case SURVEY_STAGE_TRIGGER:
        rc = flush_triggers(sv, d, evs, st->n);
        break;
    case SURVEY_STAGE_REOPEN:
        rc = flush_reopens(d, evs, st->n);
        break;
    case SURVEY_STAGE_REQUESTED:
        rc = flush_requested(d, evs, st->n);
        break;
    case SURVEY_STAGE_ANSWERED:
        rc = flush_answered(d, evs, st->n);
        break;
    case SURVEY_STAGE_NONE:
        break;
    }
    stage_clear(st);
    return rc == 0 ? CONSUMER_OK : CONSUMER_RETRY;
}

consumer_result survey_stage_add(survey *sv, consumer_txn *tx, enum survey_stage_kind kind,
                                 const event *ev)
{
    struct survey_stage *st = &sv->stage;
    if (st->n && st->kind != kind && survey_stage_flush(tx, sv) != CONSUMER_OK)
        return CONSUMER_RETRY;
    if (st->n == st->cap) {
        size_t cap = st->cap ? 2 * st->cap : 256;
        const event **evs = realloc(st->evs, cap * sizeof *evs);
        if (!evs)
            return CONSUMER_RETRY;
        st->evs = evs;
        st->cap = cap;
    }
    st->kind = kind;
    st->evs[st->n++] = ev;
    return CONSUMER_OK;
}

void survey_stage_done(bool committed, void *arg)
{
    (void)committed;
    stage_clear(&((survey *)arg)->stage);
}

void survey_stage_release(struct survey_stage *st)
{
    free(st->evs);
    *st = (struct survey_stage){0};
}
