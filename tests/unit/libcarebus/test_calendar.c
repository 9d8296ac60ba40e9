/* test_calendar.c — calendar.c: business-time arithmetic, no database.
 *
 * Zones come from the system's tz database (/usr/share/zoneinfo, Debian's
 * tzdata; tz.c has its own test_tz). Expected deadlines were computed by
 * hand from the calendars below (the
 * Vietnamese one is the shipped "vn-business": Monday to Friday 08:00-12:00
 * and 13:00-17:30, Saturday 08:00-12:00). Run one test by name:
 * test_calendar <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "calendar.h"
#include "civil.h"
#include "timeutil.h"
#include "tz.h"

#define US INT64_C(1000000)
#define HOUR (3600 * US)
#define MINUTE (60 * US)

static int64_t at(const char *rfc3339)
{
    int64_t us;
    if (time_parse_rfc3339(rfc3339, &us) != 0)
        fail_msg("bad time in test: %s", rfc3339);
    return us;
}

static const char *fmt(int64_t us)
{
    static char bufs[4][TIME_RFC3339_LEN];
    static int next;
    char *b = bufs[next++ % 4];
    time_format_rfc3339(us, b);
    return b;
}

#define assert_time_equal(got, want_rfc3339)                                                       \
    do {                                                                                           \
        int64_t g_ = (got), w_ = at(want_rfc3339);                                                 \
        if (g_ != w_)                                                                              \
            fail_msg("got %s, want %s", fmt(g_), fmt(w_));                                         \
    } while (0)

static int32_t hm(int h, int m)
{
    return h * 3600 + m * 60;
}

/* The shipped vn-business calendar with the 2026 holidays the tests use. */
static calendar *vn_business(void)
{
    const char *err = NULL;
    calendar *c = calendar_new("vn-business", "Asia/Ho_Chi_Minh", false, &err);
    assert_non_null(c);
    for (int wd = 1; wd <= 5; wd++) {
        assert_int_equal(calendar_add_span(c, wd, hm(8, 0), hm(12, 0)), 0);
        assert_int_equal(calendar_add_span(c, wd, hm(13, 0), hm(17, 30)), 0);
    }
    assert_int_equal(calendar_add_span(c, 6, hm(8, 0), hm(12, 0)), 0);
    /* Tết Bính Ngọ: 14-22 Feb 2026; 30/4 and 1/5; National Day 1-2 Sep. */
    for (int d = 14; d <= 22; d++)
        assert_int_equal(calendar_add_holiday(c, 2026, 2, d), 0);
    assert_int_equal(calendar_add_holiday(c, 2026, 5, 1), 0);
    assert_int_equal(calendar_add_holiday(c, 2026, 4, 30), 0);
    assert_int_equal(calendar_add_holiday(c, 2026, 9, 2), 0);
    assert_int_equal(calendar_add_holiday(c, 2026, 9, 1), 0);
    assert_int_equal(calendar_add_holiday(c, 2026, 9, 1), 0); /* twice: harmless */
    assert_int_equal(calendar_finish(c, &err), 0);
    return c;
}

static calendar *always(const char *zone)
{
    const char *err = NULL;
    calendar *c = calendar_new("24x7", zone, true, &err);
    assert_non_null(c);
    assert_int_equal(calendar_finish(c, &err), 0);
    return c;
}

/* Every day 00:00-24:00 (not "always open": the walk still runs). */
static calendar *berlin_daily(void)
{
    const char *err = NULL;
    calendar *c = calendar_new("berlin-daily", "Europe/Berlin", false, &err);
    assert_non_null(c);
    for (int wd = 1; wd <= 7; wd++)
        assert_int_equal(calendar_add_span(c, wd, 0, 86400), 0);
    assert_int_equal(calendar_finish(c, &err), 0);
    return c;
}

/* --- calendar arithmetic -------------------------------------------------------- */

