/* bus.c — ZeroMQ PUB/SUB transport for committed events.
 *
 * Topic frame "<stream>." (with the dot, so that subscribing to "router"
 * does not also match a stream "router2"), then the packed envelope. The PUB
 * socket never blocks (ZMQ_DONTWAIT): a full high-water mark drops, which
 * consumers repair from the log. With CURVE on (curve.h) the PUB socket is a
 * CURVE server whose clients the ZAP handler admits (zap.h), each SUB socket
 * a client. ZeroMQ cannot drop one peer of a PUB socket, so when a key is
 * revoked the publisher closes its socket and binds a new one before its next
 * message: every subscriber reconnects and authenticates again, the revoked
 * one in vain, and what the others miss meanwhile they read from the log.
 */
#include "bus.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "config.h"
#include "curve.h"
#include "log.h"
#include "metrics.h"
#include "zap.h"

#define BUS_DISCARD_MAX 10000
/* Binding again right after a close may find the old listener still there
 * (libzmq closes it in its I/O thread): a few short tries. */
#define BUS_REBIND_TRIES 100
#define BUS_REBIND_PAUSE_US 10000

struct bus {
    void *ctx;
    void *pub;
    void *sub;
    struct curve_config curve;
    zap *zap;                       /* with CURVE on, once bound */
    char *bind_at;                  /* where pub is bound, for a rebind */
    unsigned long revocations_seen; /* zap_revocations at the last bind */
};

/* The producers: the one place their streams, services, variables and
 * default endpoints (ports) are written. run.sh, compose, ha.env and the
 * tests are checked against it (carebusctl bus streams;
 * tests/integration/test_bus_streams.py). */
static const struct bus_stream bus_streams[] = {
    {"ingest", "channel-ingest", "CAREBUS_BUS_INGEST", "tcp://127.0.0.1:5561"},
    {"router", "router", "CAREBUS_BUS_ROUTER", "tcp://127.0.0.1:5562"},
    {"sla", "sla-monitor", "CAREBUS_BUS_SLA", "tcp://127.0.0.1:5563"},
    {"survey", "survey", "CAREBUS_BUS_SURVEY", "tcp://127.0.0.1:5564"},
    {"courier", "courier", "CAREBUS_BUS_COURIER", "tcp://127.0.0.1:5565"},
};

size_t bus_stream_count(void)
{
    return sizeof bus_streams / sizeof bus_streams[0];
}

const char *bus_stream_at(size_t i)
{
    return i < bus_stream_count() ? bus_streams[i].stream : NULL;
}

const struct bus_stream *bus_stream_get(size_t i)
{
    return i < bus_stream_count() ? &bus_streams[i] : NULL;
}

const char *bus_endpoint(const char *stream)
{
    for (size_t i = 0; i < sizeof bus_streams / sizeof bus_streams[0]; i++)
        if (strcmp(bus_streams[i].stream, stream) == 0)
            return config_str(bus_streams[i].var + strlen("CAREBUS_"), bus_streams[i].def);
    return NULL;
}

bus *bus_new(void)
{
    return bus_new_named(NULL);
}

bus *bus_new_named(const char *name)
{
    bus *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    char err[CURVE_ERR_MAX];
    if (curve_config_load(name, &b->curve, err) != 0) {
        log_error("bus: %s", err);
        explicit_bzero(&b->curve, sizeof b->curve);
        free(b);
        return NULL;
    }
    metrics_describe("carebus_bus_curve", "gauge",
                     "1 when the bus is authenticated and encrypted (CURVE)");
    metrics_set("carebus_bus_curve", b->curve.on ? 1 : 0);
    b->ctx = zmq_ctx_new();
    if (!b->ctx) {
        explicit_bzero(&b->curve, sizeof b->curve);
        free(b);
        return NULL;
    }
    return b;
}

