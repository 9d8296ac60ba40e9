/* rebuild.c — analytics' state from the whole log (see rebuild.h).
 *
 * Fast because nothing is done per event in PostgreSQL: events are read in
 * batches of 20,000 with binary results (no bytea hex decoding), applied in
 * memory, and the results go back by COPY. The snapshot of the read is the
 * one whose stream ends become the offsets, so the live consumer resumes
 * exactly after the last event the rebuild saw.
 */
#include "rebuild.h"

#include <endian.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "buf.h"
#include "config.h"
#include "contrib.h"
#include "eventlog.h"
#include "log.h"
#include "model.h"
#include "rowcopy.h"
#include "rows.h"
#include "rowset.h"
#include "timeutil.h"

#define REBUILD_BATCH 20000

static const char *const rebuild_streams[] = {"ingest", "router", "sla", "survey"};
#define NSTREAMS 4

static int exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType s = PQresultStatus(r);
    int rc = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? 0 : -1;
    if (rc)
        log_error("rebuild: %s failed: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    return rc;
}

static int64_t be64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return (int64_t)be64toh(v);
}

/* Applies one stored event to the model, as the live consumer sees it:
 * the payload completed with the row's stream, seq and recorded_at, the
 * very bytes eventlog_read hands the consumer (eventlog_wire). */
static int apply_row(model *m, buf *wire, const char *stream, int64_t seq, int64_t recorded_us,
                     const PGresult *r, int row, int c_pay, int c_key)
{
    event *ev =
        eventlog_wire_row(wire, r, row, c_pay, c_key, stream, (uint64_t)seq, recorded_us) == 0
            ? event_unpack((const uint8_t *)wire->data, wire->len)
            : NULL;
    if (!ev) {
        log_error("rebuild: event %s/%" PRId64 " does not decode: stopping there", stream, seq);
        return -1;
    }
    int rc = model_apply(m, ev, model_event_time(ev));
    event_destroy(&ev);
    return rc < 0 ? -1 : 0;
}

/* Reads the streams up to the snapshot's ends into m; last[] gets them. */
static int rebuild_read(PGconn *c, model *m, int64_t last[NSTREAMS], uint64_t *nevents)
{
    if (exec_ok(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") != 0)
        return -1;
    int rc = -1;
    buf wire = BUF_INIT; /* each event's bytes, as the live consumer gets them */
    for (int s = 0; s < NSTREAMS; s++) {
        const char *params[] = {rebuild_streams[s]};
        PGresult *r = PQexecParams(
            c,
            "SELECT coalesce((SELECT last_seq FROM eventlog.streams WHERE stream = $1), 0)"
            " AS last_seq",
            1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            log_error("rebuild: reading the end of \"%s\" failed: %s", rebuild_streams[s],
                      PQresultErrorMessage(r));
            PQclear(r);
            goto out;
        }
        last[s] = strtoll(db_value(r, 0, "last_seq"), NULL, 10);
        PQclear(r);
    }
    for (int s = 0; s < NSTREAMS; s++) {
        int64_t after = 0;
        while (after < last[s]) {
            char a[24], l[24], lim[16];
            snprintf(a, sizeof a, "%" PRId64, after);
            snprintf(l, sizeof l, "%" PRId64, last[s]);
            snprintf(lim, sizeof lim, "%d", REBUILD_BATCH);
            const char *params[] = {rebuild_streams[s], a, l, lim};
            PGresult *r = PQexecParams(
                c,
                "SELECT e.seq, (extract(epoch FROM e.recorded_at) * 1000000)::bigint"
                " AS recorded_us, e.payload, " EVENTLOG_DATAKEY_COL
                " FROM eventlog.events e" EVENTLOG_DATAKEY_JOIN
                " WHERE e.stream = $1 AND e.seq > $2 AND e.seq <= $3 ORDER BY e.seq LIMIT $4",
                4, NULL, params, NULL, NULL, 1);
            if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) == 0) {
                log_error("rebuild: reading \"%s\" after %s failed: %s", rebuild_streams[s], a,
                          PQntuples(r) == 0 ? "events missing" : PQresultErrorMessage(r));
                PQclear(r);
                goto out;
            }
            int n = PQntuples(r);
            /* Binary results: the columns by name, once per batch. */
            int c_seq = PQfnumber(r, "seq"), c_rec = PQfnumber(r, "recorded_us"),
                c_pay = PQfnumber(r, "payload"), c_key = PQfnumber(r, "datakey");
            for (int i = 0; i < n; i++) {
                int64_t seq = be64(PQgetvalue(r, i, c_seq));
                if (apply_row(m, &wire, rebuild_streams[s], seq, be64(PQgetvalue(r, i, c_rec)), r,
                              i, c_pay, c_key) != 0) {
                    PQclear(r);
                    goto out;
                }
                after = seq;
            }
            *nevents += (uint64_t)n;
            PQclear(r);
        }
    }
    rc = 0;
out:
    buf_release(&wire);
    exec_ok(c, rc == 0 ? "COMMIT" : "ROLLBACK");
    return rc;
}

