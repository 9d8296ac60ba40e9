/* rebuild.h — all of analytics' state again, from the event log.
 *
 * Reads the four streams up to their ends in one snapshot (binary results,
 * large batches), applies every event to an in-memory model, computes every
 * contribution once, and replaces analytics' tables (COPY) and its consumer
 * offsets in one transaction: readers see the old state until the new one
 * is complete, and a failure leaves the old state in place. The live
 * consumer (if one runs) finds its offsets moved and reloads them.
 *
 * Memory: every ticket and customer of the log at once (about 1 kB per
 * ticket). Blocks for the whole rebuild.
 */
#ifndef CAREBUS_ANALYTICS_REBUILD_H
#define CAREBUS_ANALYTICS_REBUILD_H

#include <stdint.h>

#include "db.h"
#include "timebase.h"

struct rebuild_stats {
    uint64_t events; /* read from the log */
    uint64_t tickets;
    uint64_t customers;
    double read_s, compute_s, write_s;
};

/* The consumer name whose offsets the rebuild sets ("analytics"). */
#define REBUILD_CONSUMER "analytics"

int rebuild_run(db *d, timebase *cal, struct rebuild_stats *st);

/* carebus-analytics --rebuild: connects (CAREBUS_PG), rebuilds, prints the
 * figures as one JSON line on stdout. The process exit code. */
int rebuild_main(void);

/* Records the calendar the state is computed with (analytics.settings),
 * inside the caller's transaction or on its own. 0 or -1. */
int rebuild_save_settings(db *d, timebase *cal);

#endif
