/* recall.h — an erased contact's (or import's) customers, recalled from the router's own
 * stream.
 *
 * A contact whose data key was destroyed reads "[erased]" in its phone,
 * email and handle, a call in its caller: nothing the router matches by. Live, the router had
 * put it on a customer and merged others into it; a rebuild must do the
 * same, or the erased contacts land on customers of their own. That
 * decision is in the log without personal data: the events the router
 * emitted for the contact have ids derived from it (emit.h), the
 * ticket.contact_added naming its customer, the customer.merged the
 * customers merged into that one. An erased import (import.h) is recalled
 * the same way, by its customer.import_applied (it has no ticket). Read
 * only for erased contacts and imports (rare); a contact erased before
 * the router ever saw it has none (a new customer, as live).
 */
#ifndef CAREBUS_ROUTER_RECALL_H
#define CAREBUS_ROUTER_RECALL_H

#include "db.h"
#include "route.h"

/* Fills it->recalled for an erased contact or import (it->erased);
 * leaves any other item alone. 0, or -1 when the statement failed. */
int recall_load(db *d, route_item *it);

#endif