static int cmp_root(const void *a, const void *b)
{
    const model_customer *x = *(model_customer *const *)a, *y = *(model_customer *const *)b;
    int c = strcmp(x->root, y->root);
    return c ? c : strcmp(x->id, y->id);
}

/* Tickets and their rows, into analytics' tables; contributions into a. */
static int write_tickets(PGconn *c, timebase *cal, model *m, agg *a)
{
    size_t n;
    model_ticket **ts = model_tickets(m, &n);
    static const char *const own[ROWS_TICKET_TABLES] = {NULL};
    return rows_copy_tickets(c, cal, m, ts, NULL, n, own, a, false);
}

static int write_customers(PGconn *c, timebase *cal, model *m, agg *a)
{
    size_t n;
    model_customer **cs = model_customers(m, &n);
    model_customer **sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted)
        return -1;
    memcpy(sorted, cs, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_root);
    rowcopy cp;
    rowcopy_begin(&cp, c, &rows_customers, NULL, NULL);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && strcmp(sorted[j]->root, sorted[i]->root) == 0)
            j++;
        /* sorted[i..j) is one tree; its root contributes for it. */
        if (model_customer_get(m, sorted[i]->root) &&
            contrib_customer(a, cal, &sorted[i], j - i, model_segment_of(m, sorted[i]->root), +1) !=
                0)
            rowcopy_fail(&cp);
        for (size_t k = i; k < j; k++) {
            struct customer_row r;
            if (rows_customer(&r, sorted[k]) != 0)
                rowcopy_fail(&cp);
            rowcopy_row(&cp, &r);
            rows_customer_clear(&r);
        }
        i = j;
    }
    free(sorted);
    return rowcopy_end(&cp);
}

static int write_daily(PGconn *c, agg *a)
{
    size_t n;
    agg_entry **es = agg_entries(a, &n);
    rowcopy cp;
    /* Large (the histograms' text): not on the stack. */
    struct daily_row *r = malloc(sizeof *r);
    if (!r)
        return -1;
    rowcopy_begin(&cp, c, rows_daily(), NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        if (agg_entry_zero(es[i]))
            continue;
        rows_daily_entry(r, es[i]);
        rowcopy_row(&cp, r);
    }
    free(r);
    return rowcopy_end(&cp);
}

/* The keys and indexes of analytics' tables, as statements to drop and to
 * make them again: a bulk load into bare tables and one sort per index
 * afterwards is several times faster than maintaining eight indexes row by
 * row. Read from the catalog, so they follow the migrations. */
#define REBUILD_INDEXES_SQL                                                                        \
    "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname) AS drop_sql," \
    "       format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname,"            \
    "              pg_get_constraintdef(oid)) AS make_sql, 0 AS step"                              \
    "  FROM pg_constraint WHERE connamespace = 'analytics'::regnamespace"                          \
    "   AND contype IN ('p', 'u')"                                                                 \
    " UNION ALL "                                                                                  \
    "SELECT format('DROP INDEX analytics.%I', c.relname), pg_get_indexdef(i.indexrelid), 1"        \
    "  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"                                    \
    "  JOIN pg_class t ON t.oid = i.indrelid"                                                      \
    " WHERE t.relnamespace = 'analytics'::regnamespace AND t.relkind = 'r'"                        \
    "   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"            \
    " ORDER BY step, drop_sql"

/* Drops them; *recreate receives the statements that make them again
 * (caller frees with PQclear). 0 or -1. */
