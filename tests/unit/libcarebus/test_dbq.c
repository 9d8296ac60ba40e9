/* test_dbq.c — dbq.c: queries queued on a few connections, in the loop.
 *
 * A pool runs as many statements at once as it has connections (three
 * sleeps on three connections overlap, by the server's clock), and a
 * fourth waits for a free one; a queue of one connection runs them
 * in order. A connection that dies fails only its own statement while the
 * others carry on; destroying the queue fails what is left, in flight and
 * waiting, exactly once each. A statement past the queue's deadline is
 * cancelled and failed, the connection's writers back off (what waits is
 * failed, what comes is refused), and after the back-off the next one runs
 * on the same connection. Reads go on meanwhile; a write that changes
 * nothing keeps the delay, one that changes a row forgets it. No callback
 * runs inside dbq_send/dbq_query, even for a statement that fails at once.
 * A reconnect to a server that takes the TCP connection and never answers
 * leaves the loop running meanwhile.
 *
 * Needs CAREBUS_TEST_PG (see tests/with-pg.sh); without it every test is
 * skipped. Run one test by name: test_dbq <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include <cmocka.h>

#include "dbq.h"
#include "loop.h"
#include "metrics.h"
#include "testdb.h"
#include "timeutil.h"

#define DEADLINE_MS 20000

struct run {
    loop *l;
    dbq *q;
    void *later;                 /* a job to queue once the backend is killed */
    void (*step)(struct run *r); /* called after each result, until want */
    int want, done, failed;
    int order[16];            /* the tags of the results, in the order they came */
    int pids[16];             /* backend pids, by tag */
    long long t0[16], t1[16]; /* when each began and ended, in the server's clock */
};

struct job {
    struct run *run;
    int tag;
};

static const char *conninfo(void)
{
    const char *c = getenv("CAREBUS_TEST_PG");
    return c && c[0] ? c : NULL;
}

/* One more result: stop once all came, else the next step. */
static void run_next(struct run *r)
{
    r->done++;
    if (r->done >= r->want)
        loop_stop(r->l);
    else if (r->step)
        r->step(r);
}

static void on_result(PGresult *res, void *arg)
{
    struct job *j = arg;
    struct run *r = j->run;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        r->failed++;
    } else {
        assert_int_equal(atoi(PQgetvalue(res, 0, 0)), j->tag);
        r->pids[j->tag] = atoi(PQgetvalue(res, 0, 1));
        r->t0[j->tag] = atoll(PQgetvalue(res, 0, 2));
        r->t1[j->tag] = atoll(PQgetvalue(res, 0, 4));
        r->order[r->done] = j->tag;
    }
    run_next(r);
}

/* A write's result (no rows): it must have succeeded. */
static void on_write(PGresult *res, void *arg)
{
    struct job *j = arg;
    struct run *r = j->run;
    assert_non_null(res);
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    r->order[r->done] = j->tag;
    run_next(r);
}

static int on_deadline(loop *l, void *arg)
{
    (void)arg;
    loop_stop(l);
    return 0;
}

static void run_until_done(struct run *r)
{
    int t = loop_add_timer(r->l, DEADLINE_MS, on_deadline, NULL);
    assert_true(t > 0);
    assert_int_equal(loop_run(r->l), 0);
    loop_remove_timer(r->l, t);
    if (r->done < r->want)
        fail_msg("only %d of %d statements answered within %d ms", r->done, r->want, DEADLINE_MS);
}

#define SLEEP_SQL                                                                                  \
    "SELECT $1::int, pg_backend_pid(), (extract(epoch FROM clock_timestamp()) * 1e6)::bigint,"     \
    " pg_sleep($2::float8), (extract(epoch FROM clock_timestamp()) * 1e6)::bigint"

/* Queues SLEEP_SQL, a write (dbq_query) or a read (dbq_read): dbq's rc. */
static int sleep_queue(dbq *q, struct job *j, const char *seconds, bool read)
{
    char tag[8];
    snprintf(tag, sizeof tag, "%d", j->tag);
    const char *params[] = {tag, seconds};
    return (read ? dbq_read : dbq_query)(q, SLEEP_SQL, 2, params, on_result, j);
}

