/* lag.h — how far a consumer is behind the log's tail, for /metrics.
 *
 * Per stream it reads, a consumer exposes two gauges:
 *   carebus_consumer_lag_events{stream="..."}   the tail's seq minus its offset
 *   carebus_consumer_lag_seconds{stream="..."}  how long ago the oldest event
 *                                               it has not applied was recorded
 *                                               (0 when caught up)
 * The tail is eventlog.streams' last_seq (committed: what a reader can see),
 * and the age is measured by PostgreSQL's clock, the one that stamped
 * recorded_at, so that a skew between the machines does not show as lag.
 * One query for every stream of the consumer (lag_query), run by the
 * consumer about once a second, also while it catches up.
 */
#ifndef CAREBUS_LAG_H
#define CAREBUS_LAG_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* A stream's position as one query saw it. */
struct lag_sample {
    uint64_t offset; /* the consumer's committed offset */
    uint64_t tail;   /* the stream's last committed seq */
    double age_s;    /* seconds since the event after offset was recorded; < 0: unknown */
};

/* The two figures of a sample: events behind, and seconds behind (0 when
 * caught up; the age, at least 0, otherwise; 0 when the age is unknown,
 * the events figure then telling the story). Pure. */
void lag_of(const struct lag_sample *s, double *events, double *seconds);

/* Fills s[i].tail and s[i].age_s for streams[i] at offsets s[i].offset, in
 * one statement (an unknown stream's tail is 0). 0, or -1 (logged) when
 * the database failed. Blocks. */
int lag_query(db *d, const char *const *streams, struct lag_sample *s, size_t n);

/* Sets the stream's two gauges (and describes them once). */
void lag_publish(const char *stream, double events, double seconds);

#endif
