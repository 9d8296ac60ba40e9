/* test_calendar_config.c — calendar_config.c: the shipped JSON files, bad
 * documents and what they are told, the text forms, the directory.
 *
 * Run one test by name: test_calendar_config <name>.
 */
#include <limits.h>
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

#include "calendar_config.h"
#include "civil.h"
#include "timeutil.h"

#define US INT64_C(1000000)
#define HOUR (3600 * US)

static char g_config_dir[PATH_MAX];

static int64_t at(const char *rfc3339)
{
    int64_t us;
    if (time_parse_rfc3339(rfc3339, &us) != 0)
        fail_msg("bad time in test: %s", rfc3339);
    return us;
}

static int64_t day(const char *s)
{
    int32_t d;
    assert_int_equal(civil_date_parse(s, &d), 0);
    return d;
}

/* deploy/config, found as the services find it (the tests run from the
 * top of the tree). */
static int group_setup(void **state)
{
    (void)state;
    bool is_explicit;
    char *dir = calendar_config_dir(&is_explicit);
    if (!dir) {
        fprintf(stderr, "test_calendar_config: no deploy/config here or beside the build\n");
        return -1;
    }
    snprintf(g_config_dir, sizeof g_config_dir, "%s", dir);
    free(dir);
    return 0;
}

static const char *const HOLS =
    "{\"sets\": {\"vn\": [{\"date\": \"2026-01-01\", \"name\": \"a\"},"
    " {\"from\": \"2026-02-14\", \"to\": \"2026-02-22\", \"name\": \"b\"}]}}";

static void test_shipped_files(void **state)
{
    (void)state;
    char err[512];
    calendar_config *c = calendar_config_load(g_config_dir, err, sizeof err);
    if (!c)
        fail_msg("%s", err);
    assert_int_equal(c->ncals, 4);
    const calendar *vn = calendar_config_find(c, "vn-business");
    const calendar *always = calendar_config_find(c, "24x7");
    const calendar *eu = calendar_config_find(c, "eu-business");
    assert_non_null(vn);
    assert_non_null(always);
    assert_non_null(eu);
    assert_null(calendar_config_find(c, "nope"));
    assert_string_equal(tz_name(vn->zone), "Asia/Ho_Chi_Minh");
    assert_string_equal(tz_name(eu->zone), "Europe/Berlin");
    assert_true(always->always_open);
    /* Monday: two spans; Saturday one; Sunday none. */
    assert_int_equal(vn->nspans[0], 2);
    assert_int_equal(vn->week[0][1].open, 13 * 3600);
    assert_int_equal(vn->week[0][1].close, 17 * 3600 + 1800);
    assert_int_equal(vn->nspans[5], 1);
    assert_int_equal(vn->nspans[6], 0);
    /* Tết Bính Ngọ, a range, and a single date. */
    assert_true(calendar_is_holiday(vn, day("2026-02-17")));
    assert_true(calendar_is_holiday(vn, day("2026-09-02")));
    assert_false(calendar_is_holiday(vn, day("2026-02-23")));
    assert_false(calendar_is_holiday(eu, day("2026-02-17")));
    /* Four business hours at 16:30 before Tết land after it. */
    assert_int_equal(calendar_add_business_us(vn, at("2026-02-13T16:30:00+07:00"), 4 * HOUR),
                     at("2026-02-23T11:00:00+07:00"));

    calendar *taken = calendar_config_take(c, "eu-business");
    assert_non_null(taken);
    assert_int_equal(c->ncals, 3);
    assert_null(calendar_config_find(c, "eu-business"));
    assert_null(calendar_config_take(c, "eu-business"));
    assert_non_null(calendar_config_find(c, "24x7"));
    calendar_destroy(&taken);
    calendar_config_destroy(&c);
    assert_null(c);
}

/* Blanks and one-digit hours, as sla.load_config accepts them; null for an
 * absent member; the order of the document. */
static void test_accepted_forms(void **state)
{
    (void)state;
    char err[512];
    calendar_config *c = calendar_config_parse(
        "{\"calendars\": [{\"id\": \"b\", \"time_zone\": null, \"always_open\": false,"
        " \"holidays\": [\"vn\"], \"hours\": {\"sun\": [\" 8:00 - 12:00 \", \"13:00-24:00\"]}},"
        " {\"id\": \"a\", \"always_open\": true, \"holidays\": null}]}",
        HOLS, err, sizeof err);
    if (!c)
        fail_msg("%s", err);
    assert_int_equal(c->ncals, 2);
    assert_string_equal(c->cals[0]->id, "b");
    assert_string_equal(tz_name(c->cals[0]->zone), CALENDAR_DEFAULT_ZONE);
    assert_int_equal(c->cals[0]->nspans[6], 2);
    assert_int_equal(c->cals[0]->week[6][0].open, 8 * 3600);
    assert_int_equal(c->cals[0]->week[6][1].close, 86400);
    assert_int_equal(c->cals[0]->nholidays, 10);
    assert_true(c->cals[1]->always_open);
    calendar_config_destroy(&c);
}

