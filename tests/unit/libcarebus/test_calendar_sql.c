/* test_calendar_sql.c — the two business-time implementations agree:
 * sla.business_us_between (SQL, PostgreSQL's time zones, the tables
 * sla.load_config fills) and calendar.c (our TZif reader, the calendars
 * calendar_config.c builds from the same documents).
 *
 * Needs CAREBUS_TEST_PG (see tests/with-pg.sh); without it every test is
 * skipped. Run one test by name: test_calendar_sql <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "calendar_config.h"
#include "db.h"
#include "testdb.h"
#include "timeutil.h"

#define US INT64_C(1000000)
#define MIN (60 * US)
#define TS_SQL(p) "(timestamptz 'epoch' + (" p ")::bigint * interval '1 microsecond')"

static db *g_db;

static int64_t at(const char *rfc3339)
{
    int64_t us;
    if (time_parse_rfc3339(rfc3339, &us) != 0)
        fail_msg("bad time %s", rfc3339);
    return us;
}

static const char *num(int64_t v)
{
    static char bufs[8][24];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, 24, "%lld", (long long)v);
    return b;
}

static void exec(const char *sql)
{
    if (db_command(g_db, sql, 0, NULL) != 0)
        fail_msg("statement failed: %s", sql);
}

/* The calendars of the documents in sla.config, as sla-monitor builds them. */
static calendar_config *stored_calendars(void)
{
    PGresult *res =
        db_exec(g_db,
                "SELECT (SELECT document::text FROM sla.config WHERE name = 'calendars'),"
                " (SELECT document::text FROM sla.config WHERE name = 'holidays')",
                0, NULL);
    assert_non_null(res);
    char err[512];
    calendar_config *c =
        calendar_config_parse(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), err, sizeof err);
    PQclear(res);
    if (!c)
        fail_msg("%s", err);
    return c;
}

static int group_setup(void **state)
{
    (void)state;
    return testdb_open("test_calendar_sql", &g_db);
}

static int group_teardown(void **state)
{
    (void)state;
    if (!g_db)
        return 0;
    testdb_close(&g_db);
    return 0;
}

/* sla.business_us_between equals calendar.c for every shipped calendar and
 * a Berlin calendar with spans across both daylight-saving changes. */
static void test_sql_and_c_business_time_agree(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    /* The shipped documents (the seed) plus berlin-night, through
     * sla.load_config like any configuration. */
    exec("SELECT sla.load_config(p.document,"
         " jsonb_set(c.document, '{calendars}', (c.document -> 'calendars') ||"
         " '[{\"id\": \"berlin-night\", \"time_zone\": \"Europe/Berlin\", \"hours\":"
         " {\"sun\": [\"01:00-05:00\", \"22:00-24:00\"], \"sat\": [\"00:00-24:00\"],"
         " \"wed\": [\"02:30-03:30\"]}}]'), h.document, 'test')"
         " FROM sla.config p, sla.config c, sla.config h"
         " WHERE p.name = 'policies' AND c.name = 'calendars' AND h.name = 'holidays'");
    calendar_config *cfg = stored_calendars();
    assert_int_equal(cfg->ncals, 5);
    unsigned seed = 2026;
    int checked = 0;
    for (size_t k = 0; k < cfg->ncals; k++) {
        const calendar *cal = cfg->cals[k];
        buf ids = BUF_INIT, as = BUF_INIT, bs = BUF_INIT;
        int64_t a[120], b[120], want[120];
        /* Around Tết 2026, the March and October changes, and random. */
        static const char *const anchors[] = {"2026-02-12T10:00:00Z", "2026-03-28T20:00:00Z",
                                              "2026-10-24T20:00:00Z", "2027-02-03T01:00:00Z"};
        for (int i = 0; i < 120; i++) {
            seed = seed * 1103515245u + 12345u;
            int64_t base = i < 80 ? at(anchors[i % 4]) + (int64_t)(seed % 4000) * MIN
                                  : at("2026-01-01T00:00:00Z") + (int64_t)(seed % 525600) * MIN;
            seed = seed * 1103515245u + 12345u;
            int64_t len = (int64_t)(seed % (5 * 24 * 60)) * MIN + (int64_t)(seed % 997) * US;
            a[i] = base;
            b[i] = (i % 3 == 0) ? base - len : base + len;
            want[i] = calendar_business_us_between(cal, a[i], b[i]);
            buf_puts(&as, i ? "," : "{");
            buf_puts(&as, num(a[i]));
            buf_puts(&bs, i ? "," : "{");
            buf_puts(&bs, num(b[i]));
        }
        buf_puts(&as, "}");
        buf_puts(&bs, "}");
        buf_puts(&ids, cal->id);
        const char *p[] = {buf_str(&ids), buf_str(&as), buf_str(&bs)};
        PGresult *res = db_exec(g_db,
                                "SELECT sla.business_us_between($1, " TS_SQL("x.a") ", " TS_SQL(
                                    "x.b") ") FROM unnest($2::bigint[], $3::bigint[])"
                                           " WITH ORDINALITY AS x (a, b, i) ORDER BY x.i",
                                3, p);
        assert_non_null(res);
        assert_int_equal(PQntuples(res), 120);
        for (int i = 0; i < 120; i++) {
            int64_t got = strtoll(PQgetvalue(res, i, 0), NULL, 10);
            if (got != want[i])
                fail_msg("%s: SQL %lld != C %lld between %lld and %lld", cal->id, (long long)got,
                         (long long)want[i], (long long)a[i], (long long)b[i]);
            checked++;
        }
        PQclear(res);
        buf_release(&ids);
        buf_release(&as);
        buf_release(&bs);
    }
    assert_int_equal(checked, 600);
    calendar_config_destroy(&cfg);
    assert_null(cfg);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sql_and_c_business_time_agree),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("calendar_sql", tests, group_setup, group_teardown);
}
