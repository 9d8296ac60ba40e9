/* db.h — a PostgreSQL connection that reconnects by itself.
 *
 * Blocking helpers for consumers (router, sla-monitor, ...): a slow database
 * only fills the bus's high-water mark, and the gap is caught up from the
 * log. channel-ingest's HTTP path uses the non-blocking side (db_conn() plus
 * PQsend*) so that no handler ever waits on PostgreSQL.
 *
 * A call that fails because the connection broke marks it down; the next
 * db_ensure() reconnects (with a bounded backoff between attempts).
 */
#ifndef CAREBUS_DB_H
#define CAREBUS_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct db db;

/* Does not connect. NULL on allocation failure or an invalid
 * CAREBUS_SYNC_WAIT_MS (logged). */
db *db_new(const char *conninfo, const char *application_name);

/* How long a commit may wait (for the synchronous standby, above all)
 * before it is cancelled and reported failed: CAREBUS_SYNC_WAIT_MS, in
 * DB_COMMIT_WAIT_MIN_MS .. DB_COMMIT_WAIT_MAX_MS, default
 * DB_COMMIT_WAIT_MS. 0, or -1 after logging an invalid value. */
#define DB_COMMIT_WAIT_MS 5000
#define DB_COMMIT_WAIT_MIN_MS 100
#define DB_COMMIT_WAIT_MAX_MS 600000
int db_commit_wait_config(long *ms);

/* A cancel request on its way: db_cancel_start asks the server to cancel
 * what conn runs now (PQcancel: a short connection of its own) from a
 * detached thread, so that the caller (a loop) is never held by it: a
 * server that does not answer the request, or a host that has vanished,
 * holds only that thread, until TCP gives up. Does not block. NULL after
 * logging when it could not start (its failure later is logged by the
 * thread).
 *
 * Until db_cancel_done, the request may still reach the server, and hit
 * whatever the connection runs next: nothing is sent on conn meanwhile. A
 * cancelled statement that ends before its request is done (it ended by
 * itself, or the request is slow), or has not ended DB_CANCEL_WAIT_MS
 * later, is given up with its connection (db_commit, dbq's deadline): a
 * request still on its way would cut the next statement, a COMMIT waiting
 * for the standby above all, which would then succeed unconfirmed. */
#define DB_CANCEL_WAIT_MS 5000
typedef struct db_cancel_req db_cancel_req;
db_cancel_req *db_cancel_start(PGconn *conn);
/* Whether the request's thread is done: the server took the request (or
 * it failed). */
bool db_cancel_done(const db_cancel_req *c);
/* Forgets the request (NULLs *pc; NULL is fine). Does not block: a thread
 * still running frees its share when it ends. */
void db_cancel_release(db_cancel_req **pc);
void db_destroy(db **pdb);

/* Connects if down. 0 when up, -1 when still down (it does not retry within
 * the backoff window: cheap to call on every loop turn). Applies migrations
 * on the first successful connect when apply_migrations was set. */
int db_ensure(db *d);
/* Whether db_ensure would try to connect now (or is up): false while the
 * backoff after a failed attempt runs. */
bool db_reconnect_due(const db *d);
/* Closes the connection, when up and outside a transaction, and opens a
 * new one at once: libpq never shrinks the buffers of a connection, which
 * a burst's big results and statements grow (a router catching up kept an
 * 8 MiB read buffer), so a service renews it once the burst is over. The
 * session's state goes with it (prepared statements, temporary tables and
 * types: db_session changes). 0 when renewed; -1 when down
 * or in a transaction, or when the new connection failed: nothing changed,
 * the old connection serves on. Blocks for the connect. */
int db_renew(db *d);
void db_set_apply_migrations(db *d, bool on);
bool db_up(const db *d);
/* Marks the connection broken (after an I/O error seen by the caller). */
void db_mark_down(db *d);

/* Borrowed; NULL while down. */
PGconn *db_conn(db *d);

/* A number, unique in the process, that changes whenever what the session
 * created may be gone: a new connection (db_ensure after a loss, a
 * failover, db_renew), db_rollback, a db_commit that failed or rolled
 * back. State a user keeps per session (temporary types created in a
 * transaction) is keyed on it, never on the backend's pid, which a new
 * connection may reuse. It does not see a ROLLBACK sent as a statement or
 * a ROLLBACK TO SAVEPOINT: such state is made outside savepoints, in
 * transactions ended by db_commit or db_rollback. 0 before the first
 * connection. */
uint64_t db_session(const db *d);

/* The statements this connection sent through db's calls (db_exec and its
 * kin, BEGIN, COMMIT, ROLLBACK), each one round trip, since db_new: for
 * tests and diagnostics that count what a unit of work costs. Not those
 * sent straight on db_conn (channel-ingest's non-blocking side). */
uint64_t db_round_trips(const db *d);

/* Runs a parameterised statement (text parameters, NULL for SQL NULL).
 * Returns the result when its status is COMMAND_OK or TUPLES_OK, else logs
 * the error, clears it and returns NULL (and marks the connection down if the
 * connection is gone). The caller PQclear()s a non-NULL result. Blocks. */
PGresult *db_exec(db *d, const char *sql, int nparams, const char *const *params);