static void test_same_day_and_lunch_break(void **state)
{
    (void)state;
    calendar *c = vn_business();
    assert_time_equal(calendar_add_business_us(c, at("2026-11-23T09:00:00+07:00"), 3600 * US),
                      "2026-11-23T10:00:00+07:00");
    /* 11:30 + 1h: half an hour before lunch, half an hour after. */
    assert_time_equal(calendar_add_business_us(c, at("2026-11-23T11:30:00+07:00"), 3600 * US),
                      "2026-11-23T13:30:00+07:00");
    /* Starting inside the lunch break counts from 13:00. */
    assert_time_equal(calendar_add_business_us(c, at("2026-11-23T12:10:00+07:00"), 1800 * US),
                      "2026-11-23T13:30:00+07:00");
    /* Exactly the rest of the day lands on the closing time. */
    assert_time_equal(calendar_add_business_us(c, at("2026-11-23T16:30:00+07:00"), 3600 * US),
                      "2026-11-23T17:30:00+07:00");
    assert_int_equal(calendar_business_us_between(c, at("2026-11-23T11:30:00+07:00"),
                                                  at("2026-11-23T13:30:00+07:00")),
                     3600 * US);
    assert_true(calendar_is_open(c, at("2026-11-23T08:00:00+07:00")));
    assert_false(calendar_is_open(c, at("2026-11-23T12:00:00+07:00")));
    assert_false(calendar_is_open(c, at("2026-11-23T17:30:00+07:00")));
    calendar_destroy(&c);
    assert_null(c);
}

static void test_overnight(void **state)
{
    (void)state;
    calendar *c = vn_business();
    /* Tuesday 17:00 + 1h: 30 minutes today, 30 tomorrow from 08:00. */
    assert_time_equal(calendar_add_business_us(c, at("2026-11-24T17:00:00+07:00"), 3600 * US),
                      "2026-11-25T08:30:00+07:00");
    /* Created at night: the clock starts at opening. */
    assert_time_equal(calendar_add_business_us(c, at("2026-11-24T23:15:00+07:00"), 7200 * US),
                      "2026-11-25T10:00:00+07:00");
    assert_int_equal(calendar_business_us_between(c, at("2026-11-24T17:00:00+07:00"),
                                                  at("2026-11-25T08:30:00+07:00")),
                     3600 * US);
    assert_int_equal(calendar_business_us_between(c, at("2026-11-24T18:00:00+07:00"),
                                                  at("2026-11-25T07:59:59+07:00")),
                     0);
    calendar_destroy(&c);
}

static void test_weekend(void **state)
{
    (void)state;
    calendar *c = vn_business();
    /* Saturday 11:00 + 2h: one hour on Saturday morning, Sunday closed. */
    assert_time_equal(calendar_add_business_us(c, at("2026-11-28T11:00:00+07:00"), 7200 * US),
                      "2026-11-30T09:00:00+07:00");
    /* Friday 17:00 + 5h: 0.5 Friday, 4 Saturday, 0.5 Monday. */
    assert_time_equal(calendar_add_business_us(c, at("2026-11-27T17:00:00+07:00"), 5 * 3600 * US),
                      "2026-11-30T08:30:00+07:00");
    assert_int_equal(calendar_business_us_between(c, at("2026-11-27T17:00:00+07:00"),
                                                  at("2026-11-30T08:30:00+07:00")),
                     5 * 3600 * US);
    calendar_destroy(&c);
}

static void test_holidays_spanning_several_days(void **state)
{
    (void)state;
    calendar *c = vn_business();
    /* Wednesday 29 April 17:00 + 1h: 30/4 and 1/5 closed, Saturday 2/5 opens. */
    assert_time_equal(calendar_add_business_us(c, at("2026-04-29T17:00:00+07:00"), 3600 * US),
                      "2026-05-02T08:30:00+07:00");
    /* National Day: Monday 31 August 17:00 + 1h: Tuesday and Wednesday closed. */
    assert_time_equal(calendar_add_business_us(c, at("2026-08-31T17:00:00+07:00"), 3600 * US),
                      "2026-09-03T08:30:00+07:00");
    assert_true(calendar_is_holiday(c, civil_to_days(2026, 9, 1)));
    assert_false(calendar_is_holiday(c, civil_to_days(2026, 9, 3)));
    assert_false(calendar_is_open(c, at("2026-09-02T10:00:00+07:00")));
    calendar_destroy(&c);
}

static void test_tet(void **state)
{
    (void)state;
    calendar *c = vn_business();
    /* The example: 4 business hours at 16:30 on the last working day
     * before Tết (Friday 13 February 2026) land on the first working day
     * after it (Monday 23 February): 1h on Friday, 3h from 08:00. */
    assert_time_equal(calendar_add_business_us(c, at("2026-02-13T16:30:00+07:00"), 4 * 3600 * US),
                      "2026-02-23T11:00:00+07:00");
    assert_int_equal(calendar_business_us_between(c, at("2026-02-13T16:30:00+07:00"),
                                                  at("2026-02-23T11:00:00+07:00")),
                     4 * 3600 * US);
    /* Nothing is open during Tết itself, Saturday 14 and Saturday 21 included. */
    assert_int_equal(calendar_business_us_between(c, at("2026-02-13T17:30:00+07:00"),
                                                  at("2026-02-23T08:00:00+07:00")),
                     0);
    calendar_destroy(&c);
}

