/* analytics — the care department's KPIs, for BI, the API and the dashboard.
 *
 *   carebus-analytics              the service: consumes "ingest", "router",
 *                                  "sla" and "survey", serves GET /v1/kpis
 *                                  and the dashboard (GET /)
 *   carebus-analytics --rebuild    wipes analytics' state and offsets,
 *                                  rebuilds both from the whole log, exits
 *   carebus-analytics --describe   prints the KPIs (kpi.def) and the SQL
 *                                  written from them, as JSON
 *
 * What it derives and how: model.h (states from events, order-free),
 * contrib.h (KPI sums), store.h (the live path), rebuild.h, kpi.h (the
 * query), and deploy/migrations/0050_analytics.sql, 0051_bi.sql.
 */
#include <stdio.h>
#include <string.h>

#include "analytics.h"
#include "config.h"
#include "log.h"
#include "rebuild.h"
#include "store.h"

/* Retried every half second until the database is there and it is done. */
static int analytics_setup_tick(loop *l, void *arg)
{
    analytics *a = arg;
    if (a->setup_done || setup_run(a) != 0)
        return 0;
    a->setup_done = true;
    loop_remove_timer(l, a->setup_timer);
    return 0;
}

static bool analytics_ready(void *arg)
{
    analytics *a = arg;
    return db_up(a->svc->db) && a->q && dbq_up(a->q);
}

/* --rebuild: no HTTP, no bus; prints one JSON line of figures. */
static int analytics_rebuild(void)
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

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--rebuild") == 0)
        return analytics_rebuild();
    if (argc == 2 && strcmp(argv[1], "--describe") == 0)
        return kpi_doc_print(stdout) == 0 ? 0 : 1;
    if (argc != 1) {
        fprintf(stderr, "usage: carebus-analytics [--rebuild | --describe]\n");
        return 2;
    }
    static const char *const streams[] = {"ingest", "router", "sla", "survey", NULL};
    analytics a = {0};
    struct service_opts o = {
        .name = "analytics",
        .port_var = "ANALYTICS_PORT",
        .default_port = 8084,
        .stream = NULL,
        .routes = analytics_routes,
        .nroutes = analytics_routes_count,
        .arg = &a,
        .ready = analytics_ready,
    };
    if (!(a.svc = service_new(&o)))
        return 1;
    int rc = 1;
    const char *err = NULL;
    a.bi_password = config_str("BI_PASSWORD", NULL);
    if (config_long("ANALYTICS_REBUILD_LAG", ANALYTICS_DEFAULT_REBUILD_LAG, 0, 1000000000000L,
                    &a.rebuild_lag, &err) != 0) {
        log_error("%s", err);
        goto out;
    }
    a.cal = timebase_load();
    if (a.cal)
        a.q = dbq_new(a.svc->loop, config_str("PG", CONFIG_DEFAULT_PG), "analytics/api");
    /* Set up before consuming when the database is there already (the
     * consumer would otherwise start catching up event by event); else
     * the timer retries. */
    if (a.q && db_up(a.svc->db) && setup_run(&a) == 0)
        a.setup_done = true;
    if (a.q &&
        (a.setup_done ||
         (a.setup_timer = loop_add_timer(a.svc->loop, 500, analytics_setup_tick, &a)) > 0) &&
        service_consume(a.svc, streams, store_handlers, store_nhandlers, a.cal) == 0)
        rc = service_run(a.svc);
    else
        log_error("could not start analytics");
out:
    /* Pending queries are answered (503) before the HTTP server goes. */
    dbq_destroy(&a.q);
    service_destroy(&a.svc);
    timebase_destroy(&a.cal);
    return rc;
}
