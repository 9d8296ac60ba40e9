/* lag.h — how far a consumer is behind the log's tail, for /metrics.
 *
 * Per stream it reads, a consumer exposes two gauges:
 *   carebus_consumer_lag_events{stream="..."}   the tail's seq minus its offset
 *   carebus_consumer_lag_seconds{stream="..."}  how long ago the oldest event
 *                                               it has not applied was recorded
 *                                               (0 when caught up)
 * Both ends are what PostgreSQL has committed: the offsets of
 * eventlog.offsets (not the consumer's memory, so that the holder of the
 * lease and a standby publish the same figure) and eventlog.streams'
 * last_seq. The age is measured by PostgreSQL's clock, the one that stamped
 * recorded_at, so that a skew between the machines does not show as lag.
 * One query for every stream of the consumer (lag_query), run on every
 * scrape of /metrics and on the consumer's tick: a gauge sampled between
 * batches would read as stale as the longest batch.
 *
 * A partitioned consumer (partset.h) has an offset per partition, and one
 * gauge per stream all the same: the furthest behind of all its
 * partitions, owned here or not (every partition reads every event, so the
 * lowest committed offset, eventlog.consumer_seq's, is the largest lag, in
 * events and in seconds).
 * Every instance publishes that same figure, so that one alert rule fires
 * whichever instance is scraped, also for a partition whose owner died.
 */
#ifndef CAREBUS_LAG_H
#define CAREBUS_LAG_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* A stream's position as one query saw it. */
struct lag_sample {
    uint64_t offset; /* the consumer's committed offset (0: none yet) */
    uint64_t tail;   /* the stream's last committed seq */
    double age_s;    /* seconds since the event after offset was recorded; < 0: unknown */
};

/* The two figures of a sample: events behind, and seconds behind (0 when
 * caught up; the age, at least 0, otherwise; 0 when the age is unknown,
 * the events figure then telling the story). Pure. */
void lag_of(const struct lag_sample *s, double *events, double *seconds);

/* Fills s[i] for the consumer's committed offset on streams[i]
 * (eventlog.consumer_seq: for a partitioned consumer's name, the lowest
 * of its partitions'), in one statement (an unknown stream's tail is 0).
 * 0, or -1 (logged) when the database failed. Blocks; call outside a
 * transaction. */
int lag_query(db *d, const char *consumer, const char *const *streams, struct lag_sample *s,
              size_t n);

/* Sets the stream's two gauges (and describes them once). */
void lag_publish(const char *stream, double events, double seconds);

#endif
