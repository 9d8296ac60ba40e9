/* router.h — the router: its settings and its event table.
 *
 * router_apply is the consumer's handler (consumer.h): it runs inside the
 * consumer's transaction and dispatches on the envelope's body through one
 * table in router.c, so a new event type is one line there and one handler
 * file. Handlers must keep no state outside PostgreSQL (a rollback would
 * leave it behind) and take their times from the event, never the clock,
 * so that a replay of the log rebuilds exactly the live state.
 */
#ifndef CAREBUS_ROUTER_ROUTER_H
#define CAREBUS_ROUTER_ROUTER_H

#include "consumer.h"
#include "event.h"

/* The team every new ticket goes to until classification picks one. */
#define ROUTER_DEFAULT_TEAM "support"

typedef struct router {
    const char *default_team; /* ROUTER_DEFAULT_TEAM */
    const char *country;      /* whose national phone numbers (identity.h) */
} router;

/* A handler of one body case. */
typedef consumer_result (*router_handler_fn)(router *r, consumer_txn *tx, const event *ev);

/* Settings from the environment. NULL (logged) on failure. */
router *router_new(void);
void router_destroy(router **pr);

/* consumer_apply_fn; arg is the router. Bodies without a handler are
 * acknowledged (CONSUMER_OK) and change nothing. */
consumer_result router_apply(consumer_txn *tx, const event *ev, void *arg);

#endif
