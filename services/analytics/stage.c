/* stage.c — a batch's rows through the staging tables (see stage.h).
 *
 * Every statement is written once from rows.c's table descriptions: the
 * staging tables' definitions ({@defs}), the COPYs (rowcopy.h) and the
 * merges ({@cols}, {@set}), so that a column added to a description is
 * staged, copied and merged with no other edit. An upsert that would
 * write a sample or a survey unchanged leaves it alone: most of a ticket's
 * events change neither, and each of those rows has many indexes. The
 * samples are merged in the order they were staged in, the one that leads
 * most of their indexes (rows_copy_tickets).
 *
 * A new ticket (none stored: model.h's is_new) has no row and no sample in
 * analytics' tables, so those go there by COPY, with no staging and no
 * conflict to look for: in a catch-up, most of a batch's; a new customer's
 * row likewise. Its surveys and SLA events are staged still (their ids are
 * their own, not the ticket's).
 *
 * The staging tables belong to the session: they are made when the
 * connection is new to this module (its backend pid differs), and again
 * after a transaction that made them rolled back (stage_forget). They keep
 * their rows at commit (ON COMMIT PRESERVE ROWS): the merge's round trip
 * empties those the batch filled, and only those. PostgreSQL would empty
 * each ON COMMIT DELETE ROWS table at every commit of the session, used or
 * not, by a truncation (new files for it, its TOAST table and indexes):
 * most of a small batch's commit. A DELETE is cheap on a temporary table
 * (no WAL), but nothing vacuums one, so it grows by what was deleted: once
 * STAGE_TRUNCATE_AT rows' worth were staged since, the tables are
 * truncated instead. Rows a batch staged in a transaction that rolled back
 * are gone with it; a batch that failed before its merge leaves its rows
 * to be emptied before the next one stages (stage_ready).
 */
#include "stage.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "rowcopy.h"
#include "rows.h"
#include "rowset.h"

/* The analytics tables, their staging tables, and how a row is merged. */
struct staged {
    const rowset_table *(*table)(void);
    const char *name;
    const char *merge; /* "{@...}" template over the table */
};

static const rowset_table *t_tickets(void)
{
    return &rows_tickets;
}
static const rowset_table *t_customers(void)
{
    return &rows_customers;
}
static const rowset_table *t_samples(void)
{
    return &rows_samples;
}
static const rowset_table *t_surveys(void)
{
    return &rows_surveys;
}
static const rowset_table *t_sla(void)
{
    return &rows_sla_events;
}

enum { S_TICKETS, S_CUSTOMERS, S_SAMPLES, S_SURVEYS, S_SLA, S_DAILY, S_COUNT };

/* clang-format off */
static const struct staged staged[S_COUNT] = {
    [S_TICKETS] = {t_tickets, "pg_temp.live_tickets",
        "INSERT INTO analytics.tickets ({@cols}) SELECT {@cols} FROM pg_temp.live_tickets"
        " ON CONFLICT (ticket_id) DO UPDATE SET {@set excluded};\n"},
    [S_CUSTOMERS] = {t_customers, "pg_temp.live_customers",
        "INSERT INTO analytics.customers ({@cols}) SELECT {@cols} FROM pg_temp.live_customers"
        " ON CONFLICT (customer_id) DO UPDATE SET {@set excluded};\n"},
    [S_SAMPLES] = {t_samples, "pg_temp.live_samples",
        "INSERT INTO analytics.samples AS s ({@cols}) SELECT {@cols} FROM pg_temp.live_samples"
        " ON CONFLICT (ticket_id, metric) DO UPDATE SET {@set excluded}"
        " WHERE ({@values s}) IS DISTINCT FROM ({@values excluded});\n"},
    [S_SURVEYS] = {t_surveys, "pg_temp.live_surveys",
        "INSERT INTO analytics.surveys AS s ({@cols}) SELECT {@cols} FROM pg_temp.live_surveys"
        " ON CONFLICT (survey_id) DO UPDATE SET {@set excluded}"
        " WHERE ({@values s}) IS DISTINCT FROM ({@values excluded});\n"},
    [S_SLA] = {t_sla, "pg_temp.live_sla",
        "INSERT INTO analytics.sla_events ({@cols}) SELECT {@cols} FROM pg_temp.live_sla"
        " ON CONFLICT (event_id) DO NOTHING;\n"},
    /* The sums: analytics.apply_daily() (kpi_sql.c), after the rest. */
    [S_DAILY] = {rows_daily, "pg_temp.live_daily", ""},
};
/* clang-format on */

