/* analytics.c — the service's parts put together: settings, the API's query
 * queue, the start-up task and the consumer.
 *
 * The start-up task (setup.c) runs before the consumer when the database
 * is already there, so that a consumer far behind the log is rebuilt in
 * bulk instead of catching up event by event; otherwise a timer retries it
 * every half second until it is done.
 */
#include "analytics.h"

#include "config.h"
#include "log.h"
#include "store.h"

#define ANALYTICS_SETUP_RETRY_MS 500

static int analytics_setup_tick(loop *l, void *arg)
{
    analytics *a = arg;
    if (a->setup_done || setup_run(a) != 0)
        return 0;
    a->setup_done = true;
    loop_remove_timer(l, a->setup_timer);
    return 0;
}

bool analytics_ready(void *arg)
{
    analytics *a = arg;
    return db_up(a->svc->db) && a->q && dbq_up(a->q);
}

int analytics_configure(analytics *a)
{
    const char *err = NULL;
    a->bi_password = config_str("BI_PASSWORD", NULL);
    if (config_long("ANALYTICS_REBUILD_LAG", ANALYTICS_DEFAULT_REBUILD_LAG, 0, 1000000000000L,
                    &a->rebuild_lag, &err) != 0) {
        log_error("%s", err);
        return -1;
    }
    a->cal = timebase_load();
    return a->cal ? 0 : -1;
}

int analytics_open(analytics *a)
{
    static const char *const streams[] = {"ingest", "router", "sla", "survey", NULL};
    a->q = dbq_new(a->svc->loop, config_str("PG", CONFIG_DEFAULT_PG), "analytics/api");
    if (!a->q)
        return -1;
    if (db_up(a->svc->db) && setup_run(a) == 0)
        a->setup_done = true;
    if (!a->setup_done && (a->setup_timer = loop_add_timer(a->svc->loop, ANALYTICS_SETUP_RETRY_MS,
                                                           analytics_setup_tick, a)) <= 0)
        return -1;
    return service_consume(a->svc, streams, store_handlers, store_nhandlers, a->cal);
}

void analytics_close(analytics *a)
{
    /* Pending queries are answered (503) before the HTTP server goes. */
    dbq_destroy(&a->q);
}

void analytics_release(analytics *a)
{
    timebase_destroy(&a->cal);
}
