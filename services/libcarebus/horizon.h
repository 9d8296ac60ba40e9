/* horizon.h — which events of several streams' reads are applied together.
 *
 * A consumer that catches up several streams at once (consumer_set_together)
 * reads a chunk of each and applies them in one transaction, as the bus
 * would have brought them: interleaved in time, so that the events about
 * one ticket, spread over the streams, meet in one batch instead of one
 * batch per stream. A stream whose chunk came back full may have more up
 * to any time; the batch therefore stops at the horizon, the earliest
 * last recorded time of the full chunks: every stream contributes its
 * events recorded up to it (a prefix, so offsets stay contiguous), the
 * rest is read again next round. A chunk that is not full is the stream's
 * end: it does not limit the horizon. Pure.
 */
#ifndef CAREBUS_HORIZON_H
#define CAREBUS_HORIZON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct horizon_read {
    size_t n;                /* events read */
    bool full;               /* as many as asked for: the stream may have more */
    const int64_t *recorded; /* their recorded times, n of them, in seq order */
};

/* take[k]: how many of stream k's events (the first ones) the batch takes.
 * The stream that sets the horizon gives its whole chunk, so the batch is
 * never empty while events were read; with no full chunk, all is taken. */
void horizon_take(const struct horizon_read *r, size_t nstreams, size_t *take);

#endif
