/* test_db.c — db.c: a COMMIT bounded by CAREBUS_SYNC_WAIT_MS.
 *
 * A COMMIT that takes longer than the bound (here a deferred constraint
 * trigger that sleeps, standing in for a lost synchronous standby, which a
 * test cannot stop from one connection) is cancelled: db_commit answers -1
 * well before the sleep ends, the connection stays up, and the next
 * transaction commits. Cancelled before it committed, the work is rolled
 * back; cancelled in the wait for the standby it would stand, which callers
 * treat alike (outcome unknown). The writers back off meanwhile: db_begin
 * refuses a write transaction (DB_NOT_NOW) while db_begin_read and
 * db_begin_local go through, and only a commit that waited for the
 * standby (it wrote, at a synchronous_commit that waits) forgets the
 * back-off: a read-only, local or asynchronous one leaves it to double.
 * A write outside a transaction (db_write) goes by the same rules, in a
 * transaction of its own. Each statement sent counts one round trip
 * (db_round_trips).
 *
 * The cancel itself (PQcancel) is sent from a thread: db_cancel_start returns
 * while a server that never answers the request still holds it; a COMMIT
 * that ends while its request is still on its way (a proxy holds it)
 * drops its connection, which the request could still cut.
 *
 * The back-off's clock is the test's (db_set_backoff_clock): it stands
 * still until a test moves it, so that the window is the same on a
 * loaded machine or under valgrind.
 *
 * db_renew gives a connection's buffers back: a new session (another
 * backend, the old one's temporary tables gone), the read buffer a big
 * result grew freed (malloc's count, where it keeps one: valgrind's
 * malloc does not), and never in a transaction or while down.
 *
 * Needs CAREBUS_TEST_PG (see tests/with-pg.sh); without it every test is
 * skipped. Run one test by name: test_db <name>.
 */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"
#include "metrics.h"
#include "testdb.h"

static const char *conninfo(void)
{
    const char *c = getenv("CAREBUS_TEST_PG");
    return c && c[0] ? c : NULL;
}

