/* stmt.c — prepare on first use per session, then execute by name. */
#include "stmt.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static PGresult *stmt_check(db *d, PGconn *conn, PGresult *res, const char *what)
{
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
    log_error("%s failed: %s", what, msg && msg[0] ? msg : "no result");
    PQclear(res);
    if (PQstatus(conn) != CONNECTION_OK)
        db_mark_down(d);
    return NULL;
}

PGresult *sla_stmt_exec(sla_stmts *c, db *d, int slot, const struct sla_stmt *st,
                        const char *const *params)
{
    assert(slot >= 0 && slot < SLA_STMT_MAX);
    PGconn *conn = db_conn(d);
    if (!conn)
        return NULL;
    int pid = PQbackendPID(conn);
    if (c->conn != conn || c->backend_pid != pid) {
        memset(c->ready, 0, sizeof c->ready);
        c->conn = conn;
        c->backend_pid = pid;
    }
    if (!c->ready[slot]) {
        /* Another user of this session (or an earlier context) may have
         * prepared it already: a second PQprepare would fail, and a failure
         * aborts the caller's transaction. */
        const char *p[] = {st->name, st->sql};
        PGresult *res = db_exec(d,
                                "SELECT statement = $2 AS same FROM pg_prepared_statements"
                                " WHERE name = $1",
                                2, p);
        if (!res)
            return NULL;
        bool exists = PQntuples(res) == 1, same = exists && db_value(res, 0, "same")[0] == 't';
        PQclear(res);
        if (exists && !same) {
            char sql[96];
            snprintf(sql, sizeof sql, "DEALLOCATE %s", st->name);
            if (db_command(d, sql, 0, NULL) != 0)
                return NULL;
        }
        if (!same) {
            res = stmt_check(d, conn, PQprepare(conn, st->name, st->sql, st->nparams, NULL),
                             "preparing a statement");
            if (!res)
                return NULL;
            PQclear(res);
        }
        c->ready[slot] = true;
    }
    return stmt_check(d, conn, PQexecPrepared(conn, st->name, st->nparams, params, NULL, NULL, 0),
                      st->name);
}
