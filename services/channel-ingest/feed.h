/* feed.h — GET /v1/events: the event log, every stream, for integrators.
 *
 * A reader pages through the log with an opaque cursor (feed_cursor.h),
 * resuming exactly where it stopped, and may filter by event type patterns
 * (event_match.h). Each event is written as event_json writes it, the shape
 * webhook deliveries carry. Within a page, events come in the order they
 * were recorded (then stream, then seq); a page holds, for each stream, the
 * next events after the cursor's position and none beyond, so the cursor
 * never skips one.
 *
 * Long polling: with wait > 0 and nothing to read, the request stays
 * suspended until an event of its types is committed or the wait is over.
 * The bus wakes it (channel-ingest subscribes to every stream's PUB while
 * anyone waits: a hint, the page is always read from PostgreSQL), and a
 * periodic look at eventlog.streams catches what the bus dropped. Waiting
 * requests are bounded (CAREBUS_FEED_MAX_WAITING): beyond, 503. The feed
 * reads on a connection of its own, so a long page never delays the other
 * read-backs.
 */
#ifndef FEED_H
#define FEED_H

#include <stdbool.h>

#include "bus.h"
#include "feed_cursor.h"
#include "field.h"
#include "http.h"
#include "loop.h"

#define FEED_LIMIT_DEFAULT 100
#define FEED_LIMIT_MAX 1000
#define FEED_WAIT_MAX_S 60
#define FEED_TYPES_MAX 64 /* patterns in "types" */
/* The matching types as a PostgreSQL text[] literal: every type of the
 * schema, quoted, fits (test_feed checks it against the schema). */
#define FEED_TYPES_SQL_MAX 8192

/* A request's parameters, parsed. */
struct feed_query {
    struct feed_cursor after;
    bool all_types; /* no "types", or patterns that match every type */
    char types_sql[FEED_TYPES_SQL_MAX];
    int limit;
    int wait_s;
};

/* Reads the query parameters (each NULL or "" when absent): after (a
 * cursor; absent: the beginning), types (comma-separated patterns), limit
 * (1 to FEED_LIMIT_MAX, default FEED_LIMIT_DEFAULT), wait (seconds, 0 to
 * FEED_WAIT_MAX_S, default 0). 0, or -1 with err naming the parameter.
 * Pure. */
int feed_query_parse(const char *after, const char *types, const char *limit, const char *wait,
                     struct feed_query *q, struct message_error *err);

typedef struct feed feed;

/* Listens on b's SUB socket (connected to every stream of the bus table,
 * filtered only while a request waits) and reads on a connection of its
 * own (conninfo). NULL on failure (logged). */
feed *feed_new(loop *l, bus *b, const char *conninfo, long max_waiting);
/* Answers every request still waiting (an empty page at its cursor: the
 * reader simply asks again), then closes. */
void feed_destroy(feed **pf);

#endif
