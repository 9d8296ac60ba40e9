/* test_bus.c — bus.c: the stream table, a subscriber that listens only at
 * times (connect, filter on and off, discard), a subscriber of a producer
 * that runs as two instances (a list of endpoints), and CURVE: who the publisher
 * admits (zap.c), a revocation that cuts a connected subscriber off, and
 * the settings it refuses to start without.
 *
 * Real ZeroMQ over ipc:// sockets under /tmp. A subscription takes a moment
 * to reach the publisher, so each step publishes until the subscriber sees
 * (or, filtered out, keeps not seeing) the stream: bounded retries, never a
 * fixed sleep that a loaded machine could outrun. Run one test by name:
 * test_bus <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include <cmocka.h>

#include "bus.h"
#include "curve.h"
#include "metrics.h"

static void test_streams(void **state)
{
    (void)state;
    assert_true(bus_stream_count() >= 4);
    bool ingest = false;
    for (size_t i = 0; i < bus_stream_count(); i++) {
        const char *s = bus_stream_at(i);
        assert_non_null(s);
        assert_non_null(bus_endpoint(s));
        ingest |= strcmp(s, "ingest") == 0;
    }
    assert_true(ingest);
    assert_null(bus_stream_at(bus_stream_count()));
    assert_null(bus_endpoint("no-such-stream"));
}

/* Waits up to 50 ms for the subscriber's socket to be readable. */
static bool readable(bus *sub)
{
    zmq_pollitem_t it = {bus_sub_socket(sub), 0, ZMQ_POLLIN, 0};
    return zmq_poll(&it, 1, 50) == 1;
}

/* Publishes one frame pair on stream until the subscriber has something:
 * true when it did within about 5 s. */
static bool delivered(bus *pub, bus *sub, const char *stream)
{
    static const uint8_t bytes[] = {0x0a, 0x01, 'x'};
    for (int i = 0; i < 100; i++) {
        bus_publish_bytes(pub, stream, bytes, sizeof bytes);
        if (readable(sub))
            return true;
    }
    return false;
}

static void test_listen_at_times(void **state)
{
    (void)state;
    char endpoint[96];
    snprintf(endpoint, sizeof endpoint, "ipc:///tmp/carebus-test-bus-%ld.ipc", (long)getpid());
    setenv("CAREBUS_BUS_SLA", endpoint, 1);
    bus *pub = bus_new(), *sub = bus_new();
    assert_non_null(pub);
    assert_non_null(sub);
    assert_int_equal(bus_bind(pub, endpoint), 0);
    assert_int_equal(bus_filter(sub, "sla", true), -1); /* not connected yet */
    assert_int_equal(bus_connect(sub, "sla"), 0);

    /* Connected, not subscribed: nothing arrives. */
    static const uint8_t bytes[] = {0x0a, 0x01, 'x'};
    for (int i = 0; i < 5; i++) {
        bus_publish_bytes(pub, "sla", bytes, sizeof bytes);
        assert_false(readable(sub));
    }

    /* Subscribed: frames arrive; discard drops them all (topic + body). */
    assert_int_equal(bus_filter(sub, "sla", true), 0);
    assert_true(delivered(pub, sub, "sla"));
    usleep(20000);
    int n = bus_discard(sub);
    assert_true(n >= 2);
    assert_int_equal(n % 2, 0);
    assert_int_equal(bus_discard(sub), 0);

    /* Unsubscribed: it goes quiet again (once what was in flight is gone). */
    assert_int_equal(bus_filter(sub, "sla", false), 0);
    int quiet = 0;
    for (int i = 0; i < 200 && quiet < 5; i++) {
        bus_publish_bytes(pub, "sla", bytes, sizeof bytes);
        if (readable(sub)) {
            bus_discard(sub);
            quiet = 0;
        } else {
            quiet++;
        }
    }
    assert_int_equal(quiet, 5);
    bus_destroy(&sub);
    bus_destroy(&pub);
    assert_null(pub);
    unlink(endpoint + strlen("ipc://"));
}

static void test_two_instances_of_a_producer(void **state)
{
    (void)state;
    char a[96], b[96], both[200];
    snprintf(a, sizeof a, "ipc:///tmp/carebus-test-bus-a-%ld.ipc", (long)getpid());
    snprintf(b, sizeof b, "ipc:///tmp/carebus-test-bus-b-%ld.ipc", (long)getpid());
    snprintf(both, sizeof both, "%s,%s", a, b);
    setenv("CAREBUS_BUS_SLA", both, 1);
    bus *first = bus_new(), *second = bus_new(), *sub = bus_new();
    assert_non_null(first);
    assert_non_null(second);
    assert_non_null(sub);
    /* Of the list, the first instance binds the first endpoint; the
     * second names its own (CAREBUS_BUS_BIND in a service). */
    assert_int_equal(bus_bind(first, bus_endpoint("sla")), 0);
    assert_int_equal(bus_bind(second, b), 0);
    assert_int_equal(bus_subscribe(sub, "sla"), 0);
    assert_true(delivered(first, sub, "sla"));
    bus_destroy(&first); /* from now on, only the second can be heard */
    usleep(20000);
    bus_discard(sub);
    assert_true(delivered(second, sub, "sla"));
    bus_destroy(&sub);
    bus_destroy(&second);
    unlink(a + strlen("ipc://"));
    unlink(b + strlen("ipc://"));
    unsetenv("CAREBUS_BUS_SLA");
}

