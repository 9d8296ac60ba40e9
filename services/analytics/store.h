/* store.h — the live path: batches applied set-based, hot entities kept in
 * memory.
 *
 * The consumer stages each event analytics places (store_handlers) and
 * calls the flush once per transaction: the store loads what the batch
 * touches and its model lacks (load.h), subtracts the contributions of
 * the batch's footprint (footprint.h), applies the events, adds the
 * footprint's contributions back, and writes the changed states, facts
 * and the difference of the sums through the session's staging tables
 * (stage.h), in the transaction that also moves the offsets. A batch costs the same
 * few round trips whatever its size.
 *
 * The model outlives the batch: what it holds is exactly what was last
 * committed, so the next batch reads only what is new to it. It is
 * dropped whole when a transaction does not commit (consumer_set_done),
 * when it grows past its bound (CAREBUS_ANALYTICS_CACHE entities) and
 * after CAREBUS_ANALYTICS_CACHE_IDLE_S seconds without events, when the
 * memory goes back to the system (store_idle). The arrays a batch's
 * events are staged and footprinted in are kept from batch to batch (a
 * catch-up's rounds would grow them again from nothing each time), given
 * back after a batch far smaller than them, and go with the model when
 * idle. Blocks on the database.
 */
#ifndef CAREBUS_ANALYTICS_STORE_H
#define CAREBUS_ANALYTICS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "consumer.h"
#include "timebase.h"

#define STORE_DEFAULT_CACHE 200000 /* tickets and customers */
/* Idle seconds before the model goes: well within the minute after a
 * burst by which memory must be back near its idle size, and long enough
 * that a quiet desk's batches (one every few seconds) keep their cache. */
#define STORE_DEFAULT_CACHE_IDLE_S 30
/* A transaction's batch, and how long the bus path waits to fill it. A
 * catch-up round's writes are mostly the daily sums' deltas, one row per
 * (grouping, day, key) it touches, each updated again by the next round:
 * rounds of 100,000 events write a third fewer of them than of 50,000 (a
 * 300,000-event log), for some 40 MiB more at the peak. */
#define STORE_BATCH 100000
#define STORE_LINGER_MS 5

typedef struct store store;

/* cal is borrowed. NULL when out of memory. */
store *store_new(timebase *cal, size_t cache_max, int64_t idle_ms);
void store_destroy(store **ps);

/* Makes the store the consumer's: its flush and done functions and its
 * batch size. The consumer's handler argument must be the store. */
void store_attach(store *s, consumer *c);

/* Drops the model when no batch came for the idle time, and gives the
 * freed memory back to the system. now: monotonic ms. */
void store_idle(store *s, int64_t now);

/* Entities the model holds (for tests and metrics). */
size_t store_cached(const store *s);

/* The consumer's handler table (consumer.h): every body that names a
 * ticket or customer whose KPIs it changes (those model_refs_of places),
 * from any stream; arg is the store. */
extern const struct consumer_handler store_handlers[];
extern const size_t store_nhandlers;

#endif
