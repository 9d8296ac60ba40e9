/* store.h — the live path: one event at a time, inside the consumer's
 * transaction.
 *
 * For an event, the store loads what it touches from PostgreSQL (the
 * ticket, the merge trees of the customers involved, and for an event that
 * changes a customer's segment or tree every ticket of those trees) into a
 * model, subtracts their KPI contributions, applies the event, adds the new
 * contributions, and writes the changed states, facts and the difference of
 * the sums in one call of analytics.apply(). Blocks on the database.
 */
#ifndef CAREBUS_ANALYTICS_STORE_H
#define CAREBUS_ANALYTICS_STORE_H

#include "consumer.h"
#include "db.h"
#include "timebase.h"

consumer_result store_apply(db *d, timebase *cal, const event *ev);

/* The consumer's handler table (consumer.h): every body that names a
 * ticket or customer whose KPIs it changes (those model_refs_of places),
 * from any stream, to store_apply; arg is the calendar. */
extern const struct consumer_handler store_handlers[];
extern const size_t store_nhandlers;

#endif