/* --- CURVE ------------------------------------------------------------------------ */

static const char *const curve_vars[] = {
    "CAREBUS_BUS_CURVE_SERVER_PUBLIC_KEY",
    "CAREBUS_BUS_CURVE_SERVER_SECRET_KEY",
    "CAREBUS_BUS_CURVE_SECRET_KEY",
    "CAREBUS_BUS_CURVE_ALLOWED_CLIENTS",
    "CAREBUS_BUS_CURVE_DIR",
};

static struct {
    char endpoint[96];
    char allowed[96];
    uint8_t spub[CURVE_KEY_BYTES], ssec[CURVE_KEY_BYTES];
} cv;

static void curve_clear_env(void)
{
    for (size_t i = 0; i < sizeof curve_vars / sizeof curve_vars[0]; i++)
        unsetenv(curve_vars[i]);
}

static void setenv_key(const char *var, const uint8_t key[CURVE_KEY_BYTES])
{
    char t[CURVE_KEY_TEXT + 1];
    curve_key_encode(key, t);
    setenv(var, t, 1);
}

static int curve_setup(void **state)
{
    (void)state;
    curve_clear_env();
    snprintf(cv.endpoint, sizeof cv.endpoint, "ipc:///tmp/carebus-test-bus-curve-%ld.ipc",
             (long)getpid());
    snprintf(cv.allowed, sizeof cv.allowed, "/tmp/carebus-test-bus-allowed-%ld", (long)getpid());
    setenv("CAREBUS_BUS_SLA", cv.endpoint, 1);
    assert_int_equal(curve_keypair(cv.spub, cv.ssec), 0);
    char err[CURVE_ERR_MAX];
    unlink(cv.allowed);
    assert_int_equal(curve_allowlist_edit(cv.allowed, NULL, NULL, NULL, err), 0);
    return 0;
}

static int curve_teardown(void **state)
{
    (void)state;
    curve_clear_env();
    unlink(cv.allowed);
    unlink(cv.endpoint + strlen("ipc://"));
    return 0;
}

/* A client key pair, allowed under name (NULL: not allowed). */
static void curve_client(const char *name, uint8_t pub[CURVE_KEY_BYTES],
                         uint8_t sec[CURVE_KEY_BYTES])
{
    assert_int_equal(curve_keypair(pub, sec), 0);
    if (name) {
        struct curve_client c = {.name = ""};
        memcpy(c.key, pub, CURVE_KEY_BYTES);
        snprintf(c.name, sizeof c.name, "%s", name);
        char err[CURVE_ERR_MAX];
        assert_int_equal(curve_allowlist_edit(cv.allowed, &c, NULL, NULL, err), 0);
    }
}

static bus *curve_publisher(void)
{
    curve_clear_env();
    setenv_key("CAREBUS_BUS_CURVE_SERVER_SECRET_KEY", cv.ssec);
    setenv("CAREBUS_BUS_CURVE_ALLOWED_CLIENTS", cv.allowed, 1);
    bus *b = bus_new();
    assert_non_null(b);
    assert_int_equal(bus_bind(b, cv.endpoint), 0);
    curve_clear_env();
    return b;
}

/* A subscriber to "sla" with the client secret key sec, or a plain one
 * (sec NULL: CURVE off on its side). */
static bus *curve_subscriber(const uint8_t *sec)
{
    curve_clear_env();
    if (sec) {
        setenv_key("CAREBUS_BUS_CURVE_SERVER_PUBLIC_KEY", cv.spub);
        setenv_key("CAREBUS_BUS_CURVE_SECRET_KEY", sec);
    }
    bus *b = bus_new();
    assert_non_null(b);
    assert_int_equal(bus_subscribe(b, "sla"), 0);
    curve_clear_env();
    return b;
}

/* Publishes once and says which subscribers have something within 50 ms
 * (bit i for subs[i]), draining them. */
static unsigned publish_round(bus *pub, bus **subs, int n)
{
    static const uint8_t bytes[] = {0x0a, 0x01, 'x'};
    bus_publish_bytes(pub, "sla", bytes, sizeof bytes);
    usleep(50000);
    unsigned got = 0;
    for (int i = 0; i < n; i++) {
        zmq_pollitem_t it = {bus_sub_socket(subs[i]), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 0) == 1) {
            got |= 1u << i;
            bus_discard(subs[i]);
        }
    }
    return got;
}

