/* router — one customer across every channel, the right category,
 * priority, team and agent.
 *
 * Reads the "ingest" stream (contacts, calls, agents' and integrators'
 * events) and the "sla" stream (escalations), and turns them into
 * customers, tickets, a timeline and assignments (router.*), publishing
 * its events on its own "router" stream. What it reacts to is the table in
 * route.c; how a batch is routed, router.h; the guarantees (exactly once,
 * in order, caught up from the log) are consumer.h's.
 */
#include "router.h"
#include "service.h"

int main(void)
{
    /* 1. configuration: the rules and settings (CAREBUS_ROUTER_CONFIG ...) */
    router *r = router_new();
    if (!r)
        return 1;
    /* 2. connect: database, bus and HTTP; the consumer of ingest and sla */
    const struct service_opts router_service = {
        .name = "router",
        .port_var = "ROUTER_PORT",
        .default_port = 9101,
        .stream = "router",
        .arg = r,
        .ready = router_ready,
    };
    int rc = 1;
    service *s = service_new(&router_service);
    /* 3. the loop, until SIGTERM */
    if (s && router_start(r, s) == 0)
        rc = service_run(s);
    /* 4. shutdown: the router's part, then the service */
    router_destroy(&r);
    service_destroy(&s);
    return rc;
}