/* The samples a stored ticket no longer has (footprint.h's samples_gone):
 * deleted by their keys, given as two arrays' literals (the tickets' ids,
 * escaped, and the metrics), in the merge's round trip. */
#define STAGE_GONE_SQL                                                                             \
    "DELETE FROM analytics.samples s USING unnest(%s::uuid[], '%s'::smallint[]) AS g (t, m)"       \
    " WHERE s.ticket_id = g.t AND s.metric = g.m;\n"

/* Tickets, customers and daily rows staged since the last truncation past
 * which the staging tables are truncated rather than their rows deleted. */
#define STAGE_TRUNCATE_AT 500

static char *sql_make, *sql_merge, *sql_truncate;
static pthread_once_t sql_once = PTHREAD_ONCE_INIT;

static void sql_build(void)
{
    buf make = BUF_INIT, merge = BUF_INIT, trunc = BUF_INIT;
    buf_puts(&trunc, "TRUNCATE");
    for (int i = 0; i < S_COUNT; i++) {
        buf_printf(&make, "CREATE TEMP TABLE IF NOT EXISTS %s (", staged[i].name);
        rowset_sql(staged[i].table(), "{@defs}) ON COMMIT PRESERVE ROWS;\n", &make);
        rowset_sql(staged[i].table(), staged[i].merge, &merge);
        buf_printf(&trunc, "%s %s", i ? "," : "", staged[i].name);
    }
    buf_puts(&trunc, ";\n");
    sql_make = make.failed ? (buf_release(&make), NULL) : buf_detach(&make, NULL);
    sql_merge = merge.failed ? (buf_release(&merge), NULL) : buf_detach(&merge, NULL);
    sql_truncate = trunc.failed ? (buf_release(&trunc), NULL) : buf_detach(&trunc, NULL);
}

/* Runs a text of several statements (one round trip). 0 or -1 (logged). */
static int exec_all(db *d, PGconn *c, const char *sql, const char *what)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType s = PQresultStatus(r);
    int rc = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? 0 : -1;
    if (rc) {
        log_error("analytics: %s failed: %s", what, PQresultErrorMessage(r));
        if (PQstatus(c) == CONNECTION_BAD)
            db_mark_down(d);
    }
    PQclear(r);
    return rc;
}

static int stage_ready(stage *st, db *d, PGconn *c)
{
    pthread_once(&sql_once, sql_build);
    if (!sql_make || !sql_merge || !sql_truncate)
        return -1;
    int pid = PQbackendPID(c);
    if (st->conn == c && st->pid == pid) {
        /* A batch staged rows and failed before its merge emptied them,
         * in a transaction not known to have rolled back. */
        if (st->filled && exec_all(d, c, sql_truncate, "emptying the staging tables") != 0)
            return -1;
        st->filled = 0;
        return 0;
    }
    if (exec_all(d, c, sql_make, "making the staging tables") != 0)
        return -1;
    st->conn = c;
    st->pid = pid;
    st->filled = 0;
    /* Their state is not known: truncated after the next batch. */
    st->since = STAGE_TRUNCATE_AT;
    return 0;
}

void stage_forget(stage *st)
{
    st->conn = NULL;
}

/* Appends to sql the emptying of the tables the batch filled (st->filled),
 * of n rows' worth: their rows deleted, or all the tables truncated once
 * STAGE_TRUNCATE_AT rows' worth were staged since they last were. */
