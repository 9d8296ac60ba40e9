/* test_record.c — record.c: outcomes written in batches.
 *
 * A batch whose write committed but whose answer was lost is written again;
 * the second write must neither add the subscription's share a second time
 * nor leave the outcome uncounted, nor (outcomes arrived meanwhile) add
 * its share again beside theirs. The lost answer is a real one: a
 * trigger holds the first write past the queue's deadline and survives the
 * cancel (it catches it), so the statement commits and the queue reports
 * it failed, as it does a commit cut while the standby is away.
 *
 * Needs CAREBUS_TEST_PG (see tests/with-pg.sh); without it every test is
 * skipped. Run one test by name: test_record <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "courier.h"
#include "metrics.h"
#include "testdb.h"
#include "timeutil.h"

#define SUB_ID "5d1c8f0e-0000-4000-8000-000000000001"
#define DELIVERY_ID "5d1c8f0e-0000-4000-8000-000000000002"
#define DELIVERY2_ID "5d1c8f0e-0000-4000-8000-000000000004"
#define CAUSE_ID "5d1c8f0e-0000-4000-8000-000000000003"
#define SENT_SERIES                                                                                \
    "carebus_courier_deliveries_total{channel=\"webhook\",kind=\"webhook\",outcome=\"sent\"}"
#define RUN_BOUND_MS 20000

struct run {
    courier *c;
    bool stopped_by_bound;
};

/* Sends what is queued (a batch that came back is queued again) until the
 * queue and the connection are empty. */
static int on_tick(loop *l, void *arg)
{
    struct run *r = arg;
    if (record_pending(r->c) > 0)
        record_send(r->c);
    else if (dbq_pending(r->c->dbq) == 0)
        loop_stop(l);
    return 0;
}

static int on_bound(loop *l, void *arg)
{
    ((struct run *)arg)->stopped_by_bound = true;
    loop_stop(l);
    return 0;
}

