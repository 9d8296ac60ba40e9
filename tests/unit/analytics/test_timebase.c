/* test_timebase.c — the KPIs' local days and business time (timebase.c):
 * the settings, the edge in milliseconds, and the stored fingerprint.
 *
 * Run one test by name: test_timebase <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "civil.h"
#include "timebase.h"
#include "timeutil.h"

#define HOUR INT64_C(3600000)

static int64_t t(const char *rfc3339)
{
    int64_t us;
    assert_int_equal(time_parse_rfc3339(rfc3339, &us), 0);
    return us / 1000;
}

static int32_t day(const char *s)
{
    int32_t d;
    assert_int_equal(civil_date_parse(s, &d), 0);
    return d;
}

static void test_days_in_ho_chi_minh(void **state)
{
    (void)state;
    char err[256];
    timebase *c = timebase_new("Asia/Ho_Chi_Minh", "mon-fri 08:00-17:00", "", err, sizeof err);
    assert_non_null(c);
    /* 16:59:59Z is 23:59:59 local; 17:00Z is the next local day. */
    assert_int_equal(timebase_day(c, t("2026-03-02T16:59:59Z")), day("2026-03-02"));
    assert_int_equal(timebase_day(c, t("2026-03-02T17:00:00Z")), day("2026-03-03"));
    assert_int_equal(timebase_day(c, t("2026-03-01T17:00:00Z")), day("2026-03-02"));
    assert_true(timebase_day_start(c, day("2026-03-02")) == t("2026-03-01T17:00:00Z"));
    char buf[11];
    civil_date_format(day("2026-12-31"), buf);
    assert_string_equal(buf, "2026-12-31");
    timebase_destroy(&c);
    assert_null(c);
}

static void test_business_time_across_nights_and_weekends(void **state)
{
    (void)state;
    char err[256];
    timebase *c = timebase_new("Asia/Ho_Chi_Minh", "mon-fri 08:00-17:00", "", err, sizeof err);
    assert_non_null(c);
    /* Mon 16:00 -> Tue 09:00 local: 1 h + 1 h. */
    assert_true(timebase_business_ms(c, t("2026-03-02T16:00:00+07:00"),
                                     t("2026-03-03T09:00:00+07:00")) == 2 * HOUR);
    /* Within the day, and outside opening hours. */
    assert_true(timebase_business_ms(c, t("2026-03-02T09:00:00+07:00"),
                                     t("2026-03-02T09:10:00+07:00")) == HOUR / 6);
    assert_true(timebase_business_ms(c, t("2026-03-02T18:00:00+07:00"),
                                     t("2026-03-02T23:00:00+07:00")) == 0);
    /* Fri 16:00 -> Mon 09:00: the weekend does not count. */
    assert_true(timebase_business_ms(c, t("2026-03-06T16:00:00+07:00"),
                                     t("2026-03-09T09:00:00+07:00")) == 2 * HOUR);
    /* Mon 16:00 -> Wed 09:00: 1 + 9 + 1 hours. */
    assert_true(timebase_business_ms(c, t("2026-03-02T16:00:00+07:00"),
                                     t("2026-03-04T09:00:00+07:00")) == 11 * HOUR);
    /* Backwards or empty. */
    assert_true(timebase_business_ms(c, t("2026-03-04T09:00:00+07:00"),
                                     t("2026-03-02T09:00:00+07:00")) == 0);
    timebase_destroy(&c);
}

static void test_holidays_and_split_hours(void **state)
{
    (void)state;
    char err[256];
    /* Tết 2026 (Feb 16-20 off); a lunch break; Saturday mornings. */
    timebase *c =
        timebase_new("Asia/Ho_Chi_Minh", "mon-fri 08:00-12:00,13:00-17:00; sat 08:00-12:00",
                     "2026-02-16,2026-02-17, 2026-02-18,2026-02-19,2026-02-20", err, sizeof err);
    assert_non_null(c);
    /* Fri Feb 13 16:30 -> Mon Feb 23 10:00: 0.5 h on Friday, 4 h on each Saturday (14th,
     * 21st), nothing on the holidays in between, 2 h on Monday. */
    assert_true(timebase_business_ms(c, t("2026-02-13T16:30:00+07:00"),
                                     t("2026-02-23T10:00:00+07:00")) == 21 * HOUR / 2);
    /* The lunch break does not count. */
    assert_true(timebase_business_ms(c, t("2026-03-02T11:00:00+07:00"),
                                     t("2026-03-02T14:00:00+07:00")) == 2 * HOUR);
    timebase_destroy(&c);
}

