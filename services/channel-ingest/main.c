/* channel-ingest — the one door for integrators and channels.
 *
 * Authenticates, validates and deduplicates each event, makes it durable in
 * the event log (group commit) before answering 2xx, then publishes it on
 * the bus. When PostgreSQL is down or slow it answers 503 with Retry-After,
 * never 202, and reconnects by itself. Ready once it can write and has
 * loaded the API keys.
 */
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "config.h"
#include "db.h"
#include "hasher.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "password.h"
#include "write.h"

#define INGEST_MAX_BATCH 1000

/* What CAREBUS_* configures beyond the service's common settings. */
struct ingest_config {
    struct ratelimit_conf rl;
    long max_body;
    long max_import_body;
    long json_max_depth;
    long feed_max_waiting;
    long password_log_n;   /* scrypt's cost for agents' passwords (hasher.h) */
    long read_conns;       /* CAREBUS_INGEST_READ_CONNS */
    long session_ttl_s;    /* CAREBUS_SESSION_TTL_S: a session key's life (sessions.c) */
    long signin_failures;  /* CAREBUS_SIGNIN_FAILURES (lockout.h) */
    long signin_lockout_s; /* CAREBUS_SIGNIN_LOCKOUT_S (lockout.h) */
    char *tls_cert;        /* PEM text read from CAREBUS_TLS_CERT, or NULL */
    char *tls_key;
};

/* Every route's access (routes.c) before its handler: a Bearer key with
 * the route's scope, or a public route; an admin key with a reason on the
 * reads of customers' data (audit.h). */
static bool ingest_guard(http_req *r, const struct http_route *route, void *arg)
{
    return audit_guard(arg, r, route->access);
}

static bool ingest_ready(void *arg)
{
    ingest *in = arg;
    return in->writes && dbq_up(in->writes) && in->auth && auth_loaded(in->auth);
}

static int ingest_configure(struct ingest_config *c)
{
    const char *err = NULL;
    if (auth_config(&c->rl) != 0)
        return -1;
    if (config_long("MAX_BODY", 1 << 20, 1024, 64 << 20, &c->max_body, &err) != 0 ||
        config_long("MAX_IMPORT_BODY", 64 << 20, 1024, 1 << 30, &c->max_import_body, &err) != 0 ||
        config_long("JSON_MAX_DEPTH", 32, 2, 1024, &c->json_max_depth, &err) != 0 ||
        config_long("FEED_MAX_WAITING", 256, 1, 10000, &c->feed_max_waiting, &err) != 0 ||
        config_long("PASSWORD_LOG_N", PASSWORD_LOG_N, 10, 20, &c->password_log_n, &err) != 0 ||
        config_long("INGEST_READ_CONNS", 4, 1, DBQ_MAX_CONNS, &c->read_conns, &err) != 0 ||
        config_long("SESSION_TTL_S", 12 * 3600, 60, 30L * 86400, &c->session_ttl_s, &err) != 0 ||
        config_long("SIGNIN_FAILURES", 5, 1, 1000, &c->signin_failures, &err) != 0 ||
        config_long("SIGNIN_LOCKOUT_S", 900, 1, 86400, &c->signin_lockout_s, &err) != 0) {
        log_error("%s", err);
        return -1;
    }
    return config_tls(&c->tls_cert, &c->tls_key);
}

static int ingest_open(ingest *in, const struct ingest_config *c)
{
    const char *pg = config_str("PG", CONFIG_DEFAULT_PG);
    metrics_describe("carebus_ingest_rejected_total", "counter",
                     "Requests refused, by reason (unauthorized, forbidden, rate_limited, "
                     "body_too_large, unsupported_media_type, invalid_json, invalid_utf8, "
                     "too_deep, missing_field, invalid_field, not_found, unavailable, ...)");
    in->json_max_depth = (size_t)c->json_max_depth;
    in->session_ttl_s = c->session_ttl_s;
    in->signin_failures = c->signin_failures;
    in->signin_lockout_s = c->signin_lockout_s;
    in->auth = auth_new(config_str("BOOTSTRAP_API_KEY", NULL), &c->rl, "carebus_ingest");
    in->writes = dbq_new(in->svc->loop, pg, "channel-ingest/writes");
    in->reads = dbq_new_pool(in->svc->loop, pg, "channel-ingest/reads", (size_t)c->read_conns);
    if (!in->auth || !in->writes || !in->reads)
        return -1;
    if (auth_start_refresh(in->auth, in->svc->loop, in->reads) != 0)
        return -1;
    long wait_ms;
    if (db_commit_wait_config(&wait_ms) != 0)
        return -1;
    dbq_set_deadline(in->writes, wait_ms);
    in->gc = group_commit_new(in->svc->loop, in->writes, in->svc->bus, "ingest", INGEST_MAX_BATCH,
                              wait_ms);
    in->hasher = hasher_new(in->svc->loop, (int)c->password_log_n);
    if (!in->hasher)
        return -1;
    in->feed = feed_new(in->svc->loop, in->svc->bus, pg, c->feed_max_waiting);
    return in->gc && in->feed ? 0 : -1;
}

/* Pending requests are answered 503 by the queues before the HTTP server
 * goes: first the feed's waiting requests (an empty page each), the write
 * queue (fails the in-flight batch), then what waits; the read queue before
 * the keys (it answers their in-flight reload). */
static void ingest_close(ingest *in)
{
    hasher_destroy(&in->hasher); /* its jobs' requests answered 503 */
    feed_destroy(&in->feed);
    dbq_destroy(&in->writes);
    group_commit_destroy(&in->gc);
    dbq_destroy(&in->reads);
    auth_destroy(&in->auth);
}

int main(void)
{
    /* 1. configuration: limits, rate limits, TLS (CAREBUS_*) */
    ingest in = {0};
    struct ingest_config c = {0};
    log_init("channel-ingest");
    int rc = 1;
    if (ingest_configure(&c) != 0)
        goto out;
    struct service_opts o = {
        .name = "channel-ingest",
        .port_var = "INGEST_PORT",
        .default_port = CONFIG_DEFAULT_INGEST_PORT,
        .stream = "ingest",
        .routes = ingest_routes,
        .nroutes = ingest_routes_count,
        .arg = &in,
        .ready = ingest_ready,
        .guard = ingest_guard,
        .max_body = (size_t)c.max_body,
        .max_large_body = (size_t)c.max_import_body,
        .tls_cert_pem = c.tls_cert,
        .tls_key_pem = c.tls_key,
        .rejected_family = "carebus_ingest_rejected_total",
    };
    /* 2. connect: database, bus and HTTP; the write and read queues, the
     * group commit and the API keys */
    bool up = (in.svc = service_new(&o)) && ingest_open(&in, &c) == 0;
    if (in.svc && !up)
        log_error("could not start channel-ingest");
    /* 3. the loop, until SIGTERM */
    if (up)
        rc = service_run(in.svc);
    /* 4. shutdown: ingest's queues (pending requests answered 503), then
     * the service */
    ingest_close(&in);
    service_destroy(&in.svc);
    write_spares_release(&in);
out:
    config_tls_release(&c.tls_cert, &c.tls_key);
    return rc;
}
