/* apply.c — the survey consumer: its event table and handlers.
 *
 * From the router's stream: the trigger (ticket.solved, or ticket.closed
 * with CAREBUS_SURVEY_TRIGGER=closed) schedules the ticket's survey, due
 * CAREBUS_SURVEY_DELAY_S after the trigger was recorded; ticket.reopened
 * cancels a survey still waiting; customer.merged moves surveys to the
 * survivor (for the cooldown), customer.unmerged moves those of the tickets
 * it gave back; a ticket closed by a merge is not surveyed. The due pass
 * (due.c) emits survey.requested.
 *
 * From its own stream: survey.requested and survey.answered write what they
 * say, so that wiping survey's tables and offsets and replaying the log
 * rebuilds requested and answered surveys exactly (live, these rows are
 * already there and the statements change nothing).
 *
 * Everything comes from the events and, at the trigger, from the router's
 * tables in the same database (the customer's handle on the channel they
 * last wrote on, and their words for the language): ids are derived from
 * the ticket, times from the log.
 * XXX: the router's tables are read as they are when the trigger is
 * applied; a rebuild long after reads later state (e.g. an identity added
 * since). Only channel, handle and language can differ, and only for
 * surveys still scheduled, since requested ones are rebuilt from their event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "erased.h"
#include "id.h"
#include "lang.h"
#include "log.h"
#include "metrics.h"
#include "rowset.h"
#include "survey.h"
#include "timeutil.h"

/* The time the log recorded the event (set on every event a consumer
 * sees), else its occurred_at; 0 if neither. */
static int64_t event_time_us(const event *ev)
{
    if (ev->recorded_at)
        return event_ts_us(ev->recorded_at);
    if (ev->occurred_at)
        return event_ts_us(ev->occurred_at);
    return 0;
}

const char *survey_channel_kind(const char *channel)
{
    if (strcmp(channel, "phone") == 0 || strcmp(channel, "sms") == 0)
        return "phone";
    return channel;
}

/* The channel and handle to ask on: the customer's identity for the channel
 * they last wrote on; a phone call is answered by SMS; a WhatsApp id may be
 * known as the phone number; failing all, email, then SMS. *channel and
 * *handle point into res or at literals. */
