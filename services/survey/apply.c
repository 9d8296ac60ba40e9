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
 * The handlers check an event and stage it (stage.c writes runs of one
 * kind set-based); merges and erasures are rare and applied alone, after
 * the staged run is written, so that the log's order holds.
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
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "erased.h"
#include "id.h"
#include "log.h"
#include "rowset.h"
#include "survey.h"

const char *survey_channel_kind(const char *channel)
{
    if (strcmp(channel, "phone") == 0 || strcmp(channel, "sms") == 0)
        return "phone";
    return channel;
}

static consumer_result on_trigger(survey *sv, consumer_txn *tx, const event *ev)
{
    if (!ev->ticket_id || !id_valid(ev->ticket_id) || !survey_event_time_us(ev)) {
        log_warn("%s %s has no ticket or time: no survey", ev->type, ev->event_id);
        return CONSUMER_SKIP;
    }
    return survey_stage_add(sv, tx, SURVEY_STAGE_TRIGGER, ev);
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
    if (!ev->ticket_id || !id_valid(ev->ticket_id) || !survey_event_time_us(ev))
        return CONSUMER_OK;
    return survey_stage_add(arg, tx, SURVEY_STAGE_REOPEN, ev);
}

static consumer_result on_merged(consumer_txn *tx, const event *ev, void *arg)
{
    const Carebus__V1__CustomerMerged *m = ev->customer_merged;
    if (!id_valid(m->survivor_id) || !id_valid(m->merged_id))
        return CONSUMER_OK;
    if (survey_stage_flush(tx, arg) != CONSUMER_OK)
        return CONSUMER_RETRY;
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
    if (survey_stage_flush(tx, arg) != CONSUMER_OK)
        return CONSUMER_RETRY;
    return erased_apply(consumer_txn_db(tx), ev->customer_erased, "survey.erase") == 0
               ? CONSUMER_OK
               : CONSUMER_RETRY;
}

/* The surveys of the tickets an unmerge gave back are their customer's. */
static consumer_result on_unmerged(consumer_txn *tx, const event *ev, void *arg)
{
    const Carebus__V1__CustomerUnmerged *u = ev->customer_unmerged;
    if (!id_valid(u->merged_id) || u->n_ticket_ids == 0)
        return CONSUMER_OK;
    if (survey_stage_flush(tx, arg) != CONSUMER_OK)
        return CONSUMER_RETRY;
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

static consumer_result on_requested(consumer_txn *tx, const event *ev, void *arg)
{
    const Carebus__V1__SurveyRequested *r = ev->survey_requested;
    if (!id_valid(r->survey_id) || !ev->ticket_id || !id_valid(ev->ticket_id) ||
        !survey_event_at(ev) || !r->expires_at)
        return CONSUMER_SKIP;
    return survey_stage_add(arg, tx, SURVEY_STAGE_REQUESTED, ev);
}

static consumer_result on_answered(consumer_txn *tx, const event *ev, void *arg)
{
    const Carebus__V1__SurveyAnswered *a = ev->survey_answered;
    if (!id_valid(a->survey_id) || !survey_event_at(ev) || (!a->csat && !a->ces))
        return CONSUMER_SKIP;
    return survey_stage_add(arg, tx, SURVEY_STAGE_ANSWERED, ev);
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

void survey_consumer_setup(consumer *c)
{
    consumer_set_flush(c, survey_stage_flush);
    consumer_set_done(c, survey_stage_done);
    consumer_set_batch(c, SURVEY_BATCH, 0);
}