static void test_always_open(void **state)
{
    (void)state;
    calendar *c = always("Asia/Ho_Chi_Minh");
    /* Tết, nights and weekends are all business time. */
    assert_time_equal(calendar_add_business_us(c, at("2026-02-13T16:30:00+07:00"), 4 * 3600 * US),
                      "2026-02-13T20:30:00+07:00");
    assert_int_equal(calendar_business_us_between(c, at("2026-02-14T00:00:00+07:00"),
                                                  at("2026-02-23T00:00:00+07:00")),
                     9 * 86400 * US);
    assert_int_equal(calendar_business_us_between(c, 10, 3), -7);
    assert_int_equal(calendar_add_business_us(c, 5, 0), 5);
    assert_int_equal(calendar_add_business_us(c, 5, -3), 5);
    calendar_destroy(&c);
    /* Always open across a daylight-saving change: real time. */
    c = always("Europe/Berlin");
    assert_time_equal(calendar_add_business_us(c, at("2026-03-28T22:00:00+01:00"), 4 * 3600 * US),
                      "2026-03-29T03:00:00+02:00");
    calendar_destroy(&c);
}

static void test_berlin_across_march_dst(void **state)
{
    (void)state;
    calendar *c = berlin_daily();
    /* Saturday noon to Sunday noon is 23 real hours on 29 March 2026. */
    assert_int_equal(calendar_business_us_between(c, at("2026-03-28T12:00:00+01:00"),
                                                  at("2026-03-29T12:00:00+02:00")),
                     23 * 3600 * US);
    /* 22:00 CET + 4h = 01:00 UTC = 03:00 CEST. */
    assert_time_equal(calendar_add_business_us(c, at("2026-03-28T22:00:00+01:00"), 4 * 3600 * US),
                      "2026-03-29T03:00:00+02:00");
    assert_time_equal(calendar_add_business_us(c, at("2026-03-28T22:00:00+01:00"), 24 * 3600 * US),
                      "2026-03-29T23:00:00+02:00");
    /* And in October the day has 25 hours. */
    assert_int_equal(calendar_business_us_between(c, at("2026-10-25T00:00:00+02:00"),
                                                  at("2026-10-26T00:00:00+01:00")),
                     25 * 3600 * US);
    calendar_destroy(&c);

    /* Office hours Monday to Friday 09:00-17:00 local, whatever the offset. */
    const char *err = NULL;
    c = calendar_new("berlin-office", "Europe/Berlin", false, &err);
    assert_non_null(c);
    for (int wd = 1; wd <= 5; wd++)
        assert_int_equal(calendar_add_span(c, wd, hm(9, 0), hm(17, 0)), 0);
    /* A Sunday night span 01:00-05:00 crosses the gap: 3 real hours. */
    assert_int_equal(calendar_add_span(c, 7, hm(1, 0), hm(5, 0)), 0);
    assert_int_equal(calendar_finish(c, &err), 0);
    /* Friday 16:00 CET + 2h: one hour on Friday, one from Sunday 01:00 CET. */
    assert_time_equal(calendar_add_business_us(c, at("2026-03-27T16:00:00+01:00"), 2 * 3600 * US),
                      "2026-03-29T03:00:00+02:00");
    assert_int_equal(calendar_business_us_between(c, at("2026-03-29T00:00:00+01:00"),
                                                  at("2026-03-29T12:00:00+02:00")),
                     3 * 3600 * US);
    assert_int_equal(calendar_business_us_between(c, at("2026-10-25T00:00:00+02:00"),
                                                  at("2026-10-25T12:00:00+01:00")),
                     5 * 3600 * US);
    /* + 5h: 1h Friday, 3h Sunday night, 1h from Monday 09:00, now CEST. */
    assert_time_equal(calendar_add_business_us(c, at("2026-03-27T16:00:00+01:00"), 5 * 3600 * US),
                      "2026-03-30T10:00:00+02:00");
    calendar_destroy(&c);
}