static void sleep_query(dbq *q, struct job *j, const char *seconds)
{
    assert_int_equal(sleep_queue(q, j, seconds, false), 0);
}

static void test_pool_runs_at_once(void **state)
{
    (void)state;
    if (!conninfo())
        skip();
    struct run r = {.l = loop_new(), .want = 4};
    dbq *q = dbq_new_pool(r.l, conninfo(), "test_dbq", 3);
    assert_non_null(q);
    assert_true(dbq_up(q));
    assert_int_equal(dbq_size(q), 3);
    struct job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct job){&r, i};
        sleep_query(q, &jobs[i], i < 3 ? "0.3" : "0");
    }
    assert_int_equal(dbq_pending(q), 4);
    assert_true(dbq_busy(q));
    run_until_done(&r);
    assert_int_equal(r.failed, 0);
    /* The three sleeps overlapped: each began before any ended. */
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++)
            if (r.t0[i] >= r.t1[k])
                fail_msg("statement %d began after statement %d ended", i, k);
    /* Three connections, three backends; the fourth reused one of them. */
    assert_true(r.pids[0] != r.pids[1] && r.pids[1] != r.pids[2] && r.pids[0] != r.pids[2]);
    assert_true(r.pids[3] == r.pids[0] || r.pids[3] == r.pids[1] || r.pids[3] == r.pids[2]);
    assert_int_equal(dbq_pending(q), 0);
    assert_false(dbq_busy(q));
    dbq_destroy(&q);
    assert_null(q);
    loop_destroy(&r.l);
}

static void test_one_connection_in_order(void **state)
{
    (void)state;
    if (!conninfo())
        skip();
    struct run r = {.l = loop_new(), .want = 3};
    dbq *q = dbq_new(r.l, conninfo(), "test_dbq");
    assert_non_null(q);
    assert_int_equal(dbq_size(q), 1);
    struct job jobs[3];
    for (int i = 0; i < 3; i++) {
        jobs[i] = (struct job){&r, i};
        sleep_query(q, &jobs[i], i == 0 ? "0.1" : "0");
    }
    run_until_done(&r);
    assert_int_equal(r.failed, 0);
    assert_int_equal(r.order[0], 0);
    assert_int_equal(r.order[1], 1);
    assert_int_equal(r.order[2], 2);
    dbq_destroy(&q);
    loop_destroy(&r.l);
}

/* Terminates the backend of tag 0 from another connection. */
static void kill_backend(int pid)
{
    PGconn *c = PQconnectdb(conninfo());
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", pid);
    PGresult *res = PQexec(c, sql);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);
    PQfinish(c);
}

static void sleep_query(dbq *q, struct job *j, const char *seconds);

/* Kills the probed backend, then queues the later job. */
static int on_kill(loop *l, void *arg)
{
    (void)l;
    struct run *r = arg;
    if (r->pids[15]) {
        kill_backend(r->pids[15]);
        r->pids[15] = 0;
        sleep_query(r->q, r->later, "0");
    }
    return 0;
}

static void on_pid(PGresult *res, void *arg)
{
    struct job *j = arg;
    assert_non_null(res);
    j->run->pids[15] = atoi(PQgetvalue(res, 0, 0));
}

static void test_a_dead_connection_fails_its_statement_only(void **state)
{
    (void)state;
    if (!conninfo())
        skip();
    struct run r = {.l = loop_new(), .want = 3};
    dbq *q = dbq_new_pool(r.l, conninfo(), "test_dbq", 2);
    assert_non_null(q);
    struct job after = {&r, 2};
    r.q = q;
    r.later = &after;
    /* Learn one connection's backend, then give both a long statement;
     * once that backend is killed, a third statement still runs. */
    struct job probe = {&r, 15};
    assert_int_equal(dbq_query(q, "SELECT pg_backend_pid()", 0, NULL, on_pid, &probe), 0);
    struct job jobs[2] = {{&r, 0}, {&r, 1}};
    sleep_query(q, &jobs[0], "1");
    sleep_query(q, &jobs[1], "1");
    int t = loop_add_timer(r.l, 300, on_kill, &r);
    run_until_done(&r);
    loop_remove_timer(r.l, t);
    assert_int_equal(r.failed, 1);
    assert_int_equal(r.done, 3);
    assert_true(dbq_up(q));
    dbq_destroy(&q);
    loop_destroy(&r.l);
}

