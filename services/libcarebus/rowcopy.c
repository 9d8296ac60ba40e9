/* rowcopy.c — COPY of described rows (see rowcopy.h).
 *
 * A failure while queueing (a row that could not be built, memory that
 * ran out, a chunk PostgreSQL would not take) is remembered and the COPY
 * ended with PQputCopyEnd's error message, which makes the server discard
 * the whole COPY: never a table with a row missing. The COPY statement
 * goes with the first chunk of rows: one without rows is never sent, and
 * a failure before the first chunk sends nothing (rowcopy_end says -1).
 */
#include "rowcopy.h"

#include <string.h>

#include "log.h"

void rowcopy_begin(rowcopy *cp, PGconn *c, const rowset_table *t, const char *into, const void *ctx)
{
    memset(cp, 0, sizeof *cp);
    cp->c = c;
    cp->t = t;
    cp->ctx = ctx;
    cp->into = into ? into : t->name;
    cp->own = into == NULL;
}

/* Sends the COPY statement: on the first chunk, so that a COPY without
 * rows costs no round trip. 0, or -1 (logged). */
static int rowcopy_start(rowcopy *cp)
{
    buf sql = BUF_INIT;
    int rc = 0;
    if (!cp->own)
        buf_printf(&sql, "COPY %s (", cp->into);
    rc = rowset_sql(cp->t, cp->own ? "{@copy}" : "{@cols}) FROM STDIN", &sql);
    PGresult *r = rc == 0 && !sql.failed ? PQexec(cp->c, buf_str(&sql)) : NULL;
    rc = PQresultStatus(r) == PGRES_COPY_IN ? 0 : -1;
    if (rc)
        log_error("%s failed: %s", buf_str(&sql),
                  r ? PQresultErrorMessage(r) : PQerrorMessage(cp->c));
    PQclear(r);
    buf_release(&sql);
    cp->started = rc == 0;
    return rc;
}

static void rowcopy_flush(rowcopy *cp)
{
    if (cp->b.len && !cp->failed && !cp->started && rowcopy_start(cp) != 0)
        cp->failed = true;
    if (cp->b.len && !cp->failed && PQputCopyData(cp->c, cp->b.data, (int)cp->b.len) != 1)
        cp->failed = true;
    buf_reset(&cp->b);
}

void rowcopy_row(rowcopy *cp, const void *row)
{
    rowset_copy_line(cp->t, row, cp->ctx, &cp->b);
    if (cp->b.failed)
        cp->failed = true;
    cp->rows++;
    if (cp->b.len >= ROWCOPY_CHUNK)
        rowcopy_flush(cp);
}

void rowcopy_fail(rowcopy *cp)
{
    cp->failed = true;
}

int rowcopy_end(rowcopy *cp)
{
    rowcopy_flush(cp);
    int rc = cp->failed ? -1 : 0;
    if (!cp->started) { /* no row, or none sent: no COPY to end */
        buf_release(&cp->b);
        return rc;
    }
    if (PQputCopyEnd(cp->c, rc ? "a row could not be built" : NULL) != 1)
        rc = -1;
    PGresult *r;
    while ((r = PQgetResult(cp->c)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            log_error("COPY into %s failed: %s", cp->into, PQresultErrorMessage(r));
            rc = -1;
        }
        PQclear(r);
    }
    buf_release(&cp->b);
    return rc;
}
