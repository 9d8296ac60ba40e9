/* test_consumer.c — batches, the done hook, and the lag a consumer exposes.
 *
 *  - lag_of: the two figures from a stream's offset, tail and age (pure);
 *  - against a throw-away database of CAREBUS_TEST_PG (skipped without
 *    one): a consumer applies the log in transactions of its batch size,
 *    flushing once and telling its done hook once per transaction; a batch
 *    whose flush fails is rolled back (done: false) and retried one event
 *    per transaction; streams caught up together take their share of
 *    every transaction and reach their tails once, a sparse stream's share
 *    shrinking to what it gives so that rounds fill the batch; lag_query reads a
 *    consumer's committed offset, the stream's tail and the age of the
 *    event after the offset, and for partitions the lowest of their
 *    offsets; the tick
 *    publishes both gauges per stream and they return to zero once the
 *    consumer has caught up; a commit cut at CAREBUS_SYNC_WAIT_MS backs
 *    the consumer off (no attempt until the back-off ends, the lag still
 *    published), and the next commit that waited for the standby
 *    forgets it; the back-off's clock is the test's (it stands still
 *    until moved), so its window does not depend on the machine's speed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bus.h"
#include "consumer.h"
#include "db.h"
#include "eventlog.h"
#include "lag.h"
#include "metrics.h"
#include "testdb.h"

/* --- lag_of ------------------------------------------------------------------------------- */

static void test_lag_of(void **state)
{
    (void)state;
    double ev, s;
    struct lag_sample caught = {.offset = 10, .tail = 10, .age_s = 3.5};
    lag_of(&caught, &ev, &s);
    assert_true(ev == 0 && s == 0);
    struct lag_sample behind = {.offset = 10, .tail = 25, .age_s = 2.25};
    lag_of(&behind, &ev, &s);
    assert_true(ev == 15 && s == 2.25);
    /* The event after the offset not found (a tail read before it): the
     * events figure says it; the age is not made up. */
    struct lag_sample unknown = {.offset = 10, .tail = 11, .age_s = -1};
    lag_of(&unknown, &ev, &s);
    assert_true(ev == 1 && s == 0);
    /* Recorded "in the future" by a clock stepped back: not negative. */
    struct lag_sample skew = {.offset = 0, .tail = 1, .age_s = -0.01};
    lag_of(&skew, &ev, &s);
    assert_true(ev == 1 && s == 0);
    /* An offset past the tail (a log reset under a running consumer). */
    struct lag_sample past = {.offset = 30, .tail = 25, .age_s = 1};
    lag_of(&past, &ev, &s);
    assert_true(ev == 0 && s == 0);
}

/* --- against PostgreSQL ----------------------------------------------------------------------- */

static db *g_db;

static int group_setup(void **state)
{
    (void)state;
    return testdb_open("test_consumer", &g_db);
}

static int group_teardown(void **state)
{
    (void)state;
    if (!g_db)
        return 0;
    testdb_close(&g_db);
    return 0;
}

/* Appends n agent replies to stream. */
static void append_replies(const char *stream, int n)
{
    Carebus__V1__AgentReplied r = CAREBUS__V1__AGENT_REPLIED__INIT;
    r.agent_id = (char *)"agent-1";
    r.text = (char *)"dạ";
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED;
    ev.agent_replied = &r;
    ev.ticket_id = (char *)"6f1c9a52-8f0e-4a57-9b7c-0d5e3c2a1b90";
    struct eventlog_entry *e = calloc((size_t)n, sizeof *e);
    assert_non_null(e);
    for (int i = 0; i < n; i++)
        e[i].ev = &ev;
    assert_int_equal(eventlog_append(g_db, stream, e, (size_t)n), 0);
    for (int i = 0; i < n; i++)
        eventlog_entry_release(&e[i]);
    free(e);
}

static int g_applied, g_flushes, g_committed, g_rolled_back, g_fail_flushes;

static consumer_result on_reply(consumer_txn *tx, const event *ev, void *arg)
{
    (void)tx;
    (void)ev;
    (void)arg;
    g_applied++;
    return CONSUMER_OK;
}

static consumer_result on_flush(consumer_txn *tx, void *arg)
{
    (void)tx;
    (void)arg;
    g_flushes++;
    if (g_fail_flushes > 0) {
        g_fail_flushes--;
        return CONSUMER_RETRY;
    }
    return CONSUMER_OK;
}

static void on_done(bool committed, void *arg)
{
    (void)arg;
    if (committed)
        g_committed++;
    else
        g_rolled_back++;
}

static const struct consumer_handler handlers[] = {
    [CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED] = {NULL, on_reply},
};

