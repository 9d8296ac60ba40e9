/* db.c — one PostgreSQL connection that comes back by itself.
 *
 * The connection is made lazily by db_ensure and re-made after a failure,
 * at most once per backoff interval (doubling from 100 ms to 2 s), so a
 * service whose database is down keeps serving health checks and answering
 * 503 instead of spinning on connect.
 *
 * High availability lives here, once for every service: the conninfo may
 * name several servers (host=a,b port=x,y), and target_session_attrs
 * defaults to read-write, so a connect lands on whichever server is the
 * primary now and a standby (read-only) is passed over. The default goes
 * before the conninfo in the parameter arrays: libpq keeps the last value
 * of a repeated key, so an operator's own target_session_attrs wins. A
 * statement refused as read-only (the server was demoted under us) drops
 * the connection too, so that the next db_ensure finds the new primary.
 */
#include "db.h"

#include <assert.h>

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "migrate.h"
#include "timeutil.h"

#define DB_BACKOFF_MIN_MS 100
#define DB_BACKOFF_MAX_MS 2000
/* SQLSTATE read_only_sql_transaction: connected to a server that is not (or
 * no longer) the primary. */
#define DB_SQLSTATE_READ_ONLY "25006"

struct db {
    char *conninfo;
    char *appname;
    PGconn *conn;
    bool apply_migrations;
    bool migrated;
    int64_t next_attempt_ms;
    long backoff_ms;
    bool logged_down;
    char sqlstate[6];
};

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
    d->backoff_ms = DB_BACKOFF_MIN_MS;
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

int db_ensure(db *d)
{
    if (db_up(d))
        return 0;
    db_mark_down(d);
    int64_t now = time_mono_ms();
    if (now < d->next_attempt_ms)
        return -1;
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
        if (!d->logged_down)
            log_warn("could not connect to PostgreSQL: %.*s (retrying)",
                     c ? (int)strcspn(PQerrorMessage(c), "\n") : 16,
                     c ? PQerrorMessage(c) : "out of memory");
        d->logged_down = true;
        if (c)
            PQfinish(c);
        d->next_attempt_ms = now + d->backoff_ms;
        d->backoff_ms =
            d->backoff_ms * 2 > DB_BACKOFF_MAX_MS ? DB_BACKOFF_MAX_MS : d->backoff_ms * 2;
        return -1;
    }
    PQsetNoticeProcessor(c, db_on_notice, NULL);
    d->conn = c;
    if (d->apply_migrations && !d->migrated) {
        if (migrate_apply(c) != 0) {
            db_mark_down(d);
            d->next_attempt_ms = now + DB_BACKOFF_MAX_MS;
            return -1;
        }
        d->migrated = true;
    }
    log_info("connected to PostgreSQL at %s:%s", PQhost(c), PQport(c));
    d->logged_down = false;
    d->backoff_ms = DB_BACKOFF_MIN_MS;
    return 0;
}

static PGresult *db_exec_as(db *d, const char *sql, int nparams, const char *const *params,
                            int format)
{
    d->sqlstate[0] = '\0';
    if (!db_up(d))
        return NULL;
    PGresult *r = PQexecParams(d->conn, sql, nparams, NULL, params, NULL, NULL, format);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    snprintf(d->sqlstate, sizeof d->sqlstate, "%s", state ? state : "");
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(d->conn);
    log_error("query failed: %.*s", (int)strcspn(msg, "\n"), msg);
    PQclear(r);
    if (PQstatus(d->conn) != CONNECTION_OK || strcmp(d->sqlstate, DB_SQLSTATE_READ_ONLY) == 0)
        db_mark_down(d);
    return NULL;
}

PGresult *db_exec(db *d, const char *sql, int nparams, const char *const *params)
{
    return db_exec_as(d, sql, nparams, params, 0);
}

PGresult *db_exec_binary(db *d, const char *sql, int nparams, const char *const *params)
{
    return db_exec_as(d, sql, nparams, params, 1);
}

int db_command(db *d, const char *sql, int nparams, const char *const *params)
{
    PGresult *r = db_exec(d, sql, nparams, params);
    if (!r)
        return -1;
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
    return db_command(d, "BEGIN", 0, NULL);
}

int db_commit(db *d)
{
    return db_command(d, "COMMIT", 0, NULL);
}

void db_rollback(db *d)
{
    if (!db_up(d))
        return;
    PGresult *r = PQexec(d->conn, "ROLLBACK");
    PQclear(r);
    if (PQstatus(d->conn) != CONNECTION_OK)
        db_mark_down(d);
}

const char *db_last_sqlstate(const db *d)
{
    return d->sqlstate;
}