static int indexes_drop(PGconn *c, PGresult **recreate)
{
    PGresult *r = PQexec(c, REBUILD_INDEXES_SQL);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        log_error("rebuild: reading analytics' indexes failed: %s", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    for (int i = 0; i < PQntuples(r); i++)
        if (exec_ok(c, db_value(r, i, "drop_sql")) != 0) {
            PQclear(r);
            return -1;
        }
    *recreate = r;
    return 0;
}

static int indexes_make(PGconn *c, PGresult *recreate)
{
    for (int i = 0; i < PQntuples(recreate); i++)
        if (exec_ok(c, db_value(recreate, i, "make_sql")) != 0)
            return -1;
    return 0;
}

int rebuild_save_settings(db *d, timebase *cal)
{
    const char *params[] = {timebase_tz(cal), timebase_fingerprint(cal)};
    return db_write(d,
                    "INSERT INTO analytics.settings (tz, fingerprint) VALUES ($1, $2)"
                    " ON CONFLICT (id) DO UPDATE SET tz = excluded.tz,"
                    " fingerprint = excluded.fingerprint",
                    2, params, NULL) == 0
               ? 0
               : -1;
}

static int write_offsets(db *d, const int64_t last[NSTREAMS])
{
    const char *p0[] = {REBUILD_CONSUMER};
    if (db_command(d, "DELETE FROM eventlog.offsets WHERE consumer = $1", 1, p0) != 0)
        return -1;
    for (int s = 0; s < NSTREAMS; s++) {
        if (last[s] == 0)
            continue;
        char seq[24];
        snprintf(seq, sizeof seq, "%" PRId64, last[s]);
        const char *p[] = {REBUILD_CONSUMER, rebuild_streams[s], seq};
        if (db_command(d,
                       "INSERT INTO eventlog.offsets (consumer, stream, seq) VALUES ($1, $2, $3)",
                       3, p) != 0)
            return -1;
    }
    return 0;
}

int rebuild_run(db *d, timebase *cal, struct rebuild_stats *st)
{
    memset(st, 0, sizeof *st);
    if (db_ensure(d) != 0) {
        log_error("rebuild: PostgreSQL is not available");
        return -1;
    }
    PGconn *c = db_conn(d);
    int rc = -1;
    model *m = model_new();
    agg *a = agg_new();
    int64_t last[NSTREAMS] = {0};
    if (!m || !a)
        goto out;
    int64_t t0 = time_mono_ms();
    if (rebuild_read(c, m, last, &st->events) != 0)
        goto out;
    int64_t t1 = time_mono_ms();
    st->read_s = (double)(t1 - t0) / 1000;
    model_resolve_segments(m);
    size_t nt, nc;
    model_tickets(m, &nt);
    model_customers(m, &nc);
    st->tickets = nt;
    st->customers = nc;

    if (db_begin(d) != 0)
        goto out;
    /* One transaction: readers keep the old state until the new one is
     * complete. TRUNCATE waits for a live consumer's transaction. */
    PGresult *indexes = NULL;
    if (exec_ok(c, "SET LOCAL maintenance_work_mem = '128MB'") != 0 ||
        exec_ok(c, "TRUNCATE analytics.tickets, analytics.customers, analytics.samples,"
                   " analytics.surveys, analytics.sla_events, analytics.daily") != 0 ||
        indexes_drop(c, &indexes) != 0 || write_tickets(c, cal, m, a) != 0 ||
        write_customers(c, cal, m, a) != 0 || agg_failed(a) || write_daily(c, a) != 0 ||
        indexes_make(c, indexes) != 0 || rebuild_save_settings(d, cal) != 0 ||
        write_offsets(d, last) != 0) {
        PQclear(indexes);
        db_rollback(d);
        goto out;
    }
    PQclear(indexes);
    int64_t t2 = time_mono_ms();
    if (db_commit(d) != 0)
        goto out;
    int64_t t3 = time_mono_ms();
    /* compute and write overlap (rows are built while copying) */
    st->compute_s = (double)(t2 - t1) / 1000;
    st->write_s = (double)(t3 - t2) / 1000;
    rc = 0;
out:
    agg_destroy(&a);
    model_destroy(&m);
    return rc;
}

/* --rebuild: no HTTP, no bus; prints one JSON line of figures. */
int rebuild_main(void)
{
    log_init("analytics");
    const char *lvl = config_str("LOG_LEVEL", "info");
    log_level level;
    if (log_level_parse(lvl, &level) == 0)
        log_set_level(level);
    timebase *cal = timebase_load();
    db *d = cal ? db_new(config_str("PG", CONFIG_DEFAULT_PG), "analytics/rebuild") : NULL;
    int rc = 1;
    if (d) {
        db_set_apply_migrations(d, true);
        struct rebuild_stats st;
        if (rebuild_run(d, cal, &st) == 0 && setup_measures_save(d) == 0) {
            double secs = st.read_s + st.compute_s + st.write_s;
            printf("{\"events\":%llu,\"tickets\":%llu,\"customers\":%llu,\"read_s\":%.3f,"
                   "\"compute_write_s\":%.3f,\"commit_s\":%.3f,\"events_per_s\":%.0f}\n",
                   (unsigned long long)st.events, (unsigned long long)st.tickets,
                   (unsigned long long)st.customers, st.read_s, st.compute_s, st.write_s,
                   secs > 0 ? (double)st.events / secs : 0.0);
            log_info("analytics: rebuilt %llu events", (unsigned long long)st.events);
            rc = 0;
        }
    }
    db_destroy(&d);
    timebase_destroy(&cal);
    return rc;
}
