/* retention.c — see retention.h. */
#include "retention.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "eventlog.h"
#include "log.h"
#include "timeutil.h"

#define RETENTION_SCOPE "router:retention"
/* Requests per tick: an erasure is a part of its own for the router. */
#define RETENTION_BATCH 50

/* Customers not merged away, with tickets, all closed before the period,
 * and not requested yet. */
static const char RETENTION_DUE_SQL[] =
    "SELECT c.id::text AS id FROM router.customers c"
    " JOIN router.tickets t ON t.customer_id = c.id"
    "   OR t.customer_id IN (SELECT m.id FROM router.customers m WHERE m.merged_into = c.id)"
    " WHERE c.merged_into IS NULL"
    "   AND NOT EXISTS (SELECT 1 FROM eventlog.events e"
    "                    WHERE e.idem_scope = '" RETENTION_SCOPE "' AND e.idem_key = c.id::text)"
    " GROUP BY c.id"
    " HAVING bool_and(t.status = 'closed' AND t.closed_at IS NOT NULL)"
    "    AND max(t.closed_at) < now() - make_interval(secs => $1::double precision)"
    " ORDER BY c.id LIMIT $2::int";

struct request {
    event ev;
    Carebus__V1__CustomerErasureRequested body;
    Google__Protobuf__Timestamp at;
};

int retention_decide(db *d, int64_t period_s)
{
    if (period_s <= 0)
        return 0;
    char period[32], limit[16], reason[96];
    snprintf(period, sizeof period, "%" PRId64, period_s);
    snprintf(limit, sizeof limit, "%d", RETENTION_BATCH);
    snprintf(reason, sizeof reason, "retention: every ticket closed for more than %" PRId64 " s",
             period_s);
    const char *params[] = {period, limit};
    PGresult *r = db_exec(d, RETENTION_DUE_SQL, 2, params);
    if (!r)
        return -1;
    int n = PQntuples(r), rc = -1, appended = 0;
    struct request *rs = n ? calloc((size_t)n, sizeof *rs) : NULL;
    struct eventlog_entry *es = n ? calloc((size_t)n, sizeof *es) : NULL;
    if (n == 0) {
        rc = 0;
        goto out;
    }
    if (!rs || !es)
        goto out;
    int64_t now = time_now_us();
    for (int i = 0; i < n; i++) {
        struct request *x = &rs[i];
        carebus__v1__envelope__init(&x->ev);
        carebus__v1__customer_erasure_requested__init(&x->body);
        google__protobuf__timestamp__init(&x->at);
        event_ts_set(&x->at, now);
        x->body.actor = RETENTION_ACTOR;
        x->body.reason = reason;
        x->ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_ERASURE_REQUESTED;
        x->ev.customer_erasure_requested = &x->body;
        x->ev.customer_id = (char *)db_value(r, i, "id");
        x->ev.occurred_at = &x->at;
        es[i].ev = &x->ev;
        es[i].idem_scope = RETENTION_SCOPE;
        es[i].idem_key = x->ev.customer_id;
    }
    appended = eventlog_append_commit(d, "ingest", es, (size_t)n);
    if (appended < 0)
        goto out;
    if (appended)
        log_info("router: %d customers past the retention period are erased", appended);
    rc = appended;
out:
    for (int i = 0; es && i < n; i++)
        eventlog_entry_release(&es[i]);
    free(es);
    free(rs);
    PQclear(r);
    return rc;
}