static void expect_refused(const char *cals, const char *hols, const char *why)
{
    char err[512] = "";
    calendar_config *c = calendar_config_parse(cals, hols, err, sizeof err);
    if (c)
        fail_msg("accepted a configuration that should fail with \"%s\": %s", why, cals);
    if (!strstr(err, why))
        fail_msg("error \"%s\" does not say \"%s\"", err, why);
}

static void test_bad_documents_are_refused(void **state)
{
    (void)state;
    const char *ok = "{\"calendars\": [{\"id\": \"c\", \"hours\": {\"mon\": [\"08:00-12:00\"]}}]}";
    expect_refused("{\"calendars\": [", HOLS, "sla-calendars.json: line 1");
    expect_refused(ok, "{\"sets\": {\"vn\": []}, \"sets\": {}}", "sla-holidays.json: line 1");
    expect_refused("{\"calendars\": {}}", HOLS, "\"calendars\" must be a list");
    expect_refused(ok, "{\"sets\": []}", "\"sets\" must be an object");
    expect_refused("{\"calendars\": [{\"hours\": {\"mon\": [\"08:00-12:00\"]}}]}", HOLS,
                   "needs an \"id\"");
    expect_refused("{\"calendars\": [{\"id\": \"c\", \"time_zone\": \"Mars/Base\","
                   " \"hours\": {\"mon\": [\"08:00-12:00\"]}}]}",
                   HOLS, "time zone \"Mars/Base\": no such zone");
    expect_refused("{\"calendars\": [{\"id\": \"c\", \"always_open\": \"yes\"}]}", HOLS,
                   "\"always_open\" true or false");
    expect_refused("{\"calendars\": [{\"id\": \"c\", \"hours\": {\"mon\": [\"08:00-12:00\","
                   " \"11:00-13:00\"]}}]}",
                   HOLS, "could not use \"11:00-13:00\"");
    expect_refused("{\"calendars\": [{\"id\": \"c\", \"hours\": {\"mon\": [\"12:00-08:00\"]}}]}",
                   HOLS, "opening before it closes");
    expect_refused("{\"calendars\": [{\"id\": \"c\", \"hours\": {\"mon\": [\"08:00-24:30\"]}}]}",
                   HOLS, "could not use");
    expect_refused("{\"calendars\": [{\"id\": \"c\", \"hours\": {\"mon\": [\"8-12\"]}}]}", HOLS,
                   "could not use");
    expect_refused("{\"calendars\": [{\"id\": \"c\", \"hours\": {\"mon\": [\"1:00-2:00\","
                   " \"3:00-4:00\", \"5:00-6:00\", \"7:00-8:00\", \"9:00-10:00\"]}}]}",
                   HOLS, "up to 4 spans");
    expect_refused("{\"calendars\": [{\"id\": \"c\", \"hours\": {\"funday\": []}}]}", HOLS,
                   "not \"funday\"");
    expect_refused("{\"calendars\": [{\"id\": \"c\"}]}", HOLS, "never opens");
    expect_refused("{\"calendars\": [{\"id\": \"c\", \"holidays\": [\"xx\"],"
                   " \"hours\": {\"mon\": [\"08:00-12:00\"]}}]}",
                   HOLS, "holiday set \"xx\"");
    const char *uses_vn = "{\"calendars\": [{\"id\": \"c\", \"holidays\": [\"vn\"],"
                          " \"hours\": {\"mon\": [\"08:00-12:00\"]}}]}";
    expect_refused(uses_vn, "{\"sets\": {\"vn\": [{\"date\": \"2026-02-30\", \"name\": \"x\"}]}}",
                   "entry 1 of set \"vn\"");
    expect_refused(uses_vn,
                   "{\"sets\": {\"vn\": [{\"from\": \"2026-03-01\", \"to\": \"2026-02-01\","
                   " \"name\": \"x\"}]}}",
                   "\"from\" <= \"to\"");
    expect_refused(uses_vn,
                   "{\"sets\": {\"vn\": [{\"from\": \"2026-01-01\", \"to\": \"2027-01-02\","
                   " \"name\": \"x\"}]}}",
                   "at most 366 days");
    expect_refused("{\"calendars\": [{\"id\": \"c\", \"always_open\": true}, {\"id\": \"c\","
                   " \"always_open\": true}]}",
                   HOLS, "defined twice");
    char err[512];
    assert_null(calendar_config_load("/nonexistent", err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/sla-calendars.json"));
}

static void test_hours_text(void **state)
{
    (void)state;
    const char *why = NULL;
    calendar *c = calendar_new("t", NULL, false, &why);
    assert_non_null(c);
    assert_int_equal(
        calendar_config_add_hours(c, "mon-fri 08:00-12:00,13:00-17:00; sat 08:00-12:00", &why), 0);
    for (int wd = 1; wd <= 5; wd++)
        assert_int_equal(c->nspans[wd - 1], 2);
    assert_int_equal(c->nspans[5], 1);
    assert_int_equal(c->nspans[6], 0);
    /* A later group replaces the days it names; a range may wrap. */
    assert_int_equal(calendar_config_add_hours(c, "fri-mon 09:00-10:00;", &why), 0);
    assert_int_equal(c->nspans[4], 1);
    assert_int_equal(c->nspans[5], 1);
    assert_int_equal(c->week[5][0].open, 9 * 3600);
    assert_int_equal(c->nspans[6], 1);
    assert_int_equal(c->nspans[0], 1);
    assert_int_equal(c->nspans[1], 2);
    assert_int_equal(calendar_config_add_hours(c, "24/7", &why), 0);
    for (int wd = 1; wd <= 7; wd++) {
        assert_int_equal(c->nspans[wd - 1], 1);
        assert_int_equal(c->week[wd - 1][0].close, 86400);
    }
    assert_false(c->always_open);

    static const struct {
        const char *text, *why;
    } bad[] = {
        {"mon-fri", "expected \"mon-fri 08:00-17:00\""},
        {"mon-fri 9-5", "spans"},
        {"funday 08:00-17:00", "weekday"},
        {"mon-funday 08:00-17:00", "weekday"},
        {"mon 12:00-08:00", "spans"},
        {"mon ", "spans"},
        {"mon 08:00-09:00,09:30-10:00,11:00-12:00,13:00-14:00,15:00-16:00", "spans"},
        {"mon 08:00-12:00,11:00-13:00", "spans"},
        {"mon 08:00-17:00xyz", "spans"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        if (calendar_config_add_hours(c, bad[i].text, &why) != -1)
            fail_msg("accepted \"%s\"", bad[i].text);
        if (!why || !strstr(why, bad[i].why))
            fail_msg("\"%s\": \"%s\" does not say \"%s\"", bad[i].text, why ? why : "", bad[i].why);
    }
    calendar_destroy(&c);
}

static void test_holidays_text(void **state)
{
    (void)state;
    const char *why = NULL;
    calendar *c = calendar_new("t", NULL, false, &why);
    assert_non_null(c);
    assert_int_equal(calendar_config_add_holidays(c, "", &why), 0);
    assert_int_equal(calendar_config_add_holidays(c, "2026-02-17, 2026-01-01,,2026-02-17 ", &why),
                     0);
    assert_int_equal(calendar_config_add_hours(c, "mon 08:00-09:00", &why), 0);
    assert_int_equal(calendar_finish(c, &why), 0);
    assert_int_equal(c->nholidays, 2);
    assert_true(calendar_is_holiday(c, day("2026-01-01")));
    assert_true(calendar_is_holiday(c, day("2026-02-17")));
    assert_int_equal(calendar_config_add_holidays(c, "2026-02-30", &why), -1);
    assert_non_null(strstr(why, "not a date"));
    assert_int_equal(calendar_config_add_holidays(c, "2026-1-1", &why), -1);
    assert_non_null(strstr(why, "YYYY-MM-DD"));
    calendar_destroy(&c);
}

static void test_config_dir(void **state)
{
    (void)state;
    bool is_explicit = false;
    setenv("CAREBUS_SLA_CONFIG_DIR", "/somewhere/else", 1);
    char *dir = calendar_config_dir(&is_explicit);
    assert_string_equal(dir, "/somewhere/else");
    assert_true(is_explicit);
    free(dir);
    unsetenv("CAREBUS_SLA_CONFIG_DIR");
    /* Found from the working directory or beside the build. */
    dir = calendar_config_dir(&is_explicit);
    assert_false(is_explicit);
    assert_non_null(dir);
    char err[512];
    calendar_config *c = calendar_config_load(dir, err, sizeof err);
    assert_non_null(c);
    calendar_config_destroy(&c);
    free(dir);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_files),
        cmocka_unit_test(test_accepted_forms),
        cmocka_unit_test(test_bad_documents_are_refused),
        cmocka_unit_test(test_hours_text),
        cmocka_unit_test(test_holidays_text),
        cmocka_unit_test(test_config_dir),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("calendar_config", tests, group_setup, NULL);
}
