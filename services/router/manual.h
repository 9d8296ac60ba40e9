/* manual.h — what a person does to a ticket: assign it to an agent or a
 * team (ticket.assign_requested), set its priority or category, tag it
 * (ticket.update_requested), and mention agents in an internal note
 * (agent.replied's mentions).
 *
 * A priority or category set by a person is an override: the rules no
 * longer change it. While the category is overridden the rules' own view
 * is kept beside it (cat_rules; a later contact may still classify a
 * ticket the rules called "other"), so that clearing the override hands
 * the field back to them as they would have left it. A manual assignment
 * ignores capacity (a person chose) but names a known, active agent; a
 * team alone returns the ticket to that team's queue, drained by the
 * usual rules. Each applied request emits ticket.assigned (manual, with
 * its actor) or ticket.updated (and ticket.classified when priority or
 * category changed), and leaves a note on the timeline; a request that
 * changes nothing emits nothing.
 */
#ifndef CAREBUS_ROUTER_MANUAL_H
#define CAREBUS_ROUTER_MANUAL_H

#include "model.h"
#include "route.h"
#include "rules.h"

/* ticket.classified's rule while a person chose the category. */
#define MANUAL_RULE "manual"

/* route.c's handlers. 0 or -1. */
int manual_assign(route_ctx *c, const route_item *it);
int manual_update(route_ctx *c, const route_item *it);

/* After a note is added: one "agent.mentioned" entry on t's timeline per
 * known agent the note mentions. */
void manual_mentions(route_ctx *c, const route_item *it, int t);

/* The rules' priority p, overridden by a person's rank (1..4; 0: none):
 * the rank, with that as its one reason ("manual:high"). Pure. */
void manual_priority(int override, struct rules_priority *p);

/* The category the rules see for t: their own while a person's overrides
 * it, else t's. Pure. */
Carebus__V1__Category manual_rules_category(const m_ticket *t);

#endif