static void test_always_open(void **state)
{
    (void)state;
    char err[256];
    timebase *c = timebase_new("Asia/Ho_Chi_Minh", "24/7", "", err, sizeof err);
    assert_non_null(c);
    assert_true(timebase_business_ms(c, t("2026-03-06T16:00:00Z"), t("2026-03-09T16:00:00Z")) ==
                72 * HOUR);
    timebase_destroy(&c);
}

static void test_daylight_saving_day_is_23_hours(void **state)
{
    (void)state;
    char err[256];
    timebase *c = timebase_new("Europe/Berlin", "24/7", "", err, sizeof err);
    assert_non_null(c);
    /* 2026-03-29: clocks go from 02:00 to 03:00. */
    int32_t d = day("2026-03-29");
    assert_true(timebase_day_start(c, d + 1) - timebase_day_start(c, d) == 23 * HOUR);
    assert_true(timebase_business_ms(c, timebase_day_start(c, d), timebase_day_start(c, d + 1)) ==
                23 * HOUR);
    assert_int_equal(timebase_day(c, t("2026-03-29T21:59:59Z")), d);
    assert_int_equal(timebase_day(c, t("2026-03-29T22:00:00Z")), d + 1);
    /* Opening hours are local: 08:00-17:00 is 9 h on the change day too. */
    timebase_destroy(&c);
    c = timebase_new("Europe/Berlin", "mon-sun 08:00-17:00", "", err, sizeof err);
    assert_non_null(c);
    assert_true(timebase_business_ms(c, timebase_day_start(c, d), timebase_day_start(c, d + 1)) ==
                9 * HOUR);
    timebase_destroy(&c);
}

static void test_bad_configuration_is_refused(void **state)
{
    (void)state;
    char err[256];
    assert_null(timebase_new("Mars/Olympus", "24/7", "", err, sizeof err));
    assert_non_null(strstr(err, "CAREBUS_ANALYTICS_TZ"));
    err[0] = '\0';
    assert_null(timebase_new("Asia/Ho_Chi_Minh", "mon-fri 9-5", "", err, sizeof err));
    assert_non_null(strstr(err, "CAREBUS_ANALYTICS_HOURS"));
    err[0] = '\0';
    assert_null(timebase_new("Asia/Ho_Chi_Minh", "funday 08:00-17:00", "", err, sizeof err));
    assert_non_null(strstr(err, "weekday"));
    err[0] = '\0';
    assert_null(timebase_new("Asia/Ho_Chi_Minh", "mon 12:00-08:00", "", err, sizeof err));
    err[0] = '\0';
    assert_null(timebase_new("Asia/Ho_Chi_Minh", "24/7", "2026-02-30", err, sizeof err));
    assert_non_null(strstr(err, "CAREBUS_ANALYTICS_HOLIDAYS"));
    int32_t d;
    assert_int_equal(civil_date_parse("2026-1-01", &d), -1);
    assert_int_equal(civil_date_parse("2026-01-01x", &d), -1);
    assert_int_equal(civil_date_parse(NULL, &d), -1);
}

static void test_fingerprint_names_the_calendar(void **state)
{
    (void)state;
    char err[256];
    timebase *a = timebase_new("Asia/Ho_Chi_Minh", "mon-fri 08:00-17:00", "", err, sizeof err);
    timebase *b =
        timebase_new("Asia/Ho_Chi_Minh", "mon-fri 08:00-17:00", "2026-01-01", err, sizeof err);
    timebase *c2 = timebase_new("Asia/Ho_Chi_Minh", "mon-fri 08:00-17:00", "", err, sizeof err);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c2);
    assert_string_not_equal(timebase_fingerprint(a), timebase_fingerprint(b));
    assert_string_equal(timebase_fingerprint(a), timebase_fingerprint(c2));
    timebase_destroy(&a);
    timebase_destroy(&b);
    timebase_destroy(&c2);
}