static void test_curve_admits_only_allowed_keys(void **state)
{
    (void)state;
    uint8_t apub[CURVE_KEY_BYTES], asec[CURVE_KEY_BYTES], bpub[CURVE_KEY_BYTES],
        bsec[CURVE_KEY_BYTES];
    curve_client("reader", apub, asec);
    curve_client(NULL, bpub, bsec);
    double refused = metrics_get("carebus_bus_auth_refused_total");
    bus *pub = curve_publisher();
    bus *subs[3] = {curve_subscriber(asec), curve_subscriber(bsec), curve_subscriber(NULL)};
    /* The allowed subscriber receives; the others, never. */
    assert_true(delivered(pub, subs[0], "sla"));
    for (int i = 0; i < 20; i++)
        assert_int_equal(publish_round(pub, subs, 3) & 6u, 0);
    /* The unknown key was refused by the handler (the plain subscriber
     * fails earlier, in the handshake). */
    assert_true(metrics_get("carebus_bus_auth_refused_total") > refused);
    for (int i = 0; i < 3; i++)
        bus_destroy(&subs[i]);
    bus_destroy(&pub);
}

static void test_curve_revocation_cuts_a_connected_subscriber_off(void **state)
{
    (void)state;
    uint8_t apub[CURVE_KEY_BYTES], asec[CURVE_KEY_BYTES], cpub[CURVE_KEY_BYTES],
        csec[CURVE_KEY_BYTES];
    curve_client("crm", apub, asec);
    curve_client("router", cpub, csec);
    double revocations = metrics_get("carebus_bus_revocations_total");
    bus *pub = curve_publisher();
    bus *subs[2] = {curve_subscriber(asec), curve_subscriber(csec)};
    assert_true(delivered(pub, subs[0], "sla"));
    assert_true(delivered(pub, subs[1], "sla"));

    char err[CURVE_ERR_MAX];
    int removed = 0;
    assert_int_equal(curve_allowlist_edit(cv.allowed, NULL, "crm", &removed, err), 0);
    assert_int_equal(removed, 1);
    /* Within a few seconds crm hears nothing more (10 rounds in a row),
     * while router, reconnected, hears again. */
    int quiet = 0, heard_after_quiet = 0;
    for (int i = 0; i < 200 && (quiet < 10 || heard_after_quiet == 0); i++) {
        unsigned got = publish_round(pub, subs, 2);
        quiet = got & 1u ? 0 : quiet + 1;
        if (quiet >= 10 && (got & 2u))
            heard_after_quiet++;
    }
    assert_true(quiet >= 10);
    assert_true(heard_after_quiet > 0);
    assert_true(metrics_get("carebus_bus_revocations_total") > revocations);
    /* Allowed again, with a new key it reconnects with: heard again. */
    bus_destroy(&subs[0]);
    curve_client("crm", apub, asec);
    subs[0] = curve_subscriber(asec);
    assert_true(delivered(pub, subs[0], "sla"));
    bus_destroy(&subs[0]);
    bus_destroy(&subs[1]);
    bus_destroy(&pub);
}

static void test_curve_refuses_to_start_without_its_keys(void **state)
{
    (void)state;
    uint8_t apub[CURVE_KEY_BYTES], asec[CURVE_KEY_BYTES];
    curve_client("reader", apub, asec);
    /* A publisher without the server's secret key, or without the list. */
    setenv("CAREBUS_BUS_CURVE_ALLOWED_CLIENTS", cv.allowed, 1);
    bus *b = bus_new();
    assert_non_null(b);
    assert_int_equal(bus_bind(b, cv.endpoint), -1);
    bus_destroy(&b);
    curve_clear_env();
    setenv_key("CAREBUS_BUS_CURVE_SERVER_SECRET_KEY", cv.ssec);
    b = bus_new();
    assert_int_equal(bus_bind(b, cv.endpoint), -1);
    bus_destroy(&b);
    setenv("CAREBUS_BUS_CURVE_ALLOWED_CLIENTS", "/nonexistent/allowed-clients", 1);
    b = bus_new();
    assert_int_equal(bus_bind(b, cv.endpoint), -1);
    bus_destroy(&b);
    /* A subscriber without its own secret key. */
    curve_clear_env();
    setenv_key("CAREBUS_BUS_CURVE_SERVER_PUBLIC_KEY", cv.spub);
    b = bus_new();
    assert_int_equal(bus_subscribe(b, "sla"), -1);
    bus_destroy(&b);
    /* A malformed key: no bus at all. */
    setenv("CAREBUS_BUS_CURVE_SECRET_KEY", "short", 1);
    assert_null(bus_new());
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_streams),
        cmocka_unit_test(test_listen_at_times),
        cmocka_unit_test(test_two_instances_of_a_producer),
        cmocka_unit_test_setup_teardown(test_curve_admits_only_allowed_keys, curve_setup,
                                        curve_teardown),
        cmocka_unit_test_setup_teardown(test_curve_revocation_cuts_a_connected_subscriber_off,
                                        curve_setup, curve_teardown),
        cmocka_unit_test_setup_teardown(test_curve_refuses_to_start_without_its_keys, curve_setup,
                                        curve_teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("bus", tests, NULL, NULL);
}
