/* test_lease.c — the lease a consumer applies under, and its fence.
 *
 * Against a throw-away database of CAREBUS_TEST_PG (skipped without one),
 * with two connections standing for two instances: one holder at a time;
 * a standby takes an expired lease under a new token and the old holder's
 * fence then refuses its commit; leases fenced together in one statement
 * are each checked by its own token, one taken over refused alone; a
 * fence in an open transaction holds a
 * takeover off until that transaction ends; a restarted instance takes its
 * own lease back at once; a released lease is taken at once; a consumer
 * whose lease was taken over rolls its batch back and leaves the offsets;
 * a batch longer than the lease holds a takeover off and commits, renewing
 * the lease, and no event is applied by both instances; while the
 * connection's writers back off, a renewal is put off (still due at the
 * next tick) and a release goes through; a holder blocked while the
 * server sends it a result it does not read is ended by the standby that
 * meets its lock once its lease ran out a lease ago.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bus.h"
#include "consumer.h"
#include "db.h"
#include "eventlog.h"
#include "lease.h"
#include "testdb.h"

#define MS 300

static db *g_db, *g_db2; /* two instances' connections */

static int group_setup(void **state)
{
    (void)state;
    return testdb_open_two("test_lease", &g_db, &g_db2);
}

static int group_teardown(void **state)
{
    (void)state;
    testdb_close_two(&g_db, &g_db2);
    return 0;
}

/* A tick that is always due: the tests drive time themselves. */
static int64_t g_now;
static lease_state tick(lease *l, db *d)
{
    assert_int_equal(db_ensure(d), 0);
    g_now += 10 * MS;
    return lease_tick(l, d, g_now);
}

/* Past the lease, by PostgreSQL's clock. */
static void expire(void)
{
    struct timespec ts = {0, (MS + 100) * 1000000L};
    nanosleep(&ts, NULL);
}

/* lease_fence in a transaction of its own (rolled back). */
static int fence(lease *l, db *d)
{
    assert_int_equal(db_begin(d), 0);
    int rc = lease_fence(l, d);
    db_rollback(d);
    return rc;
}

/* lease_fence_all in a transaction of its own (rolled back). */
static int fence_all(lease **ls, size_t n)
{
    assert_int_equal(db_begin(g_db), 0);
    int rc = lease_fence_all(ls, n, g_db);
    db_rollback(g_db);
    return rc;
}

static void test_one_holder_and_a_takeover_under_a_new_token(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    lease *a = lease_new("one", 0, "a:1", MS), *b = lease_new("one", 0, "b:2", MS);
    assert_int_equal(tick(a, g_db), LEASE_GAINED);
    assert_int_equal(lease_token(a), 1);
    assert_int_equal(tick(b, g_db2), LEASE_STANDBY);
    assert_int_equal(tick(a, g_db), LEASE_HELD); /* renewed */
    assert_int_equal(tick(b, g_db2), LEASE_STANDBY);
    /* Not due yet: no query, same answer. */
    assert_int_equal(lease_tick(a, g_db, g_now), LEASE_HELD);
    assert_int_equal(fence(a, g_db), 0);

    expire(); /* a stalls: b takes over */
    assert_int_equal(tick(b, g_db2), LEASE_GAINED);
    assert_int_equal(lease_token(b), 2);
    assert_true(lease_held(a));          /* a does not know yet ... */
    assert_int_equal(fence(a, g_db), 1); /* ... its commit is refused */
    assert_false(lease_held(a));
    assert_int_equal(lease_token(a), 0);
    assert_int_equal(tick(a, g_db), LEASE_STANDBY);
    assert_int_equal(fence(b, g_db2), 0);
    lease_destroy(&a);
    lease_destroy(&b);
    assert_null(a);
}

/* The lease's expiry as PostgreSQL has it, as text. */
static void expires_at(const char *name, char *out, size_t len)
{
    const char *p[] = {name};
    PGresult *r = db_exec(g_db,
                          "SELECT extract(epoch FROM expires_at)::text AS e FROM eventlog.leases"
                          " WHERE consumer = $1 AND part = 0",
                          1, p);
    assert_non_null(r);
    assert_int_equal(PQntuples(r), 1);
    snprintf(out, len, "%s", db_value(r, 0, "e"));
    PQclear(r);
}