static void bus_close(void **sock)
{
    if (*sock) {
        int zero = 0;
        zmq_setsockopt(*sock, ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(*sock);
        *sock = NULL;
    }
}

void bus_destroy(bus **pb)
{
    bus *b = *pb;
    if (!b)
        return;
    bus_close(&b->pub);
    bus_close(&b->sub);
    zap_destroy(&b->zap);
    zmq_ctx_term(b->ctx);
    free(b->bind_at);
    explicit_bzero(&b->curve, sizeof b->curve);
    free(b);
    *pb = NULL;
}

/* The CURVE options of a new socket: a server (PUB) or a client (SUB).
 * -1 after logging what is missing. */
static int bus_secure(bus *b, void *s, int type)
{
    const struct curve_config *c = &b->curve;
    if (!c->on)
        return 0;
    if (type == ZMQ_PUB) {
        if (!c->has_server_secret) {
            log_error("bus: CURVE is on, and publishing needs the server's secret key "
                      "(CAREBUS_BUS_CURVE_SERVER_SECRET_KEY, or %s in CAREBUS_BUS_CURVE_DIR)",
                      CURVE_FILE_SERVER_SECRET);
            return -1;
        }
        int one = 1;
        if (zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
            zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, c->server_secret, CURVE_KEY_BYTES) != 0 ||
            zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, "carebus", strlen("carebus")) != 0)
            goto fail;
        return 0;
    }
    if (!c->has_server_public || !c->has_secret) {
        log_error("bus: CURVE is on, and subscribing needs %s (%s, or %s in "
                  "CAREBUS_BUS_CURVE_DIR)",
                  !c->has_server_public ? "the server's public key" : "a client secret key",
                  !c->has_server_public ? "CAREBUS_BUS_CURVE_SERVER_PUBLIC_KEY"
                                        : "CAREBUS_BUS_CURVE_SECRET_KEY",
                  !c->has_server_public ? CURVE_FILE_SERVER_PUBLIC
                                        : "<service>" CURVE_FILE_CLIENT_SUFFIX);
        return -1;
    }
    if (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, c->server_public, CURVE_KEY_BYTES) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, c->public_key, CURVE_KEY_BYTES) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, c->secret, CURVE_KEY_BYTES) != 0)
        goto fail;
    return 0;
fail:
    log_error("bus: could not set the CURVE keys: %s", zmq_strerror(zmq_errno()));
    return -1;
}