static void test_destroy_fails_what_is_left(void **state)
{
    (void)state;
    if (!conninfo())
        skip();
    struct run r = {.l = loop_new(), .want = 100};
    dbq *q = dbq_new_pool(r.l, conninfo(), "test_dbq", 2);
    assert_non_null(q);
    struct job jobs[5];
    for (int i = 0; i < 5; i++) {
        jobs[i] = (struct job){&r, i};
        sleep_query(q, &jobs[i], "5");
    }
    assert_int_equal(dbq_pending(q), 5);
    dbq_destroy(&q);
    assert_int_equal(r.done, 5);
    assert_int_equal(r.failed, 5);
    loop_destroy(&r.l);
}

static void test_past_the_deadline_fails_and_the_writers_back_off(void **state)
{
    (void)state;
    if (!conninfo())
        skip();
    struct run r = {.l = loop_new(), .want = 2};
    dbq *q = dbq_new(r.l, conninfo(), "test_dbq");
    assert_non_null(q);
    dbq_set_deadline(q, 200);
    dbq_set_backoff_clock(q, testdb_clock);
    struct job slow = {&r, 0}, behind = {&r, 1}, later = {&r, 2};
    int64_t t0 = time_mono_ms();
    sleep_query(q, &slow, "5");
    sleep_query(q, &behind, "0");
    run_until_done(&r);
    int64_t took = time_mono_ms() - t0;
    /* The slow one is delivered as failed, and the one queued behind it is
     * failed unsent: the connection's writers back off, as after
     * db_commit's cut ... */
    assert_int_equal(r.failed, 2);
    assert_true(dbq_up(q));
    if (took >= 2000)
        fail_msg("the statement past its 200 ms deadline ended after %lld ms", (long long)took);
    /* ... and a statement is refused until the back-off (100 ms, on the
     * tests' still clock) has passed, then taken by the same connection. */
    char tag[8] = "2";
    const char *params[] = {tag, "0"};
    assert_int_equal(
        dbq_query(q, "SELECT $1::int, 0, 0, pg_sleep($2::float8), 0", 2, params, on_result, &later),
        -1);
    assert_int_equal(dbq_pending(q), 0);
    testdb_clock_advance(100);
    sleep_query(q, &later, "0");
    assert_int_equal(dbq_pending(q), 1);
    dbq_destroy(&q);
    loop_destroy(&r.l);
}

/* After a cut, reads go on (the writers' back-off refuses writes only);
 * a write that changes nothing (it waited for no standby) keeps the delay,
 * so the next cut doubles it (200 ms); a write that changes a row forgets
 * it: the next cut starts again at the first one (100 ms). The steps run
 * from the results' callbacks (one loop_run). */
#define BACK_OFF_TABLE "test_dbq_writes"
static void back_off_write(struct run *r, struct job *j, const char *sql)
{
    assert_int_equal(dbq_query(r->q, sql, 0, NULL, on_write, j), 0);
}

