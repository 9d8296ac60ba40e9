/* offline.h — an agent gone: their open tickets return to the queue.
 *
 * An agent offline for longer than the grace period
 * (CAREBUS_OFFLINE_GRACE_S, default 300 s), or made inactive through the
 * API, holds tickets nobody answers. The router's timer (offline_decide,
 * once a second) finds them and appends one ticket.unassigned per ticket
 * to the "ingest" stream, like any request: the decision is an event, so
 * a replay applies it at the same place and never decides again; the
 * router applies it (offline_unassigned) like the others, and the ticket
 * is drained again by the usual rules (the team's best free agent, or its
 * queue).
 *
 * What is subtle:
 *  - The grace counts from the log's time: offline_since is the
 *    recorded_at of the presence that took the agent offline (a backdated
 *    occurred_at does not shorten it), compared with the database's clock.
 *  - The timer decides on the state as it stands, which may be behind the
 *    log (a catch-up, a rebuild). So the decision names the offline period
 *    it was taken in (its causation_id is the presence event that began
 *    it) and is applied only if, at its place in the log, the ticket is
 *    still that agent's and the agent is still offline in that same period
 *    (or still inactive): a stale decision changes nothing. Decisions are
 *    idempotent per period and ticket (the log's idempotency key), so the
 *    timer may repeat itself until the router has applied them; it also
 *    waits while the router is far behind the ingest stream.
 *  - Away is not offline: an away agent keeps their tickets.
 */
#ifndef CAREBUS_ROUTER_OFFLINE_H
#define CAREBUS_ROUTER_OFFLINE_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "model.h"
#include "route.h"

#define OFFLINE_GRACE_S_DEFAULT 300
/* Tickets one tick decides on, at most (the rest at the next ticks). */
#define OFFLINE_BATCH 200
/* The timer waits while the router is more ingest events behind. */
#define OFFLINE_BEHIND_MAX 100
/* ticket.unassigned's reasons, and the actor of the timer's decisions. */
#define OFFLINE_REASON_OFFLINE "offline"
#define OFFLINE_REASON_INACTIVE "inactive"
#define OFFLINE_ACTOR "router"

/* After a presence set a's presence (it: that presence): starts or ends
 * its offline period. */
void offline_track(m_agent *a, const route_item *it);

/* True when an agent offline since `since` (MODEL_NONE: not offline) has
 * been so for the grace period at now. Pure. */
bool offline_due(int64_t since, int64_t now, int64_t grace_us);

/* route.c's handler of ticket.unassigned. 0 or -1. */
int offline_unassigned(route_ctx *c, const route_item *it);

/* The timer: appends the decisions due to the "ingest" stream, in a
 * transaction of its own. The number appended (0: none due, or all were
 * appended before), or -1 when the database failed (logged; the next tick
 * tries again). Blocks. */
int offline_decide(db *d, int64_t grace_us);

#endif
