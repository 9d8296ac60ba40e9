/* retention.h — personal data kept no longer than the retention period.
 *
 * With CAREBUS_RETENTION_S set (0, the default: off), the router's timer
 * finds the customers whose tickets (theirs and those of the customers
 * merged into them) are all closed, the last one longer ago than the
 * period, and appends customer.erasure_requested for each, as an
 * administrator's request would (actor "retention"), with the idempotency
 * key "router:retention"/<customer id>: erased once, by the same path
 * (erase.h), also when two instances decide at once.
 */
#ifndef CAREBUS_ROUTER_RETENTION_H
#define CAREBUS_ROUTER_RETENTION_H

#include <stdint.h>

#include "db.h"

#define RETENTION_ACTOR "retention"

/* Appends the requests due (a bounded batch). The number appended (0:
 * none due, or period_s 0), or -1 when the database failed. Blocks. */
int retention_decide(db *d, int64_t period_s);

#endif
