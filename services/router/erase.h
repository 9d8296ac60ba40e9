/* erase.h — customer.erasure_requested: a customer's personal data erased.
 *
 * Routed as a part of its own (route_barrier), after the writes of the
 * events before it and before those after it: router.erase (deploy/
 * migrations/0071_privacy_erasure.sql) destroys the data keys of the
 * customer's events and of the customers merged into it, and redacts the
 * router's rows (names, handles, texts, subjects); then customer.erased
 * names the customers, for every other service to redact its own. All in
 * the consumer's transaction: a kill -9 at any point leaves it undone or
 * done, and it is done once. An unknown customer changes nothing (logged).
 */
#ifndef CAREBUS_ROUTER_ERASE_H
#define CAREBUS_ROUTER_ERASE_H

#include "route.h"

/* route_prepare's check: a valid customer id. */
void erase_prepare(route_item *it);
/* The route_table entry. 0, or -1 when a statement failed. */
int erase_apply(route_ctx *c, const route_item *it);

#endif
