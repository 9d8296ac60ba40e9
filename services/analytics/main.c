/* analytics — the care department's KPIs, for BI, the API and the dashboard.
 *
 *   carebus-analytics              the service: consumes "ingest", "router",
 *                                  "sla" and "survey", serves GET /v1/kpis
 *                                  and the dashboard (GET /) to a read-scoped
 *                                  API key or a session (GET /signin)
 *   carebus-analytics --rebuild    wipes analytics' state and offsets,
 *                                  rebuilds both from the whole log, exits
 *                                  (rebuild.c)
 *   carebus-analytics --describe   prints the KPIs (kpi.def) and the SQL
 *                                  written from them, as JSON (kpi_doc.c)
 *
 * What it derives and how: model.h (states from events, order-free),
 * contrib.h (KPI sums), store.h (the live path), rebuild.h, kpi.h (the
 * query), and deploy/migrations/0050_analytics.sql, 0051_bi.sql.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "analytics.h"
#include "log.h"
#include "rebuild.h"

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--rebuild") == 0)
        return rebuild_main();
    if (argc == 2 && strcmp(argv[1], "--describe") == 0)
        return kpi_doc_print(stdout) == 0 ? 0 : 1;
    if (argc != 1) {
        fprintf(stderr, "usage: carebus-analytics [--rebuild | --describe]\n");
        return 2;
    }
    /* 1. configuration: the calendar of the KPIs' days, BI, rebuild lag,
     * the keys' rate limits and the sessions */
    analytics a = {0};
    log_init("analytics");
    int rc = 1;
    if (analytics_configure(&a) != 0)
        goto out;
    struct service_opts o = {
        .name = "analytics",
        .port_var = "ANALYTICS_PORT",
        .default_port = 8084,
        .routes = analytics_routes,
        .nroutes = analytics_routes_count,
        .arg = &a,
        .ready = analytics_ready,
        .guard = analytics_guard,
        .rejected_family = "carebus_analytics_rejected_total",
    };
    /* 2. connect: database and HTTP; the API's queue, the API keys and the
     * sessions' secret on it, the start-up task and the consumer of the
     * four streams */
    bool up = (a.svc = service_new(&o)) && analytics_open(&a) == 0;
    if (a.svc && !up)
        log_error("could not start analytics");
    /* 3. the loop, until SIGTERM */
    if (up)
        rc = service_run(a.svc);
    /* 4. shutdown: the API's queue (and the keys and sessions it feeds),
     * then the service */
    analytics_close(&a);
    service_destroy(&a.svc);
out:
    analytics_release(&a);
    return rc;
}
