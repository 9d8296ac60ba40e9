/* pipe.h — several statements in one round trip (libpq pipeline mode).
 *
 * The router's batch needs a handful of statements that do not depend on
 * each other's results (the prefetch queries, the writes). Sent together,
 * they cost one round trip instead of one each, which is what a small
 * batch on the live path mostly pays for. Runs on the db's connection,
 * inside the caller's transaction; blocks.
 *
 * An error aborts the rest of the pipeline (and the transaction): the
 * caller rolls back. A broken connection is marked down (db_mark_down).
 */
#ifndef CAREBUS_ROUTER_PIPE_H
#define CAREBUS_ROUTER_PIPE_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "db.h"

#define PIPE_MAX 24

typedef struct pgpipe {
    db *db;
    PGconn *conn;
    int n;                      /* statements sent */
    PGresult *res[PIPE_MAX];    /* their results, once pipe_run returned 0 */
    const char *what[PIPE_MAX]; /* for error messages */
} pgpipe;

/* Starts a pipeline. 0, or -1 (connection down). */
int pipe_begin(pgpipe *p, db *d);
/* Queues a statement (text parameters). Its index, or -1. */
int pipe_send(pgpipe *p, const char *what, const char *sql, int nparams, const char *const *params);
/* Sends everything, waits, collects each statement's result. 0 when all
 * succeeded; -1 (logged) otherwise. Leaves pipeline mode either way. */
int pipe_run(pgpipe *p);
/* Result i (borrowed until pipe_release). */
PGresult *pipe_result(pgpipe *p, int i);
void pipe_release(pgpipe *p);

#endif