/* The text stored by earlier versions (computed with them): a calendar that
 * did not change keeps its fingerprint, so an upgrade does not rebuild. */
static void test_fingerprint_is_that_of_earlier_versions(void **state)
{
    (void)state;
    static const struct {
        const char *tz, *hours, *holidays, *want;
    } cases[] = {
        {"Asia/Ho_Chi_Minh", "mon-fri 08:00-17:00", "2026-01-01",
         "v1 tz=Asia/Ho_Chi_Minh hours=0:;1:480-1020,;2:480-1020,;3:480-1020,;4:480-1020,;"
         "5:480-1020,;6:; holidays=2026-01-01,"},
        {"Europe/Berlin", "24/7", "",
         "v1 tz=Europe/Berlin hours=0:0-1440,;1:0-1440,;2:0-1440,;3:0-1440,;4:0-1440,;5:0-1440,;"
         "6:0-1440,; holidays="},
        {"Asia/Ho_Chi_Minh", "fri-mon 08:00-12:00,13:00-17:00; sun 10:00-11:00",
         "2026-02-16, 2026-01-01",
         "v1 tz=Asia/Ho_Chi_Minh hours=0:600-660,;1:480-720,780-1020,;2:;3:;4:;"
         "5:480-720,780-1020,;6:480-720,780-1020,; holidays=2026-01-01,2026-02-16,"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256];
        timebase *tb =
            timebase_new(cases[i].tz, cases[i].hours, cases[i].holidays, err, sizeof err);
        assert_non_null(tb);
        assert_string_equal(timebase_fingerprint(tb), cases[i].want);
        assert_string_equal(timebase_tz(tb), cases[i].tz);
        timebase_destroy(&tb);
    }
}

static char g_dir[64];