static long count_rows(db *d)
{
    PGresult *r = db_exec(d, "SELECT count(*) FROM slow_commit", 0, NULL);
    assert_non_null(r);
    long n = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

/* A connection whose commits are bounded at 200 ms, with the slow_commit
 * table, on the test's clock. */
static db *connect_slow(void)
{
    setenv("CAREBUS_SYNC_WAIT_MS", "200", 1);
    db *d = db_new(conninfo(), "test_db");
    unsetenv("CAREBUS_SYNC_WAIT_MS");
    assert_non_null(d);
    assert_int_equal(db_ensure(d), 0);
    assert_int_equal(testdb_slow_commit(d), 0);
    testdb_hold_backoff_clock(d);
    return d;
}

/* Until db_begin admits a write again: past the longest delay (3.2 s). */
static void wait_out(db *d)
{
    assert_true(db_backing_off(d));
    testdb_clock_advance(3200);
    assert_false(db_backing_off(d));
}

/* A write whose COMMIT is cut at the bound. */
static void cut(db *d)
{
    assert_int_equal(testdb_cut_commit(d), 0);
    assert_true(db_backing_off(d));
}

/* One transaction begun by begin, running sql, committed: db_commit's answer. */
static int commit_one(db *d, int (*begin)(db *), const char *sql)
{
    assert_int_equal(begin(d), 0);
    assert_int_equal(db_command(d, sql, 0, NULL), 0);
    return db_commit(d);
}

static double backoff_gauge(void)
{
    return metrics_get("carebus_db_commit_backoff_seconds");
}

/* Commits cut at the bound (cancelled), so far. */
static double cut_commits(void)
{
    return metrics_get("carebus_db_commit_wait_exceeded_total");
}

static void test_a_commit_past_the_bound_is_cancelled(void **state)
{
    (void)state;
    if (!conninfo())
        skip();
    db *d = connect_slow();

    assert_int_equal(db_begin(d), 0);
    assert_int_equal(db_command(d, "INSERT INTO slow_commit VALUES (true)", 0, NULL), 0);
    /* Cut at the bound (counted), not waited out: that would answer 0. */
    double cuts = cut_commits();
    assert_int_equal(db_commit(d), -1);
    assert_true(cut_commits() == cuts + 1);
    assert_true(db_up(d));
    assert_int_equal(count_rows(d), 0); /* cancelled before it committed */
    /* The writers back off, the floor first; a good commit forgets it. */
    assert_true(db_backing_off(d));
    assert_true(metrics_get("carebus_db_commit_backoff_seconds") == 0.1);

    /* Meanwhile no write transaction begins, and nothing is sent. */
    assert_int_equal(db_begin(d), DB_NOT_NOW);
    assert_int_equal(PQtransactionStatus(db_conn(d)), PQTRANS_IDLE);
    wait_out(d);
    assert_int_equal(db_begin(d), 0);
    assert_int_equal(db_command(d, "INSERT INTO slow_commit VALUES (false)", 0, NULL), 0);
    assert_int_equal(db_commit(d), 0);
    assert_int_equal(count_rows(d), 1);
    assert_false(db_backing_off(d));
    assert_true(metrics_get("carebus_db_commit_backoff_seconds") == 0);
    db_destroy(&d);
    assert_null(d);
}

/* While backing off, a transaction that only reads, or whose commit waits
 * for no standby, goes through; none of them, nor a transaction that
 * wrote nothing or wrote asynchronously, proves the standby back: the next
 * cut doubles the delay. Only a write at synchronous_commit = on forgets
 * it, and the cut after that waits the floor again. */
static void test_only_a_commit_that_waited_forgets_the_back_off(void **state)
{
    (void)state;
    if (!conninfo())
        skip();
    db *d = connect_slow();

    cut(d);
    assert_true(backoff_gauge() == 0.1);
    assert_int_equal(db_begin(d), DB_NOT_NOW);
    /* The ways through, while the writers back off. */
    assert_int_equal(commit_one(d, db_begin_read, "SELECT count(*) FROM slow_commit"), 0);
    assert_int_equal(commit_one(d, db_begin_local, "INSERT INTO slow_commit VALUES (false)"), 0);
    assert_true(db_backing_off(d));
    assert_true(backoff_gauge() == 0.1);
    wait_out(d);
    /* Admitted again, but these commits waited for no standby. */
    assert_int_equal(commit_one(d, db_begin, "SELECT count(*) FROM slow_commit"), 0);
    assert_int_equal(commit_one(d, db_begin, "SET LOCAL synchronous_commit TO off"), 0);
    assert_int_equal(db_begin(d), 0);
    assert_int_equal(db_command(d, "SET LOCAL synchronous_commit TO off", 0, NULL), 0);
    assert_int_equal(db_command(d, "INSERT INTO slow_commit VALUES (false)", 0, NULL), 0);
    assert_int_equal(db_commit(d), 0);
    assert_true(backoff_gauge() == 0.1);
    cut(d);
    assert_true(backoff_gauge() == 0.2); /* doubled: not forgotten */

    /* A write that waited (synchronous_commit = on, the default) does. */
    wait_out(d);
    assert_int_equal(commit_one(d, db_begin, "INSERT INTO slow_commit VALUES (false)"), 0);
    assert_true(backoff_gauge() == 0);
    cut(d);
    assert_true(backoff_gauge() == 0.1); /* the floor again */

    /* An aborted transaction's COMMIT rolls it back, as ever: 0, and
     * nothing proved. */
    wait_out(d);
    assert_int_equal(db_begin(d), 0);
    assert_int_equal(db_command(d, "SELECT 1/0", 0, NULL), -1);
    assert_int_equal(db_commit(d), 0);
    assert_int_equal(PQtransactionStatus(db_conn(d)), PQTRANS_IDLE);
    assert_true(backoff_gauge() == 0.1);
    /* A read-only transaction refuses a write (which drops the connection:
     * a bug, not a way round the back-off). */
    assert_int_equal(db_begin_read(d), 0);
    assert_int_equal(db_command(d, "CREATE TABLE read_only_refuses (x int)", 0, NULL), -1);
    assert_string_equal(db_last_sqlstate(d), "25006");
    db_destroy(&d);
}

/* A write sent on its own (no transaction open) through db_write: its
 * result once committed; its commit cut at the bound (a bare autocommit
 * would have waited the whole sleep, and answered 0), which backs the
 * writers off; refused meanwhile, nothing sent; inside a transaction, the
 * transaction's (committed or rolled back with it). */
static void test_a_write_on_its_own_goes_by_the_writers_rules(void **state)
{
    (void)state;
    if (!conninfo())
        skip();
    db *d = connect_slow();
    PGresult *r = NULL;
    assert_int_equal(
        db_write(d, "INSERT INTO slow_commit VALUES (false) RETURNING slow", 0, NULL, &r), 0);
    assert_non_null(r);
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(db_value(r, 0, "slow"), "f");
    PQclear(r);
    assert_int_equal(PQtransactionStatus(db_conn(d)), PQTRANS_IDLE);
    assert_int_equal(count_rows(d), 1);
    assert_false(db_backing_off(d));

    /* Cut at the bound: -1 (outcome unknown), the connection up and idle. */
    double cuts = cut_commits();
    r = (PGresult *)1;
    assert_int_equal(db_write(d, "INSERT INTO slow_commit VALUES (true)", 0, NULL, &r), -1);
    assert_null(r);
    assert_true(cut_commits() == cuts + 1);
    assert_true(db_up(d));
    assert_int_equal(PQtransactionStatus(db_conn(d)), PQTRANS_IDLE);
    assert_int_equal(count_rows(d), 1); /* cancelled before it committed */
    assert_true(db_backing_off(d));
    assert_true(backoff_gauge() == 0.1);

    /* Meanwhile refused, nothing sent; reads go on. */
    r = (PGresult *)1;
    assert_int_equal(db_write(d, "INSERT INTO slow_commit VALUES (false)", 0, NULL, &r),
                     DB_NOT_NOW);
    assert_null(r);
    assert_int_equal(PQtransactionStatus(db_conn(d)), PQTRANS_IDLE);
    assert_int_equal(count_rows(d), 1);
    /* Inside a transaction (one admitted while backing off: local), the
     * write is that transaction's: it goes with its rollback. */
    assert_int_equal(db_begin_local(d), 0);
    assert_int_equal(db_write(d, "INSERT INTO slow_commit VALUES (false)", 0, NULL, NULL), 0);
    assert_int_equal(PQtransactionStatus(db_conn(d)), PQTRANS_INTRANS);
    assert_int_equal(count_rows(d), 2);
    db_rollback(d);
    assert_int_equal(count_rows(d), 1);
    assert_true(db_backing_off(d));

    /* A statement that fails on its own: rolled back, -1. */
    wait_out(d);
    assert_int_equal(db_write(d, "INSERT INTO slow_commit VALUES ('neither')", 0, NULL, NULL), -1);
    assert_int_equal(PQtransactionStatus(db_conn(d)), PQTRANS_IDLE);
    /* The next write commits, and having waited for the standby (it
     * wrote, at synchronous_commit = on), forgets the back-off. */
    assert_int_equal(db_write(d, "INSERT INTO slow_commit VALUES (false)", 0, NULL, NULL), 0);
    assert_int_equal(count_rows(d), 2);
    assert_true(backoff_gauge() == 0);
    db_destroy(&d);
}

/* The bytes malloc has handed out and not had back (0 when it keeps no
 * count: valgrind's). */
static size_t malloc_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void test_renew_frees_what_a_big_result_grew(void **state)
{
    (void)state;
    if (!conninfo())
        skip();
    db *d = db_new(conninfo(), "test_db");
    assert_non_null(d);
    assert_int_equal(db_ensure(d), 0);
    assert_int_equal(db_command(d, "CREATE TEMP TABLE renew_probe (x int)", 0, NULL), 0);
    int pid = PQbackendPID(db_conn(d));
    /* libpq reads the 8 MiB row whole: its read buffer grows to hold it. */
    PGresult *r = db_exec(d, "SELECT repeat('x', 8 * 1024 * 1024)", 0, NULL);
    assert_non_null(r);
    PQclear(r);
    size_t before = malloc_in_use();

    assert_int_equal(db_renew(d), 0);
    assert_true(db_up(d));
    assert_int_not_equal(PQbackendPID(db_conn(d)), pid);
    size_t after = malloc_in_use();
    if (before > 0)
        assert_true(after + 8 * 1024 * 1024 <= before);
    /* A new session: what the old one made is gone, and it works. */
    r = db_exec(d,
                "SELECT count(*) FROM pg_class WHERE relname = 'renew_probe'"
                " AND relnamespace = pg_my_temp_schema()",
                0, NULL);
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "0");
    PQclear(r);
    db_destroy(&d);
}