static void *bus_socket(bus *b, int type)
{
    void *s = zmq_socket(b->ctx, type);
    if (!s)
        return NULL;
    int zero = 0, hwm = 100000;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    /* Larger than the default 1,000 so a burst rarely needs the log; the
     * log repairs whatever is dropped anyway. */
    zmq_setsockopt(s, type == ZMQ_PUB ? ZMQ_SNDHWM : ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (bus_secure(b, s, type) != 0)
        bus_close(&s);
    return s;
}

int bus_bind(bus *b, const char *endpoint)
{
    /* Of a list (the instances of a producer), the first: the others bind
     * their own with CAREBUS_BUS_BIND. */
    char first[256];
    snprintf(first, sizeof first, "%.*s", (int)strcspn(endpoint, ","), endpoint);
    const char *where = config_str("BUS_BIND", first);
    assert(!b->pub); /* one publisher socket, bound once */
    if (b->curve.on && !b->zap) {
        /* The handler first: a CURVE server without one admits anyone. */
        if (!b->curve.allowed[0]) {
            log_error("bus: CURVE is on, and publishing needs the allow-list of subscribers' "
                      "keys (CAREBUS_BUS_CURVE_ALLOWED_CLIENTS, or %s in CAREBUS_BUS_CURVE_DIR)",
                      CURVE_FILE_ALLOWED);
            return -1;
        }
        if (!(b->zap = zap_new(b->ctx, b->curve.allowed)))
            return -1;
        b->revocations_seen = zap_revocations(b->zap);
    }
    free(b->bind_at);
    if (!(b->bind_at = strdup(where)) || !(b->pub = bus_socket(b, ZMQ_PUB)))
        return -1;
    if (zmq_bind(b->pub, where) != 0) {
        log_error("could not bind the bus to \"%s\": %s", where, zmq_strerror(zmq_errno()));
        bus_close(&b->pub);
        return -1;
    }
    log_info("publishing events on %s%s", where, b->curve.on ? " (CURVE)" : "");
    return 0;
}

/* A new PUB socket in place of the old one: every connection is dropped.
 * 0, or -1 with no socket (the next publish tries again). Blocks for up
 * to a second. */
static int bus_rebind(bus *b)
{
    bus_close(&b->pub);
    b->revocations_seen = zap_revocations(b->zap);
    if (!(b->pub = bus_socket(b, ZMQ_PUB)))
        return -1;
    for (int i = 0; i < BUS_REBIND_TRIES; i++) {
        if (zmq_bind(b->pub, b->bind_at) == 0) {
            log_info("bus: every subscriber was disconnected after a revocation; "
                     "the allowed ones reconnect");
            return 0;
        }
        if (zmq_errno() != EADDRINUSE)
            break;
        usleep(BUS_REBIND_PAUSE_US);
    }
    log_error("could not bind the bus to \"%s\" again: %s", b->bind_at, zmq_strerror(zmq_errno()));
    bus_close(&b->pub);
    return -1;
}

int bus_publish_bytes(bus *b, const char *stream, const uint8_t *bytes, size_t len)
{
    if (b->zap && (!b->pub || zap_revocations(b->zap) != b->revocations_seen) &&
        bus_rebind(b) != 0) {
        metrics_add("carebus_bus_dropped_total", 1);
        return -1;
    }
    if (!b->pub)
        return -1;
    char topic[64];
    int tn = snprintf(topic, sizeof topic, "%s.", stream);
    if (!bytes || tn <= 0 || (size_t)tn >= sizeof topic)
        return -1;
    if (zmq_send(b->pub, topic, (size_t)tn, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(b->pub, bytes, len, ZMQ_DONTWAIT) < 0) {
        metrics_add("carebus_bus_dropped_total", 1);
        return -1;
    }
    metrics_add("carebus_bus_published_total", 1);
    return 0;
}

int bus_connect(bus *b, const char *stream)
{
    const char *endpoint = bus_endpoint(stream);
    if (!endpoint) {
        log_error("no bus endpoint for stream \"%s\"", stream);
        return -1;
    }
    if (!b->sub && !(b->sub = bus_socket(b, ZMQ_SUB)))
        return -1;
    /* A list: every instance of the producer (one SUB hears them all). */
    for (const char *at = endpoint; *at;) {
        size_t n = strcspn(at, ",");
        char one[256];
        if (n >= sizeof one) {
            log_error("bus endpoint of \"%s\" too long: \"%.*s\"", stream, (int)n, at);
            return -1;
        }
        snprintf(one, sizeof one, "%.*s", (int)n, at);
        if (zmq_connect(b->sub, one) != 0) {
            log_error("could not connect to \"%s\" at \"%s\": %s", stream, one,
                      zmq_strerror(zmq_errno()));
            return -1;
        }
        at += n + (at[n] == ',');
    }
    return 0;
}

int bus_filter(bus *b, const char *stream, bool on)
{
    char topic[64];
    int tn = snprintf(topic, sizeof topic, "%s.", stream);
    if (!b->sub || tn <= 0 || (size_t)tn >= sizeof topic ||
        zmq_setsockopt(b->sub, on ? ZMQ_SUBSCRIBE : ZMQ_UNSUBSCRIBE, topic, (size_t)tn) != 0) {
        log_error("could not %s \"%s\": %s", on ? "subscribe to" : "unsubscribe from", stream,
                  b->sub ? zmq_strerror(zmq_errno()) : "not connected");
        return -1;
    }
    return 0;
}

int bus_subscribe(bus *b, const char *stream)
{
    /* Subscribed before connecting, so the handshake carries the topic. */
    if (!b->sub && !(b->sub = bus_socket(b, ZMQ_SUB)))
        return -1;
    return bus_filter(b, stream, true) == 0 && bus_connect(b, stream) == 0 ? 0 : -1;
}

void *bus_sub_socket(bus *b)
{
    return b->sub;
}

int bus_recv(bus *b, event **out)
{
    for (;;) {
        zmq_msg_t topic, body;
        zmq_msg_init(&topic);
        if (zmq_msg_recv(&topic, b->sub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&topic);
            return zmq_errno() == EAGAIN ? 0 : -1;
        }
        int more = zmq_msg_more(&topic);
        zmq_msg_close(&topic);
        if (!more) {
            metrics_add("carebus_bus_malformed_total", 1);
            continue;
        }
        zmq_msg_init(&body);
        if (zmq_msg_recv(&body, b->sub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&body);
            return -1;
        }
        /* Drain any unexpected extra frames. */
        while (zmq_msg_more(&body)) {
            zmq_msg_close(&body);
            zmq_msg_init(&body);
            if (zmq_msg_recv(&body, b->sub, ZMQ_DONTWAIT) < 0)
                break;
        }
        event *ev = event_unpack(zmq_msg_data(&body), zmq_msg_size(&body));
        zmq_msg_close(&body);
        if (!ev || !ev->stream || !ev->stream[0] || ev->seq == 0) {
            event_destroy(&ev);
            metrics_add("carebus_bus_malformed_total", 1);
            log_warn("dropped a malformed bus message");
            continue;
        }
        *out = ev;
        return 1;
    }
}

int bus_wait(bus *b, int timeout_ms)
{
    zmq_pollitem_t item = {.socket = b->sub, .events = ZMQ_POLLIN};
    int rc = b->sub ? zmq_poll(&item, 1, timeout_ms) : -1;
    if (rc < 0)
        return zmq_errno() == EINTR ? 0 : -1;
    return rc > 0 ? 1 : 0;
}

int bus_discard(bus *b)
{
    /* Bounded, so that a producer faster than this loop cannot keep it
     * here: what is left keeps the socket readable for the next turn. */
    int n = 0;
    while (n < BUS_DISCARD_MAX) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        int rc = zmq_msg_recv(&m, b->sub, ZMQ_DONTWAIT);
        zmq_msg_close(&m);
        if (rc < 0)
            return zmq_errno() == EAGAIN ? n : -1;
        n++;
    }
    return n;
}
