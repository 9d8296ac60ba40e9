/* fold.h — a ticket's SLA clocks as a pure function of what happened to it.
 *
 * Input: the ticket's facts (opened, customer messages, agent replies,
 * status changes, reopens) sorted by (time, stream, seq), its policy and
 * priority, and which warnings and breaches were already published. Output:
 * one row per target occurrence with its deadline, warning time, status and
 * the next instant a timer must fire. No clock, no database: the consumer
 * recomputes a ticket from all its facts on each of its events, so the
 * result does not depend on the order the streams were applied in (a
 * rebuild equals the live state), and unit tests drive it directly.
 *
 * The rules (issue 5):
 *   - first response runs from the opening to the first public agent reply;
 *   - next response: a customer message that follows an agent reply opens a
 *     cycle, closed by the next reply (more messages in between change
 *     nothing);
 *   - resolution runs from the opening to the solve (or the close), paused
 *     while pending on the customer, resumed by the customer's message or a
 *     status back to open; a reopen starts a new cycle with the full target;
 *   - a transfer changes nothing here (its team may select another
 *     policy or calendar, policy.h, which the fold is given);
 *   - solving or closing cancels the response targets still running.
 * Facts timed before the opening count as at the opening (clock skew
 * between a channel and the agents' tool must not lose a reply).
 * A target is breached when it is met (or paused, or cancelled) after its
 * deadline, or when sla.breach was published for it.
 */
#ifndef CAREBUS_SLA_FOLD_H
#define CAREBUS_SLA_FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "policy.h"

enum sla_fact_kind {
    SLA_FACT_OPENED,
    SLA_FACT_CUSTOMER, /* customer_message */
    SLA_FACT_REPLY,    /* agent_reply (public) */
    SLA_FACT_PENDING,
    SLA_FACT_OPEN,
    SLA_FACT_SOLVED,
    SLA_FACT_CLOSED,
    SLA_FACT_REOPENED,
    SLA_FACT_CLASSIFIED, /* policy input, ignored by the fold */
    SLA_FACT_ESCALATED,  /* idem */
    SLA_FACT_TEAM,       /* idem: the team it went to (policy.h) */
    SLA_FACT_NKINDS
};

/* The spelling in sla.ticket_facts.kind; NULL for an unknown kind. */
const char *sla_fact_kind_name(enum sla_fact_kind k);
int sla_fact_kind_parse(const char *s, enum sla_fact_kind *out);

struct sla_fact {
    int64_t at; /* us */
    enum sla_fact_kind kind;
};

enum sla_status { SLA_RUNNING, SLA_PAUSED, SLA_ACHIEVED, SLA_CANCELLED };
const char *sla_status_name(enum sla_status s);
int sla_status_parse(const char *s, enum sla_status *out);

/* Instants are microseconds since the epoch; 0 means "none". */
struct sla_row {
    Carebus__V1__SlaTarget target;
    uint32_t cycle;
    enum sla_status status;
    int64_t target_us;
    int64_t started_at;
    int64_t due_at;  /* 0 while paused, or when the calendar never opens */
    int64_t warn_at; /* 0 without warnings or while paused */
    int64_t achieved_at, cancelled_at;
    int64_t remaining_us; /* when not running: business time left (< 0: late) */
    bool warned, breached;
    int64_t next_fire_at; /* 0: nothing left to fire */
    /* internal to the fold */
    int64_t run_start, left_us;
};

struct sla_rows {
    struct sla_row *v;
    size_t n, cap;
};
void sla_rows_release(struct sla_rows *r);

/* Was the warning (breach == false) or breach of (target, cycle) published? */
typedef bool (*sla_emitted_fn)(void *arg, Carebus__V1__SlaTarget target, uint32_t cycle,
                               bool breach);

struct sla_fold_in {
    const struct sla_fact *facts; /* sorted by (at, stream, seq) */
    size_t nfacts;
    const struct sla_policy *policy;
    Carebus__V1__Priority priority; /* UNSPECIFIED: normal */
    sla_emitted_fn emitted;         /* NULL: nothing was */
    void *arg;
};

/* Replaces out's rows with the ticket's. No rows without an "opened" fact.
 * 0, or -1 on allocation failure. */
int sla_fold(const struct sla_fold_in *in, struct sla_rows *out);

#endif