static void write_file(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void unset_settings(void)
{
    static const char *const vars[] = {"CAREBUS_ANALYTICS_TZ", "CAREBUS_ANALYTICS_HOURS",
                                       "CAREBUS_ANALYTICS_HOLIDAYS", "CAREBUS_ANALYTICS_CALENDAR",
                                       "CAREBUS_SLA_CONFIG_DIR"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
}

/* The settings, the SLA's files included: CAREBUS_ANALYTICS_CALENDAR picks a
 * calendar of sla-calendars.json, counted in its own zone; days stay those
 * of CAREBUS_ANALYTICS_TZ. */
static void test_load_from_settings(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/test_timebase_XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    write_file("sla-calendars.json",
               "{\"calendars\": [{\"id\": \"office\", \"time_zone\": \"Asia/Ho_Chi_Minh\","
               " \"holidays\": [\"vn\"], \"hours\": {\"mon\": [\"08:00-12:00\", \"13:00-17:30\"],"
               " \"sat\": [\"08:00-12:00\"]}}, {\"id\": \"berlin\", \"time_zone\":"
               " \"Europe/Berlin\", \"hours\": {\"tue\": [\"09:00-17:00\"]}}]}");
    write_file("sla-holidays.json",
               "{\"sets\": {\"vn\": [{\"date\": \"2026-01-01\", \"name\": \"a\"},"
               " {\"from\": \"2026-02-14\", \"to\": \"2026-02-16\", \"name\": \"b\"}]}}");
    unset_settings();
    setenv("CAREBUS_SLA_CONFIG_DIR", g_dir, 1);
    setenv("CAREBUS_ANALYTICS_CALENDAR", "office", 1);
    timebase *tb = timebase_load();
    assert_non_null(tb);
    /* As earlier versions stored it for the same files. */
    assert_string_equal(timebase_fingerprint(tb),
                        "v1 tz=Asia/Ho_Chi_Minh hours=0:;1:480-720,780-1050,;2:;3:;4:;5:;"
                        "6:480-720,; holidays=2026-01-01,2026-02-14,2026-02-15,2026-02-16,");
    /* Saturday 14 February is a holiday; Monday 2 March 11:00-14:00 has lunch. */
    assert_true(timebase_business_ms(tb, t("2026-02-14T08:00:00+07:00"),
                                     t("2026-02-14T12:00:00+07:00")) == 0);
    assert_true(timebase_business_ms(tb, t("2026-03-02T11:00:00+07:00"),
                                     t("2026-03-02T14:00:00+07:00")) == 2 * HOUR);
    timebase_destroy(&tb);

    /* A Berlin calendar: Tuesday 09:00-17:00 Berlin (CET) is 08:00-16:00Z,
     * whatever the days' zone. */
    setenv("CAREBUS_ANALYTICS_CALENDAR", "berlin", 1);
    tb = timebase_load();
    assert_non_null(tb);
    assert_true(timebase_business_ms(tb, t("2026-03-03T00:00:00Z"), t("2026-03-03T08:30:00Z")) ==
                HOUR / 2);
    assert_true(timebase_business_ms(tb, t("2026-03-02T00:00:00Z"), t("2026-03-04T00:00:00Z")) ==
                8 * HOUR);
    assert_int_equal(timebase_day(tb, t("2026-03-03T17:00:00Z")), day("2026-03-04"));
    assert_string_equal(timebase_fingerprint(tb), "v1 tz=Asia/Ho_Chi_Minh hours=0:;1:;2:540-1020,;"
                                                  "3:;4:;5:;6:; holidays= zone=Europe/Berlin");
    timebase_destroy(&tb);
    setenv("CAREBUS_ANALYTICS_TZ", "Europe/Berlin", 1);
    tb = timebase_load();
    assert_non_null(tb);
    assert_string_equal(timebase_fingerprint(tb),
                        "v1 tz=Europe/Berlin hours=0:;1:;2:540-1020,;3:;4:;5:;6:; holidays=");
    timebase_destroy(&tb);

    /* CAREBUS_ANALYTICS_HOURS wins over the files. */
    setenv("CAREBUS_ANALYTICS_HOURS", "mon-fri 08:00-17:00", 1);
    setenv("CAREBUS_ANALYTICS_HOLIDAYS", "2026-01-01", 1);
    tb = timebase_load();
    assert_non_null(tb);
    assert_non_null(strstr(timebase_fingerprint(tb), "1:480-1020,;"));
    timebase_destroy(&tb);
    setenv("CAREBUS_ANALYTICS_HOURS", "mon-fri 08:00", 1);
    assert_null(timebase_load());
    unsetenv("CAREBUS_ANALYTICS_HOURS");
    unsetenv("CAREBUS_ANALYTICS_HOLIDAYS");

    /* An unknown calendar, a zone that does not load, files that are not there. */
    setenv("CAREBUS_ANALYTICS_CALENDAR", "nope", 1);
    assert_null(timebase_load());
    setenv("CAREBUS_ANALYTICS_CALENDAR", "office", 1);
    setenv("CAREBUS_ANALYTICS_TZ", "Mars/Olympus", 1);
    assert_null(timebase_load());
    unsetenv("CAREBUS_ANALYTICS_TZ");
    char path[128];
    snprintf(path, sizeof path, "%s/sla-holidays.json", g_dir);
    unlink(path);
    assert_null(timebase_load());
    snprintf(path, sizeof path, "%s/sla-calendars.json", g_dir);
    unlink(path);
    assert_null(timebase_load());
    rmdir(g_dir);
    unset_settings();
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days_in_ho_chi_minh),
        cmocka_unit_test(test_business_time_across_nights_and_weekends),
        cmocka_unit_test(test_holidays_and_split_hours),
        cmocka_unit_test(test_always_open),
        cmocka_unit_test(test_daylight_saving_day_is_23_hours),
        cmocka_unit_test(test_bad_configuration_is_refused),
        cmocka_unit_test(test_fingerprint_names_the_calendar),
        cmocka_unit_test(test_fingerprint_is_that_of_earlier_versions),
        cmocka_unit_test(test_load_from_settings),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
