/* pipe.c — see pipe.h. Results are read until the sync point whatever
 * happens, so the connection is always left idle and out of pipeline
 * mode. */
#include "pipe.h"

#include <string.h>

#include "log.h"

int pipe_begin(pgpipe *p, db *d)
{
    memset(p, 0, sizeof *p);
    p->db = d;
    p->conn = db_conn(d);
    if (!p->conn || PQenterPipelineMode(p->conn) != 1) {
        log_error("router: could not enter pipeline mode: %s",
                  p->conn ? PQerrorMessage(p->conn) : "not connected");
        return -1;
    }
    return 0;
}

int pipe_send(pgpipe *p, const char *what, const char *sql, int nparams, const char *const *params)
{
    if (p->n == PIPE_MAX || !p->conn)
        return -1;
    if (!PQsendQueryParams(p->conn, sql, nparams, NULL, params, NULL, NULL, 0)) {
        log_error("router: could not send %s: %s", what, PQerrorMessage(p->conn));
        return -1;
    }
    p->what[p->n] = what;
    return p->n++;
}

int pipe_run(pgpipe *p)
{
    if (!p->conn)
        return -1;
    int rc = PQpipelineSync(p->conn) == 1 ? 0 : -1;
    for (int i = 0; i < p->n && rc == 0; i++) {
        PGresult *r = PQgetResult(p->conn);
        ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            if (st != PGRES_PIPELINE_ABORTED) {
                const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(p->conn);
                log_error("query failed (%s): %.*s", p->what[i], (int)strcspn(msg, "\n"), msg);
            }
            PQclear(r);
            rc = -1;
            break;
        }
        p->res[i] = r;
        /* Each statement's result ends with a NULL. */
        PGresult *end = PQgetResult(p->conn);
        if (end) {
            PQclear(end);
            rc = -1;
        }
    }
    /* Drain to the sync point: the rest of an aborted pipeline. */
    for (int guard = 0; guard < 4 * PIPE_MAX + 8; guard++) {
        PGresult *r = PQgetResult(p->conn);
        if (!r) {
            if (PQstatus(p->conn) != CONNECTION_OK)
                break;
            continue;
        }
        ExecStatusType st = PQresultStatus(r);
        PQclear(r);
        if (st == PGRES_PIPELINE_SYNC)
            break;
    }
    if (PQexitPipelineMode(p->conn) != 1) {
        log_error("router: could not leave pipeline mode: %s", PQerrorMessage(p->conn));
        rc = -1;
    }
    if (PQstatus(p->conn) != CONNECTION_OK) {
        db_mark_down(p->db);
        p->conn = NULL;
        rc = -1;
    }
    return rc;
}

PGresult *pipe_result(pgpipe *p, int i)
{
    return i >= 0 && i < p->n ? p->res[i] : NULL;
}

void pipe_release(pgpipe *p)
{
    for (int i = 0; i < PIPE_MAX; i++) {
        PQclear(p->res[i]);
        p->res[i] = NULL;
    }
    p->n = 0;
}