static void test_renew_leaves_a_transaction_and_a_down_connection(void **state)
{
    (void)state;
    if (!conninfo())
        skip();
    db *d = db_new(conninfo(), "test_db");
    assert_non_null(d);
    assert_int_equal(db_ensure(d), 0);
    int pid = PQbackendPID(db_conn(d));

    assert_int_equal(db_begin_read(d), 0);
    assert_int_equal(db_renew(d), -1);
    assert_int_equal(PQbackendPID(db_conn(d)), pid);
    assert_int_equal(db_commit(d), 0);

    db_mark_down(d);
    assert_int_equal(db_renew(d), -1);
    assert_false(db_up(d));
    assert_int_equal(db_ensure(d), 0);
    db_destroy(&d);
}

static void test_an_invalid_bound_is_refused(void **state)
{
    (void)state;
    setenv("CAREBUS_SYNC_WAIT_MS", "5", 1);
    db *d = db_new("dbname=x", "test_db");
    unsetenv("CAREBUS_SYNC_WAIT_MS");
    assert_null(d);
}

/* A server that takes TCP connections and never answers. db_cancel_start must
 * not wait for it: the cancel request reaches it while db_cancel_start has
 * already returned (before the change, db_cancel waited for the server to
 * close, for ever here; the alarm ends such a run). */