/* A consumer of stream starting at its tail; *pb receives its bus. */
static consumer *consumer_at_tail(const char *name, const char *stream, bus **pb)
{
    uint64_t tail;
    assert_int_equal(eventlog_last_seq(g_db, stream, &tail), 0);
    if (tail)
        assert_int_equal(eventlog_offset_advance(g_db, name, stream, 0, tail), 0);
    bus *b = *pb = bus_new();
    assert_non_null(b);
    consumer *c = consumer_new(name, g_db, b, NULL, CONSUMER_HANDLERS(handlers), NULL);
    assert_non_null(c);
    assert_int_equal(consumer_read(c, stream), 0);
    consumer_set_flush(c, on_flush);
    consumer_set_done(c, on_done);
    g_applied = g_flushes = g_committed = g_rolled_back = g_fail_flushes = 0;
    return c;
}

static void consumer_free(consumer **c, bus *b)
{
    consumer_destroy(c);
    bus_destroy(&b);
}

static void test_batches_and_the_done_hook(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    bus *b;
    consumer *c = consumer_at_tail("batches", "ingest", &b);
    append_replies("ingest", 5);
    consumer_set_batch(c, 2, 0);
    assert_int_equal(consumer_catch_up(c), 0);
    /* Five events, two at a time: three transactions, each flushed once
     * and each reported committed. */
    assert_int_equal(g_applied, 5);
    assert_int_equal(g_flushes, 3);
    assert_int_equal(g_committed, 3);
    assert_int_equal(g_rolled_back, 0);
    uint64_t tail;
    assert_int_equal(eventlog_last_seq(g_db, "ingest", &tail), 0);
    assert_int_equal(consumer_offset(c, "ingest"), tail);

    /* A flush that fails rolls its batch back (done: false) and the batch
     * is applied again one event per transaction. */
    append_replies("ingest", 3);
    consumer_set_batch(c, 10, 0);
    g_applied = g_flushes = g_committed = g_rolled_back = 0;
    g_fail_flushes = 1;
    assert_int_equal(consumer_catch_up(c), 0);
    assert_int_equal(g_rolled_back, 1);
    assert_int_equal(g_committed, 3);
    assert_int_equal(g_flushes, 4);
    assert_int_equal(g_applied, 3 + 3);
    assert_int_equal(consumer_offset(c, "ingest"), tail + 3);
    consumer_free(&c, b);
    assert_null(c);
}

/* Catching up together: each transaction takes from both streams, every
 * event is applied once, and both offsets reach their tails. */
static void test_catching_up_streams_together(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    bus *b;
    consumer *c = consumer_at_tail("together", "survey", &b);
    uint64_t sla0;
    assert_int_equal(eventlog_last_seq(g_db, "sla", &sla0), 0);
    if (sla0)
        assert_int_equal(eventlog_offset_advance(g_db, "together", "sla", 0, sla0), 0);
    assert_int_equal(consumer_read(c, "sla"), 0);
    /* Interleaved in time, as the bus would bring them. */
    for (int i = 0; i < 3; i++) {
        append_replies("survey", 1);
        append_replies("sla", 1);
    }
    consumer_set_batch(c, 4, 0); /* two of each stream per round */
    consumer_set_together(c, true);
    assert_int_equal(consumer_catch_up(c), 0);
    assert_int_equal(g_applied, 6);
    assert_true(g_committed >= 2 && g_committed <= 4);
    assert_int_equal(g_rolled_back, 0);
    uint64_t tail;
    assert_int_equal(eventlog_last_seq(g_db, "survey", &tail), 0);
    assert_int_equal(consumer_offset(c, "survey"), tail);
    assert_int_equal(eventlog_last_seq(g_db, "sla", &tail), 0);
    assert_int_equal(consumer_offset(c, "sla"), tail);
    /* Nothing is applied twice. */
    assert_int_equal(consumer_catch_up(c), 0);
    assert_int_equal(g_applied, 6);
    consumer_free(&c, b);
}

/* Catching up together a dense stream and a sparse one (ten events to
 * one, interleaved in time): after the first round each stream's share of
 * the batch follows what it gave, so that rounds take most of the batch.
 * An even split (32 of each) would need 7 rounds for the dense stream's
 * 200 events; every event is still applied once. */
static void test_together_shares_follow_the_streams(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    bus *b;
    consumer *c = consumer_at_tail("shares", "survey", &b);
    uint64_t sla0;
    assert_int_equal(eventlog_last_seq(g_db, "sla", &sla0), 0);
    if (sla0)
        assert_int_equal(eventlog_offset_advance(g_db, "shares", "sla", 0, sla0), 0);
    assert_int_equal(consumer_read(c, "sla"), 0);
    for (int i = 0; i < 20; i++) {
        append_replies("survey", 10);
        append_replies("sla", 1);
    }
    consumer_set_batch(c, 64, 0);
    consumer_set_together(c, true);
    assert_int_equal(consumer_catch_up(c), 0);
    assert_int_equal(g_applied, 220);
    assert_true(g_committed >= 4 && g_committed <= 5);
    uint64_t tail;
    assert_int_equal(eventlog_last_seq(g_db, "survey", &tail), 0);
    assert_int_equal(consumer_offset(c, "survey"), tail);
    assert_int_equal(eventlog_last_seq(g_db, "sla", &tail), 0);
    assert_int_equal(consumer_offset(c, "sla"), tail);
    consumer_free(&c, b);
}