static void test_while_the_writers_back_off_a_renewal_waits_and_a_release_goes(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    db *d = testdb_connect_slow("test_lease_slow");
    assert_non_null(d);
    testdb_hold_backoff_clock(d);
    lease *a = lease_new("backoff", 0, "a:1", LEASE_MS_DEFAULT);
    lease *b = lease_new("backoff", 0, "b:2", LEASE_MS_DEFAULT);
    assert_int_equal(tick(a, d), LEASE_GAINED);
    char before[64], after[64];
    expires_at("backoff", before, sizeof before);

    /* A commit on a's connection is cut: its writers back off. */
    assert_int_equal(testdb_cut_commit(d), 0);
    assert_true(db_backing_off(d));
    /* The renewal is due, but refused: held all the same, nothing written. */
    assert_int_equal(tick(a, d), LEASE_HELD);
    expires_at("backoff", after, sizeof after);
    assert_string_equal(before, after);
    testdb_clock_advance(100); /* the floor's 100 ms pass */
    assert_false(db_backing_off(d));
    /* Still due at the same time: renewed at once, not a third later. */
    assert_int_equal(lease_tick(a, d, g_now), LEASE_HELD);
    expires_at("backoff", after, sizeof after);
    assert_string_not_equal(before, after);

    /* Giving the lease back waits for no standby: not refused. */
    assert_int_equal(testdb_cut_commit(d), 0);
    assert_true(db_backing_off(d));
    lease_release(a, d);
    assert_false(lease_held(a));
    assert_int_equal(tick(b, g_db2), LEASE_GAINED); /* at once, not after expiry */
    lease_destroy(&a);
    lease_destroy(&b);
    db_destroy(&d);
}

static void test_a_fence_holds_a_takeover_off_until_its_commit(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    lease *a = lease_new("fence", 0, "a:1", MS), *b = lease_new("fence", 0, "b:2", MS);
    assert_int_equal(tick(a, g_db), LEASE_GAINED);
    assert_int_equal(db_begin(g_db), 0);
    assert_int_equal(lease_fence(a, g_db), 0);
    expire();
    /* Expired, but a's transaction has checked the token: b waits for
     * it (its lock timeout) and stands by rather than pass the commit. */
    assert_int_equal(tick(b, g_db2), LEASE_STANDBY);
    assert_int_equal(db_commit(g_db), 0);
    assert_int_equal(tick(b, g_db2), LEASE_GAINED);
    assert_int_equal(fence(a, g_db), 1);
    lease_destroy(&a);
    lease_destroy(&b);
}

/* Several leases fenced in one statement, each by its own token: one
 * whose token moved (taken over) is refused and dropped alone, the others
 * stay held and are renewed; all of them ours again, 0. A lease not held
 * is refused without a statement. */
static void test_leases_fenced_together_each_by_its_own_token(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    lease *ls[3];
    for (int p = 0; p < 3; p++) {
        assert_non_null(ls[p] = lease_new("together", p, "a:1", MS));
        assert_int_equal(tick(ls[p], g_db), LEASE_GAINED);
    }
    assert_int_equal(db_begin(g_db), 0);
    assert_int_equal(lease_hold_all(ls, 3, g_db), 0);
    assert_int_equal(lease_fence_all(ls, 3, g_db), 0);
    db_rollback(g_db);
    for (int p = 0; p < 3; p++)
        assert_true(lease_held(ls[p]));

    /* Another instance took partition 1 over (as after a stall). */
    assert_int_equal(db_command(g_db2,
                                "UPDATE eventlog.leases SET owner = 'b:2', token = token + 1"
                                " WHERE consumer = 'together' AND part = 1",
                                0, NULL),
                     0);
    char before[64], after[64];
    expires_at("together", before, sizeof before);
    assert_int_equal(db_begin(g_db), 0);
    assert_int_equal(lease_hold_all(ls, 3, g_db), 0);
    assert_int_equal(lease_fence_all(ls, 3, g_db), 1);
    assert_int_equal(db_commit(g_db), 0);
    assert_true(lease_held(ls[0]));
    assert_false(lease_held(ls[1]));
    assert_true(lease_held(ls[2]));
    expires_at("together", after, sizeof after);
    assert_true(atof(after) > atof(before)); /* partition 0's renewed */

    /* The two left, fenced together; the dropped one refused unasked. */
    lease *left[] = {ls[0], ls[2]};
    uint64_t n = db_round_trips(g_db);
    assert_int_equal(fence_all(left, 2), 0);
    assert_int_equal(db_round_trips(g_db) - n, 3); /* BEGIN, the fence, ROLLBACK */
    n = db_round_trips(g_db);
    assert_int_equal(fence_all(&ls[1], 1), 1);
    assert_int_equal(db_round_trips(g_db) - n, 2); /* BEGIN, ROLLBACK */
    for (int p = 0; p < 3; p++)
        lease_destroy(&ls[p]);
}

