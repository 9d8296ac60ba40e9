/* lag.c — a consumer's distance from the log's tail (see lag.h).
 *
 * The query takes the streams as an array and probes, per stream, the
 * consumer's rows of eventlog.offsets (its partitions' when partitioned:
 * eventlog.consumer_seq), its row of eventlog.streams and the primary key
 * of the event after the offset: a few index lookups whatever the log's
 * size.
 */
#include "lag.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "metrics.h"
#include "rowset.h"

#define LAG_SQL                                                                                    \
    "SELECT q.stream, q.committed, coalesce(s.last_seq, 0) AS tail,"                               \
    "       extract(epoch FROM clock_timestamp() - e.recorded_at)::float8 AS age_s"                \
    "  FROM (SELECT o.stream, coalesce(eventlog.consumer_seq($1, o.stream), 0) AS committed"       \
    "          FROM unnest($2::text[]) AS o (stream)) q"                                           \
    "  LEFT JOIN eventlog.streams s ON s.stream = q.stream"                                        \
    "  LEFT JOIN eventlog.events e ON e.stream = q.stream AND e.seq = q.committed + 1"

void lag_of(const struct lag_sample *s, double *events, double *seconds)
{
    if (s->tail <= s->offset) {
        *events = *seconds = 0;
        return;
    }
    *events = (double)(s->tail - s->offset);
    *seconds = s->age_s > 0 ? s->age_s : 0;
}

int lag_query(db *d, const char *consumer, const char *const *streams, struct lag_sample *s,
              size_t n)
{
    buf names = BUF_INIT;
    rowset_keys(&names, streams, n);
    const char *params[] = {consumer, buf_str(&names)};
    PGresult *r = names.failed ? NULL : db_exec(d, LAG_SQL, 2, params);
    buf_release(&names);
    if (!r)
        return -1;
    for (size_t i = 0; i < n; i++)
        s[i] = (struct lag_sample){.age_s = -1};
    for (int k = 0; k < PQntuples(r); k++) {
        const char *stream = db_value(r, k, "stream");
        const char *age = db_value(r, k, "age_s");
        for (size_t i = 0; i < n; i++) {
            if (strcmp(streams[i], stream) != 0)
                continue;
            s[i].offset = strtoull(db_value(r, k, "committed"), NULL, 10);
            s[i].tail = strtoull(db_value(r, k, "tail"), NULL, 10);
            s[i].age_s = age ? strtod(age, NULL) : -1;
        }
    }
    PQclear(r);
    return 0;
}

void lag_publish(const char *stream, double events, double seconds)
{
    static bool described;
    if (!described) {
        metrics_describe("carebus_consumer_lag_events", "gauge",
                         "events of the stream committed to the log and not yet applied");
        metrics_describe("carebus_consumer_lag_seconds", "gauge",
                         "age of the oldest event of the stream not yet applied (0: caught up)");
        described = true;
    }
    char series[96];
    snprintf(series, sizeof series, "carebus_consumer_lag_events{stream=\"%s\"}", stream);
    metrics_set(series, events);
    snprintf(series, sizeof series, "carebus_consumer_lag_seconds{stream=\"%s\"}", stream);
    metrics_set(series, seconds);
}