static void test_lag_query(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    append_replies("sla", 3);
    uint64_t tail;
    assert_int_equal(eventlog_last_seq(g_db, "sla", &tail), 0);
    /* The offsets are the committed ones, whatever the caller holds. */
    assert_int_equal(eventlog_offset_advance(g_db, "lag-query", "sla", 0, tail - 2), 0);
    const char *streams[] = {"sla", "no-such-stream"};
    struct lag_sample s[2] = {{.offset = 12345}, {.offset = 12345}};
    assert_int_equal(lag_query(g_db, "lag-query", streams, s, 2), 0);
    assert_int_equal(s[0].offset, tail - 2);
    assert_int_equal(s[0].tail, tail);
    assert_true(s[0].age_s >= 0 && s[0].age_s < 60);
    assert_int_equal(s[1].offset, 0);
    assert_int_equal(s[1].tail, 0);
    assert_true(s[1].age_s < 0);
    /* At the tail, no event follows: the age is unknown, and not needed. */
    assert_int_equal(eventlog_offset_advance(g_db, "lag-query", "sla", tail - 2, tail), 0);
    assert_int_equal(lag_query(g_db, "lag-query", streams, s, 1), 0);
    assert_int_equal(s[0].offset, tail);
    assert_true(s[0].age_s < 0);
}

/* A partitioned consumer's lag is its furthest-behind partition's: the
 * lowest committed offset (a partition without one counts as 0). */
static void test_lag_query_of_partitions(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    append_replies("sla", 3);
    uint64_t tail;
    assert_int_equal(eventlog_last_seq(g_db, "sla", &tail), 0);
    assert_int_equal(db_command(g_db,
                                "INSERT INTO eventlog.partitionings (consumer, parts)"
                                " VALUES ('lag-parts', 3)",
                                0, NULL),
                     0);
    const char *streams[] = {"sla"};
    struct lag_sample s[1];
    /* A partition that never committed counts as 0. */
    assert_int_equal(eventlog_offset_advance(g_db, "lag-parts/0", "sla", 0, tail), 0);
    assert_int_equal(eventlog_offset_advance(g_db, "lag-parts/1", "sla", 0, tail - 3), 0);
    assert_int_equal(lag_query(g_db, "lag-parts", streams, s, 1), 0);
    assert_int_equal(s[0].offset, 0);
    assert_int_equal(eventlog_offset_advance(g_db, "lag-parts/2", "sla", 0, tail - 1), 0);
    assert_int_equal(lag_query(g_db, "lag-parts", streams, s, 1), 0);
    assert_int_equal(s[0].offset, tail - 3);
    assert_int_equal(s[0].tail, tail);
    assert_true(s[0].age_s >= 0 && s[0].age_s < 60);
    /* A partition's own. */
    assert_int_equal(lag_query(g_db, "lag-parts/2", streams, s, 1), 0);
    assert_int_equal(s[0].offset, tail - 1);
    /* All at the tail: none behind. */
    assert_int_equal(eventlog_offset_advance(g_db, "lag-parts/1", "sla", tail - 3, tail), 0);
    assert_int_equal(eventlog_offset_advance(g_db, "lag-parts/2", "sla", tail - 1, tail), 0);
    assert_int_equal(lag_query(g_db, "lag-parts", streams, s, 1), 0);
    assert_int_equal(s[0].offset, tail);
}

static bool g_slow;
static int g_slow_calls;

/* Applies by writing a row whose commit sleeps while g_slow (a deferred
 * trigger, standing in for a lost synchronous standby: see test_db.c). */
static consumer_result on_reply_slowly(consumer_txn *tx, const event *ev, void *arg)
{
    (void)ev;
    (void)arg;
    g_slow_calls++;
    const char *sql =
        g_slow ? "INSERT INTO slow_commit VALUES (true)" : "INSERT INTO slow_commit VALUES (false)";
    return db_command(consumer_txn_db(tx), sql, 0, NULL) == 0 ? CONSUMER_OK : CONSUMER_RETRY;
}

/* Counts the batches the catch-up is about to read. */
static int g_reads;
static size_t count_reads(void *arg)
{
    (void)arg;
    g_reads++;
    return CONSUMER_BATCH_MAX;
}

