/* contact.h — contact.received: a customer's contact onto their history.
 *
 * Finds (or creates) the customer by any of the contact's normalised
 * handles, puts the contact on the customer's ticket that is not closed (or
 * opens one for the default team), records it on the timeline, and emits
 * ticket.opened, ticket.contact_added and ticket.assigned.
 */
#ifndef CAREBUS_ROUTER_CONTACT_H
#define CAREBUS_ROUTER_CONTACT_H

#include "router.h"

/* A router_handler_fn for CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED, run
 * in the consumer's transaction; blocks on PostgreSQL.
 *   CONSUMER_OK     applied
 *   CONSUMER_RETRY  a statement failed (the transaction is aborted)
 *   CONSUMER_SKIP   the contact can never apply (no valid handle, no
 *                   channel, a malformed event id): logged, nothing written */
consumer_result contact_received(router *r, consumer_txn *tx, const event *ev);

#endif
