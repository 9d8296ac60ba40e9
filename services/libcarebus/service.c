/* service.c — the parts every service has: config, loop, database, bus,
 * health endpoints, and the consumer's timers.
 *
 * Nothing here waits for PostgreSQL at start: a service comes up, answers
 * /healthz at once and /readyz once connected, and keeps reconnecting in
 * the background, so that an operator sees "not ready" instead of a crash
 * loop while the database starts.
 *
 * A consumer applies only while it holds its lease (lease.h), so that a
 * second instance of the service stands by and takes over within a lease
 * (CAREBUS_LEASE_MS) of the first one's death; a partitioned one
 * (partset.h) applies the partitions whose leases it holds, a fair share.
 * The leases are renewed on the tick, before the consumer looks at the
 * log, and given back at a clean stop.
 *
 * A consumer's batches come and go in bursts: once it has applied nothing
 * for a while, its database connection is renewed (db_renew: libpq keeps
 * the buffers the burst's results grew for the connection's life) and the
 * memory the burst freed goes back to the system (malloc_trim), so that a
 * quiet service is as small as it started. Memory once per idle period;
 * the connection (a few ms, logged) after a burst or every few minutes.
 */
#include "service.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zmq.h>

#include "config.h"
#include "datakey.h"
#include "lease.h"
#include "log.h"
#include "metrics.h"
#include "partset.h"
#include "timeutil.h"

#define SERVICE_TICK_MS 100
/* Idle this long after applying something: freed memory is returned. */
#define SERVICE_TRIM_IDLE_MS 10000
/* The connection is renewed then only after a burst (this many events
 * since the last renewal) or this long after it: a trickle of events does
 * not cost a new backend (and cold caches) every idle period. */
#define SERVICE_RENEW_EVENTS 1000
#define SERVICE_RENEW_MS (5 * 60 * 1000)

struct service_private {
    service pub;
    uint64_t applied;         /* the consumer's count at the last look */
    int64_t applied_at_ms;    /* when it last moved; 0: trimmed since */
    uint64_t renewed_applied; /* the count at the last renewal */
    int64_t renewed_at_ms;    /* 0: never renewed */
};

