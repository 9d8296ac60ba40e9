/* merge.h — merges a person asks for: two tickets
 * (ticket.merge_requested), two customers (customer.merge_requested).
 *
 * A ticket merge is the one a contact does when it reveals that two
 * customers are one (route.h): the merged ticket is closed with a
 * pointer to the other (ticket.closed's merged_into_ticket_id, which
 * sla-monitor and analytics read, so the pair counts as one ticket), its
 * messages and notes show on the other's timeline, its contacts count
 * there, and ticket.merged says so on the ticket that stays. Both tickets
 * must be one customer's (merge the customers first) and not closed; an
 * open ticket merged into a solved one reopens it. A customer merge keeps
 * the survivor the person names (a contact keeps the older). Either,
 * refused, changes nothing and is logged: the API checks the same before it
 * accepts the request, so a refusal here means the state changed between.
 */
#ifndef CAREBUS_ROUTER_MERGE_H
#define CAREBUS_ROUTER_MERGE_H

#include "route.h"

/* Drops a request whose ids are not UUIDs, or name the same one (logged). */
void merge_prepare(route_item *it);

/* route.c's table: ticket.merge_requested, customer.merge_requested. */
int merge_tickets(route_ctx *c, const route_item *it);
int merge_customers(route_ctx *c, const route_item *it);

#endif
