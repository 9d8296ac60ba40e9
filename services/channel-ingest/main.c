/* channel-ingest — the one door for integrators and channels.
 *
 * Authenticates, validates and deduplicates each event, makes it durable in
 * the event log (group commit) before answering 2xx, then publishes it on
 * the bus. When PostgreSQL is down or slow it answers 503 with Retry-After,
 * never 202, and reconnects by itself.
 */
#include "config.h"
#include "ingest.h"
#include "log.h"

#define INGEST_MAX_BATCH 1000

void ingest_reply_unavailable(http_req *r)
{
    http_add_header(r, "Retry-After", "1");
    http_reply_error(r, 503, "unavailable", NULL,
                     "the event store is unavailable; retry after 1 second");
}

static bool ingest_ready(void *arg)
{
    ingest *in = arg;
    return in->writes && dbq_up(in->writes);
}

static int ingest_open(ingest *in)
{
    const char *pg = config_str("PG", CONFIG_DEFAULT_PG);
    in->auth = auth_new(config_str("BOOTSTRAP_API_KEY", NULL));
    in->writes = dbq_new(in->svc->loop, pg, "channel-ingest/writes");
    in->reads = dbq_new(in->svc->loop, pg, "channel-ingest/reads");
    if (!in->auth || !in->writes || !in->reads)
        return -1;
    in->gc = group_commit_new(in->writes, in->svc->bus, "ingest", INGEST_MAX_BATCH);
    return in->gc ? 0 : -1;
}

/* Pending requests are answered 503 by the queues before the HTTP server
 * goes: first the write queue (fails the in-flight batch), then what waits. */
static void ingest_close(ingest *in)
{
    dbq_destroy(&in->writes);
    group_commit_destroy(&in->gc);
    dbq_destroy(&in->reads);
    auth_destroy(&in->auth);
}

int main(void)
{
    ingest in = {0};
    struct service_opts o = {
        .name = "channel-ingest",
        .port_var = "INGEST_PORT",
        .default_port = 8080,
        .stream = "ingest",
        .routes = ingest_routes,
        .nroutes = ingest_routes_count,
        .arg = &in,
        .ready = ingest_ready,
    };
    if (!(in.svc = service_new(&o)))
        return 1;
    int rc = 1;
    if (ingest_open(&in) == 0)
        rc = service_run(in.svc);
    else
        log_error("could not start channel-ingest");
    ingest_close(&in);
    service_destroy(&in.svc);
    return rc;
}
