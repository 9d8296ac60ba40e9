/* store.h — the router's rows in PostgreSQL, a batch at a time.
 *
 * store_prefetch fills a model with every row the batch's events can
 * reach; store_write writes back what the batch changed, one statement per
 * table (each table described once, its rows handed over as one batch:
 * rowset.h). The prefetch is two round trips (the second reads what the
 * first found the batch reaches), the write one (pipe.h). Both run in the consumer's transaction
 * and block on PostgreSQL; -1 means a statement failed (logged) and the transaction must roll back.
 */
#ifndef CAREBUS_ROUTER_STORE_H
#define CAREBUS_ROUTER_STORE_H

#include <stddef.h>

#include "model.h"
#include "pipe.h"

/* What a batch's events name. Strings are borrowed; ids are valid UUIDs. */
struct store_keys {
    const char **kinds, **values; /* handles, normalised */
    size_t nidents;
    const char **refs; /* external ids a contact threads to */
    size_t nrefs;
    const char **tickets; /* ticket ids */
    size_t ntickets;
    const char **customers; /* customer ids */
    size_t ncustomers;
    const char **threads; /* ticket ids replies go on */
    size_t nthreads;
};

int store_prefetch(model *m, const struct store_keys *k);

/* Makes sure ticket t's conversation and its customer's handles are in the
 * model (model.hist, model.cident), loading what the prefetch did not: the
 * tickets and customers merged into them in this batch. 0 or -1. */
int store_conversation(model *m, int t);

/* Loads the next page of team q's queue (tickets not yet in the model are
 * added; the watermark moves). 0 or -1. */
int store_queue_page(model *m, m_queue *q, int limit);

/* Queues the batch's writes on p (pipe_begin'd by the caller, who adds
 * its own statements and runs it). 0, or -1 when one could not be sent. */
int store_write(model *m, pgpipe *p);

#endif
