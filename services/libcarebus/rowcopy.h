/* rowcopy.h — rows of a described table (rowset.h) sent by COPY.
 *
 * The bulk path of a table that crosses the C/SQL border: each row is one
 * COPY text line from the table's description (rowset_copy_line), queued
 * and sent in chunks of ROWCOPY_CHUNK bytes, so that memory stays flat
 * whatever the number of rows. Into the table itself (a rebuild; the live
 * path's new rows) or into another with the same columns (a session's
 * staging table, whose rows a statement then merges). One COPY at a time on a connection; not in
 * pipeline mode (libpq refuses COPY there). Blocks.
 */
#ifndef CAREBUS_ROWCOPY_H
#define CAREBUS_ROWCOPY_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "rowset.h"

#define ROWCOPY_CHUNK (1u << 20)

typedef struct rowcopy {
    PGconn *c;
    const rowset_table *t;
    const void *ctx; /* handed to the getters */
    const char *into;
    buf b;
    bool failed;
    bool own;     /* into the table itself */
    bool started; /* the COPY statement was sent */
    size_t rows;
} rowcopy;

/* A COPY into `into` (NULL: the table's own name) of t's columns, sent
 * with its first chunk of rows: without rows, no statement and no round
 * trip. into is borrowed until rowcopy_end (a COPY that PostgreSQL
 * refuses fails there). */
void rowcopy_begin(rowcopy *cp, PGconn *c, const rowset_table *t, const char *into,
                   const void *ctx);
/* Queues one row (a pointer to t's struct). */
void rowcopy_row(rowcopy *cp, const void *row);
/* A row could not be built: rowcopy_end aborts the COPY (nothing lands). */
void rowcopy_fail(rowcopy *cp);
/* Sends what is queued and ends the COPY. 0, or -1 (logged) when it was
 * aborted or PostgreSQL refused it. */
int rowcopy_end(rowcopy *cp);

#endif
