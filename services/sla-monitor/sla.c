/* sla.c — sla-monitor's settings and start-up sequence.
 *
 * Nothing waits for PostgreSQL at start. A small timer retries until the
 * database is up, then, in order: loads the configuration (files over the
 * tables), loads the timers, and only then starts the consumer, because a
 * handler needs the policies and must never fail for want of them (a
 * handler's retry with the database up skips the event). The same timer
 * runs the sweep afterwards.
 */
#include "sla.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "metrics.h"

#define SLA_BOOT_TICK_MS 100

static const char *const sla_streams[] = {"ingest", "router", "sla", NULL};

sla *sla_new(void)
{
    sla *s = calloc(1, sizeof *s);
    if (s) {
        s->armed_at = INT64_MAX;
        s->clock_written = INT64_MIN;
    }
    return s;
}

void sla_destroy(sla **ps)
{
    sla *s = *ps;
    if (!s)
        return;
    sla_config_destroy(&s->cfg);
    sla_clock_destroy(&s->clock);
    sla_heap_release(&s->heap);
    sla_rows_release(&s->rows);
    sla_records_release(&s->batch);
    free(s->config_dir);
    free(s);
    *ps = NULL;
}

bool sla_ready(void *arg)
{
    const sla *s = arg;
    return s->started && s->svc && db_up(s->svc->db);
}

/* Files (if any) into the tables, then the tables into memory, in one
 * transaction: a configuration that does not load leaves the old one.
 * Without files it only reads, and so goes through while the connection's
 * writers back off (db_begin_read); with files it writes, and is refused
 * then (DB_NOT_NOW: the reload fails, the old configuration stays). */
static int sla_load_config(sla *s, bool at_start)
{
    db *d = s->svc->db;
    bool changed = false;
    if ((s->config_dir ? db_begin(d) : db_begin_read(d)) != 0)
        return -1;
    if (s->config_dir && sla_config_store_files(d, s->config_dir, &changed) != 0) {
        db_rollback(d);
        if (at_start && s->config_explicit)
            return -1;
        if (db_begin_read(d) != 0) /* the tables as they are */
            return -1;
    }
    sla_config *cfg = sla_config_load(d);
    if (!cfg || db_commit(d) != 0) {
        db_rollback(d);
        sla_config_destroy(&cfg);
        return -1;
    }
    sla_config_destroy(&s->cfg);
    s->cfg = cfg;
    log_info("SLA configuration: %zu calendars, %zu policies%s%s%s", cfg->cals->ncals, cfg->npols,
             s->config_dir ? " (files in " : " (from PostgreSQL)",
             s->config_dir ? s->config_dir : "",
             s->config_dir ? (changed ? ", loaded)" : ", unchanged)") : "");
    return 0;
}

static void sla_on_reload(void *arg)
{
    sla *s = arg;
    if (!s->started)
        return;
    if (sla_load_config(s, false) != 0)
        log_error("SLA configuration reload failed: the previous one stays");
    /* XXX: running targets keep the deadlines computed with the old policy
     * until their ticket's next event; recomputing every open ticket here
     * would be the periodic full scan this service avoids. */
}

static int sla_boot(sla *s)
{
    if (sla_load_config(s, true) != 0) {
        if (s->config_explicit) {
            log_error("CAREBUS_SLA_CONFIG_DIR=%s: the SLA configuration does not load",
                      s->config_dir);
            return -1;
        }
        return 1; /* try again */
    }
    const char *sql = sla_clock_is_real(s->clock) ? "DELETE FROM sla.clock" : NULL;
    if (sql && db_write(s->svc->db, sql, 0, NULL, NULL) != 0)
        return 1;
    if (sla_timers_load(s) != 0)
        return 1;
    if (service_consume_partitioned(s->svc, sla_streams, sla_handlers, sla_nhandlers, s,
                                    sla_part_of) != 0) {
        log_error("could not start the consumer");
        return -1;
    }
    for (int p = 0; p < service_consumers(s->svc); p++)
        sla_attach(s, service_consumer(s->svc, p));
    s->started = true;
    log_info("sla-monitor started: %s clock, sweep every %ld ms",
             sla_clock_is_real(s->clock) ? "real" : "test (file)", s->sweep_ms);
    sla_timers_on_clock(s);
    return 0;
}

static int sla_on_tick(loop *l, void *arg)
{
    (void)l;
    sla *s = arg;
    if (!s->started) {
        if (!db_up(s->svc->db))
            return 0;
        int rc = sla_boot(s);
        return rc < 0 ? -1 : 0;
    }
    return 0;
}

static int sla_on_sweep(loop *l, void *arg)
{
    (void)l;
    sla_timers_sweep(arg);
    return 0;
}

int sla_start(sla *s, service *svc)
{
    s->svc = svc;
    const char *err = NULL;
    const char *spec = config_str("SLA_CLOCK", "real");
    if (!(s->clock = sla_clock_new(spec, &err))) {
        log_error("CAREBUS_SLA_CLOCK=%s: %s", spec, err);
        return -1;
    }
    if (config_long("SLA_SWEEP_MS", SLA_SWEEP_MS_DEFAULT, 10, 3600000, &s->sweep_ms, &err) != 0) {
        log_error("%s", err);
        return -1;
    }
    s->config_dir = calendar_config_dir(&s->config_explicit);
    metrics_describe("carebus_sla_timers", "gauge", "upcoming SLA warnings and breaches in memory");
    metrics_describe("carebus_sla_warnings_total", "counter", "sla.warning events published");
    metrics_describe("carebus_sla_breaches_total", "counter",
                     "sla.breach events published (path: timer, or late when met after the "
                     "deadline while the service was down)");
    metrics_describe("carebus_sla_escalations_total", "counter", "sla.escalation events published");
    metrics_describe("carebus_sla_target_rows_total", "counter",
                     "target rows a recomputation wrote, found unchanged (not written) or deleted");
    metrics_describe("carebus_sla_breach_delay_seconds", "gauge",
                     "from the last breached deadline to its event's commit");
    if (sla_clock_attach(s->clock, svc->loop, sla_timers_on_clock, s) != 0 ||
        loop_add_timer(svc->loop, SLA_BOOT_TICK_MS, sla_on_tick, s) < 0 ||
        loop_add_timer(svc->loop, s->sweep_ms, sla_on_sweep, s) < 0)
        return -1;
    loop_on_reload(svc->loop, sla_on_reload, s);
    return 0;
}
