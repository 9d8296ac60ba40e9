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
 * (router.erase destroys the import's data key). An import read after its
 * customer's erasure (a rebuild) names no handle: it makes the customer its
 * event's id derives, as it did live when it made a new one, with what is
 * not personal (segment, status); its contacts are recalled onto it
 * (recall.h). XXX: an import that went live onto an existing customer is
 * not recalled so: the rebuild gives it a customer of its own.
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
