/* test_feed.c — feed.c's parameters: GET /v1/events?after&types&limit&wait.
 *
 * Defaults, the bounds of limit and wait, a cursor that is not one, and
 * type patterns: expanded to the schema's types they match (quoted for a
 * text[] literal), "all" when they match every type; each mistake names
 * its parameter. Run one test by name: test_feed <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "feed.h"
#include "vocab.h"

static void parse_ok(const char *after, const char *types, const char *limit, const char *wait,
                     struct feed_query *q)
{
    struct message_error err;
    if (feed_query_parse(after, types, limit, wait, q, &err) != 0)
        fail_msg("refused (%s: %s)", err.field, err.message);
}

static void parse_bad(const char *after, const char *types, const char *limit, const char *wait,
                      const char *field)
{
    struct feed_query q;
    struct message_error err;
    memset(&err, 0, sizeof err);
    if (feed_query_parse(after, types, limit, wait, &q, &err) == 0)
        fail_msg("accepted, want \"%s\" refused", field);
    assert_string_equal(err.field, field);
    assert_string_equal(err.code, "invalid_field");
}

static void test_defaults(void **state)
{
    (void)state;
    struct feed_query q;
    parse_ok(NULL, NULL, NULL, NULL, &q);
    assert_int_equal(q.after.n, 0);
    assert_true(q.all_types);
    assert_int_equal(q.limit, FEED_LIMIT_DEFAULT);
    assert_int_equal(q.wait_s, 0);
    /* Empty values are absent values. */
    parse_ok("", "", "", "", &q);
    assert_int_equal(q.limit, FEED_LIMIT_DEFAULT);
    assert_true(q.all_types);
}

static void test_bounds(void **state)
{
    (void)state;
    struct feed_query q;
    parse_ok(NULL, NULL, "1", "0", &q);
    assert_int_equal(q.limit, 1);
    parse_ok(NULL, NULL, "1000", "60", &q);
    assert_int_equal(q.limit, 1000);
    assert_int_equal(q.wait_s, 60);
    parse_ok(NULL, NULL, "007", "05", &q);
    assert_int_equal(q.limit, 7);
    assert_int_equal(q.wait_s, 5);
    static const char *const bad_limits[] = {
        "0", "1001", "-1", "+5", " 5", "5 ", "ten", "1e3", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad_limits / sizeof bad_limits[0]; i++)
        parse_bad(NULL, NULL, bad_limits[i], NULL, "limit");
    static const char *const bad_waits[] = {"61", "-1", "1.5", "x"};
    for (size_t i = 0; i < sizeof bad_waits / sizeof bad_waits[0]; i++)
        parse_bad(NULL, NULL, NULL, bad_waits[i], "wait");
}

static void test_after(void **state)
{
    (void)state;
    struct feed_query q;
    struct feed_cursor c;
    feed_cursor_init(&c);
    feed_cursor_set(&c, "ingest", 41);
    char enc[FEED_CURSOR_MAX];
    feed_cursor_encode(&c, enc);
    parse_ok(enc, NULL, NULL, NULL, &q);
    assert_int_equal(feed_cursor_get(&q.after, "ingest"), 41);
    parse_bad("not a cursor", NULL, NULL, NULL, "after");
    parse_bad("djE=", NULL, NULL, NULL, "after");
}

static void test_types(void **state)
{
    (void)state;
    struct feed_query q;
    parse_ok(NULL, "ticket.*", NULL, NULL, &q);
    assert_false(q.all_types);
    assert_non_null(strstr(q.types_sql, "\"ticket.opened\""));
    assert_non_null(strstr(q.types_sql, "\"ticket.status_changed\""));
    assert_null(strstr(q.types_sql, "contact.received"));
    assert_int_equal(q.types_sql[0], '{');
    assert_int_equal(q.types_sql[strlen(q.types_sql) - 1], '}');

    parse_ok(NULL, "contact.received,sla.breach", NULL, NULL, &q);
    assert_string_equal(q.types_sql, "{\"contact.received\",\"sla.breach\"}");

    parse_ok(NULL, "*", NULL, NULL, &q);
    assert_true(q.all_types);
    parse_ok(NULL, "ticket.*,*", NULL, NULL, &q);
    assert_true(q.all_types);

    static const char *const bad[] = {
        "tickets.*",     "ticket.*,",     ",ticket.*", "ticket.*,,sla.*",
        "Ticket.opened", "ticket opened", ","};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        parse_bad(NULL, bad[i], NULL, NULL, "types");
}

/* Every type but the first, named one by one: the longest literal there is
 * short of "all", and it fits. */
static void test_types_literal_fits(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    size_t n = vocab_event_type_count();
    assert_true(n >= 2 && n - 1 <= FEED_TYPES_MAX);
    for (size_t i = 1; i < n; i++)
        buf_printf(&b, "%s%s", i > 1 ? "," : "", vocab_event_type(vocab_event_type_at(i)));
    struct feed_query q;
    parse_ok(NULL, buf_str(&b), NULL, NULL, &q);
    assert_false(q.all_types);
    assert_true(strlen(q.types_sql) < FEED_TYPES_SQL_MAX);
    buf_release(&b);
    /* ... and all of them is "all". */
    buf_printf(&b, "%s", vocab_event_type(vocab_event_type_at(0)));
    for (size_t i = 1; i < n; i++)
        buf_printf(&b, ",%s", vocab_event_type(vocab_event_type_at(i)));
    parse_ok(NULL, buf_str(&b), NULL, NULL, &q);
    assert_true(q.all_types);
    buf_release(&b);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_after),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_types_literal_fits),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("feed", tests, NULL, NULL);
}
