/* analytics — the care department's KPIs, for BI, the API and the dashboard.
 *
 * This first cut joins the topology: it reads its streams from the bus and
 * the log and commits its offsets, so that it is caught up when its own
 * rules arrive. See services/libcarebus/consumer.h for the guarantees.
 */
#include <stddef.h>

#include "service.h"

static consumer_result analytics_apply(consumer_txn *tx, const event *ev, void *arg)
{
    (void)tx;
    (void)ev;
    (void)arg;
    return CONSUMER_OK;
}

int main(void)
{
    static const char *const streams[] = {"ingest", "router", "sla", "survey", NULL};
    struct service_opts o = {
        .name = "analytics",
        .port_var = "ANALYTICS_PORT",
        .default_port = 8084,
        .stream = NULL,
    };
    service *s = service_new(&o);
    if (!s)
        return 1;
    int rc = 1;
    if (service_consume(s, streams, analytics_apply, NULL) == 0)
        rc = service_run(s);
    service_destroy(&s);
    return rc;
}
