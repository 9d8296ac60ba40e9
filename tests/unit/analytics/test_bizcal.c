/* test_bizcal.c — local days and business time (services/analytics/bizcal.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bizcal.h"
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
    assert_int_equal(bizcal_day_parse(s, &d), 0);
    return d;
}

static void test_days_in_ho_chi_minh(void **state)
{
    (void)state;
    const char *err = NULL;
    bizcal *c = bizcal_new("Asia/Ho_Chi_Minh", "mon-fri 08:00-17:00", "", &err);
    assert_non_null(c);
    /* 16:59:59Z is 23:59:59 local; 17:00Z is the next local day. */
    assert_int_equal(bizcal_day(c, t("2026-03-02T16:59:59Z")), day("2026-03-02"));
    assert_int_equal(bizcal_day(c, t("2026-03-02T17:00:00Z")), day("2026-03-03"));
    assert_int_equal(bizcal_day(c, t("2026-03-01T17:00:00Z")), day("2026-03-02"));
    assert_true(bizcal_day_start(c, day("2026-03-02")) == t("2026-03-01T17:00:00Z"));
    char buf[11];
    bizcal_day_format(day("2026-12-31"), buf);
    assert_string_equal(buf, "2026-12-31");
    bizcal_destroy(&c);
    assert_null(c);
}

static void test_business_time_across_nights_and_weekends(void **state)
{
    (void)state;
    const char *err = NULL;
    bizcal *c = bizcal_new("Asia/Ho_Chi_Minh", "mon-fri 08:00-17:00", "", &err);
    assert_non_null(c);
    /* Mon 16:00 -> Tue 09:00 local: 1 h + 1 h. */
    assert_true(bizcal_business_ms(c, t("2026-03-02T16:00:00+07:00"),
                                   t("2026-03-03T09:00:00+07:00")) == 2 * HOUR);
    /* Within the day, and outside opening hours. */
    assert_true(bizcal_business_ms(c, t("2026-03-02T09:00:00+07:00"),
                                   t("2026-03-02T09:10:00+07:00")) == HOUR / 6);
    assert_true(
        bizcal_business_ms(c, t("2026-03-02T18:00:00+07:00"), t("2026-03-02T23:00:00+07:00")) == 0);
    /* Fri 16:00 -> Mon 09:00: the weekend does not count. */
    assert_true(bizcal_business_ms(c, t("2026-03-06T16:00:00+07:00"),
                                   t("2026-03-09T09:00:00+07:00")) == 2 * HOUR);
    /* Mon 16:00 -> Wed 09:00: 1 + 9 + 1 hours. */
    assert_true(bizcal_business_ms(c, t("2026-03-02T16:00:00+07:00"),
                                   t("2026-03-04T09:00:00+07:00")) == 11 * HOUR);
    /* Backwards or empty. */
    assert_true(
        bizcal_business_ms(c, t("2026-03-04T09:00:00+07:00"), t("2026-03-02T09:00:00+07:00")) == 0);
    bizcal_destroy(&c);
}

static void test_holidays_and_split_hours(void **state)
{
    (void)state;
    const char *err = NULL;
    /* Tết 2026 (Feb 16-20 off); a lunch break; Saturday mornings. */
    bizcal *c = bizcal_new("Asia/Ho_Chi_Minh", "mon-fri 08:00-12:00,13:00-17:00; sat 08:00-12:00",
                           "2026-02-16,2026-02-17, 2026-02-18,2026-02-19,2026-02-20", &err);
    assert_non_null(c);
    /* Fri Feb 13 16:30 -> Mon Feb 23 10:00: 0.5 h on Friday, 4 h on each Saturday (14th,
     * 21st), nothing on the holidays in between, 2 h on Monday. */
    assert_true(bizcal_business_ms(c, t("2026-02-13T16:30:00+07:00"),
                                   t("2026-02-23T10:00:00+07:00")) == 21 * HOUR / 2);
    /* The lunch break does not count. */
    assert_true(bizcal_business_ms(c, t("2026-03-02T11:00:00+07:00"),
                                   t("2026-03-02T14:00:00+07:00")) == 2 * HOUR);
    bizcal_destroy(&c);
}