static void test_a_stalled_transaction_is_ended_by_the_server(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    lease *a = lease_new("stall", 0, "a:1", MS);
    assert_int_equal(tick(a, g_db), LEASE_GAINED);
    assert_int_equal(db_begin(g_db), 0);
    assert_int_equal(lease_limit_txn(a, g_db), 0);
    assert_int_equal(lease_fence(a, g_db), 0);
    /* Stalled inside its transaction for more than twice the lease: the
     * server ended the session, and with it the locks a successor needs. */
    struct timespec ts = {0, (2 * MS + 300) * 1000000L};
    nanosleep(&ts, NULL);
    assert_int_equal(lease_fence(a, g_db), -1);
    assert_false(db_up(g_db));
    db_rollback(g_db);
    assert_int_equal(db_ensure(g_db), 0);
    lease_destroy(&a);
}

/* A result far larger than the sockets' buffers, never read: the holder's
 * backend blocks in its write, and is not idle. */
static void block_in_write(PGconn *held)
{
    assert_int_equal(PQsendQuery(held, "SELECT repeat('x', 8192) FROM generate_series(1, 100000)"),
                     1);
}

/* A statement whose parameter (g_big) is far larger than the sockets'
 * buffers, sent in part: the backend, having parsed it, waits for the rest
 * of its Bind message, "active" (no idle timeout runs between the messages
 * of one query). */
static char *g_big;

static void block_in_read(PGconn *held)
{
    /* libpq copies the parameter before it sends the statement, which
     * under valgrind outlasts the transaction's idle timeout (two leases):
     * a longer one here, so that only the half-sent statement holds. */
    PGresult *r = PQexec(held, "SET LOCAL idle_in_transaction_session_timeout = 60000");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    const char *v[] = {g_big};
    assert_int_equal(PQsetnonblocking(held, 1), 0);
    assert_int_equal(PQsendQueryParams(held, "SELECT length($1)", 1, NULL, v, NULL, NULL, 0), 1);
}

/* A holder stalled while its backend is blocked by block: b takes the
 * lease over (its backend ended), and a is fenced. */
