/* test_rowcopy.c — rows sent by COPY, on a real PostgreSQL.
 *
 * The COPY statement goes with the first chunk of rows: one without rows
 * sends nothing (seen on a table that does not exist, which PostgreSQL
 * would refuse), one with rows lands them all, past a chunk too, and one
 * whose row could not be built lands none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "db.h"
#include "rowcopy.h"
#include "testdb.h"

static db *g_db;

struct item {
    const char *key;
    int64_t n;
};

static const struct rowset_col item_cols[] = {
    {"key", "text", ROWSET_STR, ROWSET_AT(struct item, key)},
    {"n", "bigint", ROWSET_I64, ROWSET_AT(struct item, n)},
};
static const rowset_table items = {"pg_temp.items", item_cols, ROWSET_COUNT(item_cols), NULL};

static void exec_ok(const char *sql)
{
    PGresult *r = PQexec(db_conn(g_db), sql);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
}

static long count_items(void)
{
    PGresult *r = PQexec(db_conn(g_db), "SELECT count(*) FROM pg_temp.items");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    long n = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

static int group_setup(void **state)
{
    (void)state;
    if (testdb_open("test_rowcopy", &g_db) != 0)
        return -1;
    if (g_db) {
        PGresult *r = PQexec(db_conn(g_db), "CREATE TEMP TABLE items (key text, n bigint)");
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        return ok ? 0 : -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    testdb_close(&g_db);
    return 0;
}

static void test_a_copy_without_rows_sends_nothing(void **state)
{
    (void)state;
    if (!g_db)
        skip();
    rowcopy cp;
    rowcopy_begin(&cp, db_conn(g_db), &items, "pg_temp.missing", NULL);
    assert_int_equal(rowcopy_end(&cp), 0);
    /* With a row, the statement goes, and PostgreSQL refuses the table. */
    struct item it = {"a", 1};
    rowcopy_begin(&cp, db_conn(g_db), &items, "pg_temp.missing", NULL);
    rowcopy_row(&cp, &it);
    assert_int_equal(rowcopy_end(&cp), -1);
}

static void test_rows_land_past_a_chunk(void **state)
{
    (void)state;
    if (!g_db)
        skip();
    exec_ok("TRUNCATE pg_temp.items");
    char key[64];
    struct item it = {key, 0};
    rowcopy cp;
    rowcopy_begin(&cp, db_conn(g_db), &items, NULL, NULL);
    /* Some 60 bytes a row: 60,000 rows are more than two chunks. */
    for (int i = 0; i < 60000; i++) {
        snprintf(key, sizeof key, "row %05d of the test, padded to be a longer line", i);
        it.n = i;
        rowcopy_row(&cp, &it);
    }
    assert_true(cp.rows * 50 > 2 * ROWCOPY_CHUNK);
    assert_int_equal(rowcopy_end(&cp), 0);
    assert_int_equal(count_items(), 60000);
    /* And a few, sent with the end only. */
    rowcopy_begin(&cp, db_conn(g_db), &items, "pg_temp.items", NULL);
    rowcopy_row(&cp, &it);
    rowcopy_row(&cp, &it);
    assert_int_equal(rowcopy_end(&cp), 0);
    assert_int_equal(count_items(), 60002);
}

static void test_a_row_not_built_lands_none(void **state)
{
    (void)state;
    if (!g_db)
        skip();
    exec_ok("TRUNCATE pg_temp.items");
    struct item it = {"b", 2};
    rowcopy cp;
    rowcopy_begin(&cp, db_conn(g_db), &items, NULL, NULL);
    rowcopy_row(&cp, &it);
    rowcopy_fail(&cp);
    rowcopy_row(&cp, &it);
    assert_int_equal(rowcopy_end(&cp), -1);
    assert_int_equal(count_items(), 0);
    /* Failed before any row: nothing sent, still a failure. */
    rowcopy_begin(&cp, db_conn(g_db), &items, NULL, NULL);
    rowcopy_fail(&cp);
    assert_int_equal(rowcopy_end(&cp), -1);
    /* The connection is usable after both. */
    assert_int_equal(count_items(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_copy_without_rows_sends_nothing),
        cmocka_unit_test(test_rows_land_past_a_chunk),
        cmocka_unit_test(test_a_row_not_built_lands_none),
    };
    return cmocka_run_group_tests_name("rowcopy", tests, group_setup, group_teardown);
}
