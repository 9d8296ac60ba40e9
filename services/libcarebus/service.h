/* service.h — what every carebus service does alike.
 *
 * A service is: configuration and logging, a loop with signal handling, a
 * PostgreSQL connection (migrations applied on first connect), an HTTP server
 * with /healthz, /readyz and /metrics, optionally a bus publisher and a
 * consumer. Each service's main.c fills a service_opts, adds its own work and
 * calls service_run: config, connect, loop, shutdown.
 */
#ifndef CAREBUS_SERVICE_H
#define CAREBUS_SERVICE_H

#include "bus.h"
#include "consumer.h"
#include "db.h"
#include "http.h"
#include "loop.h"

struct service_opts {
    const char *name;     /* "router": log name, consumer name */
    const char *port_var; /* "ROUTER_PORT" (CAREBUS_ROUTER_PORT) */
    int default_port;
    const char *stream; /* stream it publishes, NULL if none */
    const struct http_route *routes;
    size_t nroutes;
    void *arg;           /* passed to route handlers, guard and ready */
    http_ready_fn ready; /* /readyz; default: the database is up */
    http_guard_fn guard; /* before every route's handler; see http.h */
    size_t max_body;
    size_t max_large_body; /* http.h: routes flagged HTTP_LARGE_BODY; 0: max_body */
    const char *tls_cert_pem; /* HTTPS; see http_server_opts */
    const char *tls_key_pem;
    const char *rejected_family;
};

typedef struct service {
    const char *name;
    const char *stream; /* the stream it publishes, NULL if none */
    loop *loop;
    db *db;
    bus *bus;
    http_server *http;
    consumer *consumer;    /* service_consume's; NULL without, or when partitioned */
    struct partset *parts; /* the consumer's partitions (partset.h); NULL without */
} service;

/* Everything but the consumer; logs and returns NULL on failure. Does not
 * wait for PostgreSQL: the connection is made (and retried) by the loop. */
service *service_new(const struct service_opts *o);
void service_destroy(service **ps);

/* Makes the service a consumer of streams (NULL-terminated), emitting to
 * its own stream, dispatching through its handler table
 * (CONSUMER_HANDLERS(table), consumer.h). 0 or -1. */
int service_consume(service *s, const char *const *streams, const struct consumer_handler *handlers,
                    size_t nhandlers, void *arg);

/* Partitions of a partitioned consumer (CAREBUS_PARTITIONS), by default. */
#define SERVICE_PARTITIONS_DEFAULT 8

/* Like service_consume, partitioned (partset.h) when part_of is not NULL:
 * CAREBUS_PARTITIONS partitions (default SERVICE_PARTITIONS_DEFAULT), of
 * which this instance applies a fair share; s->consumer is then NULL and
 * the partitions' consumers are service_consumer(s, 0 ..
 * service_consumers(s) - 1). 0 or -1. */
int service_consume_partitioned(service *s, const char *const *streams,
                                const struct consumer_handler *handlers, size_t nhandlers,
                                void *arg, consumer_part_fn part_of);
/* The number of the consumer's partitions (1 when not partitioned, 0
 * without a consumer), and one of them. */
int service_consumers(service *s);
consumer *service_consumer(service *s, int part);

/* BEGIN for a service's own transaction that writes its consumer's state
 * outside the consumer's transactions (a timer's): with leases,
 * PostgreSQL ends it if the instance stalls inside it for two leases
 * (consumer_begin, lease_limit_txn). 0, DB_NOT_NOW while the
 * connection's writers back off (nothing begun: try later), or -1. */
int service_begin(service *s, db *d);

/* Runs until SIGTERM or SIGINT. Returns the process exit code. */
int service_run(service *s);

#endif
