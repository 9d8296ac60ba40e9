/* horizon.c — a common time for several streams' chunks (see horizon.h).
 *
 * Recorded times within a stream follow its seq order in practice (they
 * are taken under the stream's lock), but the prefix rule does not rely on
 * it: a stream's events are taken while they are at or before the
 * horizon, and the first one after it ends the stream's share; the stream
 * that sets the horizon always gives its whole chunk.
 */
#include "horizon.h"

void horizon_take(const struct horizon_read *r, size_t nstreams, size_t *take)
{
    int64_t horizon = INT64_MAX;
    size_t setter = nstreams; /* the stream whose last event is the horizon */
    for (size_t k = 0; k < nstreams; k++)
        if (r[k].full && r[k].n && r[k].recorded[r[k].n - 1] < horizon) {
            horizon = r[k].recorded[r[k].n - 1];
            setter = k;
        }
    for (size_t k = 0; k < nstreams; k++) {
        size_t i = 0;
        while (i < r[k].n && r[k].recorded[i] <= horizon)
            i++;
        /* The horizon's own chunk goes whole, even if a time in it went
         * backwards: every round makes progress. */
        take[k] = k == setter ? r[k].n : i;
    }
}
