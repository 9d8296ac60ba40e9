/* sla-monitor — SLA targets on business hours, warnings, breaches, escalation.
 *
 * Reads the ingest and router streams (and its own) and keeps every ticket's
 * first-response, next-response and resolution targets in sla.targets,
 * computed on business-hours calendars (libcarebus calendar.c, policy.c,
 * fold.c, apply.c). Upcoming warnings and breaches wait in a heap and fire on
 * time, exactly once, as sla.warning, sla.breach and sla.escalation on the
 * "sla" stream (timers.c). Configuration: CAREBUS_SLA_CONFIG_DIR,
 * CAREBUS_SLA_CLOCK, CAREBUS_SLA_SWEEP_MS (sla.c, clock.h).
 */
#include "service.h"
#include "sla.h"

int main(void)
{
    /* 1. configuration: read from the environment and, once connected,
     * the policies and calendars (sla_start) */
    sla *s = sla_new();
    if (!s)
        return 1;
    struct service_opts o = {
        .name = "sla-monitor",
        .port_var = "SLA_PORT",
        .default_port = 9102,
        .stream = "sla",
        .arg = s,
        .ready = sla_ready,
    };
    /* 2. connect: database, bus and HTTP; the timers and the consumer start
     * once the configuration and the open targets are loaded */
    int rc = 1;
    service *svc = service_new(&o);
    /* 3. the loop, until SIGTERM */
    if (svc && sla_start(s, svc) == 0)
        rc = service_run(svc);
    /* 4. shutdown: sla's part first (the clock's descriptors leave the loop
     * before the loop goes), then the service */
    sla_destroy(&s);
    service_destroy(&svc);
    return rc;
}