static void empty_sql(stage *st, size_t n, buf *sql)
{
    st->since += n;
    if (st->since >= STAGE_TRUNCATE_AT) {
        buf_puts(sql, sql_truncate);
        st->since = 0;
        return;
    }
    for (int i = 0; i < S_COUNT; i++)
        if (st->filled & (1u << i))
            buf_printf(sql, "DELETE FROM %s;\n", staged[i].name);
}

/* Changed tickets' rows (as the rebuild writes its own, rows.h): stored
 * ones' into the staging tables, only their samples that changed and
 * their new SLA events (footprint.h); new ones' ticket and sample rows
 * into analytics' tables (NULL), the rest staged. None, no COPY. */
static int copy_tickets(PGconn *c, timebase *cal, model *m, model_ticket *const *ts,
                        const struct ticket_facts *const *facts, size_t n, bool fresh)
{
    const char *const into[ROWS_TICKET_TABLES] = {
        [ROWS_TICKETS] = fresh ? NULL : staged[S_TICKETS].name,
        [ROWS_SAMPLES] = fresh ? NULL : staged[S_SAMPLES].name,
        [ROWS_SURVEYS] = staged[S_SURVEYS].name,
        [ROWS_SLA_EVENTS] = staged[S_SLA].name};
    return n ? rows_copy_tickets(c, cal, m, ts, facts, n, into, NULL, !fresh) : 0;
}

/* The changed customers: new ones' rows (fresh) into analytics.customers,
 * as new tickets' (none stored: nothing to merge), stored ones' staged. */
static int copy_customers(PGconn *c, const footprint *fp, bool fresh)
{
    rowcopy cp;
    rowcopy_begin(&cp, c, &rows_customers, fresh ? NULL : staged[S_CUSTOMERS].name, NULL);
    for (size_t i = 0; i < fp->nc; i++) {
        if (!fp->customers[i]->dirty || fp->customers[i]->is_new != fresh)
            continue;
        struct customer_row r;
        if (rows_customer(&r, fp->customers[i]) != 0)
            rowcopy_fail(&cp);
        rowcopy_row(&cp, &r);
        rows_customer_clear(&r);
    }
    return rowcopy_end(&cp);
}

/* The non-zero differences of the sums; *prune when one went down. */
static int copy_daily(PGconn *c, agg *a, bool *prune, size_t *rows)
{
    size_t n;
    agg_entry **es = agg_entries(a, &n);
    /* Large (the histograms' text): not on the stack. */
    struct daily_row *r = malloc(sizeof *r);
    rowcopy cp;
    if (!r)
        return -1;
    rowcopy_begin(&cp, c, rows_daily(), staged[S_DAILY].name, NULL);
    for (size_t i = 0; i < n; i++) {
        if (agg_entry_zero(es[i]))
            continue;
        rows_daily_delta_entry(r, es[i], prune);
        rowcopy_row(&cp, r);
        ++*rows;
    }
    free(r);
    return rowcopy_end(&cp);
}

/* Appends to sql the deletion of the samples the stored tickets ts[0..n)
 * no longer have (STAGE_GONE_SQL); none, nothing. 0 or -1. */
static int gone_sql(PGconn *c, model_ticket *const *ts, size_t n, buf *sql)
{
    size_t ngone = 0;
    for (size_t i = 0; i < n; i++)
        for (unsigned g = ts[i]->samples_gone; g; g &= g - 1)
            ngone++;
    if (!ngone)
        return 0;
    const char **ids = malloc(ngone * sizeof *ids);
    if (!ids)
        return -1;
    buf metrics = BUF_INIT, keys = BUF_INIT;
    size_t k = 0;
    buf_putc(&metrics, '{');
    for (size_t i = 0; i < n; i++)
        for (int h = 0; h < H_COUNT; h++)
            if (ts[i]->samples_gone & (1u << h)) {
                buf_printf(&metrics, "%s%d", k ? "," : "", h);
                ids[k++] = ts[i]->id;
            }
    buf_putc(&metrics, '}');
    rowset_keys(&keys, ids, ngone);
    char *lit = keys.failed ? NULL : PQescapeLiteral(c, buf_str(&keys), keys.len);
    int rc = lit && !metrics.failed ? 0 : -1;
    if (rc == 0)
        buf_printf(sql, STAGE_GONE_SQL, lit, buf_str(&metrics));
    PQfreemem(lit);
    buf_release(&keys);
    buf_release(&metrics);
    free(ids);
    return rc;
}