static void back_off_step(struct run *r)
{
    static struct job jobs[8];
    for (int i = 0; i < 8; i++)
        jobs[i] = (struct job){r, i};
    switch (r->done) {
    case 0: /* a write, cut */
        sleep_query(r->q, &jobs[0], "5");
        break;
    case 1: /* backing off: a write is refused, a read runs */
        assert_int_equal(r->failed, 1);
        assert_int_equal(sleep_queue(r->q, &jobs[1], "0", false), -1);
        assert_int_equal(sleep_queue(r->q, &jobs[1], "0", true), 0);
        break;
    case 2: /* after the first delay, a write that changes nothing */
        assert_int_equal(r->failed, 1);
        testdb_clock_advance(100);
        back_off_write(r, &jobs[2], "UPDATE " BACK_OFF_TABLE " SET x = x WHERE false");
        break;
    case 3: /* cut again */
        assert_int_equal(r->failed, 1);
        sleep_query(r->q, &jobs[3], "5");
        break;
    case 4: /* 200 ms, not 100: the write that changed nothing forgot
             * nothing; then a write that changes a row */
        assert_int_equal(r->failed, 2);
        assert_int_equal(sleep_queue(r->q, &jobs[4], "0", false), -1);
        testdb_clock_advance(100);
        assert_int_equal(sleep_queue(r->q, &jobs[4], "0", false), -1);
        testdb_clock_advance(100);
        back_off_write(r, &jobs[4], "INSERT INTO " BACK_OFF_TABLE " VALUES (1)");
        break;
    case 5: /* cut again */
        assert_int_equal(r->failed, 2);
        sleep_query(r->q, &jobs[5], "5");
        break;
    case 6: /* 100 ms again, not 400: the write that changed a row forgot
             * the delay */
        assert_int_equal(r->failed, 3);
        assert_int_equal(sleep_queue(r->q, &jobs[6], "0", false), -1);
        testdb_clock_advance(100);
        assert_int_equal(sleep_queue(r->q, &jobs[6], "0", false), 0);
        break;
    default:
        break;
    }
}

static void test_reads_go_on_and_a_write_that_changed_rows_forgets_the_back_off(void **state)
{
    (void)state;
    if (!conninfo())
        skip();
    PGconn *setup = PQconnectdb(conninfo());
    assert_int_equal(PQstatus(setup), CONNECTION_OK);
    PGresult *made = PQexec(setup, "CREATE TABLE IF NOT EXISTS " BACK_OFF_TABLE " (x int)");
    assert_int_equal(PQresultStatus(made), PGRES_COMMAND_OK);
    PQclear(made);
    PQfinish(setup);
    struct run r = {.l = loop_new(), .want = 7, .step = back_off_step};
    r.q = dbq_new(r.l, conninfo(), "test_dbq");
    assert_non_null(r.q);
    dbq_set_deadline(r.q, 200);
    dbq_set_backoff_clock(r.q, testdb_clock);
    back_off_step(&r);
    run_until_done(&r);
    assert_int_equal(r.failed, 3);
    assert_int_equal(r.order[1], 1); /* the read ran, during the back-off */
    dbq_destroy(&r.q);
    loop_destroy(&r.l);
}

/* A statement that fails while dbq_send sends it is called back later,
 * from the loop, never inside the call: a caller may set its state after
 * the 0 (courier's record_send: "a batch is in flight"). */
static int send_fails(PGconn *conn, void *arg)
{
    (void)conn;
    (void)arg;
    return -1;
}

static void test_no_callback_inside_the_call(void **state)
{
    (void)state;
    if (!conninfo())
        skip();
    struct run r = {.l = loop_new(), .want = 2};
    dbq *q = dbq_new(r.l, conninfo(), "test_dbq");
    assert_non_null(q);
    struct job jobs[2] = {{&r, 0}, {&r, 1}};
    assert_int_equal(dbq_send(q, send_fails, on_result, &jobs[0]), 0);
    assert_int_equal(r.done, 0);
    assert_int_equal(dbq_pending(q), 1);
    /* The connection is still up: the next statement runs after it. */
    sleep_query(q, &jobs[1], "0");
    assert_int_equal(r.done, 0);
    run_until_done(&r);
    assert_int_equal(r.failed, 1);
    assert_true(dbq_up(q));
    dbq_destroy(&q);
    loop_destroy(&r.l);
}

/* A cut statement that ends by itself while its cancel request is still on
 * its way: the connection takes no statement meanwhile (the request would
 * cut it), and is dropped when the request is not done DB_CANCEL_WAIT_MS
 * after the deadline. The read queued behind is never sent on it. */
