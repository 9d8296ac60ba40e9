/* db.c — one PostgreSQL connection that comes back by itself.
 *
 * The connection is made lazily by db_ensure and re-made after a failure,
 * at most once per backoff interval (backoff.h: doubling from 100 ms to
 * 2 s), so a service whose database is down keeps serving health checks
 * and answering 503 instead of spinning on connect.
 *
 * High availability lives here, once for every service: the conninfo may
 * name several servers (host=a,b port=x,y), and target_session_attrs
 * defaults to read-write, so a connect lands on whichever server is the
 * primary now and a standby (read-only) is passed over. The default goes
 * before the conninfo in the parameter arrays: libpq keeps the last value
 * of a repeated key, so an operator's own target_session_attrs wins. A
 * statement refused as read-only (the server was demoted under us) drops
 * the connection too, so that the next db_ensure finds the new primary.
 *
 * A COMMIT is bounded (CAREBUS_SYNC_WAIT_MS): with a synchronous standby
 * that is gone, PostgreSQL waits for it for ever, and statement_timeout
 * does not apply to that wait. The COMMIT is sent, polled until the bound,
 * then cancelled (PQcancel, sent from a thread of its own: it opens a
 * connection and waits for the server without a timeout, and a host that
 * has vanished would hold the caller until TCP gives up; the bound
 * DB_CANCEL_WAIT_MS covers both the answer and the request: one not done
 * by then drops the connection, which it could still cut). PostgreSQL
 * answers a cancel inside the wait with a WARNING ("canceling wait for
 * synchronous replication ... already committed locally") and a successful
 * COMMIT: the transaction stands here but the standby has not confirmed
 * it. db_commit says -1 then, like a connection broken during COMMIT
 * (outcome unknown): callers re-read what they need (a consumer its
 * offsets), so nothing is applied twice.
 *
 * Such a commit arms a second back-off, the writers' (db_backing_off:
 * doubling from 100 ms to 3.2 s): db_begin refuses every write
 * transaction on this connection meanwhile (DB_NOT_NOW), whoever starts
 * it (a consumer's batch, a lease renewal, a service's timer), so that a
 * loop holds one cut commit at a time between its turns, not one after
 * the other, and keeps answering /metrics and health. Reads go on: outside
 * a transaction, or in db_begin_read's. A write outside a transaction
 * (autocommit) would slip past both rules: writers send it through
 * db_write, which gives it a transaction of its own.
 *
 * The delay is forgotten only by a commit that proves the standby back:
 * one that waited for it (it wrote, at a synchronous_commit that waits)
 * and went through. COMMIT is sent with a SELECT that asks exactly that,
 * in the same round trip; a read-only commit, or an asynchronous one
 * (router's batches), would go through with the standby still away.
 */
#include "db.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "timeutil.h"

#define DB_BACKOFF_MIN_MS 100
#define DB_BACKOFF_MAX_MS 2000
/* The writers' back-off after a commit of unknown outcome. */
#define DB_COMMIT_BACKOFF_MIN_MS 100
#define DB_COMMIT_BACKOFF_MAX_MS 3200
/* SQLSTATE read_only_sql_transaction: connected to a server that is not (or
 * no longer) the primary. */
#define DB_SQLSTATE_READ_ONLY "25006"

struct db {
    char *conninfo;
    char *appname;
    PGconn *conn;
    bool apply_migrations;
    bool migrated;
    struct backoff reconnect; /* between connection attempts */
    struct backoff writes;    /* after a commit of unknown outcome */
    bool logged_down;
    long commit_wait_ms;
    int64_t (*backoff_now)(void); /* the writers' back-off's clock */
    char sqlstate[6];
    bool expect_locks;    /* db_expect_locks */
    uint64_t round_trips; /* statements sent (db_round_trips) */
    uint64_t session;     /* db_session: renewed when its state may be lost */
};

int db_commit_wait_config(long *ms)
{
    const char *err;
    if (config_long("SYNC_WAIT_MS", DB_COMMIT_WAIT_MS, DB_COMMIT_WAIT_MIN_MS, DB_COMMIT_WAIT_MAX_MS,
                    ms, &err) != 0) {
        log_error("%s", err);
        return -1;
    }
    return 0;
}

