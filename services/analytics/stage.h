/* stage.h — what a batch changed, written set-based through the session's
 * staging tables.
 *
 * The rows are rows.h's, built from the model as the rebuild builds them
 * and sent by COPY (rowcopy.h) into temporary tables of the same columns
 * (live_tickets, live_customers, live_samples, live_surveys, live_sla and
 * live_daily: the difference of the daily sums, rows_daily_delta_entry), then
 * merged into analytics' tables by statements written from the same
 * descriptions, and analytics.apply_daily() for the sums (kpi.h). Of a
 * stored ticket the batch changed, its row is written again, and of its
 * other rows only what the batch changed (footprint.h): the samples whose
 * values moved (those it no longer has deleted by their keys), its SLA
 * events when it has new ones, its surveys (upserted, those unchanged left
 * alone; a ticket's surveys are only ever added, so none is deleted). A
 * tree's ticket whose segment did not move is not written. The staging
 * tables the batch filled are emptied by the merge's round trip (stage.c).
 * One COPY per table with rows and one round trip for the deletions, the
 * merge and the emptying, whatever the batch's size. Blocks.
 */
#ifndef CAREBUS_ANALYTICS_STAGE_H
#define CAREBUS_ANALYTICS_STAGE_H

#include <stdbool.h>

#include "contrib.h"
#include "db.h"
#include "footprint.h"
#include "model.h"
#include "timebase.h"

typedef struct stage {
    const PGconn *conn; /* the session whose staging tables exist (NULL: none known) */
    int pid;            /* and its backend, so that a reconnect is noticed */
    unsigned filled;    /* the staging tables holding a batch's rows (1 << S_*) */
    size_t since;       /* rows' worth staged since they were last truncated */
} stage;

/* Writes the footprint's changed tickets (footprint_ticket_changed) and
 * customers and the non-zero differences of a, inside the caller's
 * transaction; segments resolved as the batch left them. 0, or -1
 * (logged) when a row could not be built or a statement failed. */
int stage_write(stage *st, db *d, timebase *cal, model *m, const footprint *fp, agg *a);

/* The transaction ended without committing: staging tables made in it
 * are gone. */
void stage_forget(stage *st);

#endif