static const struct consumer_handler slow_handlers[] = {
    [CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED] = {NULL, on_reply_slowly},
};

/* A commit cut at its bound: the consumer backs off (db_begin refuses its
 * batches and a timer's transaction alike; it reads no batch meanwhile),
 * then applies once the back-off ends, which its first good commit (a
 * write that waited) forgets. */
static void test_a_commit_cut_at_the_bound_backs_the_consumer_off(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    db *d = testdb_connect_slow("test_consumer_slow");
    assert_non_null(d);
    testdb_hold_backoff_clock(d); /* "at once" stays within the back-off */
    uint64_t tail;
    assert_int_equal(eventlog_last_seq(g_db, "survey", &tail), 0);
    if (tail)
        assert_int_equal(eventlog_offset_advance(g_db, "backing-off", "survey", 0, tail), 0);
    bus *b = bus_new();
    assert_non_null(b);
    consumer *c = consumer_new("backing-off", d, b, NULL, CONSUMER_HANDLERS(slow_handlers), NULL);
    assert_non_null(c);
    assert_int_equal(consumer_read(c, "survey"), 0);
    consumer_set_pace(c, count_reads);
    append_replies("survey", 3);

    g_slow = true;
    g_slow_calls = 0;
    double cuts = metrics_get("carebus_db_commit_wait_exceeded_total");
    assert_int_equal(consumer_catch_up(c), -1);
    /* cut at the bound (counted), not waited out (which would commit) */
    assert_true(metrics_get("carebus_db_commit_wait_exceeded_total") == cuts + 1);
    assert_int_equal(g_slow_calls, 3);
    assert_true(db_backing_off(d));
    assert_true(metrics_get("carebus_db_commit_backoff_seconds") == 0.1);
    assert_int_equal(consumer_offset(c, "survey"), tail);
    assert_true(consumer_held_off(c));

    /* Called again at once (the loop's next turn): nothing is tried. */
    g_slow = false;
    g_reads = 0;
    assert_int_equal(consumer_catch_up(c), -1);
    assert_int_equal(consumer_tick(c), -1);
    assert_int_equal(g_slow_calls, 3);
    assert_int_equal(consumer_begin(c, d), DB_NOT_NOW); /* a service's timer */
    assert_true(consumer_held_off(c));
    assert_int_equal(g_reads, 0); /* no batch read only to be refused */
    /* The lag is still read meanwhile (a read): the three events behind. */
    assert_true(metrics_get("carebus_consumer_lag_events{stream=\"survey\"}") == 3);

    testdb_clock_advance(100); /* the floor's 100 ms pass */
    assert_false(db_backing_off(d));
    assert_int_equal(consumer_catch_up(c), 0);
    assert_false(consumer_held_off(c));
    assert_int_equal(g_slow_calls, 6);
    assert_int_equal(consumer_offset(c, "survey"), tail + 3);
    assert_true(metrics_get("carebus_db_commit_backoff_seconds") == 0);
    consumer_destroy(&c);
    bus_destroy(&b);
    db_destroy(&d);
}

static void test_tick_publishes_the_lag_and_it_returns_to_zero(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    bus *b;
    consumer *c = consumer_at_tail("lagging", "router", &b);
    append_replies("router", 4);
    /* The tick sees four events behind, publishes it, and catches up. */
    assert_int_equal(consumer_tick(c), 0);
    assert_true(metrics_get("carebus_consumer_lag_events{stream=\"router\"}") == 4);
    assert_true(metrics_get("carebus_consumer_lag_seconds{stream=\"router\"}") >= 0);
    assert_int_equal(g_applied, 4);
    /* The next tick publishes the caught-up state. */
    assert_int_equal(consumer_tick(c), 0);
    assert_true(metrics_get("carebus_consumer_lag_events{stream=\"router\"}") == 0);
    assert_true(metrics_get("carebus_consumer_lag_seconds{stream=\"router\"}") == 0);
    size_t len;
    char *text = metrics_render(&len);
    assert_non_null(text);
    assert_non_null(strstr(text, "# TYPE carebus_consumer_lag_seconds gauge"));
    assert_non_null(strstr(text, "carebus_consumer_lag_events{stream=\"router\"} 0"));
    free(text);
    consumer_free(&c, b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lag_of),
        cmocka_unit_test(test_batches_and_the_done_hook),
        cmocka_unit_test(test_catching_up_streams_together),
        cmocka_unit_test(test_together_shares_follow_the_streams),
        cmocka_unit_test(test_lag_query),
        cmocka_unit_test(test_lag_query_of_partitions),
        cmocka_unit_test(test_tick_publishes_the_lag_and_it_returns_to_zero),
        cmocka_unit_test(test_a_commit_cut_at_the_bound_backs_the_consumer_off),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
