/* router — one customer across every channel, a ticket for every need.
 *
 * Reads the contacts of the "ingest" stream and turns them into customers,
 * tickets and a timeline (router.*), publishing ticket.* events on its own
 * "router" stream. What it reacts to is the table in router.c; the
 * guarantees (exactly once, in order, caught up from the log) are
 * consumer.h's.
 */
#include <stddef.h>

#include "router.h"
#include "service.h"

int main(void)
{
    static const char *const streams[] = {"ingest", NULL};
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
    if (r && service_consume(s, streams, router_apply, r) == 0)
        rc = service_run(s);
    service_destroy(&s);
    router_destroy(&r);
    return rc;
}