static void pick_handle(PGresult *ids, const char *last_channel, const char **channel,
                        const char **handle)
{
    const char *want = survey_channel_kind(last_channel);
    const char *email = NULL, *phone = NULL;
    *channel = strcmp(last_channel, "phone") == 0 ? "sms" : last_channel;
    *handle = NULL;
    for (int i = 0; i < PQntuples(ids); i++) {
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

#define SQL_TICKET                                                                                 \
    "SELECT t.customer_id, t.channel,"                                                             \
    " (SELECT m.channel FROM router.messages m WHERE m.ticket_id = t.id AND m.direction = 'in'"    \
    "   ORDER BY m.at DESC, m.seq DESC LIMIT 1) AS last_channel,"                                  \
    " (SELECT string_agg(concat_ws(' ', x.subject, x.text), ' ') FROM"                             \
    "   (SELECT m.subject, m.text FROM router.messages m"                                          \
    "     WHERE m.ticket_id = t.id AND m.direction = 'in'"                                         \
    "     ORDER BY m.at DESC, m.seq DESC LIMIT 5) x) AS words"                                     \
    " FROM router.tickets t WHERE t.id = $1"

#define SQL_COOLDOWN                                                                               \
    "SELECT 1 FROM survey.surveys WHERE customer_id = $1"                                          \
    " AND due_at > $2::timestamptz - make_interval(days => $3::int) LIMIT 1"

#define SQL_IDENTITIES                                                                             \
    "SELECT kind, value FROM router.identities WHERE customer_id = $1"                             \
    " ORDER BY created_at, kind, value"

#define SQL_SCHEDULE                                                                               \
    "INSERT INTO survey.surveys (id, ticket_id, customer_id, trigger_event_id, status, due_at,"    \
    " expires_at, channel, handle, language)"                                                      \
    " VALUES ($1, $2, $3, $4, 'scheduled', $5::timestamptz + make_interval(secs => $6::int),"      \
    " $5::timestamptz + make_interval(secs => $6::int + $7::int), $8, $9, $10)"                    \
    " ON CONFLICT DO NOTHING"

static consumer_result on_trigger(survey *sv, consumer_txn *tx, const event *ev)
{
    db *d = consumer_txn_db(tx);
    int64_t at = event_time_us(ev);
    if (!ev->ticket_id || !id_valid(ev->ticket_id) || !at) {
        log_warn("%s %s has no ticket or time: no survey", ev->type, ev->event_id);
        return CONSUMER_SKIP;
    }
    consumer_result rc = CONSUMER_RETRY;
    PGresult *exists = NULL, *ticket = NULL, *cool = NULL, *ids = NULL;
    const char *p1[] = {ev->ticket_id};
    if (!(exists = db_exec(d, "SELECT 1 FROM survey.surveys WHERE ticket_id = $1", 1, p1)))
        goto out;
    if (PQntuples(exists) > 0) {
        rc = CONSUMER_OK; /* one survey per ticket: solved again after a reopen */
        goto out;
    }
    if (!(ticket = db_exec(d, SQL_TICKET, 1, p1)))
        goto out;
    bool known = PQntuples(ticket) == 1;
    const char *customer = ev->customer_id && id_valid(ev->customer_id) ? ev->customer_id
                           : known ? db_value(ticket, 0, "customer_id")
                                   : NULL;
    char when[TIME_RFC3339_LEN];
    time_format_rfc3339(at, when);

    if (sv->cfg.cooldown_days > 0 && customer) {
        char days[24];
        snprintf(days, sizeof days, "%ld", sv->cfg.cooldown_days);
        const char *p[] = {customer, when, days};
        if (!(cool = db_exec(d, SQL_COOLDOWN, 3, p)))
            goto out;
        if (PQntuples(cool) > 0) {
            log_info("no survey for ticket %s: customer %s was surveyed within %ld days",
                     ev->ticket_id, customer, sv->cfg.cooldown_days);
            metrics_add("carebus_survey_skipped_total{reason=\"cooldown\"}", 1);
            rc = CONSUMER_OK;
            goto out;
        }
    }

    const char *channel = known ? db_value(ticket, 0, "channel") : "";
    if (known && db_value(ticket, 0, "last_channel"))
        channel = db_value(ticket, 0, "last_channel");
    const char *handle = NULL;
    if (customer) {
        const char *p[] = {customer};
        if (!(ids = db_exec(d, SQL_IDENTITIES, 1, p)))
            goto out;
        pick_handle(ids, channel, &channel, &handle);
    }
    /* NULL words guess as the empty text did. */
    const char *words = known ? db_value(ticket, 0, "words") : NULL;
    language_id lang = language_guess(known ? (words ? words : "") : NULL);

    char survey_id[ID_LEN], delay[24], ttl[24];
    id_derive2(ev->ticket_id, "survey", survey_id);
    snprintf(delay, sizeof delay, "%ld", sv->cfg.delay_s);
    snprintf(ttl, sizeof ttl, "%ld", sv->cfg.ttl_s);
    const char *p[] = {survey_id, ev->ticket_id,
                       customer,  ev->event_id,
                       when,      delay,
                       ttl,       channel[0] ? channel : NULL,
                       handle,    language_code(lang)};
    if (db_command(d, SQL_SCHEDULE, 10, p) != 0)
        goto out;
    sv->due_hint = true; /* a hint only: harmless if this transaction rolls back */
    rc = CONSUMER_OK;
out:
    PQclear(exists);
    PQclear(ticket);
    PQclear(cool);
    PQclear(ids);
    return rc;
}

static consumer_result on_solved(consumer_txn *tx, const event *ev, void *arg)
{
    survey *sv = arg;
    return sv->cfg.trigger_closed ? CONSUMER_OK : on_trigger(sv, tx, ev);
}

/* A ticket closed by a merge was not resolved: its conversation goes on
 * in the ticket it joined, which is surveyed when that one closes. */
static consumer_result on_closed(consumer_txn *tx, const event *ev, void *arg)
{
    survey *sv = arg;
    if (ev->ticket_closed->merged_into_ticket_id && ev->ticket_closed->merged_into_ticket_id[0])
        return CONSUMER_OK;
    return sv->cfg.trigger_closed ? on_trigger(sv, tx, ev) : CONSUMER_OK;
}

/* A ticket reopened before its survey fell due: the survey waits for the
 * next solve. Decided by the log's times, not by whether the due pass has
 * run yet, so that a replay decides alike; one that fell due stays (it is
 * or will be sent, and the customer may answer it). */
static consumer_result on_reopened(consumer_txn *tx, const event *ev, void *arg)
{
    survey *sv = arg;
    (void)sv;
    int64_t at = event_time_us(ev);
    if (!ev->ticket_id || !id_valid(ev->ticket_id) || !at)
        return CONSUMER_OK;
    char when[TIME_RFC3339_LEN];
    time_format_rfc3339(at, when);
    const char *p[] = {ev->ticket_id, when};
    return db_command(consumer_txn_db(tx),
                      "DELETE FROM survey.surveys WHERE ticket_id = $1 AND status = 'scheduled'"
                      " AND due_at > $2::timestamptz",
                      2, p) == 0
               ? CONSUMER_OK
               : CONSUMER_RETRY;
}

static consumer_result on_merged(consumer_txn *tx, const event *ev, void *arg)
{
    survey *sv = arg;
    (void)sv;
    const Carebus__V1__CustomerMerged *m = ev->customer_merged;
    if (!id_valid(m->survivor_id) || !id_valid(m->merged_id))
        return CONSUMER_OK;
    const char *p[] = {m->survivor_id, m->merged_id};
    return db_command(consumer_txn_db(tx),
                      "UPDATE survey.surveys SET customer_id = $1 WHERE customer_id = $2", 2,
                      p) == 0
               ? CONSUMER_OK
               : CONSUMER_RETRY;
}

/* customer.erased: the invitations' handles and texts, the comments. */
static consumer_result on_erased(consumer_txn *tx, const event *ev, void *arg)
{
    (void)arg;
    return erased_apply(consumer_txn_db(tx), ev->customer_erased, "survey.erase") == 0
               ? CONSUMER_OK
               : CONSUMER_RETRY;
}

/* The surveys of the tickets an unmerge gave back are their customer's. */
static consumer_result on_unmerged(consumer_txn *tx, const event *ev, void *arg)
{
    (void)arg;
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
    const char *p[] = {u->merged_id, buf_str(&ids)};
    int rc = ids.failed ? -1
                        : db_command(consumer_txn_db(tx),
                                     "UPDATE survey.surveys SET customer_id = $1"
                                     " WHERE ticket_id = ANY($2::uuid[])",
                                     2, p);
    buf_release(&ids);
    return rc == 0 ? CONSUMER_OK : CONSUMER_RETRY;
}

/* The event is the truth about a requested survey: it overwrites a row the
 * router's stream scheduled (same id), but for the customer, which a
 * customer.merged applied since may have moved to the survivor. */
#define SQL_REQUESTED                                                                              \
    "INSERT INTO survey.surveys AS s (id, ticket_id, customer_id, trigger_event_id, status,"       \
    " due_at, expires_at, channel, handle, language, link, text, requested_event_id,"              \
    " requested_at)"                                                                               \
    " VALUES ($1, $2, $3, $4, 'requested', $5, $6, $7, $8, $9, $10, $11, $12, $5)"                 \
    " ON CONFLICT (id) DO UPDATE SET status = 'requested', due_at = EXCLUDED.due_at,"              \
    " trigger_event_id = EXCLUDED.trigger_event_id,"                                               \
    " expires_at = EXCLUDED.expires_at, channel = EXCLUDED.channel, handle = EXCLUDED.handle,"     \
    " language = EXCLUDED.language, link = EXCLUDED.link, text = EXCLUDED.text,"                   \
    " requested_event_id = EXCLUDED.requested_event_id, requested_at = EXCLUDED.requested_at"      \
    " WHERE s.status = 'scheduled'"

static consumer_result on_requested(consumer_txn *tx, const event *ev, void *arg)
{
    survey *sv = arg;
    (void)sv;
    const Carebus__V1__SurveyRequested *r = ev->survey_requested;
    int64_t at = ev->occurred_at ? event_ts_us(ev->occurred_at) : event_time_us(ev);
    if (!id_valid(r->survey_id) || !ev->ticket_id || !id_valid(ev->ticket_id) || !at ||
        !r->expires_at)
        return CONSUMER_SKIP;
    char when[TIME_RFC3339_LEN], expires[TIME_RFC3339_LEN];
    time_format_rfc3339(at, when);
    time_format_rfc3339(event_ts_us(r->expires_at), expires);
    const char *channel = event_channel_name(r->channel);
    language_id lang = LANGUAGE_VI;
    language_parse(r->language, &lang);
    const char *trigger =
        ev->causation_id && id_valid(ev->causation_id) ? ev->causation_id : ev->event_id;
    const char *customer = ev->customer_id && id_valid(ev->customer_id) ? ev->customer_id : NULL;
    const char *p[] = {r->survey_id,
                       ev->ticket_id,
                       customer,
                       trigger,
                       when,
                       expires,
                       channel[0] ? channel : NULL,
                       r->handle[0] ? r->handle : NULL,
                       language_code(lang),
                       r->link,
                       r->text,
                       ev->event_id};
    return db_command(consumer_txn_db(tx), SQL_REQUESTED, 12, p) == 0 ? CONSUMER_OK
                                                                      : CONSUMER_RETRY;
}

#define SQL_ANSWERED                                                                               \
    "WITH a AS (INSERT INTO survey.answers (survey_id, csat, ces, comment, answered_at, event_id)" \
    "  SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM survey.surveys WHERE id = $1)"    \
    "  ON CONFLICT DO NOTHING RETURNING survey_id)"                                                \
    " UPDATE survey.surveys SET status = 'answered', answered_at = $5"                             \
    " WHERE id = $1 AND status <> 'answered'"

static consumer_result on_answered(consumer_txn *tx, const event *ev, void *arg)
{
    survey *sv = arg;
    (void)sv;
    const Carebus__V1__SurveyAnswered *a = ev->survey_answered;
    int64_t at = ev->occurred_at ? event_ts_us(ev->occurred_at) : event_time_us(ev);
    if (!id_valid(a->survey_id) || !at || (!a->csat && !a->ces))
        return CONSUMER_SKIP;
    char when[TIME_RFC3339_LEN], csat[12], ces[12];
    time_format_rfc3339(at, when);
    if (a->csat)
        snprintf(csat, sizeof csat, "%d", (int)a->csat->value);
    if (a->ces)
        snprintf(ces, sizeof ces, "%d", (int)a->ces->value);
    const char *p[] = {
        a->survey_id, a->csat ? csat : NULL, a->ces ? ces : NULL, a->comment[0] ? a->comment : NULL,
        when,         ev->event_id};
    return db_command(consumer_txn_db(tx), SQL_ANSWERED, 6, p) == 0 ? CONSUMER_OK : CONSUMER_RETRY;
}

/* What the survey reacts to (consumer.h's table shape); every other body
 * is acknowledged unread, and so is a body from a stream that does not own
 * it: it is not ours to trust. */
const struct consumer_handler survey_handlers[] = {
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_SOLVED] = {"router", on_solved},
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_CLOSED] = {"router", on_closed},
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_REOPENED] = {"router", on_reopened},
    [CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_MERGED] = {"router", on_merged},
    [CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_UNMERGED] = {"router", on_unmerged},
    [CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_ERASED] = {"router", on_erased},
    [CAREBUS__V1__ENVELOPE__BODY_SURVEY_REQUESTED] = {"survey", on_requested},
    [CAREBUS__V1__ENVELOPE__BODY_SURVEY_ANSWERED] = {"survey", on_answered},
};
const size_t survey_nhandlers = sizeof survey_handlers / sizeof survey_handlers[0];