db *db_new(const char *conninfo, const char *application_name)
{
    db *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->conninfo = strdup(conninfo);
    d->appname = strdup(application_name ? application_name : "carebus");
    if (!d->conninfo || !d->appname) {
        db_destroy(&d);
        return NULL;
    }
    d->reconnect = (struct backoff){.min_ms = DB_BACKOFF_MIN_MS, .max_ms = DB_BACKOFF_MAX_MS};
    d->writes =
        (struct backoff){.min_ms = DB_COMMIT_BACKOFF_MIN_MS, .max_ms = DB_COMMIT_BACKOFF_MAX_MS};
    d->backoff_now = time_mono_ms;
    metrics_describe("carebus_db_commit_backoff_seconds", "gauge",
                     "how long write transactions are refused after a commit of unknown"
                     " outcome (cut at CAREBUS_SYNC_WAIT_MS, or its connection lost); 0 once"
                     " a commit that waited for the standby went through");
    if (db_commit_wait_config(&d->commit_wait_ms) != 0)
        db_destroy(&d);
    return d;
}

void db_destroy(db **pdb)
{
    db *d = *pdb;
    if (!d)
        return;
    if (d->conn)
        PQfinish(d->conn);
    free(d->conninfo);
    free(d->appname);
    free(d);
    *pdb = NULL;
}

void db_set_apply_migrations(db *d, bool on)
{
    d->apply_migrations = on;
}

bool db_up(const db *d)
{
    return d->conn && PQstatus(d->conn) == CONNECTION_OK;
}

void db_mark_down(db *d)
{
    if (d->conn) {
        PQfinish(d->conn);
        d->conn = NULL;
    }
}

/* Session numbers are unique across every db of the process, so that a
 * db freed and another made at its address never meet an old one. */
static _Atomic uint64_t db_sessions;

static uint64_t db_session_next(void)
{
    return atomic_fetch_add(&db_sessions, 1) + 1;
}

uint64_t db_session(const db *d)
{
    return d->session;
}

uint64_t db_round_trips(const db *d)
{
    return d->round_trips;
}

PGconn *db_conn(db *d)
{
    return db_up(d) ? d->conn : NULL;
}

/* Notices (e.g. "relation already exists, skipping") go to our log, not
 * to libpq's default printer. */
static void db_on_notice(void *arg, const char *message)
{
    (void)arg;
    log_debug("postgresql: %.*s", (int)strcspn(message, "\n"), message);
}

bool db_reconnect_due(const db *d)
{
    return db_up(d) || !backoff_waiting(&d->reconnect, time_mono_ms());
}

/* A new connection to the primary, not yet d's: NULL after logging the
 * failure (unless quiet, or already logged since the last success). */
static PGconn *db_open(db *d, bool quiet)
{
    /* Times travel as UTC so every service renders them alike. Keys before
     * "dbname" are defaults the conninfo may override; keys after it win.
     * No JIT: carebus's statements are short, and those that walk an index
     * under a LIMIT (a list's page, a search's newest matches) are
     * estimated at the whole walk's cost, which makes PostgreSQL compile
     * them, a compilation that took 200 ms of a 280 ms search. */
    const char *keys[] = {"target_session_attrs", "dbname",  "application_name",
                          "connect_timeout",      "options", NULL};
    const char *vals[] = {"read-write", d->conninfo, d->appname, "5", "-c TimeZone=UTC -c jit=off",
                          NULL};
    /* expand_dbname: the conninfo may be a key=value string or a URL. */
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        if (!quiet && !d->logged_down)
            log_warn("could not connect to PostgreSQL: %.*s (retrying)",
                     c ? (int)strcspn(PQerrorMessage(c), "\n") : 16,
                     c ? PQerrorMessage(c) : "out of memory");
        if (c)
            PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, db_on_notice, NULL);
    return c;
}

/* Opens the connection (d->conn NULL): 0, or -1 after logging a failure
 * once and starting the backoff. */
static int db_connect(db *d)
{
    int64_t now = time_mono_ms();
    if (backoff_waiting(&d->reconnect, now))
        return -1;
    PGconn *c = db_open(d, false);
    if (!c) {
        d->logged_down = true;
        backoff_fail(&d->reconnect, now);
        return -1;
    }
    d->conn = c;
    d->session = db_session_next();
    if (d->apply_migrations && !d->migrated) {
        if (migrate_apply(c) != 0) {
            db_mark_down(d);
            d->reconnect.until_ms = now + DB_BACKOFF_MAX_MS;
            return -1;
        }
        d->migrated = true;
    }
    d->logged_down = false;
    backoff_reset(&d->reconnect);
    return 0;
}

