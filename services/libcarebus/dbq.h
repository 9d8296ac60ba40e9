/* dbq.h — non-blocking queries on a few PostgreSQL connections, in the loop.
 *
 * For HTTP services, whose handlers must never wait on PostgreSQL: a query
 * is queued with a callback, sent when a connection is free, and its result
 * delivered from the loop. Each connection has one statement in flight at a
 * time, so callers that want group commit batch their work into one
 * statement while the previous one runs on a queue of one connection (see
 * channel-ingest's group_commit.c). A queue of several connections (a
 * pool: dbq_new_pool) runs as many statements at once, so that a slow read
 * does not hold up the reads queued behind it; statements are sent in
 * queue order, and their results may come back in any order.
 *
 * When a connection fails (or a statement outlives the queue's deadline,
 * dbq_set_deadline), its in-flight query's callback gets a NULL result; when no connection is left,
 * every queued query's does too (callers answer 503: back-pressure instead of waiting). Each
 * connection reconnects by itself with a bounded backoff.
 *
 * A callback never runs inside dbq_query, dbq_read or dbq_send: when one
 * returns 0, its callback comes later, from the loop (a statement that
 * fails while it is sent is called back with NULL from the loop's next
 * turn). A caller may set its state after the 0 (e.g. "a query is in
 * flight") without its callback having run already.
 */
#ifndef CAREBUS_DBQ_H
#define CAREBUS_DBQ_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"

typedef struct dbq dbq;

/* The most connections a pool opens. */
#define DBQ_MAX_CONNS 64

/* res: the statement's result (COMMAND_OK/TUPLES_OK or an error), borrowed
 * for the call; NULL when the connection failed, the statement outlived
 * the deadline, or the queue is shutting down. */
typedef void (*dbq_fn)(PGresult *res, void *arg);
/* Sends one statement with PQsend*; 0, or -1 if it could not be sent. */
typedef int (*dbq_send_fn)(PGconn *conn, void *arg);

/* One connection. NULL on failure (logged). */
dbq *dbq_new(loop *l, const char *conninfo, const char *application_name);
/* nconns connections (1 .. DBQ_MAX_CONNS, asserted), all named
 * application_name. NULL on failure (logged). */
dbq *dbq_new_pool(loop *l, const char *conninfo, const char *application_name, size_t nconns);
/* Fails every pending query (callback with NULL) and closes. Blocks while
 * a reconnect's thread finishes its attempt (up to libpq's connect_timeout
 * per host of the conninfo). */
void dbq_destroy(dbq **pq);

/* Queues a parameterised statement (parameters are copied). 0 (its
 * callback comes later, never inside this call), or -1 when
 * no connection is up, or (write queues: dbq_set_deadline) every one that
 * is up backs off after a statement of unknown outcome (the callback is
 * not called then: nothing was sent, try later). */
int dbq_query(dbq *q, const char *sql, int nparams, const char *const *params, dbq_fn fn,
              void *arg);
/* dbq_query for a statement that only reads: a write queue sends it while
 * the connection's writers back off, and its cut (or its connection lost
 * under it) does not make them back off. A statement that writes is a bug
 * here (it would slip past the writers' rule). */
int dbq_read(dbq *q, const char *sql, int nparams, const char *const *params, dbq_fn fn, void *arg);
/* Queues a statement sent by send(conn, arg) when its turn comes. */
int dbq_send(dbq *q, dbq_send_fn send, dbq_fn fn, void *arg);

/* Bounds each statement's time in flight: one still running after ms is
 * cancelled (db_cancel_start) and its callback gets NULL, as for a broken
 * connection, whatever the cancel leaves: its outcome is unknown to the
 * caller. PostgreSQL answers a cancel inside a commit's wait for the
 * synchronous standby with success (committed here, unconfirmed): a write
 * queue must not report that as done. For write queues, with
 * CAREBUS_SYNC_WAIT_MS (db_commit_wait_config); 0 (the default): none.
 * Such a write (sent), or one whose connection is lost while it runs, makes
 * that connection's writers back off as db_commit's cut does (db.h,
 * db_backing_off): writes queued meanwhile are refused, and those waiting
 * failed, unless another connection can take them; reads (dbq_read) go
 * on. The next write that ends by itself within the deadline and changed
 * rows (an INSERT, UPDATE, DELETE or MERGE of at least one row, by its
 * command tag: it committed, waiting for the standby) forgets the delay
 * (db_commit_known, db.c's rule: only a commit that waited). A write that
 * changed nothing waited for no standby, and forgets nothing; nor does one
 * topped by SELECT (writes in a CTE or a function: courier's claim and
 * record, survey's answer), whose tag counts the rows returned, not those
 * written. */
void dbq_set_deadline(dbq *q, long ms);

/* db_set_backoff_clock for every connection of the queue (tests). */
void dbq_set_backoff_clock(dbq *q, int64_t (*now_ms)(void));

/* True when at least one connection is up. */
bool dbq_up(const dbq *q);
/* Queued plus in flight. */
size_t dbq_pending(const dbq *q);
/* True when every connection that is up has a statement in flight. */
bool dbq_busy(const dbq *q);
/* The number of connections (up or not). */
size_t dbq_size(const dbq *q);

#endif
