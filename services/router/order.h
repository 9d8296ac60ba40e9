/* order.h — one order for the two streams the router reads.
 *
 * The router reads "ingest" (contacts, agents' and integrators' events)
 * and "sla" (escalations). Live, the bus interleaves them as they come;
 * a catch-up reads one stream after the other. For the state to be a
 * function of the log alone (a rebuild equals the live state, whatever the
 * timing of a restart), the router applies them in one order that the log
 * defines: by recorded_at, an "sla" event before the "ingest" events
 * recorded after it. recorded_at only grows within a stream (it is taken
 * under the stream's lock, in sequence order).
 *
 * Ingest events are applied as they come (they are the hot path). SLA
 * events are applied when their place is certain: just before the first
 * ingest event recorded after them, or, when every ingest event is
 * applied, once no ingest event can still be recorded before them (the
 * router waits for the "ingest" stream's row, which an append holds until
 * its commit, so nothing in flight is missed). Until then they wait in the
 * log: router.position.sla_seq says how far they were applied, and the
 * consumer's own "sla" offset only says they were seen. Waiting the same
 * way for the "sla" row makes sure that no SLA event still being committed
 * is passed over by an ingest batch: a batch places the SLA events up to
 * the seq it read then (eventlog.settled_last_seq), and any later one is
 * recorded after every ingest event the batch holds. Both rows are only
 * waited for, never held: the router's batch does not hold up the appends
 * of channel-ingest or sla-monitor (0098).
 */
#ifndef CAREBUS_ROUTER_ORDER_H
#define CAREBUS_ROUTER_ORDER_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "event.h"

/* SLA events applied after the last ingest event of a batch, at most. */
#define ORDER_TAIL_MAX 2000

typedef struct order_batch {
    const event **events; /* the merged order (borrowed or owned below) */
    size_t n;
    event **pulled; /* SLA events read from the log (owned) */
    size_t npulled;
    uint64_t sla_seq; /* the last SLA event applied after this batch */
} order_batch;

/* Merges the batch's ingest events (in sequence order, with their
 * recorded_at in ingest_rec; the last one's seq <= ingest_applied) with the SLA events
 * after sla_seq whose place is now certain. ingest_applied: the last
 * ingest seq delivered, this batch included. sla_last: the "sla" stream's
 * last seq, read settled (EVENTLOG_SETTLED_SQL) in this transaction: no
 * SLA event after it is placed.
 * Runs in the caller's transaction (may wait for an "ingest" append in
 * flight, holding nothing). 0 or -1. */
int order_build(db *d, const event *const *ingest, const int64_t *ingest_rec, size_t n,
                uint64_t ingest_applied, uint64_t sla_seq, uint64_t sla_last, order_batch *out);
void order_release(order_batch *b);

#endif