static void test_a_cancel_does_not_wait_for_the_server(void **state)
{
    (void)state;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(l >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(l, 8), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &alen), 0);
    char ci[96];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d connect_timeout=60", ntohs(a.sin_port));
    /* Connecting (never answered): enough for PQgetCancel's address. */
    PGconn *conn = PQconnectStart(ci);
    assert_non_null(conn);
    assert_true(PQsocket(conn) >= 0);
    alarm(60);
    db_cancel_req *cancel = db_cancel_start(conn);
    assert_non_null(cancel);
    alarm(0);
    /* The request arrives on one of the two connections accepted (the
     * other is conn's own): a CancelRequest of 16 bytes. */
    struct pollfd p[2];
    for (int i = 0; i < 2; i++) {
        struct pollfd pl = {.fd = l, .events = POLLIN};
        assert_int_equal(poll(&pl, 1, 20000), 1);
        p[i] = (struct pollfd){.fd = accept(l, NULL, NULL), .events = POLLIN};
        assert_true(p[i].fd >= 0);
    }
    assert_true(poll(p, 2, 20000) >= 1);
    int got = p[0].revents & POLLIN ? p[0].fd : p[1].fd;
    unsigned char req[16];
    ssize_t n = 0;
    for (int tries = 0; n < (ssize_t)sizeof req && tries < 100; tries++) {
        ssize_t r = recv(got, req + n, sizeof req - (size_t)n, 0);
        if (r <= 0)
            break;
        n += r;
    }
    assert_int_equal(n, 16);
    assert_int_equal(req[3], 16);                   /* its length */
    assert_int_equal((req[4] << 8 | req[5]), 1234); /* the cancel code, */
    assert_int_equal((req[6] << 8 | req[7]), 5678); /* 1234 5678 */
    for (int i = 0; i < 2; i++)
        close(p[i].fd); /* the thread's PQcancel ends */
    close(l);
    db_cancel_release(&cancel);
    PQfinish(conn);
}

/* A COMMIT cut at the bound whose cancel request is still on its way when
 * the COMMIT ends (the proxy holds the request): the request could cut the
 * connection's next statement, so the connection is dropped once
 * DB_CANCEL_WAIT_MS has passed without it being done (before the change,
 * it was kept, and the next statement sent at once). */
static void test_a_cancel_on_its_way_drops_the_connection(void **state)
{
    (void)state;
    if (!conninfo())
        skip();
    testdb_proxy *p = testdb_proxy_start(conninfo());
    assert_non_null(p);
    setenv("CAREBUS_SYNC_WAIT_MS", "200", 1);
    db *d = db_new(testdb_proxy_conninfo(p), "test_db");
    unsetenv("CAREBUS_SYNC_WAIT_MS");
    assert_non_null(d);
    assert_int_equal(db_ensure(d), 0);
    assert_int_equal(testdb_slow_commit(d), 0);
    assert_int_equal(testdb_cut_commit(d), 0);
    assert_int_equal(testdb_proxy_held(p), 1);
    assert_false(db_up(d));
    db_destroy(&d);
    testdb_proxy_stop(&p);
}

/* db_round_trips counts each statement sent: a transaction of one
 * statement is three (BEGIN, the statement, COMMIT), a rolled back one
 * too; a statement refused while the writers back off sends nothing. */
static void test_each_statement_sent_is_a_round_trip(void **state)
{
    (void)state;
    if (!conninfo())
        skip();
    db *d = connect_slow();
    uint64_t n = db_round_trips(d);
    assert_int_equal(commit_one(d, db_begin, "INSERT INTO slow_commit VALUES (false)"), 0);
    assert_int_equal(db_round_trips(d), n + 3);
    assert_int_equal(db_begin(d), 0);
    assert_int_equal(db_command(d, "SELECT 1", 0, NULL), 0);
    db_rollback(d);
    assert_int_equal(db_round_trips(d), n + 6);
    cut(d);
    n = db_round_trips(d);
    assert_int_equal(db_begin(d), DB_NOT_NOW);
    assert_int_equal(db_round_trips(d), n);
    db_destroy(&d);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_commit_past_the_bound_is_cancelled),
        cmocka_unit_test(test_only_a_commit_that_waited_forgets_the_back_off),
        cmocka_unit_test(test_a_write_on_its_own_goes_by_the_writers_rules),
        cmocka_unit_test(test_an_invalid_bound_is_refused),
        cmocka_unit_test(test_a_cancel_does_not_wait_for_the_server),
        cmocka_unit_test(test_renew_frees_what_a_big_result_grew),
        cmocka_unit_test(test_renew_leaves_a_transaction_and_a_down_connection),
        cmocka_unit_test(test_a_cancel_on_its_way_drops_the_connection),
        cmocka_unit_test(test_each_statement_sent_is_a_round_trip),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("db", tests, NULL, NULL);
}