static void test_a_cancel_on_its_way_holds_the_connection(void **state)
{
    (void)state;
    if (!conninfo())
        skip();
    testdb_proxy *p = testdb_proxy_start(conninfo());
    assert_non_null(p);
    const char *ci = testdb_proxy_conninfo(p);
    struct run r = {.l = loop_new(), .want = 2};
    dbq *q = dbq_new(r.l, ci, "test_dbq");
    assert_non_null(q);
    assert_true(dbq_up(q));
    dbq_set_deadline(q, 200);
    double drops0 = metrics_get("carebus_dbq_disconnects_total");
    struct job cut = {&r, 0}, read = {&r, 1};
    sleep_query(q, &cut, "1"); /* cut at 200 ms, ends by itself at 1 s */
    assert_int_equal(sleep_queue(q, &read, "0", true), 0);
    run_until_done(&r);
    /* Both failed: the cut one as cut, the read unsent when the connection
     * was dropped (before the change, it ran on it at once). */
    assert_int_equal(r.failed, 2);
    assert_true(metrics_get("carebus_dbq_disconnects_total") == drops0 + 1);
    assert_int_equal(testdb_proxy_held(p), 1);
    testdb_proxy_stop(&p);
    dbq_destroy(&q);
    loop_destroy(&r.l);
}

struct mute {
    int listener;
    int accepted_open; /* 1: the loop took the connection while the connect waited */
};

/* The mute server's listener is readable: a connect arrived. The loop runs
 * it while the connect is still waiting for an answer only if the connect
 * does not hold the loop (else libpq has given up, and closed, by now). */
static int on_mute_connect(loop *l, short revents, void *arg)
{
    (void)revents;
    struct mute *m = arg;
    int fd = accept(m->listener, NULL, NULL);
    if (fd < 0)
        return 0;
    char b[64];
    ssize_t n;
    int rounds = 0;
    while ((n = recv(fd, b, sizeof b, MSG_DONTWAIT)) > 0 && ++rounds < 100)
        ;
    m->accepted_open = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    close(fd); /* the connect fails at once now, and its thread ends */
    loop_stop(l);
    return 0;
}

static void test_a_mute_server_does_not_hold_the_loop(void **state)
{
    (void)state;
    struct mute m = {.listener = socket(AF_INET, SOCK_STREAM, 0), .accepted_open = -1};
    assert_true(m.listener >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    assert_int_equal(bind(m.listener, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(m.listener, (struct sockaddr *)&a, &alen), 0);
    char ci[128];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d dbname=x user=x connect_timeout=30",
             ntohs(a.sin_port));
    /* Not listening yet: the first connect, in dbq_new, is refused. */
    loop *l = loop_new();
    dbq *q = dbq_new(l, ci, "test_dbq");
    assert_non_null(q);
    assert_false(dbq_up(q));
    /* Now the port takes connections and never answers: the reconnect
     * waits up to its 30 s connect_timeout. */
    assert_int_equal(listen(m.listener, 4), 0);
    assert_int_equal(loop_add_fd(l, m.listener, ZMQ_POLLIN, on_mute_connect, &m), 0);
    int t = loop_add_timer(l, DEADLINE_MS, on_deadline, NULL);
    assert_int_equal(loop_run(l), 0);
    loop_remove_timer(l, t);
    assert_int_equal(m.accepted_open, 1);
    dbq_destroy(&q);
    loop_remove_fd(l, m.listener);
    close(m.listener);
    loop_destroy(&l);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_runs_at_once),
        cmocka_unit_test(test_one_connection_in_order),
        cmocka_unit_test(test_a_dead_connection_fails_its_statement_only),
        cmocka_unit_test(test_destroy_fails_what_is_left),
        cmocka_unit_test(test_past_the_deadline_fails_and_the_writers_back_off),
        cmocka_unit_test(test_reads_go_on_and_a_write_that_changed_rows_forgets_the_back_off),
        cmocka_unit_test(test_no_callback_inside_the_call),
        cmocka_unit_test(test_a_cancel_on_its_way_holds_the_connection),
        cmocka_unit_test(test_a_mute_server_does_not_hold_the_loop),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("dbq", tests, NULL, NULL);
}
