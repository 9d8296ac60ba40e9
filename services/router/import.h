/* import.h — customers from a CRM (customer.imported): POST /v1/customers
 * and the bulk import's lines.
 *
 * An import names a customer by any of its handles (phone, email, a
 * channel's handle), the way a contact does, and is placed the way a
 * contact is: the customer owning one of them, the older one when they
 * belong to several (the others are merged into it, unless an unmerge keeps
 * them apart), or a new customer whose id derives from the event. It then
 * sets what the CRM knows: name, segment, status, attributes, and the
 * CRM's own id as the attribute "crm_id"; the handles nobody owns become
 * the customer's. A VIP imported before their first contact is a VIP from
 * that contact on; a new segment re-prioritises the customer's open
 * tickets. The same line imported twice is the same event (the API's
 * idempotency key derives from its content), so nothing lands twice.
 * router.imports records the customer each import went to, for an erasure
 * (router.erase destroys the import's data key), and customer.import_applied
 * says it in the log. An import read after its customer's erasure (a
 * rebuild) names no handle: it is placed on the customers that event and
 * its customer.merged name (recall.h), as live, with what is not personal
 * (segment, status); when it made its customer, the id derives again.
 * XXX: an import applied before the router emitted customer.import_applied
 * has no such event: after an erasure, a rebuild makes it the customer its
 * event's id derives, even when it went onto an existing one live.
 */
#ifndef CAREBUS_ROUTER_IMPORT_H
#define CAREBUS_ROUTER_IMPORT_H

#include "route.h"

/* Reads it's handles (normalised like a contact's for country); drops an
 * import with none (logged). */
void import_prepare(route_item *it, const char *country);

/* route.c's table: customer.imported. */
int import_apply(route_ctx *c, const route_item *it);

#endif
