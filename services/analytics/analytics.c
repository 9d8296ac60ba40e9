/* analytics.c — the service's parts put together: settings, the API's query
 * queue, the API keys and sessions it reloads and reads, the start-up task
 * and the consumer.
 *
 * The start-up task (setup.c) runs before the consumer when the database
 * is already there, so that a consumer far behind the log is rebuilt in
 * bulk instead of catching up event by event; otherwise a timer retries it
 * every half second until it is done.
 */
#include "analytics.h"

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "timeutil.h"

#define ANALYTICS_SETUP_RETRY_MS 500
#define ANALYTICS_IDLE_CHECK_MS 1000

static int analytics_setup_tick(loop *l, void *arg)
{
    analytics *a = arg;
    if (a->setup_done || setup_run(a) != 0)
        return 0;
    a->setup_done = true;
    loop_remove_timer(l, a->setup_timer);
    return 0;
}

static int analytics_idle_tick(loop *l, void *arg)
{
    (void)l;
    analytics *a = arg;
    store_idle(a->store, time_mono_ms());
    return 0;
}

bool analytics_ready(void *arg)
{
    analytics *a = arg;
    return db_up(a->svc->db) && a->q && dbq_up(a->q) && a->auth && auth_loaded(a->auth) &&
           a->sess && session_ready(a->sess);
}

bool analytics_guard(http_req *r, const struct http_route *route, void *arg)
{
    analytics *a = arg;
    return session_guard(a->sess, a->auth, r, route->access);
}

int analytics_configure(analytics *a)
{
    const char *err = NULL;
    a->bi_password = config_str("BI_PASSWORD", NULL);
    if (config_long("ANALYTICS_REBUILD_LAG", ANALYTICS_DEFAULT_REBUILD_LAG, 0, 1000000000000L,
                    &a->rebuild_lag, &err) != 0 ||
        config_long("ANALYTICS_CACHE", STORE_DEFAULT_CACHE, 0, 100000000L, &a->cache_max, &err) !=
            0 ||
        config_long("ANALYTICS_CACHE_IDLE_S", STORE_DEFAULT_CACHE_IDLE_S, 1, 86400,
                    &a->cache_idle_s, &err) != 0) {
        log_error("%s", err);
        return -1;
    }
    if (auth_config(&a->rl) != 0 || session_config(&a->session_secret, &a->session_ttl) != 0)
        return -1;
    a->cal = timebase_load();
    return a->cal ? 0 : -1;
}

int analytics_open(analytics *a)
{
    static const char *const streams[] = {"ingest", "router", "sla", "survey", NULL};
    a->q = dbq_new(a->svc->loop, config_str("PG", CONFIG_DEFAULT_PG), "analytics/api");
    if (!a->q)
        return -1;
    metrics_describe("carebus_analytics_rejected_total", "counter",
                     "Requests refused, by reason (unauthorized, forbidden, rate_limited, "
                     "no_route, ...)");
    a->auth = auth_new(config_str("BOOTSTRAP_API_KEY", NULL), &a->rl, "carebus_analytics");
    a->sess = session_new(a->session_secret, a->session_ttl);
    if (!a->auth || !a->sess || auth_start_refresh(a->auth, a->svc->loop, a->q) != 0 ||
        session_start(a->sess, a->svc->loop, a->q) != 0)
        return -1;
    if (db_up(a->svc->db) && setup_run(a) == 0)
        a->setup_done = true;
    if (!a->setup_done && (a->setup_timer = loop_add_timer(a->svc->loop, ANALYTICS_SETUP_RETRY_MS,
                                                           analytics_setup_tick, a)) <= 0)
        return -1;
    a->store = store_new(a->cal, (size_t)a->cache_max, (int64_t)a->cache_idle_s * 1000);
    if (!a->store ||
        service_consume(a->svc, streams, store_handlers, store_nhandlers, a->store) != 0 ||
        loop_add_timer(a->svc->loop, ANALYTICS_IDLE_CHECK_MS, analytics_idle_tick, a) <= 0)
        return -1;
    store_attach(a->store, a->svc->consumer);
    return 0;
}

void analytics_close(analytics *a)
{
    /* Pending queries are answered (503) before the HTTP server goes; the
     * queue answers the keys' and the secret's in-flight reads before they go. */
    dbq_destroy(&a->q);
    auth_destroy(&a->auth);
    session_destroy(&a->sess);
}

void analytics_release(analytics *a)
{
    store_destroy(&a->store);
    timebase_destroy(&a->cal);
}
