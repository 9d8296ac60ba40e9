/* canned.h — canned replies: canned.saved and canned.deleted
 * (/v1/canned-replies), kept in router.canned_replies.
 *
 * The router only keeps them, so that they are derived from the log like
 * everything else (a rebuild equals the live state); channel-ingest checks
 * their placeholders when they are saved and fills them in for a ticket.
 * A save states the whole reply (the API's PATCH reads the reply first);
 * created_at is the first save's time, kept by the upsert. A reply deleted
 * and saved again in one batch starts afresh.
 */
#ifndef CAREBUS_ROUTER_CANNED_H
#define CAREBUS_ROUTER_CANNED_H

#include <stdbool.h>

#include "model.h"
#include "route.h"

#define CANNED_ID_MAX 128

/* route_prepare: the event names a reply, and a save has a title and a
 * text (logged when not). */
bool canned_usable(const route_item *it);

/* route.c's handlers. 0 or -1. */
int canned_saved(route_ctx *c, const route_item *it);
int canned_deleted(route_ctx *c, const route_item *it);

#endif
