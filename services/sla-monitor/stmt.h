/* stmt.h — sla-monitor's hot statements, prepared once per connection.
 *
 * The consumer runs the same few statements for every batch; parsing and
 * analysing them each time costs more than running a small batch. A
 * statement is prepared (PQprepare) on its first use in a session and
 * executed by name afterwards. It is still planned for each batch's keys
 * (the flush sets plan_cache_mode, apply.c): their number goes from one to
 * tens of thousands, and a generic plan keeps the tables' sizes of the
 * moment it was made. A reconnect is noticed by the connection's backend process id
 * changing, and everything is prepared again. Prepared statements outlive
 * a rolled-back transaction, so preparing inside the consumer's is safe.
 */
#ifndef CAREBUS_SLA_STMT_H
#define CAREBUS_SLA_STMT_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "db.h"

#define SLA_STMT_MAX 8

/* The slots, one per statement (apply.c, recompute.c). */
enum {
    SLA_ST_RECORD,     /* a run of facts, segments and claims */
    SLA_ST_MERGE,      /* a merge of two customers */
    SLA_ST_UNMERGE,    /* tickets given back to an unmerged customer */
    SLA_ST_LOCK,       /* the target rows of the tickets to recompute */
    SLA_ST_READ,       /* their inputs */
    SLA_ST_WRITE,      /* their new rows */
    SLA_ST_LATE_CLAIM, /* the breaches of targets met late */
};

struct sla_stmt {
    const char *name; /* "sla_fact" */
    const char *sql;
    int nparams;
};

typedef struct sla_stmts {
    const PGconn *conn;
    int backend_pid;
    bool ready[SLA_STMT_MAX];
} sla_stmts;

/* Executes statement `slot` (< SLA_STMT_MAX; the same slot always names the
 * same statement). Like db_exec: the result when its status is COMMAND_OK or
 * TUPLES_OK (the caller PQclear()s it), else NULL after logging the error
 * and marking the connection down if it is gone. Blocks. */
PGresult *sla_stmt_exec(sla_stmts *c, db *d, int slot, const struct sla_stmt *st,
                        const char *const *params);

#endif
