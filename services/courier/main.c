/* courier — the one delivery path for everything carebus sends.
 *
 *   1. apply.c + intent.c  the consumer: every event of every stream
 *                          becomes the deliveries it calls for, recorded
 *                          in the transaction that applies it
 *   2. pump.c + engine.c   attempts, right after that commit and whenever
 *                          a retry is due: requests through libcurl in the
 *                          loop, through the channel's adapter or as a
 *                          signed webhook
 *   3. record.c            outcomes in batches: message.sent,
 *                          message.failed, paused subscriptions
 *
 * See courier.h for how the files share the work.
 */
#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "courier.h"
#include "log.h"
#include "metrics.h"

static int courier_open(courier *c)
{
    service *s = c->svc;
    if (courier_config_load(&c->cfg) != 0)
        return -1;
    metrics_describe("carebus_courier_deliveries_total", "counter",
                     "deliveries done, by channel (webhook for event notifications), kind and "
                     "outcome (sent, failed)");
    metrics_describe("carebus_courier_subscriptions_paused_total", "counter",
                     "webhook subscriptions paused for failing");
    struct engine_opts eo = {
        .timeout_ms = c->cfg.timeout_s * 1000,
        .host_connections = c->cfg.host_connections,
        .ca_file = c->cfg.ca_file,
        .user_agent = "carebus-courier/1",
    };
    c->subs = subs_new(c->cfg.static_urls, c->cfg.nstatic, c->cfg.static_secret);
    c->engine = engine_new(s->loop, &eo);
    c->dbq = dbq_new(s->loop, config_str("PG", CONFIG_DEFAULT_PG), "courier/record");
    c->intent = intent_new(c);
    long wait_ms;
    if (!c->subs || !c->engine || !c->dbq || !c->intent || !(c->creds = creds_new(c)) ||
        !(c->pump = pump_new(c)) || db_commit_wait_config(&wait_ms) != 0)
        return -1;
    /* A record's commit held by a lost standby: given up at the bound and
     * written again (record_sql applies an outcome once), never a hang. */
    dbq_set_deadline(c->dbq, wait_ms);
    courier_handlers_init();
    static const char *const streams[] = {"ingest", "router", "sla", "survey", "courier", NULL};
    if (service_consume(s, streams, courier_handlers, courier_nhandlers, c) != 0)
        return -1;
    consumer_set_flush(s->consumer, intent_flush);
    consumer_set_done(s->consumer, intent_done);
    consumer_set_pace(s->consumer, pump_pace);
    return 0;
}

/* Outcomes known are recorded (a batch in flight on the queue comes back
 * first), attempts in flight handed back, before the service's connection
 * goes. */
static void courier_close(courier *c)
{
    dbq_destroy(&c->dbq);
    if (c->svc)
        record_flush_sync(c);
    engine_destroy(&c->engine);
    pump_destroy(&c->pump, c->svc ? c->svc->db : NULL);
    record_destroy(c);
    creds_destroy(&c->creds);
    intent_destroy(&c->intent);
    subs_destroy(&c->subs);
    courier_config_release(&c->cfg);
}

int main(void)
{
    /* 1. configuration: libcurl's globals; CAREBUS_COURIER_* and
     * CAREBUS_WEBHOOK_* are read in courier_open */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    courier c = {0};
    struct service_opts o = {
        .name = "courier",
        .port_var = "COURIER_PORT",
        .default_port = 9105,
        .stream = "courier",
    };
    /* 2. connect: database, bus and HTTP (health, metrics); the engine,
     * the pump and the consumer */
    int rc = 1;
    bool up = (c.svc = service_new(&o)) && courier_open(&c) == 0;
    if (c.svc && !up)
        log_error("could not start courier");
    /* 3. the loop, until SIGTERM */
    if (up)
        rc = service_run(c.svc);
    /* 4. shutdown: courier's part, then the service */
    courier_close(&c);
    service_destroy(&c.svc);
    curl_global_cleanup();
    return rc;
}
