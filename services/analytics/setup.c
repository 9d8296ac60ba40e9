/* setup.c — start-up work that needs the database.
 *
 *  - The calendar check: analytics.settings records the time zone and
 *    opening hours the state was computed with; a different configuration
 *    would mix two calendars in the same sums, so analytics rebuilds first.
 *  - The measures check: analytics.settings also records the sums' columns
 *    (contrib.h); a KPI that adds a measure finds it 0 in the past, so
 *    analytics rebuilds once.
 *  - The backlog check: when analytics is further behind the log than
 *    CAREBUS_ANALYTICS_REBUILD_LAG events (a new deployment, wiped tables),
 *    a bulk rebuild (over 100,000 events/s) beats catching up event by event
 *    (about 1,000/s), so it rebuilds first.
 *  - The generated definitions: bi.kpi_daily from kpi.def and the bi
 *    comments that list the schema's values (migrate.h's derived
 *    definitions, re-applied whenever this build writes them otherwise).
 *  - The bi_reader role: created if missing, its password set from
 *    CAREBUS_BI_PASSWORD. The SCRAM verifier is computed here
 *    (PQencryptPasswordConn, as psql's \password does) and passed as a bind
 *    parameter to analytics.bi_setup(), which quotes it with format('%L'):
 *    the password itself never reaches the server or its logs.
 */
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "kpi.h"
#include "log.h"
#include "migrate.h"
#include "rebuild.h"

#define SETUP_MAX_ATTEMPTS 20

static int setup_calendar(analytics *a)
{
    db *d = a->svc->db;
    PGresult *r = db_exec(d, "SELECT fingerprint FROM analytics.settings", 0, NULL);
    if (!r)
        return -1;
    bool have = PQntuples(r) == 1;
    bool same = have && strcmp(db_value(r, 0, "fingerprint"), timebase_fingerprint(a->cal)) == 0;
    PQclear(r);
    if (same)
        return 0;
    if (!have) /* a new database: the state is (being) made with this calendar */
        return rebuild_save_settings(d, a->cal);
    log_warn("analytics: the calendar changed (%s): rebuilding every KPI from the log",
             timebase_fingerprint(a->cal));
    struct rebuild_stats st;
    if (rebuild_run(d, a->cal, &st) != 0)
        return -1;
    log_info("analytics: rebuilt %llu events in %.1f s", (unsigned long long)st.events,
             st.read_s + st.compute_s + st.write_s);
    return 0;
}

static int setup_backlog(analytics *a)
{
    if (a->rebuild_lag <= 0)
        return 0;
    db *d = a->svc->db;
    PGresult *r = db_exec(d,
                          "SELECT coalesce(sum(s.last_seq - coalesce(o.seq, 0)), 0) AS lag"
                          "  FROM eventlog.streams s"
                          "  LEFT JOIN eventlog.offsets o"
                          "    ON o.consumer = 'analytics' AND o.stream = s.stream"
                          " WHERE s.stream IN ('ingest', 'router', 'sla', 'survey')",
                          0, NULL);
    if (!r)
        return -1;
    long long lag = atoll(db_value(r, 0, "lag"));
    PQclear(r);
    if (lag <= a->rebuild_lag)
        return 0;
    log_info("analytics: %lld events behind the log: rebuilding in bulk first", lag);
    struct rebuild_stats st;
    if (rebuild_run(d, a->cal, &st) != 0)
        return -1;
    log_info("analytics: rebuilt %llu events in %.1f s", (unsigned long long)st.events,
             st.read_s + st.compute_s + st.write_s);
    return 0;
}

static int setup_definitions(analytics *a)
{
    PGconn *c = db_conn(a->svc->db);
    const char *view = kpi_sql_view(), *doc = bidoc_sql(), *apply = kpi_sql_apply_daily();
    if (!c || !view || !doc || !apply)
        return -1;
    if (migrate_derived(c, "analytics.apply_daily", apply) != 0 ||
        migrate_derived(c, "bi.kpi_daily", view) != 0 ||
        migrate_derived(c, "bi.comments", doc) != 0)
        return -1;
    return 0;
}

int setup_measures_save(db *d)
{
    const char *params[] = {contrib_measures_text()};
    return db_write(d, "UPDATE analytics.settings SET measures = $1", 1, params, NULL) == 0 ? 0
                                                                                            : -1;
}

/* A KPI that brings a new measure finds its column 0 in every past row:
 * the sums are rebuilt from the log once. A state recorded before the
 * measures were (NULL) was computed with this build's first list. */
static int setup_measures(analytics *a)
{
    db *d = a->svc->db;
    PGresult *r = db_exec(d, "SELECT measures FROM analytics.settings", 0, NULL);
    if (!r)
        return -1;
    const char *measures = PQntuples(r) == 1 ? db_value(r, 0, "measures") : NULL;
    bool known = measures != NULL;
    bool same = known && strcmp(measures, contrib_measures_text()) == 0;
    PQclear(r);
    if (same)
        return 0;
    if (known) {
        log_warn("analytics: the KPI measures changed: rebuilding every KPI from the log");
        struct rebuild_stats st;
        if (rebuild_run(d, a->cal, &st) != 0)
            return -1;
        log_info("analytics: rebuilt %llu events in %.1f s", (unsigned long long)st.events,
                 st.read_s + st.compute_s + st.write_s);
    }
    return setup_measures_save(d);
}

static int setup_bi_reader(analytics *a)
{
    db *d = a->svc->db;
    char *verifier = NULL;
    if (a->bi_password) {
        verifier = PQencryptPasswordConn(db_conn(d), a->bi_password, "bi_reader", "scram-sha-256");
        if (!verifier) {
            log_error("analytics: could not compute bi_reader's password verifier: %s",
                      PQerrorMessage(db_conn(d)));
            return -1;
        }
    } else {
        log_warn("analytics: CAREBUS_BI_PASSWORD is not set: bi_reader has no password");
    }
    const char *params[] = {verifier};
    int rc = db_write(d, "SELECT analytics.bi_setup($1)", 1, params, NULL);
    if (verifier)
        PQfreemem(verifier);
    if (rc < 0 && strcmp(db_last_sqlstate(d), "42501") == 0) {
        log_error("analytics: not allowed to manage the bi_reader role (CREATEROLE needed): "
                  "BI access is not set up");
        return 0; /* retrying will not help */
    }
    return rc;
}

int setup_run(analytics *a)
{
    if (!db_up(a->svc->db))
        return -1;
    if (setup_definitions(a) != 0 || setup_calendar(a) != 0 || setup_measures(a) != 0 ||
        setup_backlog(a) != 0 || setup_bi_reader(a) != 0) {
        /* A write refused while the writers back off (a commit cut: the
         * standby away) is no attempt: setup waits for it to end. */
        if (!db_backing_off(a->svc->db) && ++a->setup_attempts >= SETUP_MAX_ATTEMPTS) {
            log_error("analytics: start-up setup failed %d times: giving up", a->setup_attempts);
            return 0;
        }
        return -1;
    }
    log_info("analytics: calendar %s; bi_reader ready", timebase_tz(a->cal));
    return 0;
}