static void test_spans_and_validation(void **state)
{
    (void)state;
    const char *err = NULL;
    calendar *c = calendar_new("x", NULL, false, &err);
    assert_non_null(c);
    assert_string_equal(tz_name(c->zone), CALENDAR_DEFAULT_ZONE);
    assert_int_equal(calendar_add_span(c, 0, 0, 10), -1);
    assert_int_equal(calendar_add_span(c, 8, 0, 10), -1);
    assert_int_equal(calendar_add_span(c, 1, 10, 10), -1);
    assert_int_equal(calendar_add_span(c, 1, -1, 10), -1);
    assert_int_equal(calendar_add_span(c, 1, 0, 86401), -1);
    assert_int_equal(calendar_add_span(c, 1, hm(13, 0), hm(14, 0)), 0);
    assert_int_equal(calendar_add_span(c, 1, hm(13, 30), hm(15, 0)), -1); /* overlaps */
    assert_int_equal(calendar_add_span(c, 1, hm(8, 0), hm(9, 0)), 0);
    assert_int_equal(c->week[0][0].open, hm(8, 0)); /* kept in order */
    assert_int_equal(calendar_add_span(c, 1, hm(10, 0), hm(11, 0)), 0);
    assert_int_equal(calendar_add_span(c, 1, hm(20, 0), hm(21, 0)), 0);
    assert_int_equal(calendar_add_span(c, 1, hm(22, 0), hm(23, 0)), -1); /* full */
    assert_int_equal(calendar_add_holiday(c, 2026, 2, 30), -1);
    assert_int_equal(calendar_add_holiday(c, 2026, 13, 1), -1);
    assert_int_equal(calendar_finish(c, &err), 0);
    calendar_destroy(&c);

    c = calendar_new("closed", NULL, false, &err);
    assert_non_null(c);
    assert_int_equal(calendar_finish(c, &err), -1);
    assert_non_null(strstr(err, "never opens"));
    calendar_destroy(&c);
    assert_null(calendar_new("x", "No/Such_Zone", false, &err));
}

static void test_only_holidays_ahead_is_never(void **state)
{
    (void)state;
    const char *err = NULL;
    calendar *c = calendar_new("sundays", NULL, false, &err);
    assert_non_null(c);
    assert_int_equal(calendar_add_span(c, 7, hm(8, 0), hm(9, 0)), 0);
    /* Every Sunday for six years is a holiday. */
    int64_t first = civil_to_days(2026, 11, 29);
    for (int64_t d = first; d < first + 7 * 320; d += 7) {
        int64_t y;
        int m, dd;
        civil_from_days(d, &y, &m, &dd);
        assert_int_equal(calendar_add_holiday(c, y, m, dd), 0);
    }
    assert_int_equal(calendar_finish(c, &err), 0);
    assert_true(calendar_add_business_us(c, at("2026-11-23T00:00:00+07:00"), 60 * US) ==
                CALENDAR_NEVER);
    calendar_destroy(&c);
}

/* Properties over many random instants: between() inverts add(), and
 * between() equals a minute-by-minute count of open minutes. */
static void test_properties_random(void **state)
{
    (void)state;
    calendar *cals[] = {vn_business(), berlin_daily(), always("Europe/Berlin")};
    unsigned seed = 12345;
    for (size_t k = 0; k < sizeof cals / sizeof cals[0]; k++) {
        for (int i = 0; i < 300; i++) {
            seed = seed * 1103515245u + 12345u;
            /* Minutes in 2026, around the two DST changes and Tết. */
            int64_t base = at("2026-01-01T00:00:00Z") + (int64_t)(seed % 525600) * MINUTE;
            seed = seed * 1103515245u + 12345u;
            int64_t dur = (int64_t)(seed % (40 * 60)) * MINUTE;
            int64_t end = calendar_add_business_us(cals[k], base, dur);
            assert_true(end != CALENDAR_NEVER);
            assert_true(end >= base);
            if (calendar_business_us_between(cals[k], base, end) != dur)
                fail_msg("%s: between(%s, add(+%lld us)) != dur", cals[k]->id, fmt(base),
                         (long long)dur);
            assert_int_equal(calendar_business_us_between(cals[k], end, base), -dur);
            if (i % 10 == 0) {
                int64_t open = 0;
                for (int64_t t = base; t < base + 3 * 86400 * US; t += MINUTE)
                    open += calendar_is_open(cals[k], t) ? MINUTE : 0;
                assert_int_equal(calendar_business_us_between(cals[k], base, base + 3 * 86400 * US),
                                 open);
            }
        }
        calendar_destroy(&cals[k]);
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_day_and_lunch_break),
        cmocka_unit_test(test_overnight),
        cmocka_unit_test(test_weekend),
        cmocka_unit_test(test_holidays_spanning_several_days),
        cmocka_unit_test(test_tet),
        cmocka_unit_test(test_always_open),
        cmocka_unit_test(test_berlin_across_march_dst),
        cmocka_unit_test(test_spans_and_validation),
        cmocka_unit_test(test_only_holidays_ahead_is_never),
        cmocka_unit_test(test_properties_random),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("calendar", tests, NULL, NULL);
}