static void holder_blocked(const char *name, void (*block)(PGconn *))
{
    TESTDB_NEED(g_db);
    lease *a = lease_new(name, 0, "a:1", MS), *b = lease_new(name, 0, "b:1", MS);
    assert_int_equal(tick(a, g_db), LEASE_GAINED);
    assert_int_equal(db_begin(g_db), 0);
    assert_int_equal(lease_limit_txn(a, g_db), 0);
    assert_int_equal(lease_hold(a, g_db), 0);
    PGconn *held = db_conn(g_db);
    block(held);
    expire();
    expire();
    lease_state st = LEASE_STANDBY;
    for (int i = 0; i < 50 && st != LEASE_GAINED; i++) {
        st = tick(b, g_db2);
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(st, LEASE_GAINED);
    /* The holder's session was ended: what it reads now ends in an error. */
    bool failed = PQsetnonblocking(held, 0) != 0 || PQflush(held) != 0;
    PGresult *r;
    for (int i = 0; i < 200000 && (r = PQgetResult(held)); i++) {
        failed = failed || PQresultStatus(r) == PGRES_FATAL_ERROR;
        PQclear(r);
    }
    assert_true(failed);
    db_mark_down(g_db);
    assert_int_equal(db_ensure(g_db), 0);
    assert_int_equal(fence(a, g_db), 1);
    lease_destroy(&a);
    lease_destroy(&b);
}

static void test_a_holder_blocked_sending_a_result_is_ended(void **state)
{
    (void)state;
    holder_blocked("blocked", block_in_write);
}

static void test_a_holder_stalled_sending_a_statement_is_ended(void **state)
{
    (void)state;
    /* Made before the holder's transaction starts: its idle timeout is
     * two leases. */
    static const size_t len = 64u << 20;
    assert_non_null(g_big = malloc(len + 1));
    memset(g_big, 'x', len);
    g_big[len] = '\0';
    holder_blocked("stalled-send", block_in_read);
    free(g_big);
    g_big = NULL;
}

static void test_a_restarted_instance_takes_its_own_lease_back(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    lease *a = lease_new("restart", 0, "a:1", MS), *b = lease_new("restart", 0, "b:2", MS);
    assert_int_equal(tick(a, g_db), LEASE_GAINED);
    lease *again = lease_new("restart", 0, "a:1", MS); /* a's next run, same name */
    assert_int_equal(tick(again, g_db2), LEASE_GAINED);
    assert_int_equal(lease_token(again), 2);
    assert_int_equal(fence(a, g_db), 1); /* the old run is fenced all the same */
    assert_int_equal(tick(b, g_db), LEASE_STANDBY);
    /* Given back at a clean stop: the standby takes it at once. */
    lease_release(again, g_db2);
    assert_false(lease_held(again));
    assert_int_equal(tick(b, g_db), LEASE_GAINED);
    lease_destroy(&a);
    lease_destroy(&again);
    lease_destroy(&b);
}

/* --- a consumer under a lease ----------------------------------------------------------------- */

static int g_applied, g_rolled_back;

static consumer_result on_reply(consumer_txn *tx, const event *ev, void *arg)
{
    (void)tx;
    (void)ev;
    (void)arg;
    g_applied++;
    return CONSUMER_OK;
}

static void on_done(bool committed, void *arg)
{
    (void)arg;
    g_rolled_back += !committed;
}

static const struct consumer_handler handlers[] = {
    [CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED] = {NULL, on_reply},
};

static void append_replies(const char *stream, int n)
{
    Carebus__V1__AgentReplied r = CAREBUS__V1__AGENT_REPLIED__INIT;
    r.agent_id = (char *)"agent-1";
    r.text = (char *)"dạ";
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED;
    ev.agent_replied = &r;
    struct eventlog_entry e[8];
    assert_true(n <= 8);
    memset(e, 0, sizeof e);
    for (int i = 0; i < n; i++)
        e[i].ev = &ev;
    assert_int_equal(eventlog_append(g_db, stream, e, (size_t)n), 0);
    for (int i = 0; i < n; i++)
        eventlog_entry_release(&e[i]);
}

static void test_a_consumer_whose_lease_was_taken_rolls_back(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    lease *a = lease_new("leased", 0, "a:1", MS), *b = lease_new("leased", 0, "b:2", MS);
    bus *bs = bus_new();
    consumer *c = consumer_new("leased", g_db, bs, NULL, CONSUMER_HANDLERS(handlers), NULL);
    assert_non_null(c);
    assert_int_equal(consumer_read(c, "ingest"), 0);
    consumer_set_done(c, on_done);
    consumer_set_lease(c, a);
    append_replies("ingest", 3);

    /* Not held yet: a standby applies nothing. */
    assert_false(consumer_active(c));
    assert_int_equal(consumer_catch_up(c), 0);
    assert_int_equal(g_applied, 0);

    assert_int_equal(tick(a, g_db), LEASE_GAINED);
    consumer_forget(c);
    assert_true(consumer_active(c));
    assert_int_equal(consumer_catch_up(c), 0);
    assert_int_equal(g_applied, 3);
    assert_int_equal(consumer_offset(c, "ingest"), 3);

    /* a stalls past its lease; b takes over; a wakes up with a batch. */
    append_replies("ingest", 2);
    expire();
    assert_int_equal(tick(b, g_db2), LEASE_GAINED);
    g_applied = g_rolled_back = 0;
    assert_int_equal(consumer_catch_up(c), -1);
    assert_int_equal(g_applied, 2);     /* applied in its transaction ... */
    assert_int_equal(g_rolled_back, 1); /* ... which was rolled back */
    assert_false(consumer_active(c));
    uint64_t off;
    assert_int_equal(eventlog_offset_get(g_db, "leased", "ingest", &off), 0);
    assert_int_equal(off, 3);
    assert_int_equal(consumer_catch_up(c), 0); /* a standby now */
    assert_int_equal(consumer_fence(c), 1);

    consumer_destroy(&c);
    bus_destroy(&bs);
    lease_destroy(&a);
    lease_destroy(&b);
}

/* --- a batch longer than the lease ------------------------------------------------------------ */

static lease *g_rival; /* the other instance, trying to take over mid-batch */
static int g_rival_took;
static int g_by_a[16], g_by_b[16]; /* applications of each seq, per instance */

static consumer_result on_slow_reply(consumer_txn *tx, const event *ev, void *arg)
{
    int *by = arg;
    assert_true(ev->seq < 16);
    by[ev->seq]++;
    /* A slow handler, busy on the database (a session idle in its
     * transaction for two leases is a stalled one: lease_limit_txn);
     * meanwhile the other instance's tick comes due. */
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT pg_sleep(%g)", MS / 3 / 1000.0);
    assert_int_equal(db_command(consumer_txn_db(tx), sql, 0, NULL), 0);
    if (g_rival)
        g_rival_took += tick(g_rival, g_db2) == LEASE_GAINED;
    return CONSUMER_OK;
}

static const struct consumer_handler slow_handlers[] = {
    [CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED] = {NULL, on_slow_reply},
};

static void test_a_batch_longer_than_the_lease_commits_once(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    lease *a = lease_new("long", 0, "a:1", MS), *b = lease_new("long", 0, "b:2", MS);
    bus *bs = bus_new();
    consumer *ca = consumer_new("long", g_db, bs, NULL, CONSUMER_HANDLERS(slow_handlers), g_by_a);
    consumer *cb = consumer_new("long", g_db2, bs, NULL, CONSUMER_HANDLERS(slow_handlers), g_by_b);
    assert_non_null(ca);
    assert_non_null(cb);
    assert_int_equal(consumer_read(ca, "survey"), 0);
    assert_int_equal(consumer_read(cb, "survey"), 0);
    consumer_set_lease(ca, a);
    consumer_set_lease(cb, b);
    assert_int_equal(tick(a, g_db), LEASE_GAINED);
    assert_int_equal(tick(b, g_db2), LEASE_STANDBY);
    consumer_forget(ca);
    append_replies("survey", 6);

    /* One batch of six, each event a third of the lease and the rival's
     * lock wait: the batch outlasts the lease several times over. The
     * rival finds the lease expired by the clock but held by the batch. */
    g_rival = b;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(consumer_catch_up(ca), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    g_rival = NULL;
    long took_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(took_ms > 2 * MS);
    assert_int_equal(g_rival_took, 0);
    assert_int_equal(consumer_offset(ca, "survey"), 6);
    /* The commit renewed the lease: the rival still stands by after it. */
    assert_int_equal(tick(b, g_db2), LEASE_STANDBY);
    assert_true(lease_held(a));
    assert_int_equal(consumer_catch_up(cb), 0); /* a standby applies nothing */

    /* a dies; b takes over and goes on from a's offset. */
    expire();
    assert_int_equal(tick(b, g_db2), LEASE_GAINED);
    consumer_forget(cb);
    append_replies("survey", 2);
    assert_int_equal(consumer_catch_up(cb), 0);
    assert_int_equal(consumer_offset(cb, "survey"), 8);
    assert_int_equal(consumer_catch_up(ca), -1); /* fenced: rolled back */
    for (int seq = 1; seq <= 8; seq++) {
        int committed = seq <= 6 ? g_by_a[seq] : g_by_b[seq];
        assert_int_equal(committed, 1);
        assert_int_equal(seq <= 6 ? g_by_b[seq] : 0, 0);
    }
    uint64_t off;
    assert_int_equal(eventlog_offset_get(g_db, "long", "survey", &off), 0);
    assert_int_equal(off, 8);

    consumer_destroy(&ca);
    consumer_destroy(&cb);
    bus_destroy(&bs);
    lease_destroy(&a);
    lease_destroy(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_holder_and_a_takeover_under_a_new_token),
        cmocka_unit_test(test_a_fence_holds_a_takeover_off_until_its_commit),
        cmocka_unit_test(test_leases_fenced_together_each_by_its_own_token),
        cmocka_unit_test(test_while_the_writers_back_off_a_renewal_waits_and_a_release_goes),
        cmocka_unit_test(test_a_stalled_transaction_is_ended_by_the_server),
        cmocka_unit_test(test_a_holder_blocked_sending_a_result_is_ended),
        cmocka_unit_test(test_a_holder_stalled_sending_a_statement_is_ended),
        cmocka_unit_test(test_a_restarted_instance_takes_its_own_lease_back),
        cmocka_unit_test(test_a_consumer_whose_lease_was_taken_rolls_back),
        cmocka_unit_test(test_a_batch_longer_than_the_lease_commits_once),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
