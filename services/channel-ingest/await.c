/* await.c — see await.h: one poll of a consumer's offset at a time, on
 * the read queue, with a timer between polls. A database error answers
 * the request here (503); the answers the caller owns are ready and late.
 */
#include "await.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"
#include "write.h"

/* The consumer's offset on the ingest stream ($2), and the one it must
 * reach ($1; NULL: the stream's end). */
static const char AWAIT_OFFSET_SQL[] =
    "SELECT (SELECT coalesce(max(o.seq), 0) FROM eventlog.offsets o"
    "         WHERE o.consumer = $2 AND o.stream = 'ingest'),"
    "       coalesce($1::bigint,"
    "                (SELECT st.last_seq FROM eventlog.streams st WHERE st.stream = 'ingest'), 0)";

void await_unavailable(http_req *r)
{
    metrics_add("carebus_ingest_rejected_total{reason=\"unavailable\"}", 1);
    ingest_reply_unavailable(r);
}

static int await_poll(struct await *a);

static int await_on_timer(loop *l, void *arg)
{
    struct await *a = arg;
    loop_remove_timer(l, a->timer);
    a->timer = 0;
    if (await_poll(a) != 0)
        await_unavailable(a->w->r);
    return 0;
}

static void await_on_offset(PGresult *res, void *arg)
{
    struct await *a = arg;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        if (res)
            log_error("reading %s's offset failed: %s", a->consumer, PQresultErrorMessage(res));
        await_unavailable(a->w->r);
        return;
    }
    uint64_t applied = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    uint64_t need = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
    if (!a->until && !a->mark->known) {
        /* After a start: whatever was committed before it. */
        a->mark->known = true;
        if (need > a->mark->seq)
            a->mark->seq = need;
    }
    if (applied >= need) {
        a->ready(a);
        return;
    }
    if (time_mono_ms() >= a->deadline_ms) {
        a->late(a, applied, need);
        return;
    }
    int t = loop_add_timer(a->w->in->svc->loop, a->poll_ms, await_on_timer, a);
    if (t < 0) {
        await_unavailable(a->w->r);
        return;
    }
    a->timer = t;
}

static int await_poll(struct await *a)
{
    char need[24];
    uint64_t until = a->until ? a->until : a->mark->seq;
    snprintf(need, sizeof need, "%" PRIu64, until);
    const char *params[] = {a->until || a->mark->known ? need : NULL, a->consumer};
    return dbq_query(a->w->in->reads, AWAIT_OFFSET_SQL, 2, params, await_on_offset, a);
}

int await_start(struct await *a, uint64_t until, int wait_ms)
{
    a->until = until;
    a->deadline_ms = time_mono_ms() + wait_ms;
    return await_poll(a);
}

void await_stop(struct await *a)
{
    if (a->timer > 0)
        loop_remove_timer(a->w->in->svc->loop, a->timer);
    a->timer = 0;
}