int db_ensure(db *d)
{
    if (db_up(d))
        return 0;
    db_mark_down(d);
    if (db_connect(d) != 0)
        return -1;
    log_info("connected to PostgreSQL at %s:%s", PQhost(d->conn), PQport(d->conn));
    return 0;
}

int db_renew(db *d)
{
    if (!db_up(d) || PQtransactionStatus(d->conn) != PQTRANS_IDLE)
        return -1;
    /* The new one first: a failure keeps the old one, which serves on. */
    PGconn *c = db_open(d, true);
    if (!c) {
        log_debug("could not renew the connection to PostgreSQL: kept the old one");
        return -1;
    }
    db_mark_down(d);
    d->conn = c;
    d->session = db_session_next();
    log_debug("renewed the connection to PostgreSQL at %s:%s", PQhost(d->conn), PQport(d->conn));
    return 0;
}

static PGresult *db_exec_as(db *d, const char *sql, int nparams, const char *const *params,
                            const int *lengths, const int *formats, int format)
{
    d->sqlstate[0] = '\0';
    if (!db_up(d))
        return NULL;
    d->round_trips++;
    PGresult *r = PQexecParams(d->conn, sql, nparams, NULL, params, lengths, formats, format);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    snprintf(d->sqlstate, sizeof d->sqlstate, "%s", state ? state : "");
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(d->conn);
    if (d->expect_locks && strcmp(d->sqlstate, DB_SQLSTATE_LOCK_NOT_AVAILABLE) == 0)
        log_debug("query met a lock: %.*s", (int)strcspn(msg, "\n"), msg);
    else
        log_error("query failed: %.*s", (int)strcspn(msg, "\n"), msg);
    PQclear(r);
    if (PQstatus(d->conn) != CONNECTION_OK || strcmp(d->sqlstate, DB_SQLSTATE_READ_ONLY) == 0)
        db_mark_down(d);
    return NULL;
}

PGresult *db_exec(db *d, const char *sql, int nparams, const char *const *params)
{
    return db_exec_as(d, sql, nparams, params, NULL, NULL, 0);
}

PGresult *db_exec_params(db *d, const char *sql, int nparams, const char *const *params,
                         const int *lengths, const int *formats)
{
    return db_exec_as(d, sql, nparams, params, lengths, formats, 0);
}

PGresult *db_exec_binary(db *d, const char *sql, int nparams, const char *const *params)
{
    return db_exec_as(d, sql, nparams, params, NULL, NULL, 1);
}

