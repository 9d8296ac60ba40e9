/* load.h — what a batch of events touches, brought from PostgreSQL into the
 * live path's model in a few set-based reads.
 *
 * Before a batch is applied, every entity it can change must be in the
 * model when it exists (footprint.h): the tickets its events name (a
 * survey answer's through analytics.surveys), the whole tree of each
 * customer they name and of each such ticket's customer, and for an event
 * that moves a segment or a tree every ticket of those trees. What the
 * model already holds is not read again: its state there is the one last
 * committed (store.h drops the model on any rollback). At most three
 * round trips per batch whatever its size: survey ids, then tickets and
 * trees together, then the trees' tickets. Blocks on the database.
 */
#ifndef CAREBUS_ANALYTICS_LOAD_H
#define CAREBUS_ANALYTICS_LOAD_H

#include <stddef.h>

#include "db.h"
#include "model.h"

/* 0, or -1 when a statement failed or a stored state does not load
 * (logged); the model may then hold part of what was read. */
int load_batch(db *d, model *m, const struct model_item *items, size_t n);

#endif
