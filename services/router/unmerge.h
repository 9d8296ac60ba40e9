/* unmerge.h — undoing a customer merge (customer.unmerge_requested).
 *
 * Nothing a merge does is forgotten: every handle keeps the customer it was
 * first known with (router.identities.origin_customer_id), every ticket the
 * customer whose handle opened it (router.tickets.opened_by_customer_id),
 * router.merges who was merged into whom, router.ticket_merges which ticket
 * joined which, and a moved message or note the ticket it was filed on
 * (home_ticket_id). A handle and a ticket always belong to the survivor of
 * their origin. An unmerge of X (merged into S) therefore gives X back its
 * family K (X and the customers merged into X before X was merged:
 * router.merges' tree under X), the handles whose origin is in K and the
 * tickets opened through them; a ticket merge that would now join tickets
 * of two customers is undone (the merged ticket's messages and notes go
 * back; it reopens when the ticket it had joined is still open or pending,
 * and stays closed otherwise). What was said through X's handle on one of
 * S's tickets while they were one stays there: nobody can tell who wrote.
 *
 * The unmerge is applied in a batch of its own (route_barrier): its plan
 * (unmerge_load) reads the tree, the tickets and the ticket merges, the
 * model holds those rows, and unmerge_write moves what the model does not
 * hold (handles, messages, notes), so that no other event of the batch
 * sees half of it. A contact that later names handles of X and of S does
 * not merge them again (unmerge_owners); a person may
 * (customer.merge_requested). A rebuild from the log replays the very same
 * steps, so it equals the live state.
 */
#ifndef CAREBUS_ROUTER_UNMERGE_H
#define CAREBUS_ROUTER_UNMERGE_H

#include <stdbool.h>
#include <stddef.h>

#include "pipe.h"
#include "route.h"

/* A ticket merge, by ticket id: source joined target. */
struct unmerge_edge {
    const char *source, *target;
};

/* A ticket whose final ticket changed, for its messages and notes. */
struct unmerge_home {
    int ticket, final;
};

typedef struct unmerge_plan {
    const char *event_id;
    /* Read by unmerge_load: the merged customer's family (K, the merged
     * one first) and its survivor; the tickets opened through K's handles
     * (moved); the ticket merges that touch them and those into their
     * sources (edges). All ids, in the arena. */
    const char *survivor_id;
    const char **family, **moved;
    size_t nfamily, nmoved;
    struct unmerge_edge *edges;
    size_t nedges;
    /* What the batch loads: the family, the survivor, every ticket above. */
    const char **customers, **tickets;
    size_t ncustomers, ntickets;
    /* Set by unmerge_apply, for unmerge_write. */
    bool applied;
    int merged, survivor;
    const char *actor, *reason;
    int64_t at;
    const char **undone; /* sources of the ticket merges undone */
    size_t nundone;
    struct unmerge_home *homes;
    size_t nhomes;
    const char **touched; /* tickets whose rows may change customer */
    size_t ntouched;
} unmerge_plan;

/* Drops an unmerge request that names no valid customer (logged). */
void unmerge_prepare(route_item *it);

/* Reads it's plan in the caller's transaction into m->unmerge (*out; NULL
 * when the customer is not merged: the event changes nothing, logged). 0,
 * or -1 when the query failed. */
int unmerge_load(model *m, const route_item *it, const unmerge_plan **out);

/* Applies m->unmerge to the model (route.c's table). */
int unmerge_apply(route_ctx *c, const route_item *it);

/* Queues the moves of the applied unmerge on p, after the batch's other
 * writes. 0, or -1 when a statement could not be sent. */
int unmerge_write(model *m, pgpipe *p);

/* A contact's (or an import's) owners, the oldest first: when two of them
 * are kept apart by an unmerge, the contact merges nobody and belongs to
 * the owner of its own handle (the last of it->ids that has one: the
 * channel's handle, else the email, else the phone). Returns the new
 * count (1 then). */
size_t unmerge_owners(const model *m, const route_item *it, int *owners, size_t nown);

/* Pure: the final ticket of x (an index into n tickets) along next[]
 * (next[i]: the ticket i joined, -1), at most n hops. */
int unmerge_final(const int *next, size_t n, int x);

#endif
