/* footprint.h — what a batch of events can change, and what that changes
 * in the KPI sums.
 *
 * The live path keeps many entities in memory (store.h) and applies a
 * batch of events at once. To keep the daily sums exact without
 * recomputing everything it holds, it subtracts the contributions of the
 * entities the batch can change, applies the batch, and adds the same
 * entities' contributions back (contrib.h): the batch's footprint. It is
 *   - each event's ticket (a survey answer's through its survey);
 *   - the whole tree of every customer an event names: a customer's KPIs
 *     are its tree's, and a tree's segment is its latest member's;
 *   - for an event that changes a segment or a tree (model_refs.
 *     customer_level), every ticket of those trees: their segment moves;
 * and, after the batch, every entity it created (nothing to subtract).
 * What is outside cannot change: its events are not in the batch. The
 * entities named must be in the model when they exist (load.h), and a
 * tree in the model is always whole.
 *
 * Pure (no database); marks live on the entities (model_*.mark) and are
 * cleared by footprint_settle.
 */
#ifndef CAREBUS_ANALYTICS_FOOTPRINT_H
#define CAREBUS_ANALYTICS_FOOTPRINT_H

#include <stdbool.h>
#include <stddef.h>

#include "contrib.h"
#include "model.h"
#include "rows.h"
#include "timebase.h"

enum {
    FOOTPRINT_EVENT = 1, /* an event's ticket, or a customer of a tree named */
    FOOTPRINT_TREE = 2,  /* a ticket of a tree whose segment may move */
};

/* A ticket of the footprint as its rows stood before the batch. */
struct footprint_prior {
    int32_t segment; /* its tree's */
    size_t nsla;     /* its SLA points (a list that only grows) */
    struct rows_samples samples;
};

typedef struct footprint {
    model_ticket **tickets;
    size_t nt, capt;
    /* tickets[0..nprior)'s before the batch (footprint_contribute's
     * subtraction). */
    struct footprint_prior *prior;
    size_t nprior, capprior;
    /* tickets[i]'s facts after the batch (footprint_contribute's addition):
     * its rows' (they borrow the ticket's strings). */
    struct ticket_facts *facts;
    size_t capfacts;
    model_customer **customers;
    size_t nc, capc;
    size_t tickets0, customers0; /* the model's counts before the batch */
} footprint;

void footprint_init(footprint *f);
void footprint_release(footprint *f);

/* Before applying items[0..n) to m: the entities of m they can change.
 * 0, or -1 out of memory. */
int footprint_before(footprint *f, model *m, const struct model_item *items, size_t n);
/* After applying them: adds what the batch created. 0 or -1. */
int footprint_after(footprint *f, model *m);

/* Adds sign x the contribution of every ticket and tree of the footprint
 * (segments resolved first). Subtracting (before the batch), keeps what
 * each ticket's rows hold; adding (after it), sets each ticket's
 * samples_put, samples_gone and sla_new (model.h) from the difference,
 * and leaves out of the changed tickets one of a tree whose segment did
 * not move after all. 0, or -1 out of memory. */
int footprint_contribute(footprint *f, agg *a, timebase *cal, model *m, int sign);

/* Whether a ticket's row must be written: changed, or its tree's segment
 * moved. */
bool footprint_ticket_changed(const model_ticket *t);

/* The batch is written: clears the marks, dirty and is_new flags of the
 * footprint; a customer made by the batch has all its tickets in the model
 * (none can be elsewhere). Empties f for the next batch; its arrays (some
 * 500 bytes a ticket) are kept for the next one (a catch-up's rounds),
 * unless they are more than four times what this batch used and past
 * FOOTPRINT_KEEP tickets (a trickle after a catch-up). */
void footprint_settle(footprint *f);

#endif
