/* test_migrate.c — migrate.c: SQL and its record commit together.
 *
 * A derived definition (as a numbered migration, run the same way) commits
 * with its record in one transaction; SQL that ends that transaction itself
 * (a COMMIT in the text) would commit apart from its record, so that a crash
 * between them runs it again: it is refused and nothing is recorded.
 *
 * Needs CAREBUS_TEST_PG (see tests/with-pg.sh); without it every test is
 * skipped. Run one test by name: test_migrate <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "db.h"
#include "migrate.h"
#include "testdb.h"

static long long count(db *d, const char *sql)
{
    PGresult *res = db_exec(d, sql, 0, NULL);
    assert_non_null(res);
    long long n = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    return n;
}

static void test_sql_that_commits_itself_is_refused(void **state)
{
    (void)state;
    db *d = NULL;
    assert_int_equal(testdb_open("test_migrate", &d), 0);
    TESTDB_NEED(d);
    PGconn *c = db_conn(d);
    assert_int_equal(migrate_derived(c, "test.whole", "CREATE TABLE public.whole (x int)"), 0);
    assert_int_equal(
        count(d, "SELECT count(*) FROM public.carebus_derived WHERE name = 'test.whole'"), 1);
    assert_int_equal(migrate_derived(c, "test.split",
                                     "CREATE TABLE public.split_a (x int); COMMIT;"
                                     " CREATE TABLE public.split_b (x int)"),
                     -1);
    assert_int_equal(
        count(d, "SELECT count(*) FROM public.carebus_derived WHERE name = 'test.split'"), 0);
    assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);
    testdb_close(&d);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sql_that_commits_itself_is_refused),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("migrate", tests, NULL, NULL);
}