static void test_always_open(void **state)
{
    (void)state;
    const char *err = NULL;
    bizcal *c = bizcal_new("Asia/Ho_Chi_Minh", "24/7", "", &err);
    assert_non_null(c);
    assert_true(bizcal_business_ms(c, t("2026-03-06T16:00:00Z"), t("2026-03-09T16:00:00Z")) ==
                72 * HOUR);
    bizcal_destroy(&c);
}

static void test_daylight_saving_day_is_23_hours(void **state)
{
    (void)state;
    const char *err = NULL;
    bizcal *c = bizcal_new("Europe/Berlin", "24/7", "", &err);
    assert_non_null(c);
    /* 2026-03-29: clocks go from 02:00 to 03:00. */
    int32_t d = day("2026-03-29");
    assert_true(bizcal_day_start(c, d + 1) - bizcal_day_start(c, d) == 23 * HOUR);
    assert_true(bizcal_business_ms(c, bizcal_day_start(c, d), bizcal_day_start(c, d + 1)) ==
                23 * HOUR);
    assert_int_equal(bizcal_day(c, t("2026-03-29T21:59:59Z")), d);
    assert_int_equal(bizcal_day(c, t("2026-03-29T22:00:00Z")), d + 1);
    /* Opening hours are local: 08:00-17:00 is 9 h on the change day too. */
    bizcal_destroy(&c);
    c = bizcal_new("Europe/Berlin", "mon-sun 08:00-17:00", "", &err);
    assert_non_null(c);
    assert_true(bizcal_business_ms(c, bizcal_day_start(c, d), bizcal_day_start(c, d + 1)) ==
                9 * HOUR);
    bizcal_destroy(&c);
}

static void test_bad_configuration_is_refused(void **state)
{
    (void)state;
    const char *err = NULL;
    assert_null(bizcal_new("Mars/Olympus", "24/7", "", &err));
    assert_non_null(strstr(err, "CAREBUS_ANALYTICS_TZ"));
    err = NULL;
    assert_null(bizcal_new("Asia/Ho_Chi_Minh", "mon-fri 9-5", "", &err));
    assert_non_null(strstr(err, "CAREBUS_ANALYTICS_HOURS"));
    err = NULL;
    assert_null(bizcal_new("Asia/Ho_Chi_Minh", "funday 08:00-17:00", "", &err));
    assert_non_null(strstr(err, "weekday"));
    err = NULL;
    assert_null(bizcal_new("Asia/Ho_Chi_Minh", "mon 12:00-08:00", "", &err));
    err = NULL;
    assert_null(bizcal_new("Asia/Ho_Chi_Minh", "24/7", "2026-02-30", &err));
    assert_non_null(strstr(err, "CAREBUS_ANALYTICS_HOLIDAYS"));
    int32_t d;
    assert_int_equal(bizcal_day_parse("2026-1-01", &d), -1);
    assert_int_equal(bizcal_day_parse("2026-01-01x", &d), -1);
    assert_int_equal(bizcal_day_parse(NULL, &d), -1);
}

static void test_fingerprint_names_the_calendar(void **state)
{
    (void)state;
    const char *err = NULL;
    bizcal *a = bizcal_new("Asia/Ho_Chi_Minh", "mon-fri 08:00-17:00", "", &err);
    bizcal *b = bizcal_new("Asia/Ho_Chi_Minh", "mon-fri 08:00-17:00", "2026-01-01", &err);
    bizcal *c2 = bizcal_new("Asia/Ho_Chi_Minh", "mon-fri 08:00-17:00", "", &err);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c2);
    assert_string_not_equal(bizcal_fingerprint(a), bizcal_fingerprint(b));
    assert_string_equal(bizcal_fingerprint(a), bizcal_fingerprint(c2));
    bizcal_destroy(&a);
    bizcal_destroy(&b);
    bizcal_destroy(&c2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days_in_ho_chi_minh),
        cmocka_unit_test(test_business_time_across_nights_and_weekends),
        cmocka_unit_test(test_holidays_and_split_hours),
        cmocka_unit_test(test_always_open),
        cmocka_unit_test(test_daylight_saving_day_is_23_hours),
        cmocka_unit_test(test_bad_configuration_is_refused),
        cmocka_unit_test(test_fingerprint_names_the_calendar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
