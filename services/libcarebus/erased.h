/* erased.h — customer.erased, applied to a service's own rows.
 *
 * The router erases a customer and announces it with customer.erased
 * (services/router/erase.h); every other service that keeps personal data
 * redacts its rows for it with its schema's erase function (deploy/
 * migrations/0071_privacy_erasure.sql), inside its consumer's transaction:
 * applied once, also across a kill -9, like any other event.
 */
#ifndef CAREBUS_ERASED_H
#define CAREBUS_ERASED_H

#include <stddef.h>

#include "buf.h"
#include "db.h"
#include "event.h"

/* Appends the event's customers to out as a uuid[] literal ("{...}"; ids
 * that are not UUIDs are left out): their number. */
size_t erased_ids(const Carebus__V1__CustomerErased *e, buf *out);

/* Runs `SELECT fn($1::uuid[])` (fn: a constant such as "survey.erase") for
 * the event's customers (ids that are not UUIDs are left out). 0, or -1
 * when the statement failed (logged by db). Blocks. */
int erased_apply(db *d, const Carebus__V1__CustomerErased *e, const char *fn);

#endif
