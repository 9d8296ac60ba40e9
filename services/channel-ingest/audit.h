/* audit.h — reads of customers' data by an admin key, each recorded
 * (Decree 13/2023's accountability; README "Personal data", Audit).
 *
 * The routes that read a customer's data carry AUDIT_READ beside their
 * scope, read (routes.c): a customer, a search, a customer's tickets, a
 * ticket and its timeline. A key with read reads them as before, unrecorded:
 * that is agents', supervisors', the desk's sessions' and integrators'
 * ordinary work. A key with admin and without read may read them too, but
 * only with a reason (the "reason" query parameter, as the export takes
 * it): the guard refuses it 403 without one. With one, the handler first
 * appends customer.data_read (who, why, the route, the customer or ticket
 * the path names, the names of the query parameters) through the group
 * commit, and runs only once that is committed, as a read key: no such read
 * goes unrecorded, and a list costs one event per request, not per row.
 * The export records itself (customer.data_exported, export.c).
 */
#ifndef AUDIT_H
#define AUDIT_H

#include <stdbool.h>

#include "http.h"
#include "ingest.h"

/* A route flag beside the scope (scope.h's room above SCOPE_MASK). */
#define AUDIT_READ (1u << 20)
/* The query parameter that gives the reason: list parsers skip it. */
#define AUDIT_REASON "reason"
#define AUDIT_REASON_MAX 1024

/* What the path's :id names, for the event's envelope. */
enum audit_subject { AUDIT_NONE, AUDIT_CUSTOMER, AUDIT_TICKET };

/* The guard of an AUDIT_READ route (access: its access column): a key with
 * read is admitted as auth_guard would; a key with admin and without read
 * is admitted when it gives a reason (403 without one, 400 for one too
 * long); any other is refused as lacking read. False after answering. */
bool audit_guard(ingest *in, http_req *r, unsigned access);

/* At the top of an AUDIT_READ handler: false to go on (a key with read, or
 * an admin key whose read is recorded); true when the request was taken
 * over — the read is being recorded and the route's handler runs again
 * once it is committed, or a 503 was answered — with *st to return. */
bool audit_hold(http_req *r, ingest *in, enum audit_subject subject, http_status *st);

#endif
