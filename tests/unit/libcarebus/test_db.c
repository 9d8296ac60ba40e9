/* test_db.c — db.c: a COMMIT bounded by CAREBUS_SYNC_WAIT_MS.
 *
 * A COMMIT that takes longer than the bound (here a deferred constraint
 * trigger that sleeps, standing in for a lost synchronous standby, which a
 * test cannot stop from one connection) is cancelled: db_commit answers -1
 * well before the sleep ends, the connection stays up, and the next
 * transaction commits. Cancelled before it committed, the work is rolled
 * back; cancelled in the wait for the standby it would stand, which callers
 * treat alike (outcome unknown). The writers back off meanwhile
 * (db_backing_off), until the next good commit.
 *
 * Needs CAREBUS_TEST_PG (see tests/with-pg.sh); without it every test is
 * skipped. Run one test by name: test_db <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "db.h"
#include "metrics.h"
#include "testdb.h"
#include "timeutil.h"

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

static void test_a_commit_past_the_bound_is_cancelled(void **state)
{
    (void)state;
    if (!conninfo())
        skip();
    setenv("CAREBUS_SYNC_WAIT_MS", "200", 1);
    db *d = db_new(conninfo(), "test_db");
    unsetenv("CAREBUS_SYNC_WAIT_MS");
    assert_non_null(d);
    assert_int_equal(db_ensure(d), 0);
    assert_int_equal(testdb_slow_commit(d), 0);

    assert_int_equal(db_begin(d), 0);
    assert_int_equal(db_command(d, "INSERT INTO slow_commit VALUES (true)", 0, NULL), 0);
    int64_t t0 = time_mono_ms();
    assert_int_equal(db_commit(d), -1);
    int64_t took = time_mono_ms() - t0;
    if (took >= 2000)
        fail_msg("the COMMIT past its 200 ms bound returned after %lld ms", (long long)took);
    assert_true(db_up(d));
    assert_int_equal(count_rows(d), 0); /* cancelled before it committed */
    /* The writers back off, the floor first; a good commit forgets it. */
    assert_true(db_backing_off(d));
    assert_true(metrics_get("carebus_db_commit_backoff_seconds") == 0.1);

    assert_int_equal(db_begin(d), 0);
    assert_int_equal(db_command(d, "INSERT INTO slow_commit VALUES (false)", 0, NULL), 0);
    assert_int_equal(db_commit(d), 0);
    assert_int_equal(count_rows(d), 1);
    assert_false(db_backing_off(d));
    assert_true(metrics_get("carebus_db_commit_backoff_seconds") == 0);
    db_destroy(&d);
    assert_null(d);
}

static void test_an_invalid_bound_is_refused(void **state)
{
    (void)state;
    setenv("CAREBUS_SYNC_WAIT_MS", "5", 1);
    db *d = db_new("dbname=x", "test_db");
    unsetenv("CAREBUS_SYNC_WAIT_MS");
    assert_null(d);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_commit_past_the_bound_is_cancelled),
        cmocka_unit_test(test_an_invalid_bound_is_refused),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("db", tests, NULL, NULL);
}
