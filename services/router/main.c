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
#include <stddef.h>

#include "log.h"
#include "router.h"
#include "service.h"

#define ROUTER_TICK_MS 1000

static int router_on_tick(loop *l, void *arg)
{
    (void)l;
    router_tick(arg);
    return 0;
}

int main(void)
{
    static const char *const streams[] = {"ingest", "sla", NULL};
    struct service_opts o = {
        .name = "router",
        .port_var = "ROUTER_PORT",
        .default_port = 9101,
        .stream = "router",
    };
    service *s = service_new(&o);
    if (!s)
        return 1;
    router *r = router_new();
    int rc = 1;
    size_t nhandlers;
    const struct consumer_handler *handlers = router_handlers(&nhandlers);
    if (r && service_consume(s, streams, handlers, nhandlers, r) == 0) {
        router_attach(r, s->consumer, s->db, s->bus);
        loop_on_reload(s->loop, router_reload, r);
        if (loop_add_timer(s->loop, ROUTER_TICK_MS, router_on_tick, r) > 0)
            rc = service_run(s);
    }
    service_destroy(&s);
    router_destroy(&r);
    return rc;
}