/* db_exec with the result's values in binary (bytea as its bytes, bigint
 * as 8 bytes big-endian): for bulk reads, no text to encode and parse. */
PGresult *db_exec_binary(db *d, const char *sql, int nparams, const char *const *params);

/* db_exec with some parameters in binary: formats[i] 1 (lengths[i] its
 * bytes, pgbin.h) or 0 (text, NUL-terminated). Text results. */
PGresult *db_exec_params(db *d, const char *sql, int nparams, const char *const *params,
                         const int *lengths, const int *formats);

/* db_exec for statements whose result is not needed. 0 or -1. */
int db_command(db *d, const char *sql, int nparams, const char *const *params);

/* A statement that writes, by the writers' rules (db_begin, db_commit)
 * wherever it runs. Outside a transaction it is not sent bare (its
 * autocommit would wait for a lost synchronous standby for ever, and
 * slip past the writers' back-off) but in a transaction of its own:
 * db_begin (DB_NOT_NOW while the writers back off: nothing sent), the
 * statement, db_commit (bounded; -1 when cut: outcome unknown). Inside the
 * caller's transaction it runs as db_exec does: that transaction was
 * admitted, and its commit is bounded. 0 with *res (when res is not NULL)
 * the statement's result, which the caller PQclear()s; DB_NOT_NOW; or -1
 * (*res NULL, logged). Blocks. */
int db_write(db *d, const char *sql, int nparams, const char *const *params, PGresult **res);

/* The value of column `name` in row `row` of res, NULL for SQL NULL:
 * results are read by column name, never by position. A name the result
 * does not have is a bug (asserted). */
const char *db_value(const PGresult *res, int row, const char *name);

/* db_begin's "not yet" (beside 0 and -1): the connection's writers back
 * off (db_backing_off), so no write transaction begins; nothing was sent
 * and nothing is logged (db_commit logged the back-off once). Callers
 * treat it as "later": their next turn, or their retry, asks again. */
#define DB_NOT_NOW 1

/* BEGIN of a write transaction: 0, DB_NOT_NOW while the writers back off
 * (the one place that rule is kept: every writer starts here, directly or
 * through consumer_begin, partset_begin, service_begin, db_write), or -1.
 * COMMIT / ROLLBACK: 0 or -1. ROLLBACK errors are ignored.
 * A COMMIT still waiting after CAREBUS_SYNC_WAIT_MS is cancelled and
 * returns -1 with the connection still up: its outcome is unknown to the
 * caller (PostgreSQL may have committed it locally, without the standby's
 * confirmation), exactly as when the connection breaks during COMMIT. */
int db_begin(db *d);
int db_commit(db *d);
void db_rollback(db *d);

/* BEGIN READ ONLY: the explicit way through the writers' back-off for a
 * transaction that only reads (PostgreSQL refuses its writes, SQLSTATE
 * 25006, which also drops the connection: a bug, not a fallback). 0 or -1. */
int db_begin_read(db *d);

/* BEGIN of a transaction whose COMMIT waits for no standby
 * (synchronous_commit = local): only for writes a failover may lose
 * harmlessly, such as giving a lease back before it expires. Not refused
 * while the writers back off: its commit cannot wait for the standby,
 * which is what the back-off spares the loop. 0 or -1. */
int db_begin_local(db *d);

/* Whether writers wait: a commit on this connection had an unknown
 * outcome (cut at the bound, or its connection lost) less than a back-off
 * ago (doubling from 100 ms to 3.2 s; gauge
 * carebus_db_commit_backoff_seconds). The delay is forgotten only by a
 * commit that waited for the standby and went through: one that wrote,
 * at a synchronous_commit that waits (on, remote_write, remote_apply).
 * db_begin enforces it, and dbq on its write queues; other writers need
 * not ask. */
bool db_backing_off(const db *d);

/* A write on d had an unknown outcome: the writers back off (the rule
 * above, kept here once). db_commit calls it for its own commits; a write
 * committed by other means calls it too (dbq's write queues: a statement
 * cut at the deadline, or its connection lost while it ran). Logs once. */
void db_commit_unknown(db *d);

/* A write on d committed, waiting for the standby, and went through: the
 * writers' back-off is forgotten (the rule above, kept here once).
 * db_commit calls it for its own commits; dbq for a write on a write
 * queue that ended by itself within the deadline and changed rows (its
 * tag says so: dbq.c). */
void db_commit_known(db *d);

/* The clock of the writers' back-off, and of nothing else (commits are
 * bounded by time_mono_ms): now_ms() in monotonic ms, NULL for
 * time_mono_ms. For tests, whose clock stands still until they move it,
 * so that the back-off's window does not depend on the machine's speed. */
void db_set_backoff_clock(db *d, int64_t (*now_ms)(void));

/* SQLSTATE of the last failed db_exec, "" if none (static storage). */
const char *db_last_sqlstate(const db *d);

/* SQLSTATE lock_not_available: a statement run under a lock_timeout met a
 * lock held longer. */
#define DB_SQLSTATE_LOCK_NOT_AVAILABLE "55P03"

/* Whether d's statements expect to meet locks (a lock_timeout of their
 * own, an outcome their caller handles): lock_not_available is then logged
 * at debug level only, not as an error. Off by default. */
void db_expect_locks(db *d, bool on);

#endif
