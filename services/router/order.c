/* order.c — see order.h for the why. The horizon is the recorded_at of
 * the first ingest event not applied yet: SLA events recorded before it
 * are applied now, in sequence order, each before the first ingest event
 * of the batch recorded after it. */
#include "order.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog.h"
#include "log.h"

#define ORDER_PAGE 500

static int64_t rec(const event *ev)
{
    return ev->recorded_at ? event_ts_us(ev->recorded_at) : INT64_MIN;
}

/* recorded_at of ingest event seq: 1 found, 0 not in the log, -1. */
static int ingest_recorded(db *d, uint64_t seq, int64_t *out)
{
    char s[24];
    snprintf(s, sizeof s, "%" PRIu64, seq);
    const char *params[] = {s};
    PGresult *r =
        db_exec(d,
                "SELECT (extract(epoch FROM recorded_at) * 1000000)::bigint"
                " AS recorded_us FROM eventlog.events WHERE stream = 'ingest' AND seq = $1",
                1, params);
    if (!r)
        return -1;
    int found = PQntuples(r) == 1;
    if (found)
        *out = strtoll(db_value(r, 0, "recorded_us"), NULL, 10);
    PQclear(r);
    return found;
}

/* Up to which recorded_at SLA events may be applied now. */
static int horizon(db *d, uint64_t ingest_applied, int64_t *out)
{
    int rc = ingest_recorded(d, ingest_applied + 1, out);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    /* Nothing after it yet: wait for an append in flight, then look again;
     * anything appended after that is recorded later than every SLA event
     * up to sla_last (committed before this). */
    uint64_t last;
    if (eventlog_settled_last_seq(d, "ingest", &last) != 0)
        return -1;
    if (last > ingest_applied) {
        rc = ingest_recorded(d, ingest_applied + 1, out);
        return rc < 0 ? -1 : 0;
    }
    *out = INT64_MAX;
    return 0;
}

/* The SLA events after sla_seq up to sla_last (those committed before the
 * batch's look at the stream: a later one is recorded after every ingest
 * event of the batch) whose place is certain. */
static int pull(db *d, uint64_t sla_seq, uint64_t sla_last, int64_t bound, int64_t limit,
                order_batch *b)
{
    size_t tail = 0;
    for (uint64_t after = sla_seq;;) {
        event *evs[ORDER_PAGE];
        int n = eventlog_read(d, "sla", after, ORDER_PAGE, evs);
        if (n < 0)
            return -1;
        int i = 0;
        for (; i < n; i++) {
            int64_t t = rec(evs[i]);
            if (evs[i]->seq > sla_last || t >= limit || (t >= bound && tail >= ORDER_TAIL_MAX))
                break;
            tail += t >= bound;
            event **p = realloc(b->pulled, (b->npulled + 1) * sizeof *p);
            if (!p) {
                for (; i < n; i++)
                    event_destroy(&evs[i]);
                return -1;
            }
            b->pulled = p;
            b->pulled[b->npulled++] = evs[i];
            after = evs[i]->seq;
        }
        bool stop = i < n || n < ORDER_PAGE;
        for (; i < n; i++)
            event_destroy(&evs[i]);
        if (stop)
            return 0;
    }
}

int order_build(db *d, const event *const *ingest, const int64_t *ingest_rec, size_t n,
                uint64_t ingest_applied, uint64_t sla_seq, uint64_t sla_last, order_batch *out)
{
    memset(out, 0, sizeof *out);
    out->sla_seq = sla_seq;
    if (sla_last > sla_seq) {
        int64_t limit;
        if (horizon(d, ingest_applied, &limit) != 0)
            return -1;
        int64_t bound = n ? ingest_rec[n - 1] : INT64_MIN;
        if (pull(d, sla_seq, sla_last, bound, limit, out) != 0)
            goto fail;
    }
    out->events = calloc(n + out->npulled + 1, sizeof *out->events);
    if (!out->events)
        goto fail;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        while (j < out->npulled && rec(out->pulled[j]) < ingest_rec[i])
            out->events[out->n++] = out->pulled[j++];
        out->events[out->n++] = ingest[i];
    }
    while (j < out->npulled)
        out->events[out->n++] = out->pulled[j++];
    if (out->npulled)
        out->sla_seq = out->pulled[out->npulled - 1]->seq;
    return 0;
fail:
    order_release(out);
    return -1;
}

void order_release(order_batch *b)
{
    for (size_t i = 0; i < b->npulled; i++)
        event_destroy(&b->pulled[i]);
    free(b->pulled);
    free(b->events);
    memset(b, 0, sizeof *b);
}
