/* recompute.h — the targets of a set of tickets, from all their facts.
 *
 * Each ticket's targets are a pure function of its facts, its policy and
 * what was published for it (fold.h), so a batch recomputes every ticket
 * it touched once, at its end, and ends where recomputing after each of
 * its events would: set-based, in four statements whatever the number of
 * tickets. The target rows are locked first (FOR UPDATE, in the order the
 * timers lock them), then sla.emitted is read in a statement of its own:
 * a timer firing in another instance holds the same row locks while it
 * claims, so the recomputation never overwrites a claim it did not see.
 *
 * A target met after its deadline while no breach was published (the
 * service was down at the deadline) gets its sla.breach here, claimed like
 * a timer's, so the breach counts are right; it does not escalate, the
 * ticket having moved on. A deadline that moved is pushed onto the heap (a
 * hint: the old entry goes stale and fires into nothing).
 */
#ifndef CAREBUS_SLA_RECOMPUTE_H
#define CAREBUS_SLA_RECOMPUTE_H

#include <stddef.h>

#include "consumer.h"
#include "sla.h"

/* Recomputes tickets[0..n) (distinct ids) inside the consumer's
 * transaction; cause_of(ticket) names the event a late breach of it is
 * caused by. A ticket sla-monitor knows nothing of yet is left alone.
 * CONSUMER_OK, or CONSUMER_RETRY (logged) when a statement failed. */
consumer_result sla_recompute(sla *s, consumer_txn *tx, const char *const *tickets, size_t n,
                              const char *(*cause_of)(void *arg, const char *ticket), void *arg);

#endif