/* The process's resident memory in KiB (0 when unknown). */
static long service_rss_kib(void)
{
    long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%*s %ld", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    return pages * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Gives the memory of the last burst back once the consumer is idle. */
static void service_trim(struct service_private *sp, int64_t now)
{
    uint64_t applied = partset_applied(sp->pub.parts);
    if (applied != sp->applied) {
        sp->applied = applied;
        sp->applied_at_ms = now;
    } else if (sp->applied_at_ms && now - sp->applied_at_ms >= SERVICE_TRIM_IDLE_MS) {
        sp->applied_at_ms = 0;
        long before = service_rss_kib();
        int64_t t0 = time_mono_us();
        bool renewed = false;
        if (!sp->renewed_at_ms || applied - sp->renewed_applied >= SERVICE_RENEW_EVENTS ||
            now - sp->renewed_at_ms >= SERVICE_RENEW_MS) {
            renewed = db_renew(sp->pub.db) == 0;
            if (renewed) {
                sp->renewed_applied = applied;
                sp->renewed_at_ms = now;
            }
        }
        malloc_trim(0);
        log_write(renewed ? LOG_INFO : LOG_DEBUG, NULL,
                  "%s idle: %sfreed memory returned in %.1f ms, resident %ld -> %ld KiB",
                  sp->pub.name, renewed ? "database connection renewed, " : "",
                  (double)(time_mono_us() - t0) / 1000.0, before, service_rss_kib());
    }
}

static bool service_ready(void *arg)
{
    service *s = arg;
    return db_up(s->db);
}

/* /metrics: a consumer's lag as committed now (consumer_publish_lag). The
 * loop's thread runs both, so no batch is open while this runs. */
static void service_scrape(void *arg)
{
    service *s = arg;
    if (s->parts && db_up(s->db))
        partset_publish_lag(s->parts);
}

static int service_on_bus(loop *l, short revents, void *arg)
{
    (void)l;
    (void)revents;
    service *s = arg;
    partset_on_bus(s->parts);
    return 0;
}

/* Reconnects the database and, for consumers, checks the log's tail once a
 * second, or at once while a long catch-up is in progress. */
static int service_on_tick(loop *l, void *arg)
{
    (void)l;
    struct service_private *sp = arg;
    service *s = &sp->pub;
    if (db_ensure(s->db) != 0) {
        metrics_set("carebus_db_up", 0);
        return 0;
    }
    metrics_set("carebus_db_up", 1);
    if (!s->parts)
        return 0;
    int64_t now = time_mono_ms();
    service_trim(sp, now);
    /* A renewal that failed leaves the connection down: db_ensure again. */
    if (!db_up(s->db))
        return 0;
    return partset_tick(s->parts, now);
}

service *service_new(const struct service_opts *o)
{
    log_init(o->name);
    struct service_private *sp = calloc(1, sizeof *sp);
    if (!sp)
        return NULL;
    service *s = &sp->pub;
    s->name = o->name;
    s->stream = o->stream;
    const char *err = NULL;
    long port;
    if (config_long(o->port_var, o->default_port, 0, 65535, &port, &err) != 0) {
        log_error("%s", err);
        goto fail;
    }
    /* Every service reads the log, and most append to it: a bad master key
     * stops the start rather than the first read of a sealed event. */
    if (datakey_master_load() < 0)
        goto fail;
    metrics_describe("carebus_db_up", "gauge", "1 when connected to PostgreSQL");
    if (!(s->loop = loop_new()))
        goto fail;
    if (!(s->db = db_new(config_str("PG", CONFIG_DEFAULT_PG), o->name)))
        goto fail;
    db_set_apply_migrations(s->db, true);
    if (!(s->bus = bus_new_named(o->name)))
        goto fail;
    if (o->stream && bus_bind(s->bus, bus_endpoint(o->stream)) != 0)
        goto fail;
    struct http_server_opts ho = {
        .port = (int)port,
        .routes = o->routes,
        .nroutes = o->nroutes,
        .arg = o->arg ? o->arg : s,
        .ready = o->ready ? o->ready : service_ready,
        .scrape = service_scrape,
        .scrape_arg = s,
        .max_body = o->max_body,
        .max_large_body = o->max_large_body,
        .tls_cert_pem = o->tls_cert_pem,
        .tls_key_pem = o->tls_key_pem,
        .rejected_family = o->rejected_family,
        .guard = o->guard,
    };
    if (!(s->http = http_server_new(s->loop, &ho)))
        goto fail;
    if (loop_add_timer(s->loop, SERVICE_TICK_MS, service_on_tick, sp) < 0)
        goto fail;
    db_ensure(s->db); /* first attempt now; the tick retries */
    log_info("%s listening on port %d", o->name, http_server_port(s->http));
    return s;
fail:
    service_destroy(&s);
    return NULL;
}

int service_consume(service *s, const char *const *streams, const struct consumer_handler *handlers,
                    size_t nhandlers, void *arg)
{
    return service_consume_partitioned(s, streams, handlers, nhandlers, arg, NULL);
}

int service_consume_partitioned(service *s, const char *const *streams,
                                const struct consumer_handler *handlers, size_t nhandlers,
                                void *arg, consumer_part_fn part_of)
{
    const char *err = NULL;
    long ms, parts = 1;
    if (config_long("LEASE_MS", LEASE_MS_DEFAULT, LEASE_MS_MIN, LEASE_MS_MAX, &ms, &err) != 0 ||
        (part_of && config_long("PARTITIONS", SERVICE_PARTITIONS_DEFAULT, 1, PARTSET_MAX, &parts,
                                &err) != 0)) {
        log_error("%s", err);
        return -1;
    }
    char owner[300];
    lease_instance_id(http_server_port(s->http), owner, sizeof owner);
    struct partset_opts po = {
        .name = s->name,
        .parts = (int)parts,
        .owner = owner,
        .lease_ms = (int)ms,
        .db = s->db,
        .bus = s->bus,
        .output = s->stream,
        .handlers = handlers,
        .nhandlers = nhandlers,
        .arg = arg,
        .part_of = part_of,
    };
    if (!(s->parts = partset_new(&po)))
        return -1;
    /* One partition: the plain consumer, as the service's own. */
    s->consumer = parts == 1 ? partset_consumer(s->parts, 0) : NULL;
    for (size_t i = 0; streams[i]; i++)
        if (partset_read(s->parts, streams[i]) != 0)
            return -1;
    if (parts > 1)
        log_info("%s: %ld partitions, a fair share each among the live instances", s->name, parts);
    return loop_add_socket(s->loop, bus_sub_socket(s->bus), ZMQ_POLLIN, service_on_bus, s);
}

int service_consumers(service *s)
{
    return s->parts ? partset_count(s->parts) : 0;
}

consumer *service_consumer(service *s, int part)
{
    return partset_consumer(s->parts, part);
}

int service_begin(service *s, db *d)
{
    return s->parts ? partset_begin(s->parts, d) : db_begin(d);
}

int service_run(service *s)
{
    int rc = loop_run(s->loop);
    log_info("%s stopping", s->name);
    if (s->parts)
        partset_release(s->parts);
    return rc == 0 ? 0 : 1;
}

void service_destroy(service **ps)
{
    service *s = *ps;
    if (!s)
        return;
    http_server_destroy(&s->http);
    s->consumer = NULL; /* the partition set's */
    partset_destroy(&s->parts);
    bus_destroy(&s->bus);
    db_destroy(&s->db);
    loop_destroy(&s->loop);
    free((struct service_private *)s);
    *ps = NULL;
}
