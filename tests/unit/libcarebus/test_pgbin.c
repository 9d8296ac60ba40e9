/* test_pgbin.c — pgbin.c: an array parameter in PostgreSQL's binary format.
 *
 * The bytes are array_recv's layout (checked byte for byte), and the server
 * reads them back as the same elements: bytes of any value, an empty one,
 * a NULL, and the empty array. The round trips need CAREBUS_TEST_PG (see
 * tests/with-pg.sh) and skip without it. Run one test by name:
 * test_pgbin <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pgbin.h"
#include "testdb.h"

static db *g_db;

static int setup(void **state)
{
    (void)state;
    return testdb_open("test_pgbin", &g_db);
}

static int teardown(void **state)
{
    (void)state;
    testdb_close(&g_db);
    return 0;
}

static void test_the_layout_is_array_recv_s(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    pgbin_array a;
    pgbin_array_begin(&a, &b, PGBIN_BYTEA_OID, 2);
    pgbin_array_add(&a, "ab", 2);
    pgbin_array_add(&a, NULL, 0);
    static const unsigned char want[] = {
        0,    0,    0,    1,              /* one dimension */
        0,    0,    0,    1,              /* a NULL among the elements */
        0,    0,    0,    17,             /* bytea */
        0,    0,    0,    2,              /* two elements ... */
        0,    0,    0,    1,              /* ... from 1 */
        0,    0,    0,    2,    'a', 'b', /* "ab" */
        0xff, 0xff, 0xff, 0xff,           /* NULL */
    };
    assert_false(b.failed);
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);

    /* Begun again: emptied, and no NULL flag left over. */
    pgbin_array_begin(&a, &b, PGBIN_BYTEA_OID, 0);
    static const unsigned char empty[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 17};
    assert_int_equal(b.len, sizeof empty);
    assert_memory_equal(b.data, empty, sizeof empty);
    buf_release(&b);
}

/* The elements of a bytea[] parameter as the server reads them: each as
 * hex, "null" for NULL, joined by commas ("" for none). */
static char *read_back(const buf *b)
{
    const char *values[] = {b->data};
    int lengths[] = {(int)b->len}, formats[] = {1};
    PGresult *r = db_exec_params(g_db,
                                 "SELECT coalesce(string_agg(coalesce(encode(x, 'hex'), 'null'),"
                                 " ',' ORDER BY i), '') AS got, cardinality($1::bytea[]) AS n"
                                 " FROM unnest($1::bytea[]) WITH ORDINALITY AS u (x, i)",
                                 1, values, lengths, formats);
    assert_non_null(r);
    char *got = strdup(db_value(r, 0, "got"));
    PQclear(r);
    return got;
}

static void test_the_server_reads_the_same_elements(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    buf b = BUF_INIT;
    pgbin_array a;
    static const unsigned char bytes[] = {0x00, 0x5c, 0x78, 0xff};
    pgbin_array_begin(&a, &b, PGBIN_BYTEA_OID, 4);
    pgbin_array_add(&a, bytes, sizeof bytes);
    pgbin_array_add(&a, NULL, 0);
    pgbin_array_add(&a, "", 0);
    pgbin_array_add(&a, "z", 1);
    char *got = read_back(&b);
    assert_string_equal(got, "005c78ff,null,,7a");
    free(got);

    pgbin_array_begin(&a, &b, PGBIN_BYTEA_OID, 0);
    got = read_back(&b);
    assert_string_equal(got, "");
    free(got);
    buf_release(&b);
}

/* text[], uuid[] and timestamptz[] elements as the server reads them. */
static void test_text_uuid_and_time_elements(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    buf t = BUF_INIT, u = BUF_INIT, tm = BUF_INIT;
    pgbin_array a;
    pgbin_array_begin(&a, &t, PGBIN_TEXT_OID, 3);
    pgbin_array_add_text(&a, "Khách");
    pgbin_array_add_text(&a, NULL);
    pgbin_array_add_text(&a, "");
    pgbin_array_begin(&a, &u, PGBIN_UUID_OID, 3);
    assert_int_equal(pgbin_array_add_uuid(&a, "7f53af92-5d9b-5e25-bfa0-10ed6fa8c43f"), 0);
    assert_int_equal(pgbin_array_add_uuid(&a, ""), 0);
    assert_int_equal(pgbin_array_add_uuid(&a, NULL), 0);
    size_t len = u.len;
    assert_int_equal(pgbin_array_add_uuid(&a, "not-a-uuid"), -1);
    assert_int_equal(u.len, len); /* nothing added */
    pgbin_array_begin(&a, &tm, PGBIN_TIMESTAMPTZ_OID, 3);
    pgbin_array_add_time(&a, INT64_C(1795402800123456)); /* 2026-11-23T03:00:00.123456Z */
    pgbin_array_add_time(&a, 0);
    pgbin_array_add_time(&a, INT64_C(-1));
    assert_false(t.failed || u.failed || tm.failed);
    const char *values[] = {t.data, u.data, tm.data};
    int lengths[] = {(int)t.len, (int)u.len, (int)tm.len}, formats[] = {1, 1, 1};
    PGresult *r = db_exec_params(
        g_db,
        "SELECT array_to_string($1::text[], ',', 'null') AS t,"
        " array_to_string($2::uuid[], ',', 'null') AS u,"
        " (SELECT string_agg(to_char(x AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), ','"
        " ORDER BY i) FROM unnest($3::timestamptz[]) WITH ORDINALITY AS z (x, i)) AS tm",
        3, values, lengths, formats);
    assert_non_null(r);
    assert_string_equal(db_value(r, 0, "t"), "Khách,null,");
    assert_string_equal(db_value(r, 0, "u"), "7f53af92-5d9b-5e25-bfa0-10ed6fa8c43f,null,null");
    assert_string_equal(db_value(r, 0, "tm"),
                        "2026-11-23T03:00:00.123456,1970-01-01T00:00:00.000000,"
                        "1969-12-31T23:59:59.999999");
    PQclear(r);
    buf_release(&t);
    buf_release(&u);
    buf_release(&tm);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_layout_is_array_recv_s),
        cmocka_unit_test(test_the_server_reads_the_same_elements),
        cmocka_unit_test(test_text_uuid_and_time_elements),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("pgbin", tests, setup, teardown);
}
