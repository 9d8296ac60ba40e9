/* dbq.h — non-blocking queries on one PostgreSQL connection, in the loop.
 *
 * For HTTP services, whose handlers must never wait on PostgreSQL: a query
 * is queued with a callback, sent when the connection is free, and its
 * result delivered from the loop. One statement is in flight at a time, so
 * callers that want group commit batch their work into one statement while
 * the previous one runs (see channel-ingest's group_commit.c).
 *
 * When the connection fails, every queued and in-flight query's callback
 * gets a NULL result at once (callers answer 503: back-pressure instead of
 * waiting), and the queue reconnects by itself with a bounded backoff.
 */
#ifndef CAREBUS_DBQ_H
#define CAREBUS_DBQ_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "loop.h"

typedef struct dbq dbq;

/* res: the statement's result (COMMAND_OK/TUPLES_OK or an error), borrowed
 * for the call; NULL when the connection failed or the queue is shutting
 * down. */
typedef void (*dbq_fn)(PGresult *res, void *arg);
/* Sends one statement with PQsend*; 0, or -1 if it could not be sent. */
typedef int (*dbq_send_fn)(PGconn *conn, void *arg);

dbq *dbq_new(loop *l, const char *conninfo, const char *application_name);
/* Fails every pending query (callback with NULL) and closes. */
void dbq_destroy(dbq **pq);

/* Queues a parameterised statement (parameters are copied). 0, or -1 when
 * the connection is down (the callback is not called then). */
int dbq_query(dbq *q, const char *sql, int nparams, const char *const *params, dbq_fn fn,
              void *arg);
/* Queues a statement sent by send(conn, arg) when its turn comes. */
int dbq_send(dbq *q, dbq_send_fn send, dbq_fn fn, void *arg);

bool dbq_up(const dbq *q);
/* Queued plus in flight. */
size_t dbq_pending(const dbq *q);
/* True when a statement is in flight. */
bool dbq_busy(const dbq *q);

#endif