int db_command(db *d, const char *sql, int nparams, const char *const *params)
{
    PGresult *r = db_exec(d, sql, nparams, params);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

int db_write(db *d, const char *sql, int nparams, const char *const *params, PGresult **res)
{
    if (res)
        *res = NULL;
    bool own = !db_up(d) || PQtransactionStatus(d->conn) == PQTRANS_IDLE;
    if (own) {
        int rc = db_begin(d);
        if (rc != 0)
            return rc;
    }
    PGresult *r = db_exec(d, sql, nparams, params);
    if (!r) {
        if (own)
            db_rollback(d);
        return -1;
    }
    if (own && db_commit(d) != 0) {
        PQclear(r);
        return -1;
    }
    if (res)
        *res = r;
    else
        PQclear(r);
    return 0;
}

const char *db_value(const PGresult *res, int row, const char *name)
{
    int col = PQfnumber(res, name);
    if (col < 0)
        log_error("a result has no column \"%s\"", name);
    assert(col >= 0 && "reading a column the statement does not select");
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

int db_begin(db *d)
{
    if (backoff_waiting(&d->writes, d->backoff_now()))
        return DB_NOT_NOW;
    return db_command(d, "BEGIN", 0, NULL);
}

int db_begin_read(db *d)
{
    return db_command(d, "BEGIN READ ONLY", 0, NULL);
}

int db_begin_local(db *d)
{
    if (db_command(d, "BEGIN", 0, NULL) != 0)
        return -1;
    if (db_command(d, "SET LOCAL synchronous_commit = local", 0, NULL) != 0) {
        db_rollback(d);
        return -1;
    }
    return 0;
}

/* Shared by the caller and the thread: the last one to let go frees it. */
struct db_cancel_req {
    PGcancel *c;
    atomic_bool done;
    atomic_int refs;
};

static void db_cancel_unref(db_cancel_req *r)
{
    if (atomic_fetch_sub(&r->refs, 1) == 1) {
        PQfreeCancel(r->c);
        free(r);
    }
}

/* The cancel request, on its own thread: PQcancel connects to the server
 * and waits for it to close, with no timeout of its own. */
static void *db_cancel_thread(void *arg)
{
    db_cancel_req *r = arg;
    char err[256] = "";
    if (!PQcancel(r->c, err, sizeof err))
        log_warn("could not ask PostgreSQL to cancel a statement: %.*s", (int)strcspn(err, "\n"),
                 err);
    atomic_store(&r->done, true);
    db_cancel_unref(r);
    return NULL;
}

db_cancel_req *db_cancel_start(PGconn *conn)
{
    db_cancel_req *r = calloc(1, sizeof *r);
    pthread_attr_t attr;
    pthread_t t;
    bool started = false;
    if (r && (r->c = PQgetCancel(conn)) && pthread_attr_init(&attr) == 0) {
        atomic_init(&r->done, false);
        atomic_init(&r->refs, 2);
        if (pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0 &&
            pthread_create(&t, &attr, db_cancel_thread, r) == 0)
            started = true;
        pthread_attr_destroy(&attr);
    }
    if (!started) {
        log_warn("could not ask PostgreSQL to cancel a statement: %s",
                 r && r->c ? "no thread to send it from" : "out of memory");
        if (r)
            PQfreeCancel(r->c);
        free(r);
        return NULL;
    }
    return r;
}

bool db_cancel_done(const db_cancel_req *c)
{
    return atomic_load(&((db_cancel_req *)c)->done);
}

void db_cancel_release(db_cancel_req **pc)
{
    if (*pc)
        db_cancel_unref(*pc);
    *pc = NULL;
}

/* Waits for the request's thread at most until deadline (time_mono_ms):
 * whether it is done. Blocks (db_commit's bounded wait). */
static bool db_cancel_wait(const db_cancel_req *c, int64_t deadline)
{
    while (!db_cancel_done(c)) { /* bounded by the deadline */
        if (time_mono_ms() >= deadline)
            return false;
        struct timespec pause = {.tv_nsec = 1000000};
        nanosleep(&pause, NULL);
    }
    return true;
}

/* Waits until conn has a result (or the end of them) to read, at most
 * until deadline (time_mono_ms). 1 ready, 0 timed out, -1 connection lost. */
static int db_wait_ready(PGconn *conn, int64_t deadline)
{
    for (;;) { /* bounded by the deadline */
        if (!PQconsumeInput(conn))
            return -1;
        if (!PQisBusy(conn))
            return 1;
        int64_t left = deadline - time_mono_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = PQsocket(conn), .events = POLLIN};
        if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
            return -1;
    }
}

void db_commit_unknown(db *d)
{
    long ms = backoff_fail(&d->writes, d->backoff_now());
    metrics_set("carebus_db_commit_backoff_seconds", (double)ms / 1000);
    log_warn("writes on this connection wait %ld ms before the next transaction", ms);
}

void db_commit_known(db *d)
{
    if (!d->writes.delay_ms)
        return;
    backoff_reset(&d->writes);
    metrics_set("carebus_db_commit_backoff_seconds", 0);
    log_info("commits go through again");
}

bool db_backing_off(const db *d)
{
    return backoff_waiting(&d->writes, d->backoff_now());
}

void db_set_backoff_clock(db *d, int64_t (*now_ms)(void))
{
    d->backoff_now = now_ms ? now_ms : time_mono_ms;
}

/* COMMIT, after a SELECT of whether it waits for the synchronous standby
 * (it wrote: an xid; at a synchronous_commit that waits), in one round
 * trip: the simple query protocol runs both in the open transaction, the
 * SELECT's row first. An aborted transaction gets a bare COMMIT (which
 * rolls it back: the SELECT would fail, and the COMMIT would not run). */
#define DB_COMMIT_SQL                                                                              \
    "SELECT pg_catalog.pg_current_xact_id_if_assigned() IS NOT NULL AND"                           \
    " pg_catalog.current_setting('synchronous_commit') NOT IN ('off', 'local') AS waits; COMMIT"

/* COMMIT, bounded by commit_wait_ms (see the header comment). */
int db_commit(db *d)
{
    d->sqlstate[0] = '\0';
    if (!db_up(d))
        return -1;
    bool probe = PQtransactionStatus(d->conn) == PQTRANS_INTRANS;
    d->round_trips++;
    if (!PQsendQuery(d->conn, probe ? DB_COMMIT_SQL : "COMMIT")) {
        log_error("could not send COMMIT: %.*s", (int)strcspn(PQerrorMessage(d->conn), "\n"),
                  PQerrorMessage(d->conn));
        db_mark_down(d);
        db_commit_unknown(d);
        return -1;
    }
    int64_t deadline = time_mono_ms() + d->commit_wait_ms;
    bool cancelled = false, waited = false;
    db_cancel_req *cancel = NULL;
    /* COMMIT's result, or the error that kept it from running. */
    PGresult *res = NULL;
    for (int i = 0; i < 16; i++) { /* the SELECT's and COMMIT's results, then NULL */
        int w = db_wait_ready(d->conn, deadline);
        if (w == 0 && !cancelled) {
            cancelled = true;
            metrics_add("carebus_db_commit_wait_exceeded_total", 1);
            log_warn("COMMIT still waits after %ld ms (for the synchronous standby?): "
                     "cancelling it; the transaction may stand here unconfirmed",
                     d->commit_wait_ms);
            if ((cancel = db_cancel_start(d->conn))) {
                deadline = time_mono_ms() + DB_CANCEL_WAIT_MS;
                continue;
            }
        }
        if (w <= 0) {
            log_error(w == 0 ? "the cancelled COMMIT did not end: dropping the connection"
                             : "lost the connection during COMMIT (its outcome is unknown)");
            PQclear(res);
            db_cancel_release(&cancel);
            db_mark_down(d);
            db_commit_unknown(d);
            return -1;
        }
        PGresult *r = PQgetResult(d->conn);
        if (!r)
            break;
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            const char *v = PQntuples(r) == 1 ? db_value(r, 0, "waits") : NULL;
            waited = v && strcmp(v, "t") == 0;
            PQclear(r);
        } else if (!res) {
            res = r;
        } else {
            PQclear(r);
        }
    }
    /* A request still on its way could cut the connection's next
     * statement: it is waited for, within the bound, or the connection
     * goes with it (see db.h). Once the server has it, it cannot: a
     * cancel that reaches a backend between statements is dropped there. */
    bool in_transit = cancel && !db_cancel_wait(cancel, deadline);
    db_cancel_release(&cancel);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int rc = st == PGRES_COMMAND_OK ? 0 : -1;
    /* An aborted transaction's COMMIT is a ROLLBACK that succeeds. */
    if (rc != 0 || strcmp(PQcmdStatus(res), "COMMIT") != 0)
        d->session = db_session_next();
    if (rc != 0) {
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        snprintf(d->sqlstate, sizeof d->sqlstate, "%s", state ? state : "");
        const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(d->conn);
        log_error("COMMIT failed: %.*s", (int)strcspn(msg, "\n"), msg);
        if (cancelled)
            db_commit_unknown(d); /* the server could not commit in time */
    } else if (cancelled) {
        /* Committed here; the standby never confirmed it. */
        log_warn("the cancelled COMMIT stands on this server without the standby's "
                 "confirmation: reported as failed (outcome unknown)");
        db_commit_unknown(d);
        rc = -1;
    } else if (waited) {
        db_commit_known(d);
    }
    PQclear(res);
    if (in_transit) {
        log_warn("the cancel request of a COMMIT is not done after %d ms: dropping the "
                 "connection, which the request could still cut",
                 DB_CANCEL_WAIT_MS);
        db_mark_down(d);
    } else if (PQstatus(d->conn) != CONNECTION_OK ||
               strcmp(d->sqlstate, DB_SQLSTATE_READ_ONLY) == 0)
        db_mark_down(d);
    else if (PQtransactionStatus(d->conn) != PQTRANS_IDLE)
        db_rollback(d); /* the SELECT failed, so COMMIT did not run: nothing stands */
    return rc;
}

void db_rollback(db *d)
{
    if (!db_up(d))
        return;
    d->round_trips++;
    d->session = db_session_next();
    PGresult *r = PQexec(d->conn, "ROLLBACK");
    PQclear(r);
    if (PQstatus(d->conn) != CONNECTION_OK)
        db_mark_down(d);
}

const char *db_last_sqlstate(const db *d)
{
    return d->sqlstate;
}

void db_expect_locks(db *d, bool on)
{
    d->expect_locks = on;
}
