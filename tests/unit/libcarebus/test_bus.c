/* test_bus.c — bus.c: the stream table, and a subscriber that listens only
 * at times (connect, filter on and off, discard).
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

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_streams),
        cmocka_unit_test(test_listen_at_times),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("bus", tests, NULL, NULL);
}
