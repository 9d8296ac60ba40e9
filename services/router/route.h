/* route.h — what each event does to the router's state.
 *
 * route_prepare reads an event once (normalised handles, its time); the
 * batch's keys (route_keys) tell store_prefetch what to load; route_apply
 * then applies the events in order to the model, emitting the router's
 * events as it goes. Everything derives from the events: ids from their
 * ids, times from their times, choices (oldest customer, least loaded
 * agent, queue order) broken by ids when all else is equal.
 */
#ifndef CAREBUS_ROUTER_ROUTE_H
#define CAREBUS_ROUTER_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "ack.h"
#include "emit.h"
#include "identity.h"
#include "model.h"
#include "rules.h"

/* One event of a batch, read once. */
typedef struct route_item {
    const event *ev;
    int64_t rec;             /* recorded_at (set by the caller) */
    int64_t at;              /* occurred_at, else recorded_at */
    struct identity_set ids; /* contacts and calls: the customer's handles */
    bool skip;               /* nothing to do (logged) */
} route_item;

/* What a batch's events name, for store_prefetch. threads: the tickets
 * replies go on (whose conversations and customers' handles address
 * them). */
typedef struct route_keys {
    const char **kinds, **values, **refs, **tickets, **customers, **threads;
    size_t nidents, nrefs, ntickets, ncustomers, nthreads;
    size_t cidents, cvalues, crefs, ctickets, ccustomers, cthreads;
} route_keys;

typedef struct route_ctx {
    model *m;
    emitter *em;
    const char *country;
    const ack *ack;           /* acknowledgements; NULL: none */
    const char *email_domain; /* of carebus's own Message-IDs */
    /* Teams whose queues an event may drain (agents freed or arrived). */
    const char **drain;
    size_t ndrain, cdrain;
} route_ctx;

/* Reads it->ev (it->rec set): sets at, ids, skip. */
void route_prepare(route_item *it, const char *country);
/* Adds what it names to k (strings borrowed from the event). */
void route_keys_add(model *m, route_keys *k, const route_item *it);
/* True for the bodies the router reacts to; *stream (may be NULL) gets
 * the stream it reads them from ("ingest", "courier"; NULL: any). */
bool route_handles(Carebus__V1__Envelope__BodyCase bc, const char **stream);
/* Applies it to c->m. 0, or -1 when a statement failed (the batch rolls
 * back). */
int route_apply(route_ctx *c, const route_item *it);

#endif