int stage_write(stage *st, db *d, timebase *cal, model *m, const footprint *fp, agg *a)
{
    PGconn *c = db_conn(d);
    if (!c || stage_ready(st, d, c) != 0)
        return -1;
    model_ticket **changed = malloc((fp->nt ? fp->nt : 1) * sizeof *changed);
    /* and their facts, computed already (footprint.h) */
    const struct ticket_facts **facts = malloc((fp->nt ? fp->nt : 1) * sizeof *facts);
    if (!changed || !facts) {
        free(changed);
        free(facts);
        return -1;
    }
    /* changed[0..nnew): the new tickets; then the stored ones. */
    size_t nnew = 0, nchanged = 0, ncust = 0, nstored = 0, ndaily = 0;
    for (size_t i = 0; i < fp->nt; i++) {
        if (!footprint_ticket_changed(fp->tickets[i]))
            continue;
        nchanged++;
        nnew += fp->tickets[i]->is_new;
    }
    for (size_t i = 0, fresh = 0, stored = nnew; i < fp->nt; i++)
        if (footprint_ticket_changed(fp->tickets[i])) {
            size_t k = fp->tickets[i]->is_new ? fresh++ : stored++;
            changed[k] = fp->tickets[i];
            facts[k] = &fp->facts[i];
        }
    for (size_t i = 0; i < fp->nc; i++) {
        ncust += fp->customers[i]->dirty;
        nstored += fp->customers[i]->dirty && !fp->customers[i]->is_new;
    }
    /* The staging tables the COPYs may fill (copy_tickets' into). */
    st->filled = 1u << S_DAILY;
    if (nchanged)
        st->filled |= 1u << S_SURVEYS | 1u << S_SLA;
    if (nchanged > nnew)
        st->filled |= 1u << S_TICKETS | 1u << S_SAMPLES;
    if (nstored)
        st->filled |= 1u << S_CUSTOMERS;
    bool prune_daily = false;
    int rc = -1;
    buf sql = BUF_INIT;
    if (copy_tickets(c, cal, m, changed, facts, nnew, true) != 0 ||
        copy_tickets(c, cal, m, changed + nnew, facts + nnew, nchanged - nnew, false) != 0 ||
        (ncust && (copy_customers(c, fp, true) != 0 || copy_customers(c, fp, false) != 0)) ||
        copy_daily(c, a, &prune_daily, &ndaily) != 0)
        goto out;
    if (!ndaily)
        st->filled &= ~(1u << S_DAILY);
    /* The batch need not wait for its WAL to reach the disk (as the
     * router's): a commit lost to a crash of PostgreSQL takes its offsets
     * with it, and the replay derives the very same rows. */
    buf_puts(&sql, "SET LOCAL synchronous_commit TO off;\n");
    if (gone_sql(c, changed + nnew, nchanged - nnew, &sql) != 0)
        goto out;
    buf_printf(&sql, "%sSELECT analytics.apply_daily(%s);\n", sql_merge,
               prune_daily ? "true" : "false");
    empty_sql(st, nchanged + nstored + ndaily, &sql);
    rc = sql.failed ? -1 : exec_all(d, c, buf_str(&sql), "merging a batch");
    if (rc == 0)
        st->filled = 0;
out:
    buf_release(&sql);
    if (rc != 0 && PQstatus(c) == CONNECTION_BAD)
        db_mark_down(d);
    free(changed);
    free(facts);
    return rc;
}