static long long query_ll(db *d, const char *sql)
{
    PGresult *res = db_exec(d, sql, 0, NULL);
    assert_non_null(res);
    long long v = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

/* A webhook outcome of delivery id for the subscription. */
static struct outcome outcome_of(const char *id, bool sent)
{
    int64_t now = time_now_us();
    struct outcome o = {.n = 1,
                        .outcome = sent ? "sent" : "failed",
                        .status = sent ? "sent" : "failed",
                        .http_status = sent ? 200 : 500};
    snprintf(o.d.id, sizeof o.d.id, "%s", id);
    snprintf(o.d.kind, sizeof o.d.kind, "webhook");
    snprintf(o.d.subscription_id, sizeof o.d.subscription_id, "%s", SUB_ID);
    if (!sent) {
        snprintf(o.code, sizeof o.code, "http_500");
        snprintf(o.error, sizeof o.error, "the endpoint answered 500");
    }
    o.started_us = now - 1000;
    o.finished_us = now;
    return o;
}

/* The sent outcome of DELIVERY_ID is written, committed and its answer
 * lost; with `mixed`, a failed outcome of DELIVERY2_ID (same subscription)
 * arrives while that first write runs. */
static void run_lost_answer(bool mixed)
{
    db *d = NULL;
    assert_int_equal(testdb_open("test_record", &d), 0);
    TESTDB_NEED(d);
    static const char *const setup[] = {
        "INSERT INTO courier.subscriptions (id, url, event_types, secret, active, created_at,"
        " updated_at) VALUES ('" SUB_ID "', 'http://127.0.0.1:9/', '{ticket.created}', 's',"
        " true, now(), now())",
        "INSERT INTO courier.deliveries (id, kind, subscription_id, cause_event_id, event_type,"
        " status, attempts, next_at, deadline, lease_until) VALUES ('" DELIVERY_ID "', 'webhook',"
        " '" SUB_ID "', '" CAUSE_ID "', 'ticket.created', 'sending', 0, now(),"
        " now() + interval '1 hour', now() + interval '1 hour'),"
        " ('" DELIVERY2_ID "', 'webhook', '" SUB_ID "', '" CAUSE_ID "', 'ticket.updated',"
        " 'sending', 0, now(), now() + interval '1 hour', now() + interval '1 hour')",
        /* The first write's end: held past the deadline, the cancel caught,
         * committed. */
        "CREATE TABLE public.test_record_held (at timestamptz)",
        "CREATE FUNCTION public.test_record_hold() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN BEGIN PERFORM pg_sleep(10); EXCEPTION WHEN query_canceled THEN NULL; END;"
        " INSERT INTO public.test_record_held VALUES (clock_timestamp()); RETURN NULL; END $$",
        "CREATE TRIGGER test_record_hold AFTER UPDATE ON courier.deliveries FOR EACH ROW"
        " WHEN (OLD.status = 'sending' AND NEW.status = 'sent')"
        " EXECUTE FUNCTION public.test_record_hold()",
    };
    for (size_t i = 0; i < sizeof setup / sizeof setup[0]; i++)
        assert_int_equal(db_command(d, setup[i], 0, NULL), 0);

    loop *l = loop_new();
    assert_non_null(l);
    service svc = {.name = "courier", .stream = "courier", .loop = l, .db = d};
    courier c = {.svc = &svc};
    c.cfg.pause_after_s = 3600;
    c.dbq = dbq_new(l, testdb_conninfo(), "test_record");
    assert_non_null(c.dbq);
    dbq_set_deadline(c.dbq, 200);

    struct outcome o = outcome_of(DELIVERY_ID, true);
    double sent0 = metrics_get(SENT_SERIES);
    double cancelled0 = metrics_get("carebus_dbq_cancelled_total");
    record_add(&c, &o);
    record_send(&c);
    if (mixed) { /* queued behind the batch in flight */
        struct outcome o2 = outcome_of(DELIVERY2_ID, false);
        record_add(&c, &o2);
    }

    struct run r = {.c = &c};
    int tick = loop_add_timer(l, 20, on_tick, &r);
    int bound = loop_add_timer(l, RUN_BOUND_MS, on_bound, &r);
    assert_true(tick > 0 && bound > 0);
    assert_int_equal(loop_run(l), 0);
    loop_remove_timer(l, tick);
    loop_remove_timer(l, bound);
    assert_false(r.stopped_by_bound);

    /* The first write was cut at the deadline (its answer lost) ... */
    assert_true(metrics_get("carebus_dbq_cancelled_total") >= cancelled0 + 1);
    assert_int_equal(query_ll(d, "SELECT count(*) FROM public.test_record_held"), 1);
    /* ... and had committed: the second applied nothing, yet the outcome
     * is added and counted once. */
    assert_int_equal(query_ll(d, "SELECT count(*) FROM courier.deliveries WHERE status = 'sent'"),
                     1);
    assert_int_equal(query_ll(d, "SELECT delivered FROM courier.subscriptions"), 1);
    assert_int_equal(query_ll(d, "SELECT failed FROM courier.subscriptions"), mixed);
    assert_int_equal(query_ll(d, "SELECT consecutive_failures FROM courier.subscriptions"), mixed);
    assert_int_equal(query_ll(d, "SELECT count(*) FROM courier.attempts"), 1 + mixed);
    assert_int_equal(query_ll(d, "SELECT count(*) FROM courier.deliveries WHERE status = 'failed'"),
                     mixed);
    assert_true(metrics_get(SENT_SERIES) == sent0 + 1);

    dbq_destroy(&c.dbq);
    record_destroy(&c);
    loop_destroy(&l);
    testdb_close(&d);
}

static void test_a_batch_written_twice_counts_once(void **state)
{
    (void)state;
    run_lost_answer(false);
}

/* The batch written again is the same batch: the outcome that arrived
 * meanwhile is written apart, so the subscription's share of the first
 * (already added) is not added again beside it. */
static void test_a_batch_written_twice_is_not_mixed_with_newer_outcomes(void **state)
{
    (void)state;
    run_lost_answer(true);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_batch_written_twice_counts_once),
        cmocka_unit_test(test_a_batch_written_twice_is_not_mixed_with_newer_outcomes),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("record", tests, NULL, NULL);
}
